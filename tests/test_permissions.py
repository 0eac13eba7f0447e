"""The runtime roles of infra/ are enough, and each of their actions is needed.

armsim models role assignments (``sim.grant``): every ARM request needs its action at a scope
containing its path, a diagnostic setting's destination needs ``workspaces/sharedKeys/action``
(``LinkedAuthorizationFailed``), listing subscriptions shows only the readable ones. The roles
are granted exactly as infra assigns them (``remediation/permissions.py``): the subscription
role on each subscription, the workspace role on the pre-created audit-workspace resource group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from remediation.core.report import ReportDocument
from remediation.permissions import ACTIONS_BY_SCOPE, Scope, actions
from tests.support.builders import by_name, entries, region_ws, ws_id
from tests.support.constants import REQUIRED, SUB_A, SUB_B, USER_RG

WORKSPACE_GROUP = "rg-aks-audit-logs"

# Every action of the roles as this issue shipped them, each shown necessary below, with what the
# new cluster (a region without a workspace yet) becomes without it: (status, reason), or None when
# it is not even listed. Actions added later (flow verification, table plans) are covered by the
# sufficiency test, not by this table.
NEEDED: dict[str, tuple[str, str] | None] = {
    "Microsoft.Resources/subscriptions/read": None,  # no subscription is listed
    "Microsoft.ContainerService/managedClusters/read": None,  # no cluster is listed
    "Microsoft.Insights/diagnosticSettings/read": ("failed", "AuthorizationFailed"),
    "Microsoft.Insights/diagnosticSettingsCategories/read": ("failed", "AuthorizationFailed"),
    "Microsoft.Insights/diagnosticSettings/write": ("blocked", "AuthorizationFailed"),
    # 403 on the workspace read is taken for "exists"; the link to the missing workspace then fails.
    "Microsoft.OperationalInsights/workspaces/read": ("failed", "LinkedResourceNotFound"),
    "Microsoft.Resources/subscriptions/resourceGroups/read": ("blocked", "AuthorizationFailed"),
    "Microsoft.OperationalInsights/workspaces/write": ("blocked", "AuthorizationFailed"),
    # The PUT is accepted; polling the Azure-AsyncOperation URL is refused. The gateway falls back to
    # re-reading the workspace until the run's deadline; armsim advances a creation only when it is
    # polled, so the workspace stays Creating and the cluster is deferred to the next run.
    "Microsoft.OperationalInsights/locations/operationStatuses/read": ("deferred", "deadline"),
    "Microsoft.OperationalInsights/workspaces/sharedKeys/action": ("blocked", "LinkedAuthorizationFailed"),
}


def build_estate(sim: Any, without: str | None = None) -> dict[str, str]:
    """Two subscriptions as infra leaves them (workspace groups pre-created, roles assigned), with a
    new cluster in a region without a workspace, one whose other setting sends to a user workspace,
    and one whose setting of ours lacks categories."""
    clusters = {}
    for sub in (SUB_A, SUB_B):
        sim.add_subscription(sub, sub[:4])
        sim.add_resource_group(sub, WORKSPACE_GROUP, "eastus")

        def granted(scope: Scope) -> Iterable[str]:
            return [a for a in actions(scope) if a != without]

        sim.grant(granted(Scope.SUBSCRIPTION), f"/subscriptions/{sub}")
        sim.grant(granted(Scope.WORKSPACE_RESOURCE_GROUP), f"/subscriptions/{sub}/resourceGroups/{WORKSPACE_GROUP}")
    clusters["aks-new"] = sim.add_cluster(SUB_A, "rg-app", "aks-new", "eastus")
    user_ws = sim.add_workspace(SUB_A, USER_RG, "law-user", "eastus")
    foreign = sim.add_cluster(SUB_A, "rg-app", "aks-foreign", "eastus")
    sim.put_setting(foreign, "team-logs", {"workspaceId": user_ws, "logs": entries("kube-audit")})
    clusters["aks-foreign"] = foreign
    sim.add_workspace(SUB_B, WORKSPACE_GROUP, "law-aks-audit-westus", "westus")
    partial = sim.add_cluster(SUB_B, "rg-app", "aks-partial", "westus")
    ours = {"workspaceId": region_ws(SUB_B, "westus"), "logs": entries("kube-audit", "kube-scheduler")}
    sim.put_setting(partial, "aks-audit-remediation", ours)
    clusters["aks-partial"] = partial
    return clusters


def all_remediated(doc: ReportDocument) -> bool:
    statuses = {c["name"]: c["status"] for c in doc["clusters"]}
    return statuses == dict.fromkeys(("aks-foreign", "aks-new", "aks-partial"), "remediated") and not doc["errors"]


def test_the_two_roles_as_infra_assigns_them_are_enough(sim: Any, sweep: Callable[..., ReportDocument]) -> None:
    clusters = build_estate(sim)

    doc = sweep("apply", REMEDIATION_SUBSCRIPTION_IDS="")  # listing the subscriptions, too

    assert all_remediated(doc), (doc["clusters"], doc["errors"])
    assert doc["workspaces"][0] == {"id": region_ws(SUB_A, "eastus"), "location": "eastus", "action": "created"}
    paths = [(r.method, r.path.lower()) for r in sim.arm_requests()]
    assert any(m == "GET" and "/operationstatuses/" in p for m, p in paths), "the creation was polled"
    assert any(m == "GET" and p.endswith(ws_id(SUB_A, USER_RG, "law-user").lower()) for m, p in paths)
    setting = sim.get_setting(clusters["aks-partial"], "aks-audit-remediation")["properties"]
    assert sorted(e["category"] for e in setting["logs"]) == sorted(REQUIRED)
    # Nothing outside the roles: no resource group written (infra pre-created it).
    assert not [p for m, p in paths if m == "PUT" and p.rstrip("/").count("/") == 4]


@pytest.mark.parametrize("action", list(NEEDED))
def test_every_action_is_needed(sim: Any, sweep: Callable[..., ReportDocument], action: str) -> None:
    assert action in {a for granted in ACTIONS_BY_SCOPE.values() for a in granted}
    build_estate(sim, without=action)

    doc = sweep("apply", REMEDIATION_SUBSCRIPTION_IDS="")

    assert not all_remediated(doc), f"the scenario succeeds without {action}"
    new = by_name(doc).get("aks-new")
    assert (None if new is None else (new["status"], new["reason"])) == NEEDED[action]


def test_the_table_covers_every_action_of_this_issue() -> None:
    assert len(NEEDED) == 10 and set(NEEDED) <= {a for granted in ACTIONS_BY_SCOPE.values() for a in granted}


def test_without_sharedkeys_on_the_destination_the_cluster_is_blocked_not_failed(
    sim: Any, sweep: Callable[..., ReportDocument]
) -> None:
    build_estate(sim, without="Microsoft.OperationalInsights/workspaces/sharedKeys/action")

    doc = sweep("apply", REMEDIATION_SUBSCRIPTION_IDS="")

    reasons = {c["name"]: (c["status"], c["reason"]) for c in doc["clusters"]}
    assert reasons == dict.fromkeys(("aks-foreign", "aks-new", "aks-partial"), ("blocked", "LinkedAuthorizationFailed"))
    assert doc["summary"]["failed"] == 0
    assert doc["workspaces"][0]["action"] == "created", "the workspace itself may still be created"
