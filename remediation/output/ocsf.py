"""``ocsf``: OCSF 1.5 Compliance Finding events (class 2003), one JSON line per cluster, for SIEMs. Pure.

The shape Prowler writes and Microsoft Sentinel's OCSF connectors read: ``compliance.control`` is
our own check (the configured categories), its ``status_id`` the cluster's verdict (Pass for
compliant or remediated, Fail for non-compliant, blocked or failed, Unknown for deferred or
excluded); ``compliance.checks`` holds one check per baseline in the document (its verdict, its
reason from the reason catalogue) and ``compliance.standards`` the baselines' publishers. The
cluster is the finding's resource (and the cloud profile's account is its subscription); the
explanation and next step are the finding's description and remediation.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from remediation import __version__
from remediation.core.baselines import BY_ID
from remediation.core.reasons import meaning
from remediation.core.report import ClusterDoc, ReportDocument
from remediation.output.baselines import reason_words
from remediation.output.common import is_status

OCSF_VERSION = "1.5.0"
CLASS_UID = 2003  # Compliance Finding
CATEGORY_UID = 2  # Findings
ACTIVITY_CREATE = 1
COMPLIANCE_STATUS = {"pass": (1, "Pass"), "fail": (3, "Fail"), "unknown": (0, "Unknown")}
OUR_VERDICT = {
    "compliant": "pass",
    "remediated": "pass",
    "non_compliant": "fail",
    "blocked": "fail",
    "failed": "fail",
    "deferred": "unknown",
    "excluded": "unknown",
}
SEVERITY = {  # (severity_id, severity) by the cluster's status
    "non_compliant": (4, "High"),
    "blocked": (4, "High"),
    "failed": (3, "Medium"),
    "deferred": (2, "Low"),
    "compliant": (1, "Informational"),
    "remediated": (1, "Informational"),
    "excluded": (1, "Informational"),
}
FINDING_STATUS = {"remediated": (4, "Resolved"), "excluded": (3, "Suppressed")}  # else (1, "New")
BASELINE_SEVERITY = {"high": (4, "High"), "medium": (3, "Medium"), "low": (2, "Low")}


def _epoch_ms(moment: str) -> int:
    return int(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp() * 1000)


def _checks(cluster: ClusterDoc) -> list[dict[str, Any]]:
    checks = []
    for baseline, judged in (cluster.get("baselines") or {}).items():
        known = BY_ID.get(baseline)
        status_id, status = COMPLIANCE_STATUS[judged["verdict"]]
        check: dict[str, Any] = {
            "uid": baseline,
            "name": known.title if known is not None else baseline,
            "desc": reason_words(judged),
            "status": status,
            "status_id": status_id,
        }
        if known is not None:
            check["standards"] = [f"{known.publisher}: {known.control}"]
            check["severity_id"], check["severity"] = BASELINE_SEVERITY[known.severity]
        checks.append(check)
    return checks


def event(document: ReportDocument, cluster: ClusterDoc) -> dict[str, Any]:
    """One cluster's Compliance Finding."""
    status = cluster["status"]
    status_id, _ = COMPLIANCE_STATUS[OUR_VERDICT[status]]
    severity_id, severity = SEVERITY[status]
    finding_status_id, finding_status = FINDING_STATUS.get(status, (1, "New"))
    when = cluster.get("observed_at") if is_status(document) else None
    checks = _checks(cluster)
    standards = sorted({s for c in checks for s in c.get("standards", [])})
    step = cluster.get("next_step")
    found: dict[str, Any] = {
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Compliance Finding",
        "type_uid": CLASS_UID * 100 + ACTIVITY_CREATE,
        "type_name": "Compliance Finding: Create",
        "time": _epoch_ms(when or document["finished_at"]),
        "severity_id": severity_id,
        "severity": severity,
        "status_id": finding_status_id,
        "status": finding_status,
        "status_code": status,
        "status_detail": cluster.get("explanation") or meaning(cluster["reason"]) or status,
        "message": f"{cluster['name']}: {status.replace('_', '-')}"
        + (f" ({cluster['reason']})" if cluster["reason"] else ""),
        "metadata": {
            "version": OCSF_VERSION,
            "uid": f"{document['run_id']}/{cluster['id'].lower()}",
            "event_code": "required-categories",
            "profiles": ["cloud"],
            "product": {
                "name": "aks-audit-remediation",
                "vendor_name": "aks-audit-remediation",
                "version": document.get("tool_version") or __version__,
            },
        },
        "finding_info": {
            "uid": f"aks-audit-remediation/{cluster['id'].lower()}",
            "title": "AKS cluster sends its audit and control-plane logs to Log Analytics",
            "desc": cluster.get("explanation") or status,
            "types": ["aks-audit-remediation", document["mode"]],
        },
        "compliance": {
            "control": "required-categories: " + ", ".join(document["required_categories"]),
            "status_id": status_id,  # (its caption ``status`` is left out: py-ocsf-models 0.10 has no such field)
            "standards": standards or None,
            "checks": checks or None,
        },
        "resources": [
            {
                "uid": cluster["id"],
                "name": cluster["name"],
                "type": "Microsoft.ContainerService/managedClusters",
                "region": cluster["location"] or None,
                "group": {"name": cluster["resource_group"]},
                "labels": [f"subscription:{cluster['subscription_id']}"],
            }
        ],
        "cloud": {
            "provider": "Azure",
            "region": cluster["location"] or None,
            "account": {
                "uid": cluster["subscription_id"],
                "name": cluster.get("subscription_name") or cluster["subscription_id"],
                "type": "Azure Subscription",
                "type_id": 99,  # Other: OCSF 1.5 has no type for an Azure subscription
            },
        },
    }
    if step:
        found["remediation"] = {"desc": step}
    cleaned: dict[str, Any] = _without_nulls(found)
    return cleaned


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def render_ocsf(document: ReportDocument) -> str:
    """JSON lines: one Compliance Finding per cluster (nothing for an empty estate)."""
    return "".join(json.dumps(event(document, c), ensure_ascii=False) + "\n" for c in document["clusters"])
