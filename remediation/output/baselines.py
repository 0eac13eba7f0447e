"""Baseline verdicts as every format shows them. Pure.

A cluster's ``baselines`` (see ``remediation/core/baselines.py``) become one compact column in
table and markdown (``3/6 pass; fail: 6c66c325, AuditLogs``), one column per baseline in csv
(the verdict) and in html (a badge, its reason and detail on hover); ``summary.baselines``
becomes a header line or a small table. The words come from the reason catalogue. Documents
without baselines (older runs, ``REMEDIATION_BASELINES=none``) render exactly as before.
"""

from __future__ import annotations

import html

from remediation.core.baselines import BY_ID
from remediation.core.reasons import meaning
from remediation.core.report import BaselineDoc, ClusterDoc, ReportDocument, SummaryDoc

BASELINE_COLOURS = {"pass": "#2e7d32", "fail": "#c62828", "unknown": "#757575"}


def baseline_ids(document: ReportDocument) -> list[str]:
    """The baselines the document judges, in its summary's (configuration) order."""
    summary = document["summary"].get("baselines")
    if summary:
        return list(summary)
    seen: dict[str, None] = {}
    for cluster in document["clusters"]:
        seen.update(dict.fromkeys(cluster.get("baselines") or {}))
    return list(seen)


def has_baselines(document: ReportDocument) -> bool:
    return bool(baseline_ids(document))


def short(baseline: str) -> str:
    known = BY_ID.get(baseline)
    return known.short if known is not None else baseline


def title(baseline: str) -> str:
    known = BY_ID.get(baseline)
    return f"{known.publisher}: {known.control} {known.title}" if known is not None else baseline


def reason_words(judged: BaselineDoc) -> str:
    """'reason-code: what it means; detail' for a hover or a cell."""
    words = meaning(judged["reason"], "baseline")
    text = judged["reason"] + (f": {words}" if words else "")
    return text + (f" ({judged['detail']})" if judged.get("detail") else "")


def compact_text(cluster: ClusterDoc) -> str:
    """``3/6 pass; fail: 6c66c325, AuditLogs``, ``unknown (excluded)``, or ``-`` without baselines."""
    judged = cluster.get("baselines") or {}
    if not judged:
        return "-"
    unknown = [j for j in judged.values() if j["verdict"] == "unknown"]
    if len(unknown) == len(judged):
        reasons = sorted({j["reason"] for j in unknown})
        return f"unknown ({', '.join(reasons)})"
    passed = sum(1 for j in judged.values() if j["verdict"] == "pass")
    failed = [short(b) for b, j in judged.items() if j["verdict"] == "fail"]
    return f"{passed}/{len(judged)} pass" + (f"; fail: {', '.join(failed)}" if failed else "")


def summary_lines(summary: SummaryDoc) -> list[str]:
    """One line per baseline: ``cis-aks-2.1.1: 12 pass, 3 fail, 1 unknown``."""
    counts = summary.get("baselines") or {}
    return [f"{baseline}: {c['pass']} pass, {c['fail']} fail, {c['unknown']} unknown" for baseline, c in counts.items()]


def csv_columns(document: ReportDocument) -> tuple[str, ...]:
    return tuple(f"baseline:{b}" for b in baseline_ids(document))


def csv_cells(document: ReportDocument, cluster: ClusterDoc) -> tuple[str, ...]:
    judged = cluster.get("baselines") or {}
    return tuple(judged[b]["verdict"] if b in judged else "" for b in baseline_ids(document))


def _h(text: object) -> str:
    return html.escape(str(text), quote=True)


def html_heads(document: ReportDocument) -> str:
    """The header cell of each baseline column: its short name, sortable, its full title on hover."""
    return "".join(
        f'<th data-key="bl-{i}" title="{_h(title(b))}"><button type="button">{_h(short(b))}</button></th>'
        for i, b in enumerate(baseline_ids(document))
    )


def html_cells(document: ReportDocument, cluster: ClusterDoc) -> str:
    judged = cluster.get("baselines") or {}
    cells = []
    for b in baseline_ids(document):
        j = judged.get(b)
        if j is None:
            cells.append('<td class="muted">-</td>')
            continue
        colour = BASELINE_COLOURS.get(j["verdict"], "#455a64")
        cells.append(
            f'<td><span class="bl" style="background:{colour}" title="{_h(reason_words(j))}">'
            f"{_h(j['verdict'])}</span></td>"
        )
    return "".join(cells)


def html_sort_attrs(document: ReportDocument, cluster: ClusterDoc) -> dict[str, str]:
    judged = cluster.get("baselines") or {}
    return {f"bl-{i}": judged[b]["verdict"] if b in judged else "" for i, b in enumerate(baseline_ids(document))}


def html_summary(document: ReportDocument) -> str:
    counts = document["summary"].get("baselines") or {}
    if not counts:
        return ""
    rows = "".join(
        f'<tr><td title="{_h(title(b))}"><code>{_h(b)}</code></td><td>{_h(short(b))}</td>'
        f"<td>{c['pass']}</td><td>{c['fail']}</td><td>{c['unknown']}</td></tr>"
        for b, c in counts.items()
    )
    return (
        '<h2>Baselines</h2><table class="baselines" id="baselines"><thead><tr><th>Baseline</th><th>Column</th>'
        f"<th>Pass</th><th>Fail</th><th>Unknown</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def markdown_rows(document: ReportDocument) -> list[tuple[str, str, int, int, int]]:
    """(id, what it is, pass, fail, unknown) per baseline of the summary."""
    counts = document["summary"].get("baselines") or {}
    return [(b, title(b), c["pass"], c["fail"], c["unknown"]) for b, c in counts.items()]
