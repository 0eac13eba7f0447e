"""``markdown``: for pull requests and wikis; user data escaped."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from remediation.core.report import STATUS_ORDER, ReportDocument
from remediation.output.common import COST_NOTE, COSTLY_CATEGORY, action_text

_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()<>#+!|~"})


def md(text: object) -> str:
    """Escape user data for a Markdown table cell (no markup, no raw HTML, no line breaks)."""
    return html.escape(str(text), quote=False).translate(_MD_SPECIAL).replace("\r", " ").replace("\n", " ")


def _md_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(md(cell) for cell in row) + " |" for row in rows]
    return out


def render_markdown(document: ReportDocument) -> str:
    summary = document["summary"]
    lines = [
        "# AKS audit-log report",
        "",
        f"- mode: **{md(document['mode'])}**",
        f"- run: `{md(document['run_id'])}`, {md(document['started_at'])} to {md(document['finished_at'])}",
        f"- required categories: {md(', '.join(document['required_categories']))}",
        "",
    ]
    if COSTLY_CATEGORY in document["required_categories"]:
        lines += [f"> **Cost:** {md(COST_NOTE)}", ""]
    lines += ["## Summary", ""]
    lines += _md_table(("clusters", *STATUS_ORDER), [(summary["clusters"], *(summary[s] for s in STATUS_ORDER))])
    lines += ["", "## Clusters", ""]
    if document["clusters"]:
        lines += _md_table(
            ("cluster", "subscription", "resource group", "location", "status", "missing", "action", "reason"),
            [
                (
                    c["name"],
                    c["subscription_id"],
                    c["resource_group"],
                    c["location"],
                    c["status"],
                    ", ".join(c["missing_categories"]) or "-",
                    action_text(document, c),
                    c["reason"] or "-",
                )
                for c in document["clusters"]
            ],
        )
    else:
        lines.append("No clusters in scope.")
    if document["workspaces"]:
        lines += ["", "## Workspaces", ""]
        lines += _md_table(
            ("workspace", "location", "action"),
            [(w["id"], w["location"], w["action"]) for w in document["workspaces"]],
        )
    if document["errors"]:
        lines += ["", "## Errors", ""]
        lines += _md_table(
            ("scope", "code", "message"), [(e["scope"], e["code"], e["message"]) for e in document["errors"]]
        )
    return "\n".join(lines) + "\n"
