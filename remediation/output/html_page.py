"""``html``: one self-contained page (inline CSS, no external assets, a strict
Content-Security-Policy); every value from ARM or configuration is HTML-escaped."""

from __future__ import annotations

import html
from collections.abc import Iterable

from remediation.core.report import STATUS_ORDER, ClusterDoc, ReportDocument, SummaryDoc
from remediation.output.common import (
    COST_NOTE,
    COSTLY_CATEGORY,
    STATUS_COLOURS,
    action_verb,
    is_status,
    last_segment,
    summary_line,
)
from remediation.output.flow import FLOW_CSS, flow_cell_html, flow_header_html, has_flow


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
        f'<code title="{h(action["workspace_id"])}">{h(last_segment(action["workspace_id"]))}</code>'
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
        f"<title>{h(title)}</title><style>{_CSS}{FLOW_CSS}</style></head><body>",
        "<h1>AKS audit-log report</h1>",
        f'<p class="meta">{h(document["mode"])} run <code>{h(document["run_id"])}</code>, '
        f"{h(document['started_at'])} to {h(document['finished_at'])}</p>",
        f'<div class="cards"><div class="card"><span class="n" id="total">{summary["clusters"]}</span>'
        f'<span class="l">clusters</span></div>{cards}</div>',
        _status_bar(summary),
        flow_header_html(document),
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
                f"<td>{h(c['reason']) if c['reason'] else '<span class=muted>-</span>'}</td>"
                + (f'<td class="flow">{flow_cell_html(c)}</td>' if has_flow(document) else "")
                + (f"<td>{h(c.get('observed_at', '-'))}</td>" if is_status(document) else "")
                + "</tr>"
            )
        observed = "<th>Observed</th>" if is_status(document) else ""
        parts.append(
            '<table id="clusters"><thead><tr><th>Cluster</th><th>Subscription</th><th>Location</th>'
            "<th>Status</th><th>Missing categories</th><th>Planned change</th><th>Reason</th>"
            + ("<th>Audit records</th>" if has_flow(document) else "")
            + f"{observed}</tr></thead>"
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
