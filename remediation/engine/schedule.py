"""Which cluster runs next: subscriptions interleaved, none taking more than its share of the workers.

ARM throttles each subscription separately (token buckets per subscription and caller). The
clusters of a sweep are therefore handed out round-robin across subscriptions, so that all
their buckets drain at the same time; and no subscription holds more than its share of the
workers (``ceil(workers / subscriptions with work left)``), so that workers waiting for one
throttled subscription's tokens never starve the others. When a subscription runs out of
work, its share goes to the rest.

:func:`auto_concurrency` is ``REMEDIATION_MAX_CONCURRENCY=auto``: enough requests in flight
to keep every subscription's buckets busy at the observed round-trip time.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Iterable

from remediation.config.settings import MAX_CONCURRENCY
from remediation.core.model import Cluster

# ARM refills a subscription's read bucket at 25/s and its write bucket at 10/s: at most
# 35 requests per second per subscription once the bursts are spent.
PEAK_RATE_PER_SUBSCRIPTION = 35.0
# While the bursts (250 reads, 200 writes) last, more in flight pays: at least this many per subscription.
MIN_PER_SUBSCRIPTION = 8
# Before any round trip was measured.
DEFAULT_ROUND_TRIP = 0.1


def auto_concurrency(subscriptions: int, round_trip: float | None, clusters: int) -> int:
    """Workers for a sweep of ``clusters`` clusters in ``subscriptions`` subscriptions.

    Per subscription: twice the requests ARM lets through in one round trip (so a worker is
    always ready when a token is), and at least :data:`MIN_PER_SUBSCRIPTION`; in total at most
    :data:`MAX_CONCURRENCY` and never more than there are clusters.
    """
    rtt = round_trip if round_trip and round_trip > 0 else DEFAULT_ROUND_TRIP
    per_subscription = max(MIN_PER_SUBSCRIPTION, math.ceil(2 * PEAK_RATE_PER_SUBSCRIPTION * rtt))
    wanted = max(1, subscriptions) * per_subscription
    return max(1, min(wanted, MAX_CONCURRENCY, max(1, clusters)))


class Interleaver:
    """Hands out clusters round-robin by subscription, at most a fair share of workers per subscription."""

    def __init__(self, clusters: Iterable[Cluster], workers: int) -> None:
        self._queues: dict[str, deque[Cluster]] = {}
        for cluster in clusters:
            self._queues.setdefault(cluster.subscription_id.lower(), deque()).append(cluster)
        self._order = list(self._queues)
        self._next = 0
        self._active = dict.fromkeys(self._order, 0)
        self._workers = max(1, workers)
        self._cond = threading.Condition()

    def _share(self) -> int:
        busy = sum(1 for s in self._order if self._queues[s] or self._active[s])
        return max(1, math.ceil(self._workers / max(1, busy)))

    def take(self) -> Cluster | None:
        """The next cluster to process, or None when nothing is left. Blocks while every
        subscription with work left is at its share."""
        with self._cond:
            while True:
                waiting = [s for s in self._order if self._queues[s]]
                if not waiting:
                    return None
                share = self._share()
                for step in range(len(self._order)):
                    sub = self._order[(self._next + step) % len(self._order)]
                    if self._queues[sub] and self._active[sub] < share:
                        self._next = (self._next + step + 1) % len(self._order)
                        self._active[sub] += 1
                        return self._queues[sub].popleft()
                self._cond.wait()

    def done(self, cluster: Cluster) -> None:
        with self._cond:
            self._active[cluster.subscription_id.lower()] -= 1
            self._cond.notify_all()
