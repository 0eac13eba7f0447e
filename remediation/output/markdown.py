"""``markdown``: for pull requests and wikis; user data escaped."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from remediation.core.report import FLOW_VERDICTS, STATUS_ORDER, ReportDocument
from remediation.output.baselines import compact_text, has_baselines, markdown_rows
from remediation.output.common import (
    COST_NOTE,
    COSTLY_CATEGORY,
    by_attention,
    escape_control,
    is_status,
    missing_text,
    next_text,
    reason_codes,
    reason_text,
    subscription_label,
)
from remediation.output.exemptions import HEADINGS, NOTABLE, describe, heading_note, notable
from remediation.output.flow_section import flow_text, gb, has_flow, table_plan_text

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()<>#+!|~"})


# What GitHub-flavoured Markdown turns into a link by itself (its "autolink" extension): a scheme
# before "://", "www." at the start of a word, and anything around an "@" (e-mail, mailto:, xmpp:).
# A backslash before the ':', the '.' and the '@' keeps each one plain text, and the text reads the same.
_AUTOLINK = re.compile(r"(?i)(?<=[a-z0-9])(:)(?=//)|(?<![a-z0-9.-])(www)(\.)|(@)")


def _no_autolink(match: re.Match[str]) -> str:
    if match[1]:
        return "\\:"
    if match[2]:
        return match[2] + "\\."
    return "\\@"


def md(text: object) -> str:
    """Escape user data for a Markdown table cell (no markup, no raw HTML, no links, no line breaks,
    no control or bidi characters: an escape sequence would reach a terminal that shows the file)."""
    flat = html.escape(str(text), quote=False).translate(_MD_SPECIAL).replace("\r", " ").replace("\n", " ")
    return escape_control(_AUTOLINK.sub(_no_autolink, flat))


def _md_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(md(cell) for cell in row) + " |" for row in rows]
    return out


def _flow_md(document: ReportDocument) -> list[str]:
    """The flow counts and the cost section (nothing for documents without flow)."""
    lines: list[str] = []
    flow = document["summary"].get("flow")
    if flow and has_flow(document):
        lines += ["", "Audit records (flow verification):", ""]
        lines += _md_table(FLOW_VERDICTS, [tuple(flow[v] for v in FLOW_VERDICTS)])
    cost = document.get("cost")
    if cost is not None:
        share = cost["kube_audit_share"]
        lines += [
            "",
            "## Cost",
            "",
            f"Billed ingestion over the last {cost['lookback_hours']} h, scaled to a day: "
            f"**{gb(cost['total_gb_per_day'])} GB/day**"
            + (f"; `kube-audit` alone takes **{share:.0%}**." if share is not None else "."),
            "",
        ]
        lines += _md_table(("category", "GB/day"), [(c, gb(v)) for c, v in cost["gb_per_day"].items()])
        if cost["workspaces"]:
            lines.append("")
            lines += _md_table(
                ("workspace", "GB/day", "by category"),
                [
                    (w["id"], gb(w["total_gb_per_day"]), ", ".join(f"{c} {gb(v)}" for c, v in w["gb_per_day"].items()))
                    for w in cost["workspaces"]
                ],
            )
    return lines


def render_markdown(document: ReportDocument) -> str:
    summary = document["summary"]
    lines = [
        "# AKS audit-log report",
        "",
        f"- mode: **{md(document['mode'])}**",
        f"- run: `{md(document['run_id'])}`, {md(document['started_at'])} to {md(document['finished_at'])}",
        f"- required categories: {md(', '.join(document['required_categories']))}",
    ]
    scope = document.get("scope")
    if scope is not None:
        subs = ", ".join(scope["subscriptions"]) or "every subscription the identity can list"
        clusters = f"; clusters: {', '.join(scope['clusters'])}" if scope["clusters"] else ""
        lines.append(f"- scope: {md(subs + clusters)}")
    config = document.get("configuration")
    if config is not None:
        lines.append(
            f"- configuration: destination tables {md(config['destination_tables'])}, accepted destinations "
            f"{md(config['accepted_destinations'])}, our setting {md(config['setting_name'])}, "
            f"REMEDIATION\\_MODE {md(config['mode'])}"
        )
    if document.get("tool_version"):
        lines.append(f"- aks-audit-remediation {md(document['tool_version'])}")
    lines.append("")
    if COSTLY_CATEGORY in document["required_categories"]:
        lines += [f"> **Cost:** {md(COST_NOTE)}", ""]
    lines += ["## Summary", ""]
    lines += _md_table(("clusters", *STATUS_ORDER), [(summary["clusters"], *(summary[s] for s in STATUS_ORDER))])
    lines += _flow_md(document)
    if markdown_rows(document):
        lines += ["", "## Baselines", "", "Each cluster as each baseline's own rule judges it (docs/baselines.md).", ""]
        lines += _md_table(("baseline", "what", "pass", "fail", "unknown"), markdown_rows(document))
    lines += ["", "## Clusters", ""]
    if document["clusters"]:
        observed = ("observed",) if is_status(document) else ()  # a status document: when each was observed
        lines += _md_table(
            (
                "cluster",
                "subscription",
                "resource group",
                "location",
                "status",
                "missing",
                "next",
                "reason",
                "why",
                *observed,
            )
            + (("flow",) if has_flow(document) else ())
            + (("baselines",) if has_baselines(document) else ()),
            [
                (
                    c["name"],
                    subscription_label(c),
                    c["resource_group"],
                    c["location"],
                    c["status"],
                    missing_text(c),
                    next_text(document, c),
                    c["reason"] or "-",
                    c.get("explanation") or "-",
                    *((c.get("observed_at", "-"),) if observed else ()),
                )
                + ((flow_text(c),) if has_flow(document) else ())
                + ((compact_text(c),) if has_baselines(document) else ())
                for c in by_attention(document["clusters"])
            ],
        )
        codes = reason_codes(document["clusters"])
        if codes:
            lines += ["", "Reason codes:", ""]
            lines += [f"- `{md(code)}`: {md(reason_text(code))}" for code in codes]
    else:
        lines.append("No clusters in scope.")
    for state in NOTABLE:
        listed = notable(document, state)
        if listed:
            lines += ["", f"## {HEADINGS[state]}", "", md(heading_note(state)), ""]
            lines += _md_table(("cluster", "exemption"), [(c["name"], describe(e)) for c, e in listed])
    if document["workspaces"]:
        lines += ["", "## Workspaces", ""]
        lines += _md_table(
            ("workspace", "location", "action"),
            [(w["id"], w["location"], w["action"]) for w in document["workspaces"]],
        )
    if document.get("table_plans"):
        lines += ["", "## Table plans (workspaces we created)", ""]
        lines += _md_table(
            ("workspace", "table plan"), [(p["workspace_id"], table_plan_text(p)) for p in document["table_plans"]]
        )
    if document["errors"]:
        lines += ["", "## Errors", ""]
        lines += _md_table(
            ("scope", "code", "message"), [(e["scope"], e["code"], e["message"]) for e in document["errors"]]
        )
    return "\n".join(lines) + "\n"
