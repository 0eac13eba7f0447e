"""Group mode (REMEDIATION_MANAGEMENT_GROUP): the scope is read from the management group at every run.

armsim models the hierarchy, the descendants API (paged) and role assignments on a group, which
every subscription below it inherits at once (and loses when moved out). The app's roles are
granted exactly as infra/managementgroup.bicep assigns them: the subscription role once, on the
group; the workspace roles in the hub.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from remediation.core.report import ReportDocument
from remediation.permissions import Scope, actions
from tests.support.builders import by_name, entries, region_ws
from tests.support.constants import REQUIRED, SUB_A, SUB_B, SUB_C

HUB = "cccccccc-3333-4333-8333-000000000003"
GROUP = "landing-zones"
GROUP_ID = f"/providers/Microsoft.Management/managementGroups/{GROUP}"
WORKSPACE_GROUP = "rg-aks-audit-logs"


@pytest.fixture
def group(sim: Any) -> Any:
    """A hub outside the group, a group with a nested one, SUB_A under the nested one; roles as infra assigns them."""
    sim.add_subscription(HUB, "hub")
    sim.add_resource_group(HUB, WORKSPACE_GROUP, "eastus")
    sim.add_management_group(GROUP, display_name="Landing zones")
    sim.add_management_group("corp", parent=GROUP)
    sim.add_management_group("platform")  # another tree
    sim.move_subscription(SUB_A, "corp")
    sim.grant(actions(Scope.SUBSCRIPTION), GROUP_ID)
    sim.grant(actions(Scope.WORKSPACE_RESOURCE_GROUP), f"/subscriptions/{HUB}/resourceGroups/{WORKSPACE_GROUP}")
    sim.grant(actions(Scope.WORKSPACE_SUBSCRIPTION), f"/subscriptions/{HUB}")
    return sim


@pytest.fixture
def group_sweep(sweep: Callable[..., ReportDocument]) -> Callable[..., ReportDocument]:
    def go(mode: str = "apply", **kwargs: Any) -> ReportDocument:
        settings = {
            "REMEDIATION_SUBSCRIPTION_IDS": "",
            "REMEDIATION_MANAGEMENT_GROUP": GROUP,
            "REMEDIATION_WORKSPACE_SUBSCRIPTION_ID": HUB,
            "REMEDIATION_VERIFY_FLOW": "false",
        }
        settings.update(kwargs.pop("settings", {}))
        return sweep(mode, **kwargs, **settings)

    return go


def requests_to(sim: Any, subscription_id: str) -> list[tuple[str, str]]:
    """Requests to anything in the subscription (its display name aside, which a report may look up)."""
    prefix = f"/subscriptions/{subscription_id}/".lower()
    return [(r.method, r.path) for r in sim.arm_requests() if r.path.lower().startswith(prefix)]


def descendants_requests(sim: Any) -> list[str]:
    return [r.path for r in sim.arm_requests() if r.path.lower().endswith("/descendants")]


def test_a_subscription_added_under_the_group_is_covered_by_the_next_sweep_without_redeployment(
    group: Any, group_sweep: Callable[..., ReportDocument]
) -> None:
    aks_a = group.add_cluster(SUB_A, "rg-app", "aks-a", "eastus")

    first = group_sweep()

    assert by_name(first)["aks-a"]["status"] == "remediated", first["errors"]
    hub_workspace = region_ws(HUB, "eastus")
    assert group.get_setting(aks_a, "aks-audit-remediation")["properties"]["workspaceId"] == hub_workspace
    assert [w["id"] for w in first["workspaces"]] == [hub_workspace]

    # Between the two sweeps: a subscription is created under the group (nested, a level down),
    # with a cluster. Nobody grants anything or deploys anything: the role on the group is inherited.
    group.move_subscription(SUB_B, "corp")
    aks_b = group.add_cluster(SUB_B, "rg-app", "aks-b", "eastus")
    group.clear_requests()

    second = group_sweep()

    assert by_name(second)["aks-b"]["status"] == "remediated", second["errors"]
    assert by_name(second)["aks-a"]["status"] == "compliant"
    setting = group.get_setting(aks_b, "aks-audit-remediation")["properties"]
    assert setting["workspaceId"] == hub_workspace, "cross-subscription destination in the hub"
    assert sorted(e["category"] for e in setting["logs"]) == sorted(REQUIRED)
    assert len(descendants_requests(group)) == 1, "one listing per run"
    assert not second["errors"]


def test_a_subscription_moved_out_of_the_group_is_no_longer_touched(
    group: Any, group_sweep: Callable[..., ReportDocument]
) -> None:
    group.move_subscription(SUB_B, GROUP)
    aks_a = group.add_cluster(SUB_A, "rg-app", "aks-a", "eastus")
    group.add_cluster(SUB_B, "rg-app", "aks-b", "eastus")
    assert by_name(group_sweep())["aks-a"]["status"] == "remediated"

    group.move_subscription(SUB_A, "platform")  # out of the group: its role is no longer inherited
    group.put_setting(
        aks_a, "aks-audit-remediation", {"workspaceId": region_ws(HUB, "eastus"), "logs": entries("kube-audit")}
    )
    group.add_cluster(SUB_A, "rg-app", "aks-new", "eastus")
    group.clear_requests()

    later = group_sweep()

    assert requests_to(group, SUB_A) == [], "not even read"
    assert set(by_name(later)) == {"aks-b"}
    assert not later["errors"]
    # Named explicitly, it is refused by the engine before any request (the group is the scope).
    named = group_sweep(subscriptions=[SUB_A])
    assert requests_to(group, SUB_A) == []
    assert named["clusters"] == []
    (error,) = named["errors"]
    assert error["scope"] == f"/subscriptions/{SUB_A}"
    assert GROUP in error["message"]
    by_id = group_sweep(clusters=[aks_a])
    assert requests_to(group, SUB_A) == []
    refused = by_name(by_id)["aks-a"]
    assert (refused["status"], refused["reason"]) == ("failed", "OutsideScope")
    assert GROUP in refused["explanation"]
    assert group.write_requests() == []


def test_a_failed_listing_is_an_error_naming_the_group_never_every_visible_subscription(
    group: Any, group_sweep: Callable[..., ReportDocument]
) -> None:
    group.add_cluster(SUB_A, "rg-app", "aks-a", "eastus")
    group.grant(actions(Scope.SUBSCRIPTION), f"/subscriptions/{SUB_C}")  # visible, but not under the group
    group.add_cluster(SUB_C, "rg-app", "aks-c", "eastus")

    for wrong in ("no-such-group", "platform"):  # unknown; known but not granted there
        group.clear_requests()
        document = group_sweep(settings={"REMEDIATION_MANAGEMENT_GROUP": wrong})

        assert document["clusters"] == []
        (error,) = document["errors"]
        assert error["scope"] == f"/providers/Microsoft.Management/managementGroups/{wrong}"
        assert f"management group {wrong!r}" in error["message"]
        assert error["code"] == "AuthorizationFailed"
        paths = [r.path.lower() for r in group.arm_requests()]
        assert "/subscriptions" not in paths, "no fall-back to every subscription the identity can see"
        assert not [p for p in paths if p.startswith("/subscriptions/")]


def test_the_listing_follows_every_page_and_is_narrowed_by_the_subscription_list(
    sim_factory: Callable[..., Any], sweep: Callable[..., ReportDocument]
) -> None:
    sim = sim_factory(page_size=2)
    sim.add_management_group(GROUP)
    sim.add_management_group("a", parent=GROUP)
    sim.add_management_group("b", parent="a")
    subscriptions = [f"{i}{i}{i}{i}{i}{i}{i}{i}-0000-4000-8000-00000000000{i}" for i in range(1, 6)]
    for i, sub in enumerate(subscriptions):
        sim.move_subscription(sub, (GROUP, "a", "b")[i % 3])
        sim.add_cluster(sub, "rg-app", f"aks-{i}", "eastus")
    settings = {
        "REMEDIATION_SUBSCRIPTION_IDS": "",
        "REMEDIATION_MANAGEMENT_GROUP": GROUP,
        "REMEDIATION_VERIFY_FLOW": "false",
    }

    everything = sweep("report", **settings)

    assert sorted(c["subscription_id"] for c in everything["clusters"]) == sorted(subscriptions)
    assert len(descendants_requests(sim)) == 4, "7 descendants (2 groups, 5 subscriptions), 2 a page"

    narrowed = sweep("report", **{**settings, "REMEDIATION_SUBSCRIPTION_IDS": f"{subscriptions[4]},{SUB_C}"})

    assert [c["subscription_id"] for c in narrowed["clusters"]] == [subscriptions[4]]


def test_a_group_without_subscriptions_sweeps_nothing_and_says_so(
    group: Any, group_sweep: Callable[..., ReportDocument], caplog: pytest.LogCaptureFixture
) -> None:
    group.add_management_group("empty", parent=GROUP)
    group.add_cluster(SUB_C, "rg-app", "aks-c", "eastus")

    document = group_sweep(settings={"REMEDIATION_MANAGEMENT_GROUP": "empty"})

    assert document["clusters"] == [] and document["errors"] == []
    assert any("management group empty holds no subscription" in r.getMessage() for r in caplog.records)
    assert [r.path for r in group.arm_requests()] == [
        "/providers/Microsoft.Management/managementGroups/empty/descendants"
    ]
