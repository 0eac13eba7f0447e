"""Whole-estate behaviour: paging, partial failures, transient faults, idempotence, dry runs."""

from __future__ import annotations

import logging
from collections import Counter

from remediation.engine.changelog import CHANGES_LOGGER
from tests.support.builders import by_name, entries, region_ws, ws_id
from tests.support.constants import REQUIRED, SUB_A, SUB_B, USER_RG

USER_WS = ws_id(SUB_A, USER_RG, "law-user")


def mixed_estate(sim):
    """A small estate with one of most cases, for dry-run and idempotence checks."""
    bare = sim.add_cluster(SUB_A, "rg-app", "aks-bare", "eastus")
    partial = sim.add_cluster(SUB_A, "rg-app", "aks-partial", "westeurope")
    sim.put_setting(partial, "team", {"workspaceId": USER_WS, "logs": entries("kube-apiserver")})
    drifted = sim.add_cluster(SUB_A, "rg-app", "aks-drifted", "eastus")
    sim.put_setting(drifted, "aks-audit-remediation", {"workspaceId": USER_WS, "logs": entries("kube-audit")})
    grouped = sim.add_cluster(SUB_A, "rg-app", "aks-grouped", "eastus")
    sim.put_setting(grouped, "all", {"workspaceId": USER_WS, "logs": [{"categoryGroup": "allLogs", "enabled": True}]})
    sim.add_cluster(SUB_A, "rg-app", "aks-busy", "eastus", provisioning_state="Updating")
    return [bare, partial, drifted, grouped]


def snapshot(sim, cluster_ids, skip=("aks-audit-remediation",)):
    return {cid: {name: s for name, s in sim.settings(cid).items() if name.lower() not in skip} for cid in cluster_ids}


def test_report_makes_no_write_and_plans_what_apply_does(estate, sweep):
    mixed_estate(estate)
    estate.clear_requests()

    report = sweep("report")

    assert estate.write_requests() == []
    assert report["mode"] == "report"
    statuses = {c["name"]: c["status"] for c in report["clusters"]}
    assert statuses == {
        "aks-bare": "non_compliant",
        "aks-partial": "non_compliant",
        "aks-drifted": "non_compliant",
        "aks-grouped": "compliant",
        "aks-busy": "deferred",
    }
    assert {(w["id"], w["action"]) for w in report["workspaces"]} == {
        (region_ws(SUB_A, "eastus"), "would_create"),
        (region_ws(SUB_A, "westeurope"), "would_create"),
        (USER_WS, "reused"),
    }

    applied = sweep("apply")

    for name in ("aks-bare", "aks-partial", "aks-drifted"):
        assert by_name(applied)[name]["status"] == "remediated"
        assert by_name(applied)[name]["action"] == by_name(report)[name]["action"]


def test_second_apply_writes_nothing_and_other_settings_stay_byte_identical(estate, sweep):
    clusters = mixed_estate(estate)
    others_before = snapshot(estate, clusters)

    first = sweep("apply")
    estate.clear_requests()
    second = sweep("apply")

    assert first["summary"]["remediated"] == 3
    assert estate.write_requests() == []
    assert second["summary"]["remediated"] == 0
    assert second["summary"]["compliant"] == 4
    assert snapshot(estate, clusters) == others_before


def test_each_change_is_logged_exactly_once(estate, sweep, caplog):
    mixed_estate(estate)
    sink = []
    caplog.set_level(logging.INFO, logger=CHANGES_LOGGER)

    doc = sweep("apply", sinks=(sink.append,))

    logged = [r.change for r in caplog.records if r.name == CHANGES_LOGGER]
    writes = [r for r in estate.write_requests() if r.status and r.status < 300]
    assert len(logged) == len(writes) == len(sink)
    assert Counter(c["event"] for c in logged) == {
        "resource_group.created": 1,
        "workspace.created": 2,
        "diagnostic_setting.created": 2,
        "diagnostic_setting.updated": 1,
    }
    assert {c["run_id"] for c in logged} == {doc["run_id"]}
    assert len({(c["event"], c["resource_id"].lower()) for c in logged}) == len(logged)


def test_paging_over_many_clusters_and_each_workspace_resolved_once(sim, sweep):
    sim.page_size = 7
    sim.add_subscription(SUB_A, "prod")
    for i in range(40):
        sim.add_cluster(SUB_A, f"rg-{i % 3}", f"aks-{i:02d}", ["eastus", "westeurope"][i % 2])
    sim.clear_requests()

    doc = sweep("apply", REMEDIATION_MAX_CONCURRENCY="16")

    assert doc["summary"]["clusters"] == 40
    assert doc["summary"]["remediated"] == 40
    lists = [r for r in sim.arm_requests() if r.method == "GET" and r.path.lower().endswith("/managedclusters")]
    assert len(lists) == 6  # 40 clusters, 7 a page
    workspace_puts = [r for r in sim.write_requests() if "/workspaces/" in r.path.lower()]
    assert len(workspace_puts) == 2
    group_puts = [r for r in sim.write_requests() if r.path.lower().endswith("/resourcegroups/rg-aks-audit-logs")]
    assert len(group_puts) == 1
    category_reads = [r for r in sim.arm_requests() if "diagnosticsettingscategories" in r.path.lower()]
    assert len(category_reads) == 1


def test_forbidden_subscription_beside_a_healthy_one(sim, sweep):
    sim.add_subscription(SUB_A, "prod")
    sim.add_subscription(SUB_B, "locked-out")
    sim.forbid_subscription(SUB_B)
    sim.add_cluster(SUB_A, "rg-app", "aks-ok", "eastus")
    sim.add_cluster(SUB_B, "rg-app", "aks-hidden", "eastus")

    doc = sweep("apply", REMEDIATION_SUBSCRIPTION_IDS=f"{SUB_A},{SUB_B}")

    assert [c["name"] for c in doc["clusters"]] == ["aks-ok"]
    assert doc["clusters"][0]["status"] == "remediated"
    assert doc["errors"] == [
        {"scope": f"/subscriptions/{SUB_B}", "code": "AuthorizationFailed", "message": doc["errors"][0]["message"]}
    ]


def test_empty_scope_lists_enabled_subscriptions(sim, sweep):
    sim.add_subscription(SUB_A, "prod")
    sim.add_subscription(SUB_B, "old", state="Disabled")
    sim.add_cluster(SUB_A, "rg-app", "aks-a", "eastus")
    sim.add_cluster(SUB_B, "rg-app", "aks-b", "eastus")

    doc = sweep("report", REMEDIATION_SUBSCRIPTION_IDS="")

    assert [c["name"] for c in doc["clusters"]] == ["aks-a"]


def test_transient_429_and_503_are_survived(estate, sweep):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    estate.inject_fault(method="GET", path_contains="/managedClusters", status=429, retry_after=0, times=1)
    estate.inject_fault(method="GET", path_contains="/diagnosticSettings", status=503, retry_after=0, times=1)
    estate.inject_fault(method="PUT", path_contains="/diagnosticSettings/", status=503, retry_after=0, times=1)

    doc = sweep("apply")

    assert by_name(doc)["aks-1"]["status"] == "remediated"
    statuses = Counter(r.status for r in estate.arm_requests())
    assert statuses[429] == 1
    assert statuses[503] == 2


def test_dropped_connection_is_retried(estate, sweep):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    estate.inject_fault(method="GET", path_contains="/diagnosticSettings", drop_connection=True, times=1)

    doc = sweep("apply")

    assert by_name(doc)["aks-1"]["status"] == "remediated"


def test_persistent_failure_fails_the_cluster_with_arm_code(estate, sweep):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    estate.add_cluster(SUB_A, "rg-app", "aks-2", "eastus")
    estate.inject_fault(
        method="PUT",
        path_contains="aks-1/providers/Microsoft.Insights/diagnosticSettings",
        status=500,
        retry_after=0,
        times=None,
    )

    doc = sweep("apply")

    assert by_name(doc)["aks-1"]["status"] == "failed"
    assert by_name(doc)["aks-1"]["reason"] == "InternalServerError"
    assert estate.get_setting(by_name(doc)["aks-1"]["id"], "aks-audit-remediation") is None
    assert by_name(doc)["aks-2"]["status"] == "remediated"
    assert [e["scope"].rsplit("/", 1)[-1] for e in doc["errors"]] == ["aks-1"]


def test_named_clusters_only(estate, sweep):
    one = estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    estate.add_cluster(SUB_A, "rg-app", "aks-2", "eastus")
    missing = one.replace("aks-1", "aks-404")

    doc = sweep("report", clusters=(one.upper(), missing))

    assert [(c["name"], c["status"], c["reason"]) for c in doc["clusters"]] == [
        ("aks-1", "non_compliant", None),
        ("aks-404", "failed", "cluster-not-found"),
    ]
    assert doc["clusters"][0]["missing_categories"] == REQUIRED


def test_operation_in_progress_conflict_is_retried(estate, sweep):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    estate.inject_fault(
        method="PUT", path_contains="/diagnosticSettings/", status=409, code="AnotherOperationInProgress", times=1
    )

    doc = sweep("apply")

    assert by_name(doc)["aks-1"]["status"] == "remediated"
    puts = [r.status for r in estate.write_requests() if "diagnosticsettings" in r.path.lower()]
    assert puts == [409, 200]


def test_permanent_conflict_is_not_retried(estate, sweep):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    estate.inject_fault(
        method="PUT", path_contains="/diagnosticSettings/", status=400, code="BadRequest", retry_after=None, times=1
    )

    doc = sweep("apply")

    assert (by_name(doc)["aks-1"]["status"], by_name(doc)["aks-1"]["reason"]) == ("failed", "BadRequest")
    assert len([r for r in estate.write_requests() if "diagnosticsettings" in r.path.lower()]) == 1
