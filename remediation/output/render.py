"""Render a schema-1 report document as table, JSON, Markdown, HTML or CSV. Pure; no I/O.

- ``table``: plain text for terminals (summary line, one aligned row per cluster, then
  workspaces and errors).
- ``json``: exactly the schema-1 document, keys in schema order, indent 2.
- ``markdown``: for pull requests and wikis; user data escaped.
- ``html``: one self-contained page (inline CSS, no scripts, no external assets, a strict
  Content-Security-Policy); every value from ARM or configuration is HTML-escaped.
- ``csv``: one row per cluster with a header row; list fields joined with ``;``; cells
  that a spreadsheet would run as a formula are prefixed with ``'``.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any

from remediation.core.report import (
    STATUS_ORDER,
    ActionDoc,
    ClusterDoc,
    ErrorDoc,
    ReportDocument,
    SummaryDoc,
    WorkspaceDoc,
)


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
    HTML = "html"
    CSV = "csv"


CONTENT_TYPES: Mapping[str, str] = {
    Format.TABLE.value: "text/plain; charset=utf-8",
    Format.JSON.value: "application/json",
    Format.MARKDOWN.value: "text/markdown; charset=utf-8",
    Format.HTML.value: "text/html; charset=utf-8",
    Format.CSV.value: "text/csv; charset=utf-8",
}

FORMATS: tuple[str, ...] = tuple(f.value for f in Format)

# The largest AKS log category (every get/list/watch) and its cheaper write-only subset.
COSTLY_CATEGORY = "kube-audit"
CHEAPER_CATEGORY = "kube-audit-admin"
COST_NOTE = (
    f"{COSTLY_CATEGORY} is by far the largest AKS log category: it records every request, "
    f"including each get, list and watch. {CHEAPER_CATEGORY} is its write-only subset and is "
    "what Microsoft recommends when cost matters. Change REMEDIATION_CATEGORIES to choose."
)

STATUS_COLOURS: Mapping[str, str] = {
    "compliant": "#2e7d32",
    "non_compliant": "#c62828",
    "remediated": "#1565c0",
    "excluded": "#757575",
    "deferred": "#ef6c00",
    "blocked": "#6a1b9a",
    "failed": "#000000",
}

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
)


def render(document: ReportDocument, fmt: str) -> str:
    """Render ``document`` in ``fmt`` (one of :data:`FORMATS`); raises ValueError otherwise."""
    try:
        chosen = Format(fmt.lower())
    except ValueError:
        raise ValueError(f"unknown format {fmt!r}; expected one of: {', '.join(FORMATS)}") from None
    renderers: Mapping[Format, Callable[[ReportDocument], str]] = {
        Format.TABLE: render_table,
        Format.JSON: render_json,
        Format.MARKDOWN: render_markdown,
        Format.HTML: render_html,
        Format.CSV: render_csv,
    }
    return renderers[chosen](document)


# --- shared helpers -------------------------------------------------------------------


def summary_line(summary: SummaryDoc) -> str:
    counts = ", ".join(f"{summary[name]} {name.replace('_', '-')}" for name in STATUS_ORDER if summary[name])
    return f"{summary['clusters']} clusters" + (f": {counts}" if counts else "")


def action_verb(document: ReportDocument, cluster: ClusterDoc) -> str:
    """'would create' in a dry run, 'created' once applied, 'planned create' if apply did not get there."""
    action = cluster["action"]
    if action is None:
        return ""
    if document["mode"] == "report":
        return f"would {action['kind']}"
    if cluster["status"] == "remediated":
        return f"{action['kind']}d"
    return f"planned {action['kind']}"


def action_text(document: ReportDocument, cluster: ClusterDoc) -> str:
    action = cluster["action"]
    if action is None:
        return "-"
    return f"{action_verb(document, cluster)} {action['setting_name']} -> {_last_segment(action['workspace_id'])}"


def _last_segment(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1] if resource_id else "(to be resolved)"


def _joined(items: Iterable[str], sep: str = ",") -> str:
    return sep.join(items)


# --- JSON ---------------------------------------------------------------------------------

_DOC_KEYS = tuple(ReportDocument.__annotations__)
_SUMMARY_KEYS = tuple(SummaryDoc.__annotations__)
_CLUSTER_KEYS = tuple(ClusterDoc.__annotations__)
_ACTION_KEYS = tuple(ActionDoc.__annotations__)
_WORKSPACE_KEYS = tuple(WorkspaceDoc.__annotations__)
_ERROR_KEYS = tuple(ErrorDoc.__annotations__)


def _ordered(data: Mapping[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    out = {key: data[key] for key in keys if key in data}
    out.update({key: data[key] for key in sorted(data) if key not in out})
    return out


def canonical(document: ReportDocument) -> dict[str, Any]:
    """The document with every object's keys in schema order (extras last, sorted)."""
    out = _ordered(document, _DOC_KEYS)
    if isinstance(out.get("summary"), Mapping):
        out["summary"] = _ordered(out["summary"], _SUMMARY_KEYS)
    clusters = []
    for cluster in out.get("clusters", []):
        item = _ordered(cluster, _CLUSTER_KEYS)
        if isinstance(item.get("action"), Mapping):
            item["action"] = _ordered(item["action"], _ACTION_KEYS)
        clusters.append(item)
    out["clusters"] = clusters
    out["workspaces"] = [_ordered(w, _WORKSPACE_KEYS) for w in out.get("workspaces", [])]
    out["errors"] = [_ordered(e, _ERROR_KEYS) for e in out.get("errors", [])]
    return out


def render_json(document: ReportDocument) -> str:
    return json.dumps(canonical(document), indent=2, ensure_ascii=False) + "\n"


# --- table --------------------------------------------------------------------------------


def _aligned(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    lines = []
    for row in (header, *rows):
        lines.append("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return lines


def render_table(document: ReportDocument) -> str:
    lines = [
        f"{document['mode']} run {document['run_id']} ({document['started_at']} .. {document['finished_at']})",
        f"required categories: {_joined(document['required_categories'])}",
        summary_line(document["summary"]),
        "",
    ]
    if document["clusters"]:
        rows = [
            (
                c["name"],
                c["subscription_id"],
                c["location"],
                c["status"],
                _joined(c["missing_categories"]) or "-",
                action_text(document, c),
                c["reason"] or "-",
            )
            for c in document["clusters"]
        ]
        lines += _aligned(("CLUSTER", "SUBSCRIPTION", "LOCATION", "STATUS", "MISSING", "ACTION", "REASON"), rows)
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
    if document["errors"]:
        lines += ["", "errors:"]
        lines += [f"  {e['scope']}: {e['code']}: {e['message']}" for e in document["errors"]]
    if COSTLY_CATEGORY in document["required_categories"]:
        lines += ["", f"note: {COST_NOTE}"]
    return "\n".join(lines) + "\n"


# --- Markdown -----------------------------------------------------------------------------

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


# --- CSV ----------------------------------------------------------------------------------


def _cell(value: str) -> str:
    """Neutralise spreadsheet formulas (OWASP CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def render_csv(document: ReportDocument) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for c in document["clusters"]:
        action = c["action"]
        row = (
            c["id"],
            c["name"],
            c["subscription_id"],
            c["resource_group"],
            c["location"],
            c["status"],
            ";".join(c["missing_categories"]),
            c["reason"] or "",
            action["kind"] if action else "",
            action["setting_name"] if action else "",
            action["workspace_id"] if action else "",
            ";".join(action["categories"]) if action else "",
        )
        writer.writerow([_cell(str(v)) for v in row])
    return buffer.getvalue()


# --- HTML ---------------------------------------------------------------------------------


def h(text: object) -> str:
    return html.escape(str(text), quote=True)


_CSS = """
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px; color: #1b1b1b; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; }
.meta { color: #555; margin: 0 0 16px; }
.cards { display: flex; flex-wrap: wrap; gap: 8px; margin: 12px 0; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 8px 12px; min-width: 96px; }
.card .n { font-size: 22px; font-weight: 600; display: block; }
.card .l { color: #555; font-size: 12px; }
.bar { display: flex; height: 22px; border-radius: 4px; overflow: hidden; background: #eee; margin: 8px 0 4px; }
.bar span { display: block; height: 100%; }
.legend { display: flex; flex-wrap: wrap; gap: 12px; font-size: 12px; color: #333; }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; }
table { border-collapse: collapse; width: 100%; margin-top: 8px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #e5e5e5; vertical-align: top; }
th { background: #f6f6f6; font-weight: 600; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px; }
.badge, .cats code { white-space: nowrap; }
.cats code { background: #f1f1f1; border-radius: 3px; padding: 0 4px; margin: 0 4px 2px 0; display: inline-block; }
.note { border-left: 4px solid #ef6c00; background: #fff6ec; padding: 8px 12px; margin: 12px 0; }
.muted { color: #777; }
.err td { color: #b71c1c; }
"""


def _row(*cells: str, css_class: str = "") -> str:
    """A table row of already-escaped cells."""
    attr = f' class="{css_class}"' if css_class else ""
    return f"<tr{attr}>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _badge(status: str) -> str:
    colour = STATUS_COLOURS.get(status, "#455a64")
    return f'<span class="badge" style="background:{colour}">{h(status.replace("_", " "))}</span>'


def _codes(items: Iterable[str]) -> str:
    text = "".join(f"<code>{h(item)}</code>" for item in items)
    return f'<span class="cats">{text}</span>' if text else '<span class="muted">none</span>'


def _status_bar(summary: SummaryDoc) -> str:
    total = summary["clusters"]
    segments = []
    legend = []
    for status in STATUS_ORDER:
        count = summary[status]
        if not count:
            continue
        width = 100.0 * count / total if total else 0.0
        colour = STATUS_COLOURS[status]
        label = f"{status.replace('_', ' ')}: {count}"
        segments.append(
            f'<span class="seg-{status}" style="width:{width:.3f}%;background:{colour}" title="{h(label)}"></span>'
        )
        legend.append(f'<span><i style="background:{colour}"></i>{h(label)}</span>')
    return (
        f'<div class="bar" role="img" aria-label="clusters by status">{"".join(segments)}</div>'
        f'<div class="legend">{"".join(legend)}</div>'
    )


def _action_html(document: ReportDocument, cluster: ClusterDoc) -> str:
    action = cluster["action"]
    if action is None:
        return '<span class="muted">-</span>'
    return (
        f"{h(action_verb(document, cluster))} <code>{h(action['setting_name'])}</code> to "
        f'<code title="{h(action["workspace_id"])}">{h(_last_segment(action["workspace_id"]))}</code>'
        f"<br>{_codes(action['categories'])}"
    )


def render_html(document: ReportDocument) -> str:
    summary = document["summary"]
    title = f"AKS audit-log report: {summary_line(summary)}"
    cards = "".join(
        f'<div class="card"><span class="n">{summary[s]}</span><span class="l">{h(s.replace("_", " "))}</span></div>'
        for s in STATUS_ORDER
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{h(title)}</title><style>{_CSS}</style></head><body>",
        "<h1>AKS audit-log report</h1>",
        f'<p class="meta">{h(document["mode"])} run <code>{h(document["run_id"])}</code>, '
        f"{h(document['started_at'])} to {h(document['finished_at'])}</p>",
        f'<div class="cards"><div class="card"><span class="n" id="total">{summary["clusters"]}</span>'
        f'<span class="l">clusters</span></div>{cards}</div>',
        _status_bar(summary),
        "<h2>Required categories</h2>",
        f'<p id="required">{_codes(document["required_categories"])}</p>',
    ]
    if COSTLY_CATEGORY in document["required_categories"]:
        parts.append(f'<p class="note" id="cost-note"><strong>Cost:</strong> {h(COST_NOTE)}</p>')
    parts.append("<h2>Clusters</h2>")
    if document["clusters"]:
        rows = []
        for c in document["clusters"]:
            rows.append(
                f'<tr class="cluster" data-status="{h(c["status"])}">'
                f'<td><strong title="{h(c["id"])}">{h(c["name"])}</strong><br>'
                f'<span class="muted">{h(c["resource_group"])}</span></td>'
                f"<td><code>{h(c['subscription_id'])}</code></td>"
                f"<td>{h(c['location'])}</td>"
                f"<td>{_badge(c['status'])}</td>"
                f"<td>{_codes(c['missing_categories'])}</td>"
                f"<td>{_action_html(document, c)}</td>"
                f"<td>{h(c['reason']) if c['reason'] else '<span class=muted>-</span>'}</td></tr>"
            )
        parts.append(
            '<table id="clusters"><thead><tr><th>Cluster</th><th>Subscription</th><th>Location</th>'
            "<th>Status</th><th>Missing categories</th><th>Planned change</th><th>Reason</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
    else:
        parts.append('<p class="muted">No clusters in scope.</p>')
    if document["workspaces"]:
        rows = [
            _row(f"<code>{h(w['id'])}</code>", h(w["location"]), h(w["action"].replace("_", " ")))
            for w in document["workspaces"]
        ]
        parts.append(
            '<h2>Workspaces</h2><table id="workspaces"><thead><tr><th>Workspace</th><th>Location</th>'
            f"<th>Action</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    if document["errors"]:
        rows = [
            _row(f"<code>{h(e['scope'])}</code>", h(e["code"]), h(e["message"]), css_class="err")
            for e in document["errors"]
        ]
        parts.append(
            '<h2>Errors</h2><table id="errors"><thead><tr><th>Scope</th><th>Code</th><th>Message</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
