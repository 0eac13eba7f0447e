"""Group mode in the Function app: the timer's fan-out, the queue sweep and the event path each read
the management group once (REMEDIATION_MANAGEMENT_GROUP), through the real azure.functions model
against armsim and Azurite."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from remediation.errors import ArmError, SweepFailedError
from remediation.kit.deadline import DeadlineExceeded
from tests.support.azurite import OTHER_SUB, SUB
from tests.support.host import CLUSTER_WRITE, QueueHost, grid_event, timer

Functions = dict[str, Callable[..., Any]]
GROUP = "landing-zones"
DESCENDANTS = f"/providers/Microsoft.Management/managementGroups/{GROUP}/descendants"
OURS = "aks-audit-remediation"


@pytest.fixture
def host(app_env: Any, functions: Functions, azurite: str, sweep_queue: str) -> QueueHost:
    return QueueHost(azurite, sweep_queue, functions)


@pytest.fixture
def group_env(app_env: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """SUB under the group, OTHER_SUB visible but outside it."""
    sim = app_env
    sim.add_subscription(OTHER_SUB, "dev")
    sim.add_management_group(GROUP)
    sim.move_subscription(SUB, GROUP)
    monkeypatch.setenv("REMEDIATION_SUBSCRIPTION_IDS", "")
    monkeypatch.setenv("REMEDIATION_MANAGEMENT_GROUP", GROUP)
    return sim


def test_the_timer_queues_the_group_s_subscriptions_from_one_listing(
    group_env: Any, functions: Functions, host: QueueHost
) -> None:
    functions["sweep"](timer())

    assert [m["subscription_id"] for m in host.messages()] == [SUB]
    assert [r.path for r in group_env.arm_requests()] == [DESCENDANTS], "one listing, no /subscriptions"


def test_the_timer_that_cannot_list_the_group_fails_naming_it(
    group_env: Any, functions: Functions, host: QueueHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDIATION_MANAGEMENT_GROUP", "no-such-group")
    with pytest.raises(SweepFailedError, match="management group 'no-such-group'"):
        functions["sweep"](timer())
    assert host.messages() == []
    assert "/subscriptions" not in [r.path for r in group_env.arm_requests()]


def test_a_queued_subscription_moved_out_before_its_sweep_is_not_touched(
    group_env: Any, functions: Functions, host: QueueHost
) -> None:
    cluster = group_env.add_cluster(SUB, "rg-apps", "aks-moving", "westeurope")
    functions["sweep"](timer())
    group_env.move_subscription(SUB, None)
    group_env.clear_requests()

    host.drain()

    assert group_env.get_setting(cluster, OURS) is None
    assert [r.path for r in group_env.arm_requests()] == [DESCENDANTS]


def test_an_event_from_a_subscription_outside_the_group_is_ignored(group_env: Any, functions: Functions) -> None:
    inside = group_env.add_cluster(SUB, "rg-apps", "aks-in", "westeurope")
    outside = group_env.add_cluster(OTHER_SUB, "rg-apps", "aks-out", "westeurope")
    group_env.clear_requests()

    functions["on_resource_event"](grid_event(CLUSTER_WRITE, outside))

    assert group_env.get_setting(outside, OURS) is None
    assert [r.path for r in group_env.arm_requests()] == [DESCENDANTS]

    functions["on_resource_event"](grid_event(CLUSTER_WRITE, inside))
    assert group_env.get_setting(inside, OURS) is not None


def test_an_event_whose_group_cannot_be_listed_is_dropped_with_an_error_naming_the_group(
    group_env: Any, functions: Functions, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("REMEDIATION_MANAGEMENT_GROUP", "no-such-group")
    cluster = group_env.add_cluster(SUB, "rg-apps", "aks-in", "westeurope")

    functions["on_resource_event"](grid_event(CLUSTER_WRITE, cluster))  # permanent (403): not redelivered

    assert group_env.get_setting(cluster, OURS) is None
    assert any("management group 'no-such-group'" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")


def test_an_event_whose_group_listing_fails_transiently_is_delivered_again(
    group_env: Any, functions: Functions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDIATION_DEADLINE_SECONDS", "4")  # the retries' budget, kept short
    cluster = group_env.add_cluster(SUB, "rg-apps", "aks-in", "westeurope")
    group_env.inject_fault(
        method="GET", path_contains="/descendants", status=503, times=None, code="ServiceUnavailable"
    )

    # Retried within the lookup's budget, then raised: the Functions host fails the invocation and
    # Event Grid delivers the event again.
    with pytest.raises((ArmError, DeadlineExceeded), match=r"management group '?landing-zones"):
        functions["on_resource_event"](grid_event(CLUSTER_WRITE, cluster))
    assert group_env.get_setting(cluster, OURS) is None
