"""ReportRuns: single flight, one run at a time, a cache with an age, on a fake clock (no sleeps)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from remediation.app.report_runs import MAX_RESULTS, ReportBusy, ReportRuns

DEADLINE = 30.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_result_is_served_again_until_it_is_ttl_old() -> None:
    clock = Clock()
    runs: ReportRuns[int] = ReportRuns(60, clock=clock)
    produced: list[int] = []

    def produce() -> int:
        produced.append(len(produced))
        return produced[-1]

    first = runs.get("a", produce, lock_wait=1, share_wait=1)
    assert (first.value, first.age, first.how) == (0, 0.0, "run")
    clock.now = 59.5
    again = runs.get("a", produce, lock_wait=1, share_wait=1)
    assert (again.value, again.age, again.how) == (0, 59.5, "cached")
    assert runs.get("b", produce, lock_wait=1, share_wait=1).value == 1, "another key runs"
    clock.now = 60
    assert runs.get("a", produce, lock_wait=1, share_wait=1).how == "run"
    assert produced == [0, 1, 2]


def test_without_a_ttl_nothing_is_kept() -> None:
    runs: ReportRuns[str] = ReportRuns(0, clock=Clock())
    assert runs.get("a", lambda: "x", lock_wait=1, share_wait=1).how == "run"
    assert runs.get("a", lambda: "y", lock_wait=1, share_wait=1).value == "y"


def test_at_most_max_results_are_kept_the_oldest_goes_first() -> None:
    clock = Clock()
    runs: ReportRuns[int] = ReportRuns(3600, clock=clock)
    for i in range(MAX_RESULTS + 1):
        clock.now = float(i)
        runs.get(i, lambda i=i: i, lock_wait=1, share_wait=1)  # type: ignore[misc]
    assert runs.get(0, lambda: -1, lock_wait=1, share_wait=1).value == -1, "key 0 was evicted"
    assert runs.get(MAX_RESULTS, lambda: -1, lock_wait=1, share_wait=1).how == "cached"


def test_callers_of_a_run_in_flight_share_its_result_or_its_exception() -> None:
    runs: ReportRuns[str] = ReportRuns(60, clock=Clock())
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow() -> str:
        calls.append("run")
        started.set()
        assert release.wait(DEADLINE)
        raise RuntimeError("ARM said no")

    with ThreadPoolExecutor(3) as pool:
        leader = pool.submit(runs.get, "k", slow, lock_wait=DEADLINE, share_wait=DEADLINE)
        assert started.wait(DEADLINE)
        followers = [pool.submit(runs.get, "k", slow, lock_wait=DEADLINE, share_wait=DEADLINE) for _ in range(2)]
        for _ in range(int(DEADLINE / 0.01)):
            if runs.pending() == (2, 0):
                break
            threading.Event().wait(0.01)
        assert runs.pending() == (2, 0)
        release.set()
        for future in (leader, *followers):
            with pytest.raises(RuntimeError, match="ARM said no"):
                future.result(DEADLINE)
    assert calls == ["run"]
    assert runs.get("k", lambda: "ok", lock_wait=1, share_wait=1).value == "ok", "a failure is not cached"


def test_a_caller_that_cannot_wait_is_refused() -> None:
    runs: ReportRuns[str] = ReportRuns(60, clock=Clock())
    started, release = threading.Event(), threading.Event()

    def held() -> str:
        started.set()
        assert release.wait(DEADLINE)
        return "done"

    with ThreadPoolExecutor(1) as pool:
        leader = pool.submit(runs.get, "k", held, lock_wait=DEADLINE, share_wait=DEADLINE)
        assert started.wait(DEADLINE)
        try:
            with pytest.raises(ReportBusy):
                runs.get("other", lambda: "x", lock_wait=0.01, share_wait=1)
            with pytest.raises(ReportBusy):
                runs.get("k", lambda: "x", lock_wait=1, share_wait=0.01)
        finally:
            release.set()
        assert leader.result(DEADLINE).value == "done"
    assert runs.pending() == (0, 0)
    assert runs.get("other", lambda: "x", lock_wait=1, share_wait=1).value == "x", "the refused key is free again"
