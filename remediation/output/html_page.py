"""``html``: one self-contained page a reviewer can share.

Problems first (failed, blocked, non-compliant, deferred), then the rest. Sort by any column,
filter by status and subscription, search by name: one small inline script, allowed by the
page's Content-Security-Policy through its SHA-256 hash (no other script can run, nothing is
loaded from anywhere). The filter and sort live in the URL fragment (``#status=failed&sort=name``)
so a filtered view can be shared as a link. With scripts off the page is the same table in
the same order, controls hidden. Every value from ARM or configuration is HTML-escaped;
resource IDs may wrap at their ``/`` separators, never inside a name. The stylesheet and the
script are package data (``assets/report.css``, ``assets/report.js``), inlined in every page.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Iterable
from importlib.resources import files

from remediation.core.report import STATUS_ORDER, ClusterDoc, ReportDocument, SettingDoc, SummaryDoc
from remediation.output.baselines import html_cells, html_heads, html_sort_attrs, html_summary
from remediation.output.common import (
    ATTENTION_ORDER,
    COST_NOTE,
    COSTLY_CATEGORY,
    STATUS_COLOURS,
    action_verb,
    by_attention,
    escape_control,
    is_status,
    last_segment,
    reason_codes,
    reason_text,
    subscription_label,
    summary_line,
)
from remediation.output.exemptions import exemption_sections_html
from remediation.output.flow_section import flow_cell_html, flow_header_html, flow_text, has_flow


def h(text: object) -> str:
    """HTML-escaped, with control and bidi characters written as visible escapes."""
    return html.escape(escape_control(str(text)), quote=True)


def wrap_id(resource_id: str) -> str:
    """An escaped resource ID that may break after each '/' (and nowhere else)."""
    return "/<wbr>".join(h(part) for part in resource_id.split("/"))


def _asset(name: str) -> str:
    """A file of the page's package data (``remediation/output/assets/``), shipped in the wheel."""
    return files(__package__).joinpath("assets").joinpath(name).read_text(encoding="utf-8")


# The page's stylesheet, and its only script: filter, search and sort the cluster table, kept in the URL fragment.
_CSS = _asset("report.css")
_SCRIPT = _asset("report.js").strip()

SCRIPT_HASH = "sha256-" + base64.b64encode(hashlib.sha256(_SCRIPT.encode("utf-8")).digest()).decode("ascii")
CSP = f"default-src 'none'; style-src 'unsafe-inline'; script-src '{SCRIPT_HASH}'; img-src data:"


def _row(*cells: str, css_class: str = "") -> str:
    """A table row of already-escaped cells."""
    attr = f' class="{css_class}"' if css_class else ""
    return f"<tr{attr}>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _badge(status: str) -> str:
    colour = STATUS_COLOURS.get(status, "#455a64")
    return f'<span class="badge" style="background:{colour}">{h(status.replace("_", " "))}</span>'


def _cats(items: Iterable[str], css_class: str = "cats") -> str:
    text = ", ".join(h(item) for item in items)
    return f'<span class="{css_class}">{text}</span>' if text else '<span class="muted">none</span>'


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


def _change_html(document: ReportDocument, cluster: ClusterDoc) -> str:
    action = cluster["action"]
    parts = []
    if action is not None:
        added = action.get("added", action["categories"])
        kept = [c for c in action["categories"] if c not in added]
        parts.append(
            f"{h(action_verb(document, cluster))} <code>{h(action['setting_name'])}</code> &rarr; "
            f'<code title="{h(action["workspace_id"])}">{h(last_segment(action["workspace_id"]))}</code>'
            f'<br><span class="cats add">+ {", ".join(h(c) for c in added) or "nothing"}</span>'
            + (f'<br><span class="muted">keeps {", ".join(h(c) for c in kept)}</span>' if kept else "")
        )
    next_step = cluster.get("next_step")
    if next_step and cluster["status"] not in ("non_compliant", "remediated"):
        parts.append(f'<span class="todo">{h(next_step)}</span>')
    return "<br>".join(parts) if parts else '<span class="muted">-</span>'


def _setting_html(setting: SettingDoc) -> str:
    where = "; ".join(
        f"{h(d['kind'].replace('_', ' '))} <span class=id>{h(last_segment(d['target']))}</span>"
        for d in setting["destinations"]
    )
    verdict = (
        "counted"
        if setting["counted"]
        else f'<span class="off">not counted: {h((setting["not_counted_reason"] or "").replace("-", " "))}</span>'
    )
    disabled = f"; disabled: {_cats(setting['disabled_categories'])}" if setting["disabled_categories"] else ""
    ours = " (ours)" if setting["ours"] else ""
    return (
        f"<li><code>{h(setting['name'])}</code>{ours} &rarr; {where or 'no destination'}: "
        f"{_cats(setting['categories'])}{disabled} &mdash; {verdict}</li>"
    )


def _evidence_html(cluster: ClusterDoc) -> str:
    settings = cluster.get("settings")
    if settings is None:
        return '<span class="muted">not read</span>'
    if not settings:
        return '<span class="muted">no diagnostic settings</span>'
    items = "".join(_setting_html(s) for s in settings)
    counted = sum(1 for s in settings if s["counted"])
    return f"<details><summary>{len(settings)} setting(s), {counted} counted</summary><ul>{items}</ul></details>"


def _missing_html(cluster: ClusterDoc, required: list[str]) -> str:
    missing = cluster["missing_categories"]
    if missing is None:
        return '<span class="muted" title="could not be determined">unknown</span>'
    if len(required) > 1 and sorted(missing) == sorted(required):
        return f'<span class="cats" title="{h(", ".join(missing))}">all {len(missing)} required</span>'
    return _cats(missing) if missing else '<span class="muted">-</span>'


def _observed_html(cluster: ClusterDoc) -> str:
    """When the cluster was last observed (status pages): the start of the run that observed it, and that run."""
    observed = cluster.get("observed_at")
    if not observed:
        return '<td class="observed"><span class="muted">-</span></td>'
    run = cluster.get("observed_run_id")
    title = f' title="run {h(run)}"' if run else ""
    return f'<td class="observed"><time datetime="{h(observed)}"{title}>{h(observed)}</time></td>'


def _cluster_row(document: ReportDocument, c: ClusterDoc, rank: dict[str, int], with_flow: bool) -> str:
    missing = c["missing_categories"]
    reason = c["reason"]
    reason_html = ""
    if reason:
        meaning = reason_text(reason)
        title = f' title="{h(meaning)}"' if meaning else ""
        reason_html = f" <code{title}>{h(reason)}</code>"
    why = c.get("explanation") if c["status"] != "compliant" else None
    portal = c.get("portal_url")
    name = (
        f'<a href="{h(portal)}" target="_blank" rel="noopener noreferrer" title="{h(c["id"])}">{h(c["name"])}</a>'
        if portal
        else f'<span title="{h(c["id"])}">{h(c["name"])}</span>'
    )
    attrs = {
        "status": c["status"],
        "sub": c["subscription_id"],
        "name": c["name"].lower(),
        "rg": c["resource_group"].lower(),
        "subname": subscription_label(c).lower(),
        "location": c["location"].lower(),
        "rank": f"{rank.get(c['status'], 99):02d}",
        "missing": f"{len(missing) if missing is not None else 99:02d}",
        "flow": flow_text(c),
        "observed": str(c.get("observed_at", "")),
        **html_sort_attrs(document, c),
    }
    data = " ".join(f'data-{k}="{h(v)}"' for k, v in attrs.items())
    subscription = (
        f'<span title="{h(c["subscription_id"])}">{h(c.get("subscription_name"))}</span><br>'
        f'<span class="sub id">{h(c["subscription_id"][:8])}&hellip;</span>'
        if c.get("subscription_name")
        else f"<span class=id>{wrap_id(c['subscription_id'])}</span>"
    )
    return (
        f'<tr class="cluster" {data}>'
        f'<td class="name">{name}<br><span class="sub">{h(c["resource_group"])}</span></td>'
        f"<td>{subscription}</td>"
        f'<td class="loc">{h(c["location"] or "-")}</td>'
        f"<td>{_badge(c['status'])}{reason_html}" + (f'<br><span class="why">{h(why)}</span>' if why else "") + "</td>"
        f"<td>{_missing_html(c, document['required_categories'])}</td>"
        f"<td>{_change_html(document, c)}</td>"
        f"<td>{_evidence_html(c)}</td>"
        + html_cells(document, c)
        + (f'<td class="flow">{flow_cell_html(c)}</td>' if with_flow else "")
        + (_observed_html(c) if is_status(document) else "")
        + "</tr>"
    )


def _controls(clusters: list[ClusterDoc]) -> str:
    statuses = [s for s in ATTENTION_ORDER if any(c["status"] == s for c in clusters)]
    subs: dict[str, str] = {}
    for c in clusters:
        subs.setdefault(c["subscription_id"], subscription_label(c))
    status_options = "".join(f'<option value="{h(s)}">{h(s.replace("_", " "))}</option>' for s in statuses)
    sub_options = "".join(
        f'<option value="{h(sid)}">{h(label)}</option>' for sid, label in sorted(subs.items(), key=lambda i: i[1])
    )
    return (
        '<div id="controls" hidden>'
        '<label>Search <input id="f-q" type="search" placeholder="cluster name"></label>'
        f'<label>Status <select id="f-status"><option value="">all</option>{status_options}</select></label>'
        f'<label>Subscription <select id="f-sub"><option value="">all</option>{sub_options}</select></label>'
        '<span id="shown" class="muted"></span></div>'
    )


def _header(document: ReportDocument) -> list[str]:
    scope = document.get("scope") or {"subscriptions": [], "clusters": []}
    config = document.get("configuration")
    subs = ", ".join(scope["subscriptions"]) or "every subscription the identity can list"
    lines = [
        f'<p class="meta"><b>{h(document["mode"])}</b> run <code>{h(document["run_id"])}</code>, '
        f"{h(document['started_at'])} to {h(document['finished_at'])}"
        + (f", aks-audit-remediation {h(document['tool_version'])}" if document.get("tool_version") else "")
        + "</p>",
        f'<p class="meta" id="scope"><b>Scope:</b> {h(subs)}'
        + (f"; clusters: {', '.join(h(c) for c in scope['clusters'])}" if scope["clusters"] else "")
        + "</p>",
        f'<p class="meta" id="required"><b>Required categories:</b> {_cats(document["required_categories"])}</p>',
    ]
    if config is not None:
        lines.append(
            f'<p class="meta" id="configuration"><b>Configuration:</b> destination tables '
            f"<code>{h(config['destination_tables'])}</code>, accepted destinations "
            f"<code>{h(config['accepted_destinations'])}</code>, our setting <code>{h(config['setting_name'])}</code>, "
            f"workspace {h(config['workspace'])}, exclude tag <code>{h(config['exclude_tag'])}</code>, "
            f"REMEDIATION_MODE <code>{h(config['mode'])}</code>, cloud {h(config['cloud'])}</p>"
        )
    return lines


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
        f'<meta http-equiv="Content-Security-Policy" content="{h(CSP)}">',
        '<meta name="referrer" content="no-referrer">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{h(title)}</title><style>{_CSS}</style></head><body>",
        "<h1>AKS audit-log report</h1>",
        *_header(document),
        f'<div class="cards"><div class="card"><span class="n" id="total">{summary["clusters"]}</span>'
        f'<span class="l">clusters</span></div>{cards}</div>',
        _status_bar(summary),
        flow_header_html(document),
    ]
    if COSTLY_CATEGORY in document["required_categories"]:
        parts.append(f'<p class="note" id="cost-note"><strong>Cost:</strong> {h(COST_NOTE)}</p>')
    parts.append("<h2>Clusters</h2>")
    clusters = by_attention(document["clusters"])
    if clusters:
        rank = {status: i for i, status in enumerate(ATTENTION_ORDER)}
        rows = "".join(_cluster_row(document, c, rank, has_flow(document)) for c in clusters)
        heads = (
            ("name", "Cluster / resource group"),
            ("subname", "Subscription"),
            ("location", "Location"),
            ("rank", "Status"),
            ("missing", "Missing"),
            ("", "Change / what to do"),
            ("", "Evidence"),
        )
        tail = (
            *((("flow", "Audit records"),) if has_flow(document) else ()),
            *((("observed", "Observed"),) if is_status(document) else ()),
        )
        head = "".join(
            f'<th data-key="{key}"><button type="button">{h(label)}</button></th>' if key else f"<th>{h(label)}</th>"
            for key, label in heads
        )
        head += html_heads(document)
        head += "".join(f'<th data-key="{key}"><button type="button">{h(label)}</button></th>' for key, label in tail)
        parts.append(_controls(clusters))
        parts.append(f'<table id="clusters"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>')
    else:
        parts.append('<p class="muted">No clusters in scope.</p>')
    parts.append(html_summary(document))
    parts.append(exemption_sections_html(document))
    codes = reason_codes(clusters)
    if codes:
        items = "".join(f"<dt>{h(code)}</dt><dd>{h(reason_text(code))}</dd>" for code in codes)
        parts.append(f'<h2>Reason codes</h2><dl class="codes" id="reasons">{items}</dl>')
    if document["workspaces"]:
        ws_rows = [
            _row(f'<span class="id">{wrap_id(w["id"])}</span>', h(w["location"]), h(w["action"].replace("_", " ")))
            for w in document["workspaces"]
        ]
        parts.append(
            '<h2>Workspaces</h2><table id="workspaces"><thead><tr><th>Workspace</th><th>Location</th>'
            f"<th>Action</th></tr></thead><tbody>{''.join(ws_rows)}</tbody></table>"
        )
    if document["errors"]:
        err_rows = [
            _row(f'<span class="id">{wrap_id(e["scope"])}</span>', h(e["code"]), h(e["message"]), css_class="err")
            for e in document["errors"]
        ]
        parts.append(
            '<h2>Errors</h2><table id="errors"><thead><tr><th>Scope</th><th>Code</th><th>Message</th></tr></thead>'
            f"<tbody>{''.join(err_rows)}</tbody></table>"
        )
    if clusters:
        parts.append(f"<script>{_SCRIPT}</script>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
