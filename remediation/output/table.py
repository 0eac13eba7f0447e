"""``table``: plain text for terminals (summary line, one aligned row per cluster, then
workspaces and errors)."""

from __future__ import annotations

from collections.abc import Sequence

from remediation.core.report import ReportDocument
from remediation.output.common import COST_NOTE, COSTLY_CATEGORY, action_text, escape_control, joined, summary_line
from remediation.output.flow import cost_lines, flow_summary_line, flow_text, has_flow, table_plan_lines


def _aligned(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    rows = [[escape_control(str(cell)) for cell in row] for row in rows]
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    lines = []
    for row in (header, *rows):
        lines.append("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return lines


def render_table(document: ReportDocument) -> str:
    lines = [
        f"{document['mode']} run {document['run_id']} ({document['started_at']} .. {document['finished_at']})",
        f"required categories: {joined(document['required_categories'])}",
        summary_line(document["summary"]),
        *filter(None, [flow_summary_line(document["summary"])]),
        *cost_lines(document.get("cost")),
        "",
    ]
    if document["clusters"]:
        rows = [
            (
                c["name"],
                c["subscription_id"],
                c["location"],
                c["status"],
                joined(c["missing_categories"]) or "-",
                action_text(document, c),
                c["reason"] or "-",
            )
            + ((flow_text(c),) if has_flow(document) else ())
            for c in document["clusters"]
        ]
        header = ("CLUSTER", "SUBSCRIPTION", "LOCATION", "STATUS", "MISSING", "ACTION", "REASON")
        lines += _aligned(header + (("FLOW",) if has_flow(document) else ()), rows)
    else:
        lines.append("no clusters in scope")
    if document["workspaces"]:
        lines += ["", "workspaces:"]
        lines += [
            "  " + line
            for line in _aligned(
                ("WORKSPACE", "LOCATION", "ACTION"),
                [(w["id"], w["location"], w["action"].replace("_", " ")) for w in document["workspaces"]],
            )
        ]
    lines += table_plan_lines(document)
    if document["errors"]:
        lines += ["", "errors:"]
        lines += [escape_control(f"  {e['scope']}: {e['code']}: {e['message']}") for e in document["errors"]]
    if COSTLY_CATEGORY in document["required_categories"]:
        lines += ["", f"note: {COST_NOTE}"]
    return "\n".join(lines) + "\n"
