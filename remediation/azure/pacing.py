"""Client-side pacing of ARM requests: wait before ARM has to say 429.

ARM throttles each (subscription, caller) with token buckets, one per kind of request (reads,
writes, deletes; requests that name no subscription draw on the tenant's buckets): 250 reads
refilled at 25/s, 200 writes or deletes refilled at 10/s. :class:`Pacer` keeps a model of each
bucket the process uses, and :class:`PacingPolicy` (one per SDK client, all sharing one pacer)
takes a token from it before every attempt and corrects the model from every answer:

- ``x-ms-ratelimit-remaining-{subscription|tenant}-{reads|writes|deletes}`` is what ARM had
  left after the request (the model is only ever corrected downwards); our
  requests still in flight are taken off too (ARM may not have
  counted them yet), so the model never believes in more than ARM has. Other clients of the
  same identity (other workers, other instances) draining the bucket show up here.
- A 429 is not an error for the caller: the bucket is closed until its ``Retry-After`` has
  passed (at most the gateway's cap, RETRY_AFTER_CAP), and the request waits its turn and is sent again, as long as the
  call's deadline (in the request's context, see :mod:`remediation.azure.policies`) leaves time.
  A wait that would not fit raises :class:`~remediation.errors.ThrottledError`.

The buckets are per process: every run, sweep and event in this worker shares them, as they
share ARM's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import HTTPPolicy

from remediation.azure.policies import call_deadline
from remediation.errors import ThrottledError
from remediation.kit.deadline import MIN_TRY_SECONDS, Deadline

logger = logging.getLogger(__name__)

READS, WRITES, DELETES = "reads", "writes", "deletes"
# Without a deadline (a call outside any run), at most this long is spent waiting for tokens.
DEFAULT_MAX_WAIT = 60.0
# Tokens of ARM's bucket the model leaves unused: concurrent requests are counted by ARM in an
# order that may differ from ours by a request or two. (In the steady state this costs nothing:
# the bucket then holds these tokens instead of none, and the refill rate is the same.)
RESERVE_TOKENS = 2
# Retry-After missing on a 429: wait this long.
DEFAULT_RETRY_AFTER = 1.0


@dataclass(frozen=True)
class Limit:
    burst: int
    refill: float  # tokens per second


# ARM's documented limits (Azure Resource Manager, "request limits and throttling").
LIMITS: Mapping[str, Limit] = {READS: Limit(250, 25.0), WRITES: Limit(200, 10.0), DELETES: Limit(200, 10.0)}


def kind_of(method: str) -> str:
    method = method.upper()
    if method in ("GET", "HEAD"):
        return READS
    return DELETES if method == "DELETE" else WRITES


def scope_of(url: str) -> str:
    """``sub:<id>`` for a request under ``/subscriptions/<id>/...``, else ``tenant``."""
    parts = [p for p in urlsplit(url).path.split("/") if p]
    if len(parts) >= 2 and parts[0].lower() == "subscriptions":
        return "sub:" + parts[1].lower()
    return "tenant"


class _Bucket:
    """Our model of one of ARM's buckets."""

    def __init__(self, limit: Limit, now: float) -> None:
        self.burst = float(limit.burst)
        self.refill = limit.refill
        self.tokens = float(limit.burst)  # ARM's buckets start full
        self.updated = now
        self.closed_until = 0.0  # after a 429: nothing is sent before this
        self.tickets = 0
        self.in_flight: set[int] = set()  # tickets sent and not answered yet

    def advance(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.refill)
            self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until a token can be taken (0: now)."""
        self.advance(now)
        closed = max(0.0, self.closed_until - now)
        short = 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.refill
        return max(closed, short)


@dataclass
class PacerStats:
    """What the pacer did (for benchmarks and logs)."""

    requests: int = 0
    throttled: int = 0  # answers 429
    waits: int = 0  # requests that waited for a token
    waited_seconds: float = 0.0


class Pacer:
    """Token-bucket models per (scope, kind), shared by every client of the process. Thread-safe."""

    def __init__(
        self,
        limits: Mapping[str, Limit] = LIMITS,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] | None = None,
        retry_after_cap: float | None = None,
    ) -> None:
        self._limits = dict(limits)
        self._retry_after_cap = retry_after_cap
        self._clock = clock
        self._lock = threading.Condition()
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._sleep = sleep
        self.stats = PacerStats()
        self._rtt: float | None = None

    def _bucket(self, scope: str, kind: str) -> _Bucket:
        bucket = self._buckets.get((scope, kind))
        if bucket is None:
            bucket = _Bucket(self._limits[kind], self._clock())
            self._buckets[(scope, kind)] = bucket
        return bucket

    # -- before a request ---------------------------------------------------------------------------
    def acquire(self, scope: str, kind: str, deadline: Deadline | None) -> int:
        """Wait for a token of (scope, kind) and take it; returns the request's ticket.

        Raises :class:`ThrottledError` when the wait would not fit in ``deadline``.
        """
        waited = 0.0
        with self._lock:
            bucket = self._bucket(scope, kind)
            while True:
                now = self._clock()
                wait = bucket.wait_time(now)
                if wait <= 0.0:
                    bucket.tokens -= 1.0
                    bucket.tickets += 1
                    bucket.in_flight.add(bucket.tickets)
                    self.stats.requests += 1
                    if waited > 0:
                        self.stats.waits += 1
                        self.stats.waited_seconds += waited
                    return bucket.tickets
                left = deadline.remaining() if deadline is not None else DEFAULT_MAX_WAIT - waited
                if wait + MIN_TRY_SECONDS > left:
                    raise ThrottledError(
                        f"ARM's {kind} limit for {_scope_text(scope)} needs a wait of {wait:.1f} s, "
                        f"and the run has {max(0.0, left):.1f} s left"
                    )
                started = self._clock()
                if self._sleep is not None:  # tests: a fake clock moves instead of time passing
                    self._lock.release()
                    try:
                        self._sleep(wait)
                    finally:
                        self._lock.acquire()
                else:
                    self._lock.wait(wait)  # woken early when an answer corrects the model
                waited += self._clock() - started

    def release(self, scope: str, kind: str, ticket: int) -> None:
        """The request with ``ticket`` was not answered (connection error): forget it."""
        with self._lock:
            self._bucket(scope, kind).in_flight.discard(ticket)

    # -- after an answer ----------------------------------------------------------------------------
    def observe(
        self,
        scope: str,
        kind: str,
        ticket: int,
        *,
        remaining: int | None,
        retry_after: float | None,
        rtt: float | None = None,
    ) -> None:
        """Correct the model from one answer: ARM's remaining tokens, and a 429's Retry-After."""
        with self._lock:
            bucket = self._bucket(scope, kind)
            now = self._clock()
            bucket.advance(now)
            bucket.in_flight.discard(ticket)
            if remaining is not None:
                # What ARM had left, less our requests still in flight (ARM may not have counted
                # them yet) and a small reserve (concurrent requests are counted in an order that
                # may differ from ours). Only ever downwards: the model refills at ARM's rate, and
                # an answer that arrives late tells of a bucket ARM has drained since.
                estimate = float(remaining - len(bucket.in_flight) - RESERVE_TOKENS)
                if remaining + 1 > bucket.burst:  # ARM's bucket is larger than we thought
                    bucket.burst = float(remaining + 1)
                    bucket.tokens = estimate
                else:
                    bucket.tokens = min(bucket.tokens, estimate)
            if retry_after is not None:
                self.stats.throttled += 1
                bucket.tokens = min(bucket.tokens, 0.0)
                if self._retry_after_cap is not None:
                    retry_after = min(retry_after, self._retry_after_cap)
                bucket.closed_until = max(bucket.closed_until, now + retry_after)
            if rtt is not None:
                self._rtt = rtt if self._rtt is None else 0.8 * self._rtt + 0.2 * rtt
            self._lock.notify_all()

    @property
    def round_trip(self) -> float | None:
        """Smoothed round-trip time of answered requests, in seconds (None before the first)."""
        with self._lock:
            return self._rtt

    def tokens(self, scope: str, kind: str) -> float:
        """The model's tokens now (for tests and logs)."""
        with self._lock:
            bucket = self._bucket(scope, kind)
            bucket.advance(self._clock())
            return bucket.tokens


def _scope_text(scope: str) -> str:
    return f"subscription {scope[4:]}" if scope.startswith("sub:") else "the tenant"


def _remaining(headers: Mapping[str, str], kind: str) -> int | None:
    for name in (f"x-ms-ratelimit-remaining-subscription-{kind}", f"x-ms-ratelimit-remaining-tenant-{kind}"):
        value = headers.get(name)
        if value is not None:
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _retry_after(headers: Mapping[str, str]) -> float:
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) / 1000)
            except ValueError:
                pass
    value = headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass  # an HTTP date: ARM sends seconds
    return DEFAULT_RETRY_AFTER


class PacingPolicy(HTTPPolicy):  # type: ignore[type-arg]
    """Per attempt: take a token from the shared :class:`Pacer`, send, correct the model from the answer;
    on 429, wait the ``Retry-After`` and send again while the run's deadline allows."""

    def __init__(self, pacer: Pacer) -> None:
        super().__init__()
        self._pacer = pacer

    def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        http = request.http_request
        scope, kind = scope_of(http.url), kind_of(http.method)
        call = call_deadline(request)
        deadline = call.deadline if call is not None else None
        while True:
            ticket = self._pacer.acquire(scope, kind, deadline)
            started = time.monotonic()
            try:
                response = self.next.send(request)
            except BaseException:
                self._pacer.release(scope, kind, ticket)
                raise
            headers = response.http_response.headers
            throttled = response.http_response.status_code == 429
            retry_after = _retry_after(headers) if throttled else None
            self._pacer.observe(
                scope,
                kind,
                ticket,
                remaining=_remaining(headers, kind),
                retry_after=retry_after,
                rtt=None if throttled else time.monotonic() - started,
            )
            if not throttled:
                return response
            logger.debug("ARM throttled %s %s: waiting %.1f s (Retry-After)", http.method, http.url, retry_after)
            # and round again: acquire() waits until the bucket opens, or raises when the run cannot wait
