"""``csv``: one row per cluster with a header row; list fields joined with ``;``; cells that a
spreadsheet would run as a formula are prefixed with ``'``. A document with baselines ends each
row with one ``baseline:<id>`` column per baseline (its verdict); one with exemptions, with the
exemption's state, tag, last day and reason."""

from __future__ import annotations

import csv
import io

from remediation.core.report import ReportDocument, SettingDoc
from remediation.output.baselines import csv_cells, csv_columns
from remediation.output.common import escape_control, is_status
from remediation.output.exemptions import CSV_EXEMPTION_COLUMNS, has_exemptions
from remediation.output.exemptions import csv_cells as exemption_cells
from remediation.output.flow_section import CSV_FLOW_COLUMNS, flow_csv_cells

CSV_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "subscription_id",
    "resource_group",
    "location",
    "status",
    "missing_categories",
    "reason",
    "action_kind",
    "setting_name",
    "workspace_id",
    "categories",
    *CSV_FLOW_COLUMNS,
    "added",
    "subscription_name",
    "explanation",
    "next_step",
    "settings",
    "portal_url",
)
# A status document (GET /api/status) adds when, and by which run, each cluster was observed.
STATUS_CSV_COLUMNS: tuple[str, ...] = ("observed_at", "observed_run_id")


def _cell(value: str) -> str:
    """Control and bidi characters escaped; spreadsheet formulas neutralised (OWASP CSV injection)."""
    value = escape_control(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _settings(settings: list[SettingDoc] | None) -> str:
    """'name[counted]' or 'name[not counted: reason]' for each setting; empty when not read."""
    if settings is None:
        return ""
    return ";".join(
        f"{s['name']}[counted]" if s["counted"] else f"{s['name']}[not counted: {s['not_counted_reason']}]"
        for s in settings
    )


def render_csv(document: ReportDocument) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    status = is_status(document)
    exempt = has_exemptions(document)
    writer.writerow(
        CSV_COLUMNS
        + (STATUS_CSV_COLUMNS if status else ())
        + csv_columns(document)
        + (CSV_EXEMPTION_COLUMNS if exempt else ())
    )
    for c in document["clusters"]:
        action = c["action"]
        row = (
            c["id"],
            c["name"],
            c["subscription_id"],
            c["resource_group"],
            c["location"],
            c["status"],
            ";".join(c["missing_categories"]) if c["missing_categories"] is not None else "unknown",
            c["reason"] or "",
            action["kind"] if action else "",
            action["setting_name"] if action else "",
            action["workspace_id"] if action else "",
            ";".join(action["categories"]) if action else "",
            *flow_csv_cells(c),
            ";".join(action.get("added", [])) if action else "",
            c.get("subscription_name") or "",
            c.get("explanation") or "",
            c.get("next_step") or "",
            _settings(c.get("settings")),
            c.get("portal_url", ""),
        )
        observed = (c.get("observed_at", ""), c.get("observed_run_id", "")) if status else ()
        exemption = exemption_cells(c) if exempt else ()
        writer.writerow([_cell(str(v)) for v in (*row, *observed, *csv_cells(document, c), *exemption)])
    return buffer.getvalue()
