"""Group mode in the Function app: the timer's fan-out, the queue sweep and the event path each read
the management group once (REMEDIATION_MANAGEMENT_GROUP), and the HTTP triggers /api/changes and
/api/status serve only its subscriptions (one shared, cached listing), through the real
azure.functions model against armsim and Azurite."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from remediation.app.runtime import get_runtime, reset_runtime
from remediation.errors import ArmError, SweepFailedError
from remediation.kit.deadline import DeadlineExceeded
from tests.support.constants import SUB_A, SUB_B
from tests.support.host import CLUSTER_WRITE, QueueHost, grid_event, http_get, timer

Functions = dict[str, Callable[..., Any]]
GROUP = "landing-zones"
DESCENDANTS = f"/providers/Microsoft.Management/managementGroups/{GROUP}/descendants"
OURS = "aks-audit-remediation"


@pytest.fixture
def host(app_env: Any, functions: Functions, azurite: str, sweep_queue: str) -> QueueHost:
    return QueueHost(azurite, sweep_queue, functions)


@pytest.fixture
def group_env(app_env: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """SUB_A under the group, SUB_B visible but outside it."""
    sim = app_env
    sim.add_subscription(SUB_B, "dev")
    sim.add_management_group(GROUP)
    sim.move_subscription(SUB_A, GROUP)
    monkeypatch.setenv("REMEDIATION_SUBSCRIPTION_IDS", "")
    monkeypatch.setenv("REMEDIATION_MANAGEMENT_GROUP", GROUP)
    return sim


def test_the_timer_queues_the_group_s_subscriptions_from_one_listing(
    group_env: Any, functions: Functions, host: QueueHost
) -> None:
    functions["sweep"](timer())

    assert [m["subscription_id"] for m in host.messages()] == [SUB_A]
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
    cluster = group_env.add_cluster(SUB_A, "rg-apps", "aks-moving", "westeurope")
    functions["sweep"](timer())
    group_env.move_subscription(SUB_A, None)
    group_env.clear_requests()

    host.drain()

    assert group_env.get_setting(cluster, OURS) is None
    assert [r.path for r in group_env.arm_requests()] == [DESCENDANTS]


def test_an_event_from_a_subscription_outside_the_group_is_ignored(group_env: Any, functions: Functions) -> None:
    inside = group_env.add_cluster(SUB_A, "rg-apps", "aks-in", "westeurope")
    outside = group_env.add_cluster(SUB_B, "rg-apps", "aks-out", "westeurope")
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
    cluster = group_env.add_cluster(SUB_A, "rg-apps", "aks-in", "westeurope")

    functions["on_resource_event"](grid_event(CLUSTER_WRITE, cluster))  # permanent (403): not redelivered

    assert group_env.get_setting(cluster, OURS) is None
    assert any("management group 'no-such-group'" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")


def test_an_event_whose_group_listing_fails_transiently_is_delivered_again(
    group_env: Any, functions: Functions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDIATION_DEADLINE_SECONDS", "4")  # the retries' budget, kept short
    cluster = group_env.add_cluster(SUB_A, "rg-apps", "aks-in", "westeurope")
    group_env.inject_fault(
        method="GET", path_contains="/descendants", status=503, times=None, code="ServiceUnavailable"
    )

    # Retried within the lookup's budget, then raised: the Functions host fails the invocation and
    # Event Grid delivers the event again.
    with pytest.raises((ArmError, DeadlineExceeded), match=r"management group '?landing-zones"):
        functions["on_resource_event"](grid_event(CLUSTER_WRITE, cluster))
    assert group_env.get_setting(cluster, OURS) is None


# --- /api/changes and /api/status serve the group's estate -----------------------------------------------


def get(functions: Functions, route: str, *query: tuple[str, str]) -> tuple[int, Any]:
    response = functions[route](http_get(route, list(query)))
    return response.status_code, json.loads(response.get_body())


def listings(sim: Any) -> int:
    return sum(1 for r in sim.arm_requests() if r.path.endswith("/descendants"))


@pytest.fixture
def both_swept(group_env: Any, functions: Functions, host: QueueHost) -> tuple[str, str]:
    """Both subscriptions swept in apply mode while under the group (each cluster has a change record and an
    observation), then SUB_B moved out of the group; the cluster inside the group and the one outside."""
    group_env.move_subscription(SUB_B, GROUP)
    inside = group_env.add_cluster(SUB_A, "rg-apps", "aks-in", "westeurope")
    outside = group_env.add_cluster(SUB_B, "rg-apps", "aks-out", "westeurope")
    functions["sweep"](timer())
    assert sorted(host.drain()) == ["completed", "completed"]
    group_env.move_subscription(SUB_B, None)
    group_env.clear_requests()
    return inside, outside


def test_changes_and_status_serve_only_the_group_s_subscriptions(
    group_env: Any, functions: Functions, both_swept: tuple[str, str]
) -> None:
    inside, outside = both_swept

    status, body = get(functions, "changes")
    assert status == 200
    assert body["count"] >= 1
    assert {c["cluster_id"].lower() for c in body["changes"] if c["cluster_id"]} == {inside.lower()}
    assert all(SUB_B not in (c["resource_id"] or "") for c in body["changes"])
    status, body = get(functions, "status")
    assert status == 200
    assert [c["name"] for c in body["clusters"]] == ["aks-in"]
    assert [s["subscription_id"] for s in body["subscriptions"]] == [SUB_A]

    for route, query in [
        ("changes", ("cluster", outside)),
        ("status", ("cluster", outside)),
        ("status", ("subscription", SUB_B)),
    ]:
        status, body = get(functions, route, query)
        assert (status, body["error"]["code"]) == (403, "SubscriptionOutOfScope"), (route, query)
        assert f"management group '{GROUP}'" in body["error"]["message"]
    status, body = get(functions, "status", ("cluster", "aks-out"))
    assert (status, body["error"]["code"]) == (404, "ClusterNotFound")
    status, body = get(functions, "changes", ("cluster", inside))
    assert status == 200 and body["count"] >= 1

    assert [r.path for r in group_env.arm_requests()] == [DESCENDANTS], "seven requests, one shared listing"


def test_the_group_s_listing_is_served_again_until_it_is_older_than_the_cache(
    group_env: Any, functions: Functions, both_swept: tuple[str, str]
) -> None:
    _, outside = both_swept
    now = [1000.0]
    get_runtime().estates.clock = lambda: now[0]
    assert get(functions, "changes", ("cluster", outside))[0] == 403
    group_env.move_subscription(SUB_B, GROUP)

    now[0] += 299  # REMEDIATION_REPORT_CACHE_SECONDS: 300 by default
    assert get(functions, "changes", ("cluster", outside))[0] == 403
    assert listings(group_env) == 1
    now[0] += 1
    status, body = get(functions, "changes", ("cluster", outside))
    assert status == 200 and body["count"] >= 1, "moved back under the group: served after one new listing"
    assert listings(group_env) == 2


def test_a_group_narrowed_to_nothing_serves_nothing(
    group_env: Any, functions: Functions, both_swept: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    inside, _ = both_swept
    monkeypatch.setenv("REMEDIATION_SUBSCRIPTION_IDS", SUB_B)  # outside the group: the intersection is empty
    reset_runtime()

    status, body = get(functions, "changes")
    assert (status, body["count"]) == (200, 0)
    status, body = get(functions, "status")
    assert status == 200
    assert (body["clusters"], body["subscriptions"], body["errors"]) == ([], [], [])
    status, body = get(functions, "changes", ("cluster", inside))
    assert (status, body["error"]["code"]) == (403, "SubscriptionOutOfScope")
    assert "REMEDIATION_SUBSCRIPTION_IDS" in body["error"]["message"]
    assert listings(group_env) == 1


def test_changes_and_status_answer_503_when_the_group_cannot_be_listed(
    group_env: Any, functions: Functions, both_swept: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDIATION_MANAGEMENT_GROUP", "no-such-group")
    reset_runtime()

    for route in ("changes", "status", "changes"):
        status, body = get(functions, route)
        assert (status, body["error"]["code"]) == (503, "ManagementGroupUnavailable"), route
        assert "management group 'no-such-group'" in body["error"]["message"]
        assert set(body) == {"error"}, "nothing served"
    assert listings(group_env) == 3, "a failed listing is not kept: each request lists again"


def test_a_group_listing_that_keeps_failing_ends_with_the_request_s_deadline(
    group_env: Any, functions: Functions, both_swept: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDIATION_DEADLINE_SECONDS", "1")
    reset_runtime()
    group_env.inject_fault(
        method="GET", path_contains="/descendants", status=503, times=None, code="ServiceUnavailable"
    )

    status, body = get(functions, "status")

    assert (status, body["error"]["code"]) == (503, "ManagementGroupUnavailable")
    assert f"management group '{GROUP}'" in body["error"]["message"]


# --- /api/report answers what it names outside the group as /api/status does ---------------------------


def cluster_reads(sim: Any, subscription_id: str) -> list[str]:
    return [r.path for r in sim.arm_requests() if r.path.lower().startswith(f"/subscriptions/{subscription_id}/")]


@pytest.fixture
def two_sides(group_env: Any) -> tuple[str, str]:
    """A cluster under the group (SUB_A) and one in SUB_B, visible but outside it."""
    inside = group_env.add_cluster(SUB_A, "rg-apps", "aks-in", "westeurope")
    outside = group_env.add_cluster(SUB_B, "rg-apps", "aks-out", "westeurope")
    group_env.clear_requests()
    return inside, outside


def test_report_naming_what_is_outside_the_group_is_403_like_status_and_changes(
    group_env: Any, functions: Functions, two_sides: tuple[str, str]
) -> None:
    inside, outside = two_sides
    for query in [("cluster", outside), ("subscription", SUB_B), ("cluster", outside.upper())]:
        for route in ("report", "status"):
            status, body = get(functions, route, query)
            assert (status, body["error"]["code"]) == (403, "SubscriptionOutOfScope"), (route, query)
            assert f"management group '{GROUP}'" in body["error"]["message"]
    status, body = get(functions, "report", ("cluster", inside), ("cluster", outside))
    assert (status, body["error"]["code"]) == (403, "SubscriptionOutOfScope"), "one outside refuses the request"
    assert listings(group_env) == 1, "seven requests, one shared listing"
    assert cluster_reads(group_env, SUB_B) == [], "nothing outside the group is read"

    status, body = get(functions, "report", ("cluster", inside))
    assert status == 200
    assert [(c["name"], c["status"]) for c in body["clusters"]] == [("aks-in", "non_compliant")]
    status, body = get(functions, "report", ("cluster", "aks-in"))  # a bare name, looked up in the same estate
    assert status == 200 and [c["name"] for c in body["clusters"]] == ["aks-in"]
    status, body = get(functions, "report", ("cluster", "aks-out"))
    assert (status, body["error"]["code"]) == (404, "ClusterNotFound")
    assert listings(group_env) == 1, "the named runs cover the listed estate: no listing of their own"
    assert cluster_reads(group_env, SUB_B) == []
    assert group_env.write_requests() == []


def test_report_of_the_whole_estate_is_unchanged_and_the_list_narrows_the_group(
    group_env: Any, functions: Functions, two_sides: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    status, body = get(functions, "report")
    assert status == 200
    assert [c["name"] for c in body["clusters"]] == ["aks-in"]
    assert listings(group_env) == 1, "the run lists the group itself, as before"

    monkeypatch.setenv("REMEDIATION_SUBSCRIPTION_IDS", f"{SUB_A},{SUB_B}")  # SUB_B listed, but not under the group
    reset_runtime()
    status, body = get(functions, "report", ("subscription", SUB_B))
    assert (status, body["error"]["code"]) == (403, "SubscriptionOutOfScope")
    assert "narrowed by REMEDIATION_SUBSCRIPTION_IDS" in body["error"]["message"]
    assert cluster_reads(group_env, SUB_B) == []


def test_report_naming_clusters_answers_503_when_the_group_cannot_be_listed(
    group_env: Any, functions: Functions, two_sides: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    inside, _ = two_sides
    monkeypatch.setenv("REMEDIATION_MANAGEMENT_GROUP", "no-such-group")
    reset_runtime()

    for query in [("cluster", inside), ("subscription", SUB_A), ("cluster", "aks-in")]:
        status, body = get(functions, "report", query)
        assert (status, body["error"]["code"]) == (503, "ManagementGroupUnavailable"), query
        assert "management group 'no-such-group'" in body["error"]["message"]
    assert listings(group_env) == 3, "not cached: each request lists again"
    assert cluster_reads(group_env, SUB_A) == []

    status, body = get(functions, "report")  # the whole estate: a run, whose report names the group
    assert status == 200
    assert body["clusters"] == []
    assert [e["scope"] for e in body["errors"]] == ["/providers/Microsoft.Management/managementGroups/no-such-group"]
