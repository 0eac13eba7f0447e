"""``GET /api/report`` bounded: one run at a time per app instance, shared by every caller of its scope.

Each report is a fresh dry run of ARM, and a run costs about one ARM read per cluster (and, with
flow verification, one Log Analytics query per destination workspace, a billed scan on the
Basic plan). So that a function key cannot multiply that cost:

- **one run at a time** per app instance: a caller for another scope waits for the run lock
  (at most ``wait_seconds``; then :class:`ReportBusy`, answered 503 with ``Retry-After``);
- **single flight**: callers asking for a scope that is being run wait for that run and share
  its result (an exception too) instead of starting their own;
- **cache**: a result younger than ``ttl_seconds`` (``REMEDIATION_REPORT_CACHE_SECONDS``) is
  served again, with its age; 0 keeps nothing beyond the run in flight.

At most :data:`MAX_RESULTS` results are kept (the oldest goes first). Pure threading, no I/O;
``clock`` (monotonic seconds) is a public attribute so that a test can move time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Generic, TypeVar

from remediation.core.report import ReportDocument
from remediation.errors import ClusterNameError

logger = logging.getLogger(__name__)

V = TypeVar("V")
MAX_RESULTS = 16


class ReportBusy(Exception):  # noqa: N818 - an answer (503), not a bug
    """Another report held the run lock for longer than this caller may wait."""

    def __init__(self, waited: float) -> None:
        super().__init__(f"another report has been running for the {waited:.0f} s this request may wait")
        self.waited = waited


@dataclass(frozen=True)
class Served(Generic[V]):
    """A result and how it was obtained."""

    value: V
    age: float  # seconds since the run that made it finished (0 for the caller that ran it)
    how: str  # "run" (this caller ran it), "shared" (waited for a run in flight), "cached"


@dataclass(frozen=True)
class ReportOutcome:
    """What one report run produced: its document, or why the clusters it was asked for by name are not one each."""

    document: ReportDocument | None = None
    name_error: ClusterNameError | None = None


@dataclass
class _Flight(Generic[V]):
    future: Future[tuple[V, float]]
    followers: int = 0


class ReportRuns(Generic[V]):
    """Single-flight runs, one at a time, with a time-bounded cache of their results."""

    def __init__(self, ttl_seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._lock = threading.Lock()  # guards _results and _flights
        self._run_lock = threading.Lock()  # one run at a time
        self._results: dict[Hashable, tuple[V, float]] = {}
        self._flights: dict[Hashable, _Flight[V]] = {}
        self._queued = 0  # leaders waiting for the run lock

    def get(self, key: Hashable, produce: Callable[[], V], *, lock_wait: float, share_wait: float) -> Served[V]:
        """The result for ``key``: cached, shared with the run in flight, or produced now (one run at a time).

        Raises :class:`ReportBusy` when the run lock is not free within ``lock_wait`` seconds, or the
        run this caller shares has not ended within ``share_wait``; and whatever ``produce`` raised
        (to every caller sharing that run).
        """
        with self._lock:
            now = self.clock()
            self._expire(now)
            cached = self._results.get(key)
            if cached is not None:
                return Served(cached[0], max(0.0, now - cached[1]), "cached")
            flight = self._flights.get(key)
            if flight is not None:
                flight.followers += 1
            else:
                self._flights[key] = _Flight(Future())
        if flight is not None:
            return self._follow(flight, share_wait)
        return self._lead(key, produce, lock_wait)

    def _follow(self, flight: _Flight[V], wait_seconds: float) -> Served[V]:
        try:
            value, finished = flight.future.result(timeout=wait_seconds)
        except TimeoutError:
            with self._lock:
                flight.followers -= 1
            raise ReportBusy(wait_seconds) from None
        return Served(value, max(0.0, self.clock() - finished), "shared")

    def _lead(self, key: Hashable, produce: Callable[[], V], wait_seconds: float) -> Served[V]:
        with self._lock:
            flight = self._flights[key]
            self._queued += 1
        try:
            acquired = self._run_lock.acquire(timeout=wait_seconds)
            with self._lock:
                self._queued -= 1
            if not acquired:
                raise ReportBusy(wait_seconds)
            try:
                value = produce()
            finally:
                self._run_lock.release()
        except BaseException as exc:
            with self._lock:
                del self._flights[key]
            flight.future.set_exception(exc)
            raise
        finished = self.clock()
        with self._lock:
            del self._flights[key]
            if self.ttl_seconds > 0:
                self._results[key] = (value, finished)
                while len(self._results) > MAX_RESULTS:
                    del self._results[min(self._results, key=lambda k: self._results[k][1])]
            followers = flight.followers
        flight.future.set_result((value, finished))
        if followers:
            logger.info("report shared by %d waiting caller(s)", followers, extra={"report_followers": followers})
        return Served(value, 0.0, "run")

    def _expire(self, now: float) -> None:
        for key in [k for k, (_, at) in self._results.items() if now - at >= self.ttl_seconds]:
            del self._results[key]

    def pending(self) -> tuple[int, int]:
        """(callers waiting for a run in flight, runs waiting for the run lock): what the instance holds up."""
        with self._lock:
            return sum(f.followers for f in self._flights.values()), self._queued
