"""What every renderer shares: the formats, content types, status colours, the cost note and
the wording of a cluster's planned or applied change. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import StrEnum

from remediation.core.reasons import meaning
from remediation.core.report import STATUS_ORDER, ClusterDoc, ReportDocument, SummaryDoc


class Format(StrEnum):
    TABLE = "table"
    JSON = "json"
    MARKDOWN = "markdown"
    HTML = "html"
    CSV = "csv"
    SARIF = "sarif"
    JUNIT = "junit"
    OCSF = "ocsf"


CONTENT_TYPES: Mapping[str, str] = {
    Format.TABLE.value: "text/plain; charset=utf-8",
    Format.JSON.value: "application/json",
    Format.MARKDOWN.value: "text/markdown; charset=utf-8",
    Format.HTML.value: "text/html; charset=utf-8",
    Format.CSV.value: "text/csv; charset=utf-8",
    Format.SARIF.value: "application/sarif+json",
    Format.JUNIT.value: "application/xml; charset=utf-8",
    Format.OCSF.value: "application/x-ndjson",
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


def summary_line(summary: SummaryDoc) -> str:
    counts = ", ".join(f"{summary[name]} {name.replace('_', '-')}" for name in STATUS_ORDER if summary[name])
    unreadable = summary.get("unreadable_subscriptions", 0)
    tail = f"; {unreadable} subscription{'s' if unreadable != 1 else ''} could not be read" if unreadable else ""
    n = summary["clusters"]
    return f"{n} cluster{'' if n == 1 else 's'}" + (f": {counts}" if counts else "") + tail


def action_verb(document: ReportDocument, cluster: ClusterDoc) -> str:
    """'would create' in a dry run, 'created' once applied, 'planned create' if apply did not get there."""
    action = cluster["action"]
    if action is None:
        return ""
    if document["mode"] == "report" or cluster["status"] == "non_compliant":
        return f"would {action['kind']}"
    if cluster["status"] == "remediated":
        return f"{action['kind']}d"
    return f"planned {action['kind']}"


def is_status(document: ReportDocument) -> bool:
    """A status document (``GET /api/status``): stored observations, each with the time and run that observed it."""
    return document["mode"] == "status"


def action_text(document: ReportDocument, cluster: ClusterDoc) -> str:
    """'would create aks-audit-remediation -> law-x (+kube-audit, kube-scheduler)'."""
    action = cluster["action"]
    if action is None:
        return "-"
    added = action.get("added", action["categories"])
    return f"{action_verb(document, cluster)} {action['setting_name']} -> {last_segment(action['workspace_id'])}" + (
        f" (+{', '.join(added)})" if added else ""
    )


# Problems first: what needs a person's attention, then what was done, then what is fine.
ATTENTION_ORDER: tuple[str, ...] = (
    "failed",
    "blocked",
    "non_compliant",
    "deferred",
    "remediated",
    "excluded",
    "compliant",
)


def by_attention(clusters: Iterable[ClusterDoc]) -> list[ClusterDoc]:
    rank = {status: i for i, status in enumerate(ATTENTION_ORDER)}
    return sorted(clusters, key=lambda c: (rank.get(c["status"], len(rank)), c["name"].lower(), c["id"].lower()))


def missing_text(cluster: ClusterDoc, sep: str = ", ") -> str:
    """The missing categories; 'unknown' when they could not be determined."""
    missing = cluster["missing_categories"]
    if missing is None:
        return "unknown"
    return sep.join(missing) or "-"


def subscription_label(cluster: ClusterDoc) -> str:
    """The subscription's display name, else its GUID."""
    return cluster.get("subscription_name") or cluster["subscription_id"]


def reason_text(code: str | None) -> str | None:
    """What a cluster's reason code means, from the reason catalogue (None for ARM codes it does not hold)."""
    return meaning(code)


def reason_codes(clusters: Iterable[ClusterDoc]) -> list[str]:
    """The reason codes among ``clusters`` that have an explanation, sorted."""
    return sorted({c["reason"] for c in clusters if c["reason"] and reason_text(c["reason"])})


def next_text(document: ReportDocument, cluster: ClusterDoc) -> str:
    """What happens or what to do: the change for clusters with one, else the next step."""
    if cluster["action"] is not None and cluster["status"] in ("non_compliant", "remediated"):
        return action_text(document, cluster)
    return cluster.get("next_step") or "-"


def last_segment(resource_id: str) -> str:
    return resource_id.rstrip("/").rsplit("/", 1)[-1] if resource_id else "(to be resolved)"


def joined(items: Iterable[str], sep: str = ",") -> str:
    return sep.join(items)


# C0 and C1 control characters (and DEL): a newline in an ARM error message would forge a log
# line, an escape sequence would reach the terminal. And the bidirectional controls (embeddings,
# overrides, isolates, marks: U+202A-202E, U+2066-2069, U+200E/F, U+061C): a name with U+202E
# reads backwards ("Trojan Source"), so what a reviewer sees is not what is there.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escape_control(text: str) -> str:
    """``text`` with every control character written as a visible escape (``\\n``, ``\\x1b``, ``\\u202e``)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)
