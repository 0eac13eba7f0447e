"""Event storms: events for a cluster that is being reconciled, or was a moment ago, cost no ARM read.

An AKS upgrade writes its cluster dozens of times in a minute, and Event Grid delivers each write
(at least once); reconciling each would read the cluster and its settings again and again. Per
app instance and cluster (``remediation.app.event_handler`` asks before every reconcile):

- **covered**: the event's change is older (by :data:`CLOCK_SKEW` at least) than the start of
  the last successful reconcile, or of the one in flight: that run read the cluster after the
  change; the event is dropped (duplicates and late redeliveries too);
- **joined**: a reconcile of the cluster is in flight and the event is newer: it is not run
  now; when the run in flight ends, it runs once more for every event that joined it (one trailing
  run however many joined), within its own time budget;
- **coalesced**: a successful reconcile ended less than ``window_seconds``
  (``REMEDIATION_EVENT_COALESCE_SECONDS``) ago and the event is a cluster write: dropped. A
  diagnostic setting written or deleted (by someone else: our own writes never get here) after
  that run's read is drift, and is always reconciled: no window hides it.

Only a run that ended with a report sets the window (a run Event Grid will redeliver does not).
Pure threading; ``clock`` (monotonic seconds) and ``wall`` (UTC now) are public attributes so a
test can move time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

# Our clock against ARM's (eventTime): an event closer than this to a run's start is not "before" it.
CLOCK_SKEW = timedelta(seconds=5)
# Clusters remembered per instance (the least recently reconciled go first).
MAX_CLUSTERS = 10_000


class Verdict(StrEnum):
    RUN = "run"
    COVERED = "covered"
    JOINED = "joined"
    COALESCED = "coalesced"


@dataclass
class _Cluster:
    in_flight_since: datetime | None = None  # the start (wall) of the reconcile in flight
    joined: datetime | None = None  # the newest event that joined the run in flight
    last_started: datetime | None = None  # the start of the last successful reconcile
    last_finished: float | None = None  # its end (monotonic)


class EventCoalescer:
    """Per cluster: which events need a reconcile, and which an earlier (or running) one already covers."""

    def __init__(
        self,
        window_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.window_seconds = window_seconds
        self.clock = clock
        self.wall = wall
        self._lock = threading.Lock()
        self._clusters: dict[str, _Cluster] = {}

    def admit(self, cluster_id: str, *, event_time: datetime | None, drift: bool) -> Verdict:
        """What to do with an event for ``cluster_id``; RUN makes the caller the cluster's runner (call :meth:`finish`)."""
        key = cluster_id.lower()
        with self._lock:
            state = self._clusters.setdefault(key, _Cluster())
            started = state.in_flight_since
            if started is not None:
                if event_time is not None and event_time <= started - CLOCK_SKEW:
                    return Verdict.COVERED
                state.joined = max(state.joined or started, event_time or self.wall())
                return Verdict.JOINED
            if (
                state.last_started is not None
                and event_time is not None
                and event_time <= state.last_started - CLOCK_SKEW
            ):
                return Verdict.COVERED
            fresh = state.last_finished is not None and self.clock() - state.last_finished < self.window_seconds
            if fresh and not drift:
                return Verdict.COALESCED
            state.in_flight_since, state.joined = self.wall(), None
            self._evict()
            return Verdict.RUN

    def finish(self, cluster_id: str, *, succeeded: bool) -> bool:
        """End the caller's run; True when events joined it since it started: run once more (and call again)."""
        key = cluster_id.lower()
        with self._lock:
            state = self._clusters[key]
            started, joined = state.in_flight_since, state.joined
            if succeeded:
                state.last_started, state.last_finished = started, self.clock()
            if succeeded and joined is not None:
                state.in_flight_since, state.joined = self.wall(), None  # the trailing run starts now
                return True
            state.in_flight_since, state.joined = None, None
            return False

    def _evict(self) -> None:
        while len(self._clusters) > MAX_CLUSTERS:
            idle = [k for k, s in self._clusters.items() if s.in_flight_since is None]
            if not idle:
                return
            oldest = min(idle, key=lambda k: self._clusters[k].last_finished or 0.0)
            del self._clusters[oldest]
