"""sarif, junit and ocsf: each read back by an independent consumer (tests/consumers.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from junitparser import Failure, Skipped

from remediation.core.report import ReportDocument, summarize
from remediation.output.render import CONTENT_TYPES, FORMATS, render
from tests.support import consumers
from tests.support.documents import XSS, judged, make_document

CONTROL = "line one\nline\x1b[31m two\x00"


def machine_document(mode: str = "apply") -> ReportDocument:
    document = make_document(mode)
    clusters: list[Any] = document["clusters"]
    clusters[0]["baselines"] = {
        "cis-aks-2.1.1": judged("pass", "cis-audit-logs-kept", "sent by 'ops'"),
        "psrule-Azure.AKS.AuditAdmin": judged("fail", "auditadmin-kube-audit", f"'{XSS}' enable kube-audit"),
    }
    clusters[1]["baselines"] = {
        "cis-aks-2.1.1": judged("unknown", "excluded"),
        "psrule-Azure.AKS.AuditAdmin": judged("unknown", "excluded"),
    }
    for cluster in clusters:
        cluster["explanation"] = (cluster.get("explanation") or "why") + " " + CONTROL
    document["summary"] = summarize(clusters)
    return document


def test_the_formats_are_registered_with_their_media_types():
    assert {"sarif", "junit", "ocsf"} <= set(FORMATS)
    assert CONTENT_TYPES["sarif"] == "application/sarif+json"
    assert CONTENT_TYPES["junit"].startswith("application/xml")
    assert CONTENT_TYPES["ocsf"] == "application/x-ndjson"


def test_sarif_is_valid_sarif_2_1_0_with_a_result_per_cluster_and_failed_rule():
    document = machine_document()
    log = consumers.sarif(render(document, "sarif"))
    (run,) = log["runs"]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rules == ["required-categories", "cis-aks-2.1.1", "psrule-Azure.AKS.AuditAdmin"]
    expected = sum(1 for c in document["clusters"] if c["status"] not in ("compliant", "remediated"))
    ours = [r for r in run["results"] if r["ruleId"] == "required-categories"]
    assert len(ours) == expected
    for result in run["results"]:
        assert rules[result["ruleIndex"]] == result["ruleId"]
        (location,) = result["locations"]
        assert location["logicalLocations"][0]["fullyQualifiedName"].startswith("/subscriptions/")
    levels = {r["properties"]["status"]: r["level"] for r in ours}
    assert levels.get("failed") == "error" and levels.get("excluded", "note") == "note"
    excluded = [r for r in ours if r["properties"]["status"] == "excluded"]
    assert all(r["suppressions"][0]["status"] == "accepted" for r in excluded)
    admin = [r for r in run["results"] if r["ruleId"] == "psrule-Azure.AKS.AuditAdmin"]
    assert len(admin) == 1 and admin[0]["level"] == "note", "one failed baseline, low severity"


def test_junit_has_a_suite_per_subscription_a_case_per_cluster_failures_and_skips():
    document = machine_document()
    report = consumers.junit(render(document, "junit"))
    suites = list(report)
    subscriptions = {c["subscription_id"].lower() for c in document["clusters"]}
    assert len(suites) == len(subscriptions)
    cases = {case.name: case for suite in suites for case in suite}
    assert len(cases) == len(document["clusters"])
    for cluster in document["clusters"]:
        case = cases[cluster["name"]]
        kinds = {type(r) for r in case.result}
        if cluster["status"] in ("non_compliant", "blocked", "failed"):
            assert kinds == {Failure}, cluster["status"]
            (failure,) = case.result
            assert failure.type == cluster["status"]
            assert "\\x1b" in (failure.text or "") and "\x1b" not in (failure.text or ""), "escaped, still XML"
        elif cluster["status"] in ("excluded", "deferred"):
            assert kinds == {Skipped}
        else:
            assert case.is_passed
    total = sum(suite.tests for suite in suites)
    assert total == len(document["clusters"])
    assert sum(suite.failures for suite in suites) == sum(
        1 for c in document["clusters"] if c["status"] in ("non_compliant", "blocked", "failed")
    )


def test_ocsf_is_a_compliance_finding_per_cluster_with_the_baselines_as_checks():
    document = machine_document()
    events = consumers.ocsf(render(document, "ocsf"))
    assert len(events) == len(document["clusters"])
    first = events[0]
    assert first["class_uid"] == 2003 and first["type_uid"] == 200301
    assert first["resources"][0]["uid"] == document["clusters"][0]["id"]
    checks = {c["uid"]: c for c in first["compliance"]["checks"]}
    assert checks["cis-aks-2.1.1"]["status_id"] == 1 and checks["psrule-Azure.AKS.AuditAdmin"]["status_id"] == 3
    assert first["compliance"]["standards"]
    verdicts = {e["status_code"]: e["compliance"]["status_id"] for e in events}
    assert verdicts.get("failed", 3) == 3 and verdicts.get("excluded", 0) == 0
    assert render(make_document() | {"clusters": []}, "ocsf") == ""


def test_a_status_document_renders_in_every_machine_format():
    document = machine_document()
    document["mode"] = "status"
    for cluster in document["clusters"]:
        cluster["observed_at"] = "2026-11-27T10:00:00Z"
        cluster["observed_run_id"] = "r1"
    consumers.sarif(render(document, "sarif"))
    consumers.junit(render(document, "junit"))
    events = consumers.ocsf(render(document, "ocsf"))
    observed = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert {e["time"] for e in events} == {int(observed.timestamp()) * 1000}, "when each was observed, in ms"
