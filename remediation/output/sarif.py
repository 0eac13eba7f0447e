"""``sarif``: SARIF 2.1.0 for GitHub code scanning, Defender for DevOps and other SARIF consumers. Pure.

One run; its tool's rules are our own check (``required-categories``: the cluster sends the
configured categories to Log Analytics) and one rule per baseline in the document, their texts
from the reason catalogue and the baselines' metadata. One result per cluster and failed rule:

* our rule, for a cluster that is ``non_compliant``, ``blocked``, ``failed`` (level ``error``) or
  ``deferred`` (``warning``); an excluded cluster's result is ``note`` with an accepted external
  suppression carrying the exemption (code scanning shows it as dismissed);
* a baseline's rule, for each baseline the cluster fails (level from the baseline's severity).

Each result names the cluster's resource ID as its logical location (and, since some consumers
require one, as the URI of its physical location), and a partial fingerprint keeps it the same
alert from run to run.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from remediation import __version__
from remediation.core.baselines import BY_ID
from remediation.core.reasons import CATALOGUE, meaning
from remediation.core.report import ClusterDoc, ReportDocument
from remediation.output.baselines import baseline_ids, reason_words

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
OUR_RULE = "required-categories"
STATUS_LEVELS = {
    "non_compliant": "error",
    "blocked": "error",
    "failed": "error",
    "deferred": "warning",
    "excluded": "note",
}
SEVERITY_LEVELS = {"high": "error", "medium": "warning", "low": "note"}
SECURITY_SEVERITY = {"high": "8.0", "medium": "5.0", "low": "3.0"}


def _text(text: str) -> dict[str, str]:
    return {"text": text}


def _our_rule(document: ReportDocument) -> dict[str, Any]:
    steps = [
        f"- {entry.code}: {entry.meaning}" + (f" Next: {entry.next_step}" if entry.next_step else "")
        for entry in CATALOGUE.values()
        if entry.kind == "cluster"
    ]
    categories = ", ".join(document["required_categories"])
    return {
        "id": OUR_RULE,
        "name": "RequiredCategoriesSentToLogAnalytics",
        "shortDescription": _text("AKS clusters send their audit and control-plane logs to Log Analytics"),
        "fullDescription": _text(
            f"Every required category ({categories}) is enabled in a diagnostic setting that sends to a "
            "Log Analytics workspace that exists."
        ),
        "help": _text("Reason codes and what to do:\n" + "\n".join(steps)),
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["security", "logging", "aks"], "security-severity": SECURITY_SEVERITY["high"]},
    }


def _baseline_rule(baseline: str) -> dict[str, Any]:
    known = BY_ID.get(baseline)
    entries = [e for e in CATALOGUE.values() if e.kind == "baseline" and baseline in e.baselines]
    steps = [f"- {e.code}: {e.meaning}" + (f" Next: {e.next_step}" if e.next_step else "") for e in entries]
    rule: dict[str, Any] = {
        "id": baseline,
        "help": _text("Verdict reasons:\n" + "\n".join(steps)),
    }
    if known is None:
        rule["shortDescription"] = _text(baseline)
        return rule
    rule.update(
        name=known.short.replace(" ", "").replace(".", ""),
        shortDescription=_text(known.title),
        fullDescription=_text(f"{known.publisher}: {known.control}. {known.title}."),
        helpUri=known.url,
        defaultConfiguration={"level": SEVERITY_LEVELS[known.severity]},
        properties={
            "tags": ["security", "compliance", known.publisher],
            "security-severity": SECURITY_SEVERITY[known.severity],
        },
    )
    return rule


def _location(cluster: ClusterDoc) -> dict[str, Any]:
    return {
        "physicalLocation": {"artifactLocation": {"uri": cluster["id"].lstrip("/")}},
        "logicalLocations": [{"fullyQualifiedName": cluster["id"], "name": cluster["name"], "kind": "resource"}],
    }


def _fingerprint(cluster: ClusterDoc, rule: str) -> dict[str, str]:
    digest = hashlib.sha256(f"{cluster['id'].lower()}|{rule}".encode()).hexdigest()
    return {"clusterRule/v1": digest[:32]}


def _our_result(cluster: ClusterDoc, index: int) -> dict[str, Any] | None:
    status = cluster["status"]
    level = STATUS_LEVELS.get(status)
    if level is None:
        return None
    why = cluster.get("explanation") or status.replace("_", "-")
    step = cluster.get("next_step")
    result: dict[str, Any] = {
        "ruleId": OUR_RULE,
        "ruleIndex": index,
        "level": level,
        "message": _text(f"{cluster['name']}: {why}" + (f". Next: {step}" if step else "")),
        "locations": [_location(cluster)],
        "partialFingerprints": _fingerprint(cluster, OUR_RULE),
        "properties": {
            "status": status,
            "reason": cluster["reason"],
            "reasonMeaning": meaning(cluster["reason"]),
            "missingCategories": cluster["missing_categories"],
        },
    }
    if status == "excluded":
        exemption = cluster.get("exemption")
        given = exemption["reason"] if exemption is not None else None
        why_exempt = given or meaning(cluster["reason"]) or "excluded by tag"
        result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": why_exempt}]
    return result


def _baseline_results(cluster: ClusterDoc, indexes: dict[str, int]) -> list[dict[str, Any]]:
    out = []
    for baseline, judged in (cluster.get("baselines") or {}).items():
        if judged["verdict"] != "fail":
            continue
        known = BY_ID.get(baseline)
        out.append(
            {
                "ruleId": baseline,
                "ruleIndex": indexes[baseline],
                "level": SEVERITY_LEVELS[known.severity] if known is not None else "warning",
                "message": _text(f"{cluster['name']}: {reason_words(judged)}"),
                "locations": [_location(cluster)],
                "partialFingerprints": _fingerprint(cluster, baseline),
                "properties": {"verdict": judged["verdict"], "reason": judged["reason"]},
            }
        )
    return out


def sarif_log(document: ReportDocument) -> dict[str, Any]:
    """The SARIF log of ``document`` (a JSON-ready dict)."""
    baselines = baseline_ids(document)
    rules = [_our_rule(document), *(_baseline_rule(b) for b in baselines)]
    indexes = {rule["id"]: i for i, rule in enumerate(rules)}
    results: list[dict[str, Any]] = []
    for cluster in document["clusters"]:
        ours = _our_result(cluster, indexes[OUR_RULE])
        if ours is not None:
            results.append(ours)
        results.extend(_baseline_results(cluster, indexes))
    run_errors = [e for e in document["errors"] if e.get("step") != "flow"]
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "aks-audit-remediation",
                        "version": document.get("tool_version") or __version__,
                        "rules": rules,
                    }
                },
                "automationDetails": {"id": f"aks-audit-remediation/{document['mode']}/{document['run_id']}"},
                "invocations": [
                    {
                        "executionSuccessful": not run_errors,
                        "startTimeUtc": document["started_at"],
                        "endTimeUtc": document["finished_at"],
                        "toolExecutionNotifications": [
                            {"level": "error", "message": _text(f"{e['scope']}: {e['code']}: {e['message']}")}
                            for e in run_errors
                        ],
                    }
                ],
                "results": results,
                "properties": {"summary": document["summary"]},
            }
        ],
    }


def render_sarif(document: ReportDocument) -> str:
    return json.dumps(sarif_log(document), indent=2, ensure_ascii=False) + "\n"
