"""apply and report through the real SDK clients against armsim, case by case."""

from __future__ import annotations

import logging

from remediation.engine.changelog import CHANGES_LOGGER
from tests.support.builders import by_name, entries, region_ws, ws_id
from tests.support.constants import REQUIRED, SUB_A, SUB_B, USER_RG

USER_WS = ws_id(SUB_A, USER_RG, "law-user")
STORAGE = f"/subscriptions/{SUB_A}/resourceGroups/{USER_RG}/providers/Microsoft.Storage/storageAccounts/stlogs"


def ours(sim, cluster_id):
    return sim.get_setting(cluster_id, "aks-audit-remediation")


def enabled_categories(setting):
    return sorted(e["category"] for e in setting["properties"]["logs"] if e.get("enabled") and e.get("category"))


def test_no_settings_creates_workspace_group_and_setting(estate, sweep, caplog):
    cid = estate.add_cluster(SUB_A, "rg-app", "aks-bare", "eastus")
    caplog.set_level(logging.INFO, logger=CHANGES_LOGGER)

    doc = sweep("apply")

    cluster = by_name(doc)["aks-bare"]
    assert cluster["status"] == "remediated"
    assert cluster["missing_categories"] == REQUIRED
    assert cluster["action"] == {
        "kind": "create",
        "setting_name": "aks-audit-remediation",
        "workspace_id": region_ws(SUB_A, "eastus"),
        "categories": REQUIRED,
        "added": REQUIRED,
    }
    assert doc["workspaces"] == [{"id": region_ws(SUB_A, "eastus"), "location": "eastus", "action": "created"}]
    assert estate.resource_group_exists(SUB_A, "rg-aks-audit-logs")
    workspace = estate.get_workspace(region_ws(SUB_A, "eastus"))
    assert workspace["properties"]["provisioningState"] == "Succeeded"
    assert workspace["properties"]["sku"]["name"] == "PerGB2018"
    assert workspace["properties"]["retentionInDays"] == 90
    assert workspace["tags"] == {"managed-by": "aks-audit-remediation"}
    setting = ours(estate, cid)["properties"]
    assert setting["workspaceId"].lower() == region_ws(SUB_A, "eastus").lower()
    assert setting["logAnalyticsDestinationType"] == "Dedicated"
    # what the product sent (ARM answers with nulls and a retentionPolicy filled in)
    (sent,) = [w.body["properties"] for w in estate.write_requests() if "/diagnosticsettings/" in w.path.lower()]
    assert sent["logs"] == entries(*REQUIRED)
    assert all("retentionPolicy" not in e for e in sent["logs"])

    events = [r.change["event"] for r in caplog.records if r.name == CHANGES_LOGGER]
    assert events == ["resource_group.created", "workspace.created", "diagnostic_setting.created"]
    created = next(
        r.change
        for r in caplog.records
        if r.name == CHANGES_LOGGER and r.change["event"] == "diagnostic_setting.created"
    )
    assert created["cluster_id"].lower() == cid.lower()  # ARM's spelling: "resourcegroups"
    assert created["trigger"] == "cli"
    assert created["run_id"] == doc["run_id"]
    assert created["categories_before"] == []
    assert created["categories_after"] == REQUIRED


def test_partial_user_setting_is_complemented_and_left_byte_identical(estate, sweep):
    cid = estate.add_cluster(SUB_A, "rg-app", "aks-partial", "eastus")
    estate.put_setting(cid, "team-logs", {"workspaceId": USER_WS, "logs": entries("kube-apiserver", "kube-audit")})
    before = estate.get_setting(cid, "team-logs")

    doc = sweep("apply")

    assert by_name(doc)["aks-partial"]["status"] == "remediated"
    assert enabled_categories(ours(estate, cid)) == sorted(
        ["kube-audit-admin", "kube-controller-manager", "kube-scheduler"]
    )
    assert estate.get_setting(cid, "team-logs") == before


def test_audit_and_all_logs_groups_count(estate, sweep):
    audit = estate.add_cluster(SUB_A, "rg-app", "aks-audit-group", "eastus")
    estate.put_setting(audit, "grp", {"workspaceId": USER_WS, "logs": [{"categoryGroup": "audit", "enabled": True}]})
    all_logs = estate.add_cluster(SUB_A, "rg-app", "aks-all-logs", "eastus")
    estate.put_setting(
        all_logs, "grp", {"workspaceId": USER_WS, "logs": [{"categoryGroup": "allLogs", "enabled": True}]}
    )

    doc = sweep("apply")

    assert by_name(doc)["aks-all-logs"]["status"] == "compliant"
    assert ours(estate, all_logs) is None
    audit_doc = by_name(doc)["aks-audit-group"]
    assert audit_doc["missing_categories"] == ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]
    assert enabled_categories(ours(estate, audit)) == ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]


def test_group_membership_comes_from_arm_metadata(estate, sweep):
    estate.set_category_groups({"audit": ["kube-audit", "kube-audit-admin", "kube-apiserver"]})
    cid = estate.add_cluster(SUB_A, "rg-app", "aks-custom-group", "eastus")
    estate.put_setting(cid, "grp", {"workspaceId": USER_WS, "logs": [{"categoryGroup": "audit", "enabled": True}]})

    doc = sweep("report")

    assert by_name(doc)["aks-custom-group"]["missing_categories"] == ["kube-controller-manager", "kube-scheduler"]


def test_disabled_entries_cover_nothing(estate, sweep):
    cid = estate.add_cluster(SUB_A, "rg-app", "aks-disabled", "eastus")
    estate.put_setting(cid, "off", {"workspaceId": USER_WS, "logs": entries(*REQUIRED, enabled=False)})

    doc = sweep("report")

    assert by_name(doc)["aks-disabled"]["missing_categories"] == REQUIRED


def test_storage_only_counts_only_when_any_destination_is_accepted(estate, sweep):
    cid = estate.add_cluster(SUB_A, "rg-app", "aks-storage", "eastus")
    estate.put_setting(cid, "archive", {"storageAccountId": STORAGE, "logs": entries(*REQUIRED)})

    strict = sweep("report")
    relaxed = sweep("report", REMEDIATION_ACCEPTED_DESTINATIONS="any")

    assert by_name(strict)["aks-storage"]["status"] == "non_compliant"
    assert by_name(strict)["aks-storage"]["action"]["categories"] == REQUIRED
    assert by_name(relaxed)["aks-storage"]["status"] == "compliant"


def test_own_drifted_setting_gains_categories_and_keeps_the_rest(estate, sweep, caplog):
    cid = estate.add_cluster(SUB_A, "rg-app", "aks-drifted", "eastus")
    estate.put_setting(
        cid,
        "aks-audit-remediation",
        {
            "workspaceId": USER_WS,
            "logs": [*entries("kube-audit", "guard"), {"category": "kube-scheduler", "enabled": False}],
            "metrics": [{"category": "AllMetrics", "enabled": True}],
        },
    )
    caplog.set_level(logging.INFO, logger=CHANGES_LOGGER)

    doc = sweep("apply")

    cluster = by_name(doc)["aks-drifted"]
    assert cluster["status"] == "remediated"
    assert cluster["action"]["kind"] == "update"
    setting = ours(estate, cid)["properties"]
    assert setting["workspaceId"] == USER_WS
    assert "logAnalyticsDestinationType" not in setting or setting["logAnalyticsDestinationType"] is None
    assert setting["metrics"][0]["category"] == "AllMetrics"
    assert enabled_categories(ours(estate, cid)) == sorted({*REQUIRED, "guard"})
    (change,) = [r.change for r in caplog.records if r.name == CHANGES_LOGGER]
    assert change["event"] == "diagnostic_setting.updated"
    assert change["categories_before"] == ["kube-audit", "guard"]
    assert set(change["categories_after"]) == {*REQUIRED, "guard"}
    assert doc["workspaces"] == [{"id": USER_WS, "location": "eastus", "action": "reused"}]


def test_five_foreign_settings_block_without_writing(estate, sweep):
    cid = estate.add_cluster(SUB_A, "rg-app", "aks-full", "eastus")
    for i in range(5):
        estate.put_setting(cid, f"team-{i}", {"storageAccountId": STORAGE, "logs": entries("guard")})
    estate.clear_requests()

    doc = sweep("apply")

    cluster = by_name(doc)["aks-full"]
    assert (cluster["status"], cluster["reason"], cluster["action"]) == ("blocked", "setting-limit-reached", None)
    assert estate.write_requests() == []


def test_excluded_cluster_is_neither_read_further_nor_written(estate, sweep):
    cid = estate.add_cluster(SUB_A, "rg-app", "aks-excluded", "eastus", tags={"AKS-Audit-Remediation": "Exclude"})
    estate.clear_requests()

    doc = sweep("apply")

    cluster = by_name(doc)["aks-excluded"]
    assert (cluster["status"], cluster["reason"]) == ("excluded", "excluded-by-tag")
    assert estate.write_requests() == []
    assert not [r for r in estate.arm_requests() if cid.lower() in r.path.lower()]


def test_existing_workspace_and_group_are_reused(estate, sweep):
    estate.add_workspace(SUB_A, "rg-aks-audit-logs", "law-aks-audit-eastus", "eastus")
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    estate.clear_requests()

    doc = sweep("apply")

    assert doc["workspaces"] == [{"id": region_ws(SUB_A, "eastus"), "location": "eastus", "action": "reused"}]
    writes = [(r.method, r.path.lower()) for r in estate.write_requests()]
    assert len(writes) == 1
    assert writes[0][0] == "PUT" and "diagnosticsettings/aks-audit-remediation" in writes[0][1]


def test_group_exists_but_workspace_missing_creates_only_the_workspace(estate, sweep, caplog):
    estate.add_resource_group(SUB_A, "rg-aks-audit-logs", "eastus")
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "westeurope")
    caplog.set_level(logging.INFO, logger=CHANGES_LOGGER)

    doc = sweep("apply")

    assert doc["workspaces"][0]["id"] == region_ws(SUB_A, "westeurope")
    events = [r.change["event"] for r in caplog.records if r.name == CHANGES_LOGGER]
    assert events == ["workspace.created", "diagnostic_setting.created"]


def test_explicit_workspace_is_created_with_its_group_when_missing(estate, sweep):
    central = ws_id(SUB_B, "rg-central", "law-central")
    estate.add_subscription(SUB_B, "shared")
    cid = estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")

    doc = sweep("apply", REMEDIATION_WORKSPACE_ID=central)

    assert doc["workspaces"] == [{"id": central, "location": "eastus", "action": "created"}]
    assert estate.resource_group_exists(SUB_B, "rg-central")
    assert ours(estate, cid)["properties"]["workspaceId"].lower() == central.lower()


def test_explicit_existing_workspace_is_reused(estate, sweep):
    cid = estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")

    doc = sweep("apply", REMEDIATION_WORKSPACE_ID=USER_WS)

    assert doc["workspaces"] == [{"id": USER_WS, "location": "eastus", "action": "reused"}]
    assert ours(estate, cid)["properties"]["workspaceId"].lower() == USER_WS.lower()


def test_foreign_setting_on_deleted_workspace_covers_nothing(estate, sweep):
    gone = estate.add_workspace(SUB_A, USER_RG, "law-gone", "eastus")
    cid = estate.add_cluster(SUB_A, "rg-app", "aks-orphan", "eastus")
    estate.put_setting(cid, "old", {"workspaceId": gone, "logs": entries(*REQUIRED)})
    estate.delete_workspace(gone)
    before = estate.get_setting(cid, "old")

    doc = sweep("apply")

    cluster = by_name(doc)["aks-orphan"]
    assert cluster["missing_categories"] == REQUIRED
    assert cluster["action"]["kind"] == "create"
    assert estate.get_setting(cid, "old") == before


def test_own_setting_on_deleted_workspace_is_repointed(estate, sweep):
    gone = estate.add_workspace(SUB_A, USER_RG, "law-gone", "eastus")
    cid = estate.add_cluster(SUB_A, "rg-app", "aks-orphan", "eastus")
    estate.put_setting(cid, "aks-audit-remediation", {"workspaceId": gone, "logs": entries(*REQUIRED)})
    estate.delete_workspace(gone)

    doc = sweep("apply")

    cluster = by_name(doc)["aks-orphan"]
    assert (cluster["status"], cluster["action"]["kind"]) == ("remediated", "update")
    setting = ours(estate, cid)["properties"]
    assert setting["workspaceId"].lower() == region_ws(SUB_A, "eastus").lower()
    assert setting["logAnalyticsDestinationType"] == "Dedicated"


def test_forbidden_workspace_is_assumed_to_exist(estate, sweep):
    other = estate.add_workspace(SUB_A, "rg-secops", "law-secops", "eastus")
    estate.forbid_resource(other)
    cid = estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    estate.put_setting(cid, "secops", {"workspaceId": other, "logs": entries(*REQUIRED)})

    doc = sweep("report")

    assert by_name(doc)["aks-1"]["status"] == "compliant"


def test_busy_clusters_are_deferred_and_not_written(estate, sweep):
    estate.add_cluster(SUB_A, "rg-app", "aks-creating", "eastus", provisioning_state="Creating")
    estate.add_cluster(SUB_A, "rg-app", "aks-upgrading", "eastus", provisioning_state="Upgrading")
    estate.clear_requests()

    doc = sweep("apply")

    for name in ("aks-creating", "aks-upgrading"):
        cluster = by_name(doc)[name]
        assert (cluster["status"], cluster["reason"]) == ("deferred", "cluster-busy")
        assert cluster["missing_categories"] == REQUIRED
    assert estate.write_requests() == []


def test_scope_lock_fails_one_cluster_not_the_others(estate, sweep):
    locked = estate.add_cluster(SUB_A, "rg-locked", "aks-locked", "eastus")
    estate.add_cluster(SUB_A, "rg-app", "aks-free", "eastus")
    estate.lock_resource(locked)

    doc = sweep("apply")

    assert by_name(doc)["aks-locked"]["status"] == "failed"
    assert by_name(doc)["aks-locked"]["reason"] == "ScopeLocked"
    assert by_name(doc)["aks-free"]["status"] == "remediated"
    assert [e["code"] for e in doc["errors"]] == ["ScopeLocked"]


def test_workspace_group_we_may_not_create_blocks_the_clusters_with_arms_code(estate, sweep):
    # The runtime role has no resourceGroups/write: infra pre-creates the group. If it is missing,
    # ARM refuses to create it (and to read it: the workspace role is assigned on the group, which
    # does not exist); the clusters that need it are blocked with ARM's code, nothing is written,
    # the others go on.
    estate.add_subscription(SUB_B, "dev")
    estate.add_workspace(SUB_A, "rg-aks-audit-logs", "law-aks-audit-eastus", "eastus")
    group = f"/subscriptions/{SUB_B}/resourceGroups/rg-aks-audit-logs"
    estate.forbid_action("Microsoft.Resources/subscriptions/resourceGroups/read", group)
    estate.forbid_action("Microsoft.Resources/subscriptions/resourceGroups/write", group)
    blocked = estate.add_cluster(SUB_B, "rg-app", "aks-b", "eastus")
    fine = estate.add_cluster(SUB_A, "rg-app", "aks-a", "eastus")

    doc = sweep("apply", REMEDIATION_SUBSCRIPTION_IDS=f"{SUB_A},{SUB_B}")

    cluster = by_name(doc)["aks-b"]
    assert (cluster["status"], cluster["reason"]) == ("blocked", "AuthorizationFailed")
    assert cluster["missing_categories"] == REQUIRED
    assert ours(estate, blocked) is None
    assert not estate.resource_group_exists(SUB_B, "rg-aks-audit-logs")
    assert [e["code"] for e in doc["errors"]] == ["AuthorizationFailed"]
    assert by_name(doc)["aks-a"]["status"] == "remediated" and ours(estate, fine) is not None
    assert doc["summary"]["blocked"] == 1 and doc["summary"]["failed"] == 0


def test_workspace_group_is_still_created_when_the_identity_may(estate, sweep):
    estate.add_subscription(SUB_B, "dev")
    estate.add_cluster(SUB_B, "rg-app", "aks-b", "westus")
    doc = sweep("apply", REMEDIATION_SUBSCRIPTION_IDS=f"{SUB_A},{SUB_B}")
    assert by_name(doc)["aks-b"]["status"] == "remediated"
    assert estate.resource_group_exists(SUB_B, "rg-aks-audit-logs")
