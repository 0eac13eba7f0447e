"""Every cluster row carries its evidence and, for problems, what to do (real SDK clients, armsim)."""

from __future__ import annotations

from tests.support.builders import by_name, entries, ws_id
from tests.support.constants import REQUIRED, SUB_A, USER_RG


def test_a_setting_on_a_deleted_workspace_is_shown_as_not_counting(estate, sweep):
    cid = estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    gone = ws_id(SUB_A, USER_RG, "law-gone")
    estate.put_setting(cid, "ops", {"workspaceId": gone, "logs": entries(*REQUIRED)})
    estate.put_setting(
        cid, "off", {"workspaceId": ws_id(SUB_A, USER_RG, "law-user"), "logs": entries("kube-audit", enabled=False)}
    )

    cluster = by_name(sweep("report"))["aks-1"]

    settings = {s["name"]: s for s in cluster["settings"]}
    assert settings["ops"]["counted"] is False
    assert settings["ops"]["not_counted_reason"] == "workspace-deleted"
    assert settings["ops"]["destinations"] == [{"kind": "log_analytics", "target": gone}]
    assert settings["ops"]["categories"] == sorted(REQUIRED)
    assert settings["off"]["not_counted_reason"] == "logs-disabled"
    assert settings["off"]["disabled_categories"] == ["kube-audit"]
    assert "'ops' does not count: its Log Analytics workspace no longer exists" in cluster["explanation"]
    assert cluster["next_step"].startswith("run apply: it will create 'aks-audit-remediation'")
    assert cluster["action"]["added"] == REQUIRED


def test_setting_limit_lists_the_five_settings_and_what_to_do(estate, sweep):
    cid = estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    for i in range(5):
        estate.put_setting(
            cid,
            f"team-{i}",
            {
                "storageAccountId": f"/subscriptions/{SUB_A}/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/s{i}",
                "logs": entries("kube-apiserver"),
            },
        )

    cluster = by_name(sweep("apply"))["aks-1"]

    assert (cluster["status"], cluster["reason"]) == ("blocked", "setting-limit-reached")
    for i in range(5):
        assert f"'team-{i}'" in cluster["explanation"]
    assert "delete a setting you no longer need" in cluster["next_step"]
    assert all(s["not_counted_reason"] == "destination-not-accepted" for s in cluster["settings"])


def test_undetermined_missing_categories_are_null_and_excluded_has_a_next_step(estate, sweep):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    estate.add_cluster(SUB_A, "rg-app", "aks-x", "eastus", tags={"aks-audit-remediation": "exclude"})
    estate.inject_fault(
        method="GET", path_contains="aks-1/providers/Microsoft.Insights/diagnosticSettings", status=403, times=None
    )

    doc = sweep("report")

    failed, excluded = by_name(doc)["aks-1"], by_name(doc)["aks-x"]
    assert failed["status"] == "failed"
    assert failed["missing_categories"] is None and failed["settings"] is None
    assert failed["explanation"] and failed["next_step"]
    assert excluded["missing_categories"] is None
    assert excluded["next_step"] == "remove the tag aks-audit-remediation to have it checked and remediated"


def test_subscription_display_names_are_read_once_per_subscription(estate, sweep):
    for i in range(3):
        estate.add_cluster(SUB_A, "rg-app", f"aks-{i}", "eastus")
    estate.clear_requests()

    doc = sweep("report")

    assert {c["subscription_name"] for c in doc["clusters"]} == {"prod"}
    reads = [
        r
        for r in estate.arm_requests()
        if r.method == "GET" and r.path.lower().rstrip("/") == f"/subscriptions/{SUB_A}"
    ]
    assert len(reads) == 1
    assert doc["clusters"][0]["portal_url"] == f"https://portal.azure.com/#resource{doc['clusters'][0]['id']}/overview"
    assert doc["configuration"]["portal"] == "https://portal.azure.com"
    assert doc["scope"] == {"subscriptions": [SUB_A], "clusters": []}
