"""Exemptions as every format shows them: those expiring soon, and exclude tags that exclude nothing. Pure.

A cluster's ``exemption`` (``remediation/core/exemptions.py``) is listed when it needs a person:
``expiring_soon`` (its last day is within 14 days), ``expired`` (the cluster is checked again) and
``malformed`` (a typo that excludes nothing, shown with its tag text). Active exemptions further
out are only counted. The words come from the reason catalogue. Documents without exemptions
render exactly as before.
"""

from __future__ import annotations

import html

from remediation.core.reasons import meaning
from remediation.core.report import ClusterDoc, ExemptionDoc, ReportDocument

NOTABLE = ("expiring_soon", "expired", "malformed")
CSV_EXEMPTION_COLUMNS = ("exemption_state", "exemption_tag", "exemption_until", "exemption_reason")
HEADINGS = {
    "expiring_soon": "Exemptions expiring soon",
    "expired": "Exemptions that have expired (the clusters are checked again)",
    "malformed": "Exclude tags that exclude nothing (malformed)",
}


def has_exemptions(document: ReportDocument) -> bool:
    return any("exemption" in c for c in document["clusters"])


def notable(document: ReportDocument, state: str) -> list[tuple[ClusterDoc, ExemptionDoc]]:
    """The clusters whose exemption is in ``state``, by name."""
    found = [(c, e) for c in document["clusters"] if (e := c.get("exemption")) is not None and e["state"] == state]
    return sorted(found, key=lambda pair: (pair[0]["name"].lower(), pair[0]["id"].lower()))


def describe(exemption: ExemptionDoc) -> str:
    """``through 2026-12-10; reason: migration`` / ``expired on ...`` / ``tag 'k=v' excludes nothing``."""
    parts = []
    if exemption["state"] == "expired":
        parts.append(f"expired on {exemption.get('expired_on', exemption['until'])}")
    elif exemption["state"] == "malformed":
        parts.append("excludes nothing")
    elif exemption["until"]:
        parts.append(f"through {exemption['until']}")
    if exemption["reason"]:
        parts.append(f"reason: {exemption['reason']}")
    return f"{exemption['tag']} ({'; '.join(parts)})" if parts else exemption["tag"]


def heading_note(state: str) -> str:
    return meaning(state, "exemption") or ""


def summary_text(document: ReportDocument) -> str:
    """``exemptions: 2 active, 1 expiring soon, 1 malformed`` (empty without exemptions)."""
    counts = document["summary"].get("exemptions") or {}
    shown = ", ".join(f"{n} {state.replace('_', ' ')}" for state, n in counts.items() if n)
    return f"exemptions: {shown}" if shown else ""


def csv_cells(cluster: ClusterDoc) -> tuple[str, ...]:
    exemption = cluster.get("exemption")
    if exemption is None:
        return ("",) * len(CSV_EXEMPTION_COLUMNS)
    return (exemption["state"], exemption["tag"], exemption["until"] or "", exemption["reason"] or "")


def exemption_sections_html(document: ReportDocument) -> str:
    """One table per state that needs a person (expiring soon, expired, malformed); empty without any."""
    sections = []
    for state in NOTABLE:
        listed = notable(document, state)
        if not listed:
            continue
        rows = "".join(
            f"<tr><td>{html.escape(c['name'])}</td><td>{html.escape(describe(e))}</td></tr>" for c, e in listed
        )
        sections.append(
            f'<h2>{html.escape(HEADINGS[state])}</h2><p class="muted">{html.escape(heading_note(state))}</p>'
            f'<table id="exemptions-{state}"><thead><tr><th>Cluster</th><th>Exemption</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>"
        )
    return "".join(sections)
