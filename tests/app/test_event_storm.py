"""Event storms: 1,000 events for one cluster through the indexed app cost one reconcile's ARM reads.

Events for a cluster being reconciled join that run (one trailing run for all of them); events within
REMEDIATION_EVENT_COALESCE_SECONDS after a successful run are dropped without a request, unless they are
drift (a setting someone else changed after the run's read). Time is a fake clock (the runtime's
``events.clock`` and ``events.wall``); concurrency is made deterministic by holding a request in armsim.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions as func
import pytest

from remediation.app.runtime import get_runtime
from tests.support.constants import SUB_A
from tests.support.host import CLUSTER_WRITE, DELETE, SETTING_DELETE, grid_event, setting_id

Functions = dict[str, Callable[..., Any]]
DEADLINE = 30.0


class Clocks:
    def __init__(self) -> None:
        self.mono = 1000.0
        self.now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.now += timedelta(seconds=seconds)


def at(event: func.EventGridEvent, moment: datetime) -> func.EventGridEvent:
    """The same event, as if ARM had made the change at ``moment``."""
    return func.EventGridEvent(
        id=event.id,
        data=event.get_json(),
        topic=event.topic,
        subject=event.subject,
        event_type=event.event_type,
        event_time=moment,
        data_version=event.data_version,
    )


@pytest.fixture
def clocks(app_env: Any) -> Clocks:
    fake = Clocks()
    events = get_runtime().events
    events.clock = lambda: fake.mono
    events.wall = lambda: fake.now
    return fake


def reads(sim: Any) -> int:
    return len([r for r in sim.arm_requests() if r.method == "GET"])


def test_a_thousand_cluster_writes_cost_one_reconcile(app_env: Any, functions: Functions, clocks: Clocks) -> None:
    cid = app_env.add_cluster(SUB_A, "rg-apps", "aks-upgrading", "westeurope")
    functions["on_resource_event"](at(grid_event(CLUSTER_WRITE, cid), clocks.now))
    one = reads(app_env)
    assert one >= 2, "the cluster and its settings"
    assert len(app_env.write_requests()) == 1

    for _ in range(999):  # an upgrade's burst: every write after our read, all within the window
        clocks.advance(0.02)
        functions["on_resource_event"](at(grid_event(CLUSTER_WRITE, cid), clocks.now))
    assert reads(app_env) == one, "1,000 events, one reconcile's reads"
    assert len(app_env.write_requests()) == 1

    clocks.advance(31)  # the window is over: the next write is reconciled again
    functions["on_resource_event"](at(grid_event(CLUSTER_WRITE, cid), clocks.now))
    assert reads(app_env) > one


def test_a_redelivered_event_older_than_the_last_read_is_dropped_even_after_the_window(
    app_env: Any, functions: Functions, clocks: Clocks
) -> None:
    cid = app_env.add_cluster(SUB_A, "rg-apps", "aks-a", "westeurope")
    event = at(
        grid_event(SETTING_DELETE, setting_id(cid, "team"), event_type=DELETE), clocks.now - timedelta(minutes=5)
    )
    functions["on_resource_event"](event)
    before = reads(app_env)
    clocks.advance(3600)
    functions["on_resource_event"](event)  # Event Grid delivers at least once
    assert reads(app_env) == before


def test_drift_after_the_last_read_is_always_repaired(app_env: Any, functions: Functions, clocks: Clocks) -> None:
    cid = app_env.add_cluster(SUB_A, "rg-apps", "aks-b", "westeurope")
    functions["on_resource_event"](at(grid_event(CLUSTER_WRITE, cid), clocks.now))
    assert len(app_env.write_requests()) == 1
    app_env.delete_setting(cid, "aks-audit-remediation")  # someone removes ours right after
    clocks.advance(6)
    functions["on_resource_event"](at(grid_event(SETTING_DELETE, setting_id(cid), event_type=DELETE), clocks.now))
    assert len(app_env.write_requests()) == 2, "the window never hides drift"
    assert app_env.get_setting(cid, "aks-audit-remediation") is not None


def test_events_during_a_reconcile_join_it_and_cost_one_trailing_run(
    app_env: Any, functions: Functions, clocks: Clocks
) -> None:
    cid = app_env.add_cluster(SUB_A, "rg-apps", "aks-c", "westeurope")
    entered, release = threading.Event(), threading.Event()

    def hold() -> None:
        entered.set()
        assert release.wait(DEADLINE)

    app_env.inject_fault(method="GET", path_contains="/managedClusters/aks-c", status=None, times=1, before=hold)
    with ThreadPoolExecutor(8) as pool:
        leader = pool.submit(functions["on_resource_event"], at(grid_event(CLUSTER_WRITE, cid), clocks.now))
        assert entered.wait(DEADLINE)
        clocks.advance(10)  # changes made while the first run reads
        joined = [
            pool.submit(functions["on_resource_event"], at(grid_event(CLUSTER_WRITE, cid), clocks.now))
            for _ in range(200)
        ]
        for future in joined:
            future.result(DEADLINE)  # each returns at once: it joined the run in flight
        release.set()
        leader.result(DEADLINE)
    cluster_reads = [r for r in app_env.arm_requests() if r.method == "GET" and r.path.endswith("/aks-c")]
    assert len(cluster_reads) == 2, "the first run and one trailing run for the 200 events that joined it"
    assert len(app_env.write_requests()) == 1, "the trailing run finds the cluster compliant"
