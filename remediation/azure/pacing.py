"""Client-side pacing of ARM requests: wait before ARM has to say 429.

ARM meters every request on several token buckets at once (:mod:`remediation.azure.ratelimits`):
the caller's own per subscription and kind (documented), the subscription's global one shared
with every other caller (documented size, what is left for us learned), and for some writes a
resource provider's budget (undocumented: learned). :class:`Pacer` keeps a model of each bucket
the process meets, and :class:`PacingPolicy` (one per SDK client, all sharing one pacer) takes a
token from every bucket a request draws on before each attempt and corrects the models from
every answer:

- the ``x-ms-ratelimit-remaining-*`` headers say what ARM had left after the request; our
  requests still in flight and a small reserve are taken off, so a model never believes in more
  than ARM has. Other callers draining a bucket show up here. A provider's budget is drawn on
  by the kinds of request whose answers report it, from the first such answer on.
- A 429 is not an error for the caller: the bucket that refused (the reported one with nothing
  left, else the ones the answer does not report) is closed until its ``Retry-After`` has passed
  (at most the gateway's cap, RETRY_AFTER_CAP; a provider's budget up to
  :data:`PROVIDER_RETRY_AFTER_CAP`), and the request waits its turn and is sent again, as long as
  the call's deadline (in the request's context, see :mod:`remediation.azure.policies`) leaves
  time. A wait that would not fit raises :class:`~remediation.errors.ThrottledError`: a provider's
  429s never fail a cluster while the run can wait.

The buckets are per process: every run, sweep and event in this worker shares them, as they
share ARM's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import HTTPPolicy

from remediation.azure.policies import call_deadline
from remediation.azure.ratelimits import (
    DELETES,
    GLOBAL,
    GLOBAL_LIMITS,
    LIMITS,
    PROVIDER_PRIOR_SECONDS,
    READS,
    WRITES,
    Bucket,
    Limit,
    kind_of,
    provider_of,
    reported,
    retry_after,
    scope_of,
)
from remediation.errors import ThrottledError
from remediation.kit.clock import SYSTEM_CLOCK, Clock, as_clock
from remediation.kit.deadline import MIN_TRY_SECONDS, Deadline

logger = logging.getLogger(__name__)

__all__ = ["DELETES", "READS", "WRITES", "Limit", "Pacer", "PacingPolicy", "kind_of", "provider_of", "scope_of"]

# Without a deadline (a call outside any run), at most this long is spent waiting for tokens.
DEFAULT_MAX_WAIT = 60.0
# Retry-After missing on a 429: wait this long.
DEFAULT_RETRY_AFTER = 1.0
# The shortest wait (a token a float's rounding short of whole is not waited for forever).
MIN_WAIT = 0.001
# A provider's budget may refill per minute: its Retry-After is honoured up to this long.
PROVIDER_RETRY_AFTER_CAP = 60.0


@dataclass
class PacerStats:
    """What the pacer did (for benchmarks and logs)."""

    requests: int = 0
    throttled: int = 0  # answers 429
    waits: int = 0  # requests that waited for a token
    waited_seconds: float = 0.0
    throttled_by: Counter[str] = field(default_factory=Counter)  # bucket name -> 429s it caused


@dataclass(frozen=True)
class BucketView:
    """What the pacer knows of one of ARM's buckets (for logs, benchmarks and tests)."""

    scope: str
    name: str  # reads | global-reads | <provider>/resource-requests | ...
    burst: float
    refill: float
    tokens: float
    learned: bool  # size and refill from the headers (global and provider buckets)
    estimated: bool  # the refill was measured, not assumed
    kinds: tuple[str, ...]  # provider budgets: the kinds of request that draw on it


class Pacer:
    """Models of ARM's buckets per (scope, bucket), shared by every client of the process. Thread-safe.

    The buckets refill, and requests wait for tokens, on ``clock`` (:mod:`remediation.kit.clock`;
    the process's: see :func:`remediation.azure.clients.forget_pacer`)."""

    def __init__(
        self,
        limits: Mapping[str, Limit] = LIMITS,
        *,
        global_limits: Mapping[str, Limit] = GLOBAL_LIMITS,
        clock: Clock | Callable[[], float] = SYSTEM_CLOCK,
        sleep: Callable[[float], object] | None = None,
        retry_after_cap: float | None = None,
    ) -> None:
        self._limits = dict(limits)
        self._global_limits = dict(global_limits)
        self._retry_after_cap = retry_after_cap
        self._clock = as_clock(clock)
        self._lock = threading.Condition()
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._providers: dict[tuple[str, str], set[str]] = {}  # (scope, provider) -> its budgets' names
        self._sleep = sleep
        self._tickets = 0
        self.stats = PacerStats()
        self._rtt: float | None = None

    # -- the buckets ----------------------------------------------------------------------------------
    def _bucket(self, scope: str, name: str) -> Bucket:
        bucket = self._buckets.get((scope, name))
        if bucket is None:
            if name.startswith(GLOBAL):
                limit, learned = self._global_limits[name[len(GLOBAL) :]], True
            else:
                limit, learned = self._limits[name], False
            bucket = Bucket(float(limit.burst), limit.refill, self._clock.now(), learned=learned)
            self._buckets[(scope, name)] = bucket
        return bucket

    def _drawn(self, scope: str, kind: str, provider: str | None) -> list[tuple[str, Bucket]]:
        """The buckets a request of ``kind`` to ``provider`` in ``scope`` takes a token from."""
        drawn = [(kind, self._bucket(scope, kind))]
        if scope.startswith("sub:"):
            drawn.append((GLOBAL + kind, self._bucket(scope, GLOBAL + kind)))
        for name in sorted(self._providers.get((scope, provider or ""), ())):
            bucket = self._buckets[(scope, name)]
            if kind in bucket.kinds:
                drawn.append((name, bucket))
        return drawn

    def _provider_bucket(self, scope: str, provider: str | None, name: str, kind: str, left: int) -> Bucket:
        """A provider's budget, made from its first report: its size at least ``left + 1``."""
        bucket = self._buckets.get((scope, name))
        if bucket is None:
            burst = float(left + 1)
            bucket = Bucket(burst, burst / PROVIDER_PRIOR_SECONDS, self._clock.now(), learned=True, tokens=burst)
            bucket.unseen(len(self._bucket(scope, kind).in_flight))  # ARM may count them before the next answer
            self._buckets[(scope, name)] = bucket
            self._providers.setdefault((scope, provider or ""), set()).add(name)
            logger.debug("ARM reports a resource provider's budget %s in %s: at least %d", name, scope, left + 1)
        bucket.kinds.add(kind)
        return bucket

    # -- before a request ---------------------------------------------------------------------------
    def try_acquire(self, scope: str, kind: str, provider: str | None = None) -> tuple[int | None, float]:
        """Take a token of every bucket the request draws on, if each has one: ``(ticket, 0)``;
        else ``(None, seconds to wait)``. Never blocks."""
        with self._lock:
            now = self._clock.now()
            drawn = self._drawn(scope, kind, provider)
            wait = max(bucket.wait_time(now) for _, bucket in drawn)
            if wait > 0.0:
                return None, max(wait, MIN_WAIT)
            self._tickets += 1
            for _, bucket in drawn:
                bucket.take(self._tickets)
            self.stats.requests += 1
            return self._tickets, 0.0

    def acquire(self, scope: str, kind: str, deadline: Deadline | None, provider: str | None = None) -> int:
        """Wait for a token of every bucket the request draws on and take them; returns the request's ticket.

        Raises :class:`ThrottledError` when the wait would not fit in ``deadline``.
        """
        waited = 0.0
        with self._lock:
            while True:
                ticket, wait = self.try_acquire(scope, kind, provider)
                if ticket is not None:
                    if waited > 0:
                        self.stats.waits += 1
                        self.stats.waited_seconds += waited
                    return ticket
                left = deadline.remaining() if deadline is not None else DEFAULT_MAX_WAIT - waited
                if wait + MIN_TRY_SECONDS > left:
                    raise ThrottledError(
                        f"ARM's {kind} limit for {_scope_text(scope)} needs a wait of {wait:.1f} s, "
                        f"and the run has {max(0.0, left):.1f} s left"
                    )
                started = self._clock.now()
                if self._sleep is not None:  # tests: a fake clock moves instead of time passing
                    self._lock.release()
                    try:
                        self._sleep(wait)
                    finally:
                        self._lock.acquire()
                else:
                    self._clock.wait(self._lock, wait)  # woken early when an answer corrects a model
                waited += self._clock.now() - started

    def release(self, scope: str, kind: str, ticket: int, provider: str | None = None) -> None:
        """The request with ``ticket`` was not answered (connection error): forget it."""
        with self._lock:
            for _, bucket in self._drawn(scope, kind, provider):
                bucket.in_flight.discard(ticket)

    # -- after an answer ----------------------------------------------------------------------------
    def observe(
        self,
        scope: str,
        kind: str,
        ticket: int,
        *,
        remaining: int | Mapping[str, int] | None,
        retry_after: float | None,
        rtt: float | None = None,
        provider: str | None = None,
    ) -> None:
        """Correct the models from one answer: what ARM had left in each bucket it reports
        (``remaining``: by bucket name, or the caller's bucket of ``kind`` alone), and a 429's Retry-After."""
        if remaining is None:
            left: Mapping[str, int] = {}
        elif isinstance(remaining, int):
            left = {kind: remaining}
        else:
            left = remaining
        refused = retry_after is not None
        with self._lock:
            now = self._clock.now()
            drawn = dict(self._drawn(scope, kind, provider))
            for bucket in drawn.values():
                bucket.advance(now)
                bucket.answered(now, ticket)
            for name, value in left.items():
                if "/" in name:
                    bucket = self._provider_bucket(scope, provider, name, kind, value)
                elif name.startswith(GLOBAL) and not scope.startswith("sub:"):
                    continue
                else:
                    bucket = self._bucket(scope, name)
                bucket.advance(now)
                bucket.in_flight.discard(ticket)
                bucket.observe(now, ticket, value, refused=refused)
            if retry_after is not None:
                self._throttled(scope, drawn, left, retry_after, now)
            if rtt is not None:
                self._rtt = rtt if self._rtt is None else 0.8 * self._rtt + 0.2 * rtt
            self._lock.notify_all()

    def _throttled(
        self, scope: str, drawn: Mapping[str, Bucket], left: Mapping[str, int], wait: float, now: float
    ) -> None:
        """Close the bucket that refused: the one reported empty, else those the answer does not report."""
        culprits = [n for n, v in left.items() if v < 1] or [n for n in drawn if n not in left] or list(drawn)
        self.stats.throttled += 1
        for name in culprits:
            bucket = self._buckets.get((scope, name))
            if bucket is None:
                continue
            self.stats.throttled_by[name] += 1
            cap = self._retry_after_cap
            if "/" in name:
                cap = max(cap or 0.0, PROVIDER_RETRY_AFTER_CAP)
            bucket.throttled(now, wait if cap is None else min(wait, cap))

    @property
    def round_trip(self) -> float | None:
        """Smoothed round-trip time of answered requests, in seconds (None before the first)."""
        with self._lock:
            return self._rtt

    def tokens(self, scope: str, name: str) -> float:
        """The model's tokens now (for tests and logs)."""
        with self._lock:
            bucket = self._bucket(scope, name) if "/" not in name else self._buckets[(scope, name)]
            bucket.advance(self._clock.now())
            return bucket.tokens

    def buckets(self) -> list[BucketView]:
        """Every bucket the pacer models, as it knows it now."""
        with self._lock:
            now = self._clock.now()
            out = []
            for (scope, name), bucket in sorted(self._buckets.items()):
                bucket.advance(now)
                out.append(
                    BucketView(
                        scope,
                        name,
                        bucket.burst,
                        round(bucket.refill, 3),
                        round(bucket.tokens, 1),
                        bucket.learned,
                        bucket.estimated,
                        tuple(sorted(bucket.kinds)),
                    )
                )
            return out


def _scope_text(scope: str) -> str:
    return f"subscription {scope[4:]}" if scope.startswith("sub:") else "the tenant"


class PacingPolicy(HTTPPolicy):  # type: ignore[type-arg]
    """Per attempt: take a token from the shared :class:`Pacer`, send, correct the models from the answer;
    on 429, wait the ``Retry-After`` and send again while the run's deadline allows."""

    def __init__(self, pacer: Pacer) -> None:
        super().__init__()
        self._pacer = pacer

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        http = request.http_request
        scope, kind, provider = scope_of(http.url), kind_of(http.method), provider_of(http.url)
        call = call_deadline(request)
        deadline = call.deadline if call is not None else None
        while True:
            ticket = self._pacer.acquire(scope, kind, deadline, provider)
            started = time.monotonic()
            try:
                response = self.next.send(request)
            except BaseException:
                self._pacer.release(scope, kind, ticket, provider)
                raise
            headers = response.http_response.headers
            throttled = response.http_response.status_code == 429
            wait = retry_after(headers, DEFAULT_RETRY_AFTER) if throttled else None
            self._pacer.observe(
                scope,
                kind,
                ticket,
                remaining=reported(headers, provider),
                retry_after=wait,
                rtt=None if throttled else time.monotonic() - started,
                provider=provider,
            )
            if not throttled:
                return response
            logger.debug("ARM throttled %s %s: waiting %.1f s (Retry-After)", http.method, http.url, wait)
            # and round again: acquire() waits until the buckets open, or raises when the run cannot wait
