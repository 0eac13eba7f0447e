"""GET /api/report bounded: one run at a time per instance, shared by concurrent callers of a scope, served again
while young, at most REMEDIATION_REPORT_MAX_CLUSTERS named clusters, flow queries only with ?flow=true.

Through the indexed app with real func.HttpRequest objects against armsim (whose request log is the cost) and
Azurite. The cache's age comes from a fake clock (the runtime's ``reports.clock``); concurrency is made
deterministic by holding one ARM request open in armsim until the other callers are known to wait.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import azure.functions as func
import pytest

from remediation.app.runtime import Runtime, get_runtime, reset_runtime
from tests.support.constants import SUB_A, WORKSPACE
from tests.support.host import CLUSTER_WRITE, cluster_id, grid_event, http_get

Functions = dict[str, Callable[..., Any]]
DEADLINE = 30.0  # seconds any wait in these tests may take before the test fails


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def call(functions: Functions, *query: tuple[str, str]) -> func.HttpResponse:
    response: func.HttpResponse = functions["report"](http_get("report", list(query)))
    return response


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds (every wait has a deadline; a miss fails the test)."""
    done = threading.Event()
    for _ in range(int(DEADLINE / 0.01)):
        if condition():
            return
        done.wait(0.01)
    raise AssertionError(f"not within {DEADLINE} s: {what}")


class Gate:
    """Holds the ARM requests a fault matches inside armsim until released (the request is not answered yet)."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __call__(self) -> None:
        self.entered.set()
        if not self.release.wait(DEADLINE):
            raise AssertionError("the gate was never released")


@pytest.fixture
def estate(app_env: Any) -> Any:
    for i in range(20):
        app_env.add_cluster(SUB_A, "rg-apps", f"aks-{i:02d}", "westeurope")
    return app_env


@pytest.fixture
def clock(estate: Any) -> FakeClock:
    fake = FakeClock()
    get_runtime().reports.clock = fake
    return fake


@pytest.fixture
def runtime(estate: Any) -> Iterator[Runtime]:
    yield get_runtime()


def arm_reads(sim: Any) -> int:
    return len([r for r in sim.arm_requests() if r.method == "GET"])


def test_a_young_result_is_served_again_with_its_age(estate: Any, functions: Functions, clock: FakeClock) -> None:
    first = call(functions)
    assert first.status_code == 200
    document = json.loads(first.get_body())
    reads = arm_reads(estate)
    assert reads >= 21, "one settings list per cluster, and the listing"
    assert first.headers["Age"] == "0"
    assert document["generated_at"] == document["finished_at"]

    clock.now += 299
    again = call(functions, ("format", "markdown"))  # another format: the same run, rendered again
    assert again.status_code == 200
    assert arm_reads(estate) == reads, "served from the cache: no ARM read"
    assert again.headers["Age"] == "299"
    assert document["run_id"] in again.get_body().decode()
    cached = json.loads(call(functions).get_body())
    assert (cached["run_id"], cached["generated_at"]) == (document["run_id"], document["generated_at"])
    assert again.headers["Last-Modified"].endswith(" GMT")

    clock.now += 1  # 300 s old: stale
    fresh = call(functions)
    assert json.loads(fresh.get_body())["run_id"] != document["run_id"]
    assert fresh.headers["Age"] == "0"
    assert arm_reads(estate) - reads >= 21, "a new run: the listing and every cluster's settings again"


def test_scopes_are_cached_apart(estate: Any, functions: Functions, clock: FakeClock) -> None:
    call(functions)
    reads = arm_reads(estate)
    one = cluster_id("aks-03")
    assert json.loads(call(functions, ("cluster", one)).get_body())["summary"]["clusters"] == 1
    named = arm_reads(estate) - reads
    assert 1 <= named <= 5, "the cluster, its settings, its subscription, its workspace"
    assert call(functions, ("cluster", one.upper())).status_code == 200
    assert arm_reads(estate) - reads == named, "the same scope, spelled in another case: cached"


def test_concurrent_callers_of_one_scope_share_one_run(
    estate: Any, functions: Functions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDIATION_REPORT_CACHE_SECONDS", "0")  # nothing kept: only sharing can save reads
    reset_runtime()
    runtime = get_runtime()
    gate = Gate()
    estate.inject_fault(method="GET", path_contains="/managedClusters", status=None, times=1, before=gate)
    with ThreadPoolExecutor(8) as pool:
        leader = pool.submit(call, functions)
        assert gate.entered.wait(DEADLINE), "the first report reached ARM"
        followers = [pool.submit(call, functions) for _ in range(7)]
        wait_until(lambda: runtime.reports.pending() == (7, 0), "seven callers wait for the run in flight")
        gate.release.set()
        responses = [leader.result(DEADLINE)] + [f.result(DEADLINE) for f in followers]
    assert [r.status_code for r in responses] == [200] * 8
    assert len({json.loads(r.get_body())["run_id"] for r in responses}) == 1, "one run, eight answers"
    shared = arm_reads(estate)
    assert 21 <= shared < 2 * 21, f"one run's reads (the listing and 20 settings lists), not eight runs': {shared}"
    assert runtime.reports.pending() == (0, 0)


def test_one_run_at_a_time_per_instance(estate: Any, functions: Functions, runtime: Runtime) -> None:
    gate = Gate()
    estate.inject_fault(method="GET", path_contains="/managedClusters", status=None, times=1, before=gate)
    other = cluster_id("aks-07")
    with ThreadPoolExecutor(2) as pool:
        whole = pool.submit(call, functions)
        assert gate.entered.wait(DEADLINE)
        narrow = pool.submit(call, functions, ("cluster", other))
        wait_until(lambda: runtime.reports.pending() == (0, 1), "the second scope waits for the run lock")
        assert not [r for r in estate.requests if "aks-07" in r.path], "no ARM request before the first run ends"
        gate.release.set()
        assert whole.result(DEADLINE).status_code == 200
        assert narrow.result(DEADLINE).status_code == 200
    # The first run's own requests: the listing and the other clusters' settings.
    first_run_end = max(
        r.answered or 0
        for r in estate.arm_requests()
        if r.path.lower().endswith("/managedclusters") or ("/managedClusters/aks-" in r.path and "aks-07" not in r.path)
    )
    second_run_start = min(r.received for r in estate.arm_requests() if r.path.endswith("/aks-07"))
    assert second_run_start >= first_run_end


def test_a_caller_that_cannot_wait_for_the_run_lock_is_told_to_retry(
    estate: Any, functions: Functions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDIATION_DEADLINE_SECONDS", "1")  # at most 0.5 s for the run lock
    reset_runtime()
    gate = Gate()
    estate.inject_fault(method="GET", path_contains="/managedClusters", status=None, times=1, before=gate)
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(call, functions)
        assert gate.entered.wait(DEADLINE)
        try:
            busy = call(functions, ("cluster", cluster_id("aks-01")))
        finally:
            gate.release.set()
        held.result(DEADLINE)
    assert busy.status_code == 503
    assert json.loads(busy.get_body())["error"]["code"] == "ReportBusy"
    assert busy.headers["Retry-After"] == "30"


def test_more_named_clusters_than_the_limit_is_400_before_any_arm_call(
    estate: Any, functions: Functions, monkeypatch: pytest.MonkeyPatch
) -> None:
    made_up = [cluster_id(f"made-up-{i:02d}") for i in range(51)]
    estate.clear_requests()
    response = call(functions, *[("cluster", c) for c in made_up])
    assert response.status_code == 400
    error = json.loads(response.get_body())["error"]
    assert error["code"] == "TooManyClusters"
    assert "at most 50" in error["message"]
    assert estate.requests == [], "no token, no ARM request"
    status = functions["status"](http_get("status", [("cluster", c) for c in made_up]))
    assert status.status_code == 400

    response = call(functions, *[("cluster", c) for c in made_up[:50]])
    assert response.status_code == 200
    assert json.loads(response.get_body())["summary"]["clusters"] == 50  # each one failed: cluster-not-found

    monkeypatch.setenv("REMEDIATION_REPORT_MAX_CLUSTERS", "2")
    reset_runtime()
    estate.clear_requests()
    names = call(functions, ("cluster", "aks-01"), ("cluster", "aks-02,aks-03"))
    assert names.status_code == 400 and estate.requests == []


def test_flow_queries_only_when_asked(estate: Any, functions: Functions, clock: FakeClock) -> None:
    cid = cluster_id("aks-00")
    estate.put_setting(cid, "team", {"workspaceId": WORKSPACE, "logs": [{"category": "kube-audit", "enabled": True}]})
    document = json.loads(call(functions).get_body())
    assert estate.query_requests() == [], "no Log Analytics query without ?flow=true"
    assert {c["flow"]["reason"] for c in document["clusters"]} == {"verification-off"}

    with_flow = json.loads(call(functions, ("flow", "TRUE")).get_body())
    assert len(estate.query_requests()) == 1, "one query: one destination workspace"
    assert with_flow["run_id"] != document["run_id"], "flow is part of the scope"
    flows = {c["name"]: c["flow"] for c in with_flow["clusters"]}
    assert flows["aks-00"]["reason"] != "verification-off"
    assert json.loads(call(functions, ("flow", "false")).get_body())["run_id"] == document["run_id"]
    assert call(functions, ("flow", "maybe")).status_code == 400
    assert len(estate.query_requests()) == 1


def test_the_event_and_queue_paths_never_read_the_report_cache(
    estate: Any, functions: Functions, clock: FakeClock
) -> None:
    call(functions)
    estate.clear_requests()
    functions["on_resource_event"](grid_event(CLUSTER_WRITE, cluster_id("aks-05")))
    assert arm_reads(estate) >= 2, "the event reads the cluster and its settings afresh"
    assert len(estate.write_requests()) == 1, "and remediates it (REMEDIATION_MODE=apply)"
