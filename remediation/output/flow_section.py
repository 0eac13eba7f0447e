"""Flow verdicts and the cost header, as every format shows them. Pure.

A cluster's ``flow`` (see ``remediation/core/flow_verdict.py``) becomes a column in table, markdown and
csv and a coloured badge in html; the summary's flow counts and the document's ``cost`` make a
header. Documents without flow (older runs) render exactly as before.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from remediation.core.report import (
    FLOW_FINDINGS,
    FLOW_VERDICTS,
    ClusterDoc,
    CostDoc,
    FlowDoc,
    ReportDocument,
    SummaryDoc,
    TablePlanDoc,
)
from remediation.output.common import escape_control, last_segment

FLOW_COLOURS = {
    "flowing": "#2e7d32",
    "partial": "#ef6c00",
    "silent": "#c62828",
    "pending": "#1565c0",
    "unknown": "#757575",
}
CSV_FLOW_COLUMNS = ("flow", "flow_missing", "flow_gb_per_day")


def flow_of(cluster: ClusterDoc) -> FlowDoc | None:
    return cluster.get("flow")


def has_flow(document: ReportDocument) -> bool:
    """Whether the document carries flow verdicts (documents of older runs do not)."""
    return any("flow" in c for c in document["clusters"])


def flow_missing(flow: FlowDoc | None) -> list[str]:
    """Required categories with no record in the lookback (none when the verdict is unknown)."""
    if flow is None or flow["verdict"] == "unknown":
        return []
    return [c for c, seen in flow["last_seen"].items() if seen is None]


def flow_text(cluster: ClusterDoc) -> str:
    """``flowing``, ``partial: no kube-audit``, ``unknown (not-log-analytics)``, ``silent: no kube-audit
    (last-write-from-ledger)``, or ``-`` (not assessed)."""
    flow = flow_of(cluster)
    if flow is None:
        return "-"
    if flow["verdict"] == "unknown":
        return f"unknown ({flow['reason']})" if flow["reason"] else "unknown"
    missing = flow_missing(flow)
    text: str = flow["verdict"]
    if flow["verdict"] in FLOW_FINDINGS or (flow["verdict"] == "pending" and missing):
        text = f"{flow['verdict']}: no {', '.join(missing)}"
    # a caveat on a known verdict: the settings' ages come from our ledger (last-write-from-ledger)
    return f"{text} ({flow['reason']})" if flow["reason"] else text


def flow_summary_line(summary: SummaryDoc) -> str:
    flow = summary.get("flow")
    if not flow:
        return ""
    counts = ", ".join(f"{flow[v]} {v}" for v in FLOW_VERDICTS if flow[v])
    return f"audit records: {counts}" if counts else ""


def workspace_label(workspace_id: str) -> str:
    """``law-x (6f1c2a4e)``: the name and the start of its subscription (names repeat across subscriptions)."""
    parts = workspace_id.strip("/").split("/")
    subscription = parts[1][:8] if len(parts) > 1 else ""
    return f"{last_segment(workspace_id)} ({subscription})" if subscription else last_segment(workspace_id)


def gb(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def cost_headline(cost: CostDoc) -> str:
    share = cost["kube_audit_share"]
    return (
        f"billed ingestion over the last {cost['lookback_hours']} h: {gb(cost['total_gb_per_day'])} GB/day "
        f"({cost['queries']} Log Analytics queries)" + (f"; kube-audit alone: {share:.0%}" if share is not None else "")
    )


def cost_lines(cost: CostDoc | None) -> list[str]:
    """The cost header as plain lines (empty when flow verification is off)."""
    if cost is None:
        return []
    lines = [cost_headline(cost)]
    lines += [f"  {category}: {gb(value)} GB/day" for category, value in cost["gb_per_day"].items()]
    lines += [f"  workspace {workspace_label(w['id'])}: {gb(w['total_gb_per_day'])} GB/day" for w in cost["workspaces"]]
    return lines


def flow_csv_cells(cluster: ClusterDoc) -> tuple[str, str, str]:
    """The values of :data:`CSV_FLOW_COLUMNS` for one cluster (empty when not assessed)."""
    flow = flow_of(cluster)
    if flow is None:
        return ("", "", "")
    gb_text = "" if flow["gb_per_day"] is None else f"{flow['gb_per_day']:g}"
    return (flow["verdict"], ";".join(flow_missing(flow)), gb_text)


def table_plan_text(plan: TablePlanDoc) -> str:
    """``AKSAudit: Analytics -> Basic (updated)``, ``AKSAudit: Analytics (refused: BadRequest; tried again next run)``."""
    if plan["action"] in ("refused", "unreadable"):
        return (
            f"{plan['table']}: {plan['plan_before'] or '?'} ({plan['action']}: {plan['reason']}; tried again next run)"
        )
    if plan["action"] == "unchanged":
        return f"{plan['table']}: {plan['plan_after']} (unchanged)"
    return f"{plan['table']}: {plan['plan_before']} -> {plan['plan_after']} ({plan['action'].replace('_', ' ')})"


def table_plan_lines(document: ReportDocument) -> list[str]:
    """The table-plan section as plain lines (empty when REMEDIATION_AUDIT_TABLE_PLAN is analytics)."""
    plans = document.get("table_plans") or []
    if not plans:
        return []
    return ["", "table plans (workspaces we created):"] + [
        f"  {workspace_label(p['workspace_id'])}: {table_plan_text(p)}" for p in plans
    ]


# --- HTML (every value escaped here) -------------------------------------------------------


def _h(text: object) -> str:
    """HTML-escaped, with control and bidi characters written as visible escapes."""
    return html.escape(escape_control(str(text)), quote=True)


def _codes(items: Iterable[str]) -> str:
    return '<span class="cats">' + "".join(f"<code>{_h(i)}</code>" for i in items) + "</span>"


def flow_badge_html(verdict: str) -> str:
    colour = FLOW_COLOURS.get(verdict, "#455a64")
    return f'<span class="badge flow-{_h(verdict)}" style="background:{colour}">{_h(verdict)}</span>'


def flow_cell_html(cluster: ClusterDoc) -> str:
    """The badge, the categories without records (or why unknown) and the cluster's GB/day."""
    flow = flow_of(cluster)
    if flow is None:
        return '<span class="muted">-</span>'
    detail = ""
    if flow["verdict"] == "unknown" and flow["reason"]:
        detail = f"<small>{_h(flow['reason'])}</small>"
    elif flow_missing(flow):
        detail = f"<small>no records: {_codes(flow_missing(flow))}</small>"
    if flow["gb_per_day"] is not None:
        detail += f"<small>{_h(gb(flow['gb_per_day']))} GB/day</small>"
    return flow_badge_html(flow["verdict"]) + detail


def flow_header_html(document: ReportDocument) -> str:
    """Flow counts as cards and the cost section; empty when the document has neither."""
    parts = []
    flow = document["summary"].get("flow")
    if flow and has_flow(document):
        cards = "".join(
            f'<div class="card" id="flow-{v}"><span class="n">{flow[v]}</span>'
            f'<span class="l">{flow_badge_html(v)}</span></div>'
            for v in FLOW_VERDICTS
        )
        parts.append(f'<h2>Audit records</h2><div class="cards" id="flow">{cards}</div>')
    cost = document.get("cost")
    if cost is not None:
        share = cost["kube_audit_share"]
        rows = [f"<tr><td><code>{_h(c)}</code></td><td>{_h(gb(v))}</td></tr>" for c, v in cost["gb_per_day"].items()]
        rows += [
            f'<tr><td><span title="{_h(w["id"])}">workspace {_h(workspace_label(w["id"]))}</span></td>'
            f"<td>{_h(gb(w['total_gb_per_day']))}</td></tr>"
            for w in cost["workspaces"]
        ]
        parts.append(
            f'<h2>Cost</h2><p id="cost">Billed ingestion over the last {cost["lookback_hours"]} h: '
            f"<strong>{_h(gb(cost['total_gb_per_day']))} GB/day</strong>"
            + (f"; <code>kube-audit</code> alone takes <strong>{share:.0%}</strong>" if share is not None else "")
            + '.</p><table id="cost-table"><thead><tr><th>Category / workspace</th><th>GB/day</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
    plans = document.get("table_plans") or []
    if plans:
        plan_rows = "".join(
            f'<tr><td><span title="{_h(p["workspace_id"])}">{_h(workspace_label(p["workspace_id"]))}</span></td>'
            f"<td>{_h(table_plan_text(p))}</td></tr>"
            for p in plans
        )
        parts.append(
            '<h2>Table plans</h2><table id="table-plans"><thead><tr><th>Workspace</th><th>AKSAudit plan</th></tr>'
            f"</thead><tbody>{plan_rows}</tbody></table>"
        )
    return "".join(parts)
