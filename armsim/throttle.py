"""ARM's request throttling: token buckets per (scope, principal, operation kind).

What the public documentation describes (Azure Resource Manager, "Understand how Azure Resource Manager
throttles requests", regional token-bucket limits since 2024): each subscription (and the tenant, for
requests that name no subscription) has, per security principal, one bucket per kind of operation:

| scope | reads | writes (PUT/PATCH/POST) | deletes |
|---|---|---|---|
| subscription | 250 burst, 25/s | 200 burst, 10/s | 200 burst, 10/s |
| tenant | 250 burst, 25/s | 200 burst, 10/s | 200 burst, 10/s |

Every request takes one token; an empty bucket answers 429 ``TooManyRequests`` with ``Retry-After``
(whole seconds until a token is back) and takes nothing. Every response carries
``x-ms-ratelimit-remaining-{subscription|tenant}-{reads|writes|deletes}``: the tokens left after it.

Off (the default), nothing is ever refused and the headers report a full bucket.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

READS, WRITES, DELETES = "reads", "writes", "deletes"


@dataclass(frozen=True)
class Limit:
    burst: int
    refill: float  # tokens per second


SUBSCRIPTION_LIMITS: Mapping[str, Limit] = {
    READS: Limit(250, 25.0),
    WRITES: Limit(200, 10.0),
    DELETES: Limit(200, 10.0),
}
TENANT_LIMITS: Mapping[str, Limit] = {READS: Limit(250, 25.0), WRITES: Limit(200, 10.0), DELETES: Limit(200, 10.0)}


def kind_of(method: str) -> str:
    method = method.upper()
    if method in ("GET", "HEAD"):
        return READS
    if method == "DELETE":
        return DELETES
    return WRITES


@dataclass(frozen=True)
class Admission:
    """The throttle's answer for one request."""

    allowed: bool
    header: str  # x-ms-ratelimit-remaining-...
    remaining: int
    retry_after: int = 0  # seconds, when refused
    scope: str = ""  # "subscription" or "tenant"
    scope_id: str = ""  # the subscription ID, or the tenant ID
    kind: str = READS

    @property
    def headers(self) -> dict[str, str]:
        out = {self.header: str(self.remaining)}
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


class _Bucket:
    __slots__ = ("limit", "tokens", "updated")

    def __init__(self, limit: Limit, now: float) -> None:
        self.limit = limit
        self.tokens = float(limit.burst)
        self.updated = now

    def refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(float(self.limit.burst), self.tokens + (now - self.updated) * self.limit.refill)
            self.updated = now


class Throttle:
    """Token buckets keyed by (scope ID, principal, kind). Thread-safe."""

    def __init__(
        self,
        *,
        enabled: bool = False,
        subscription_limits: Mapping[str, Limit] = SUBSCRIPTION_LIMITS,
        tenant_limits: Mapping[str, Limit] = TENANT_LIMITS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enabled = enabled
        self.subscription_limits = dict(subscription_limits)
        self.tenant_limits = dict(tenant_limits)
        self.clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str, str, str], _Bucket] = {}
        self.refused = 0

    def reset(self) -> None:
        """Every bucket full again (as at the start of a benchmark run)."""
        with self._lock:
            self._buckets.clear()
            self.refused = 0

    def admit(self, *, method: str, subscription_id: str | None, tenant_id: str, principal: str) -> Admission:
        """Take one token for this request, or refuse it."""
        kind = kind_of(method)
        scope, scope_id, limits = self._scope(subscription_id, tenant_id)
        limit = limits[kind]
        header = f"x-ms-ratelimit-remaining-{scope}-{kind}"
        if not self.enabled:
            return Admission(True, header, limit.burst, 0, scope, scope_id, kind)
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get((scope, scope_id, principal.lower(), kind))
            if bucket is None:
                bucket = _Bucket(limit, now)
                self._buckets[(scope, scope_id, principal.lower(), kind)] = bucket
            bucket.refill(now)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return Admission(True, header, int(bucket.tokens), 0, scope, scope_id, kind)
            self.refused += 1
            retry_after = max(1, math.ceil((1.0 - bucket.tokens) / limit.refill))
            return Admission(False, header, 0, retry_after, scope, scope_id, kind)

    def peek(self, *, method: str, subscription_id: str | None, tenant_id: str, principal: str) -> Admission:
        """What ``admit`` would report as remaining, without taking a token (for unauthenticated requests)."""
        kind = kind_of(method)
        scope, scope_id, limits = self._scope(subscription_id, tenant_id)
        limit = limits[kind]
        header = f"x-ms-ratelimit-remaining-{scope}-{kind}"
        tokens = limit.burst
        if self.enabled:
            with self._lock:
                bucket = self._buckets.get((scope, scope_id, principal.lower(), kind))
                if bucket is not None:
                    bucket.refill(self.clock())
                    tokens = int(bucket.tokens)
        return Admission(True, header, tokens, 0, scope, scope_id, kind)

    def _scope(self, subscription_id: str | None, tenant_id: str) -> tuple[str, str, Mapping[str, Limit]]:
        if subscription_id:
            return "subscription", subscription_id.lower(), self.subscription_limits
        return "tenant", tenant_id.lower(), self.tenant_limits


def throttled_message(admission: Admission, principal: str, tenant_id: str) -> str:
    """ARM's 429 message (the shape the documentation shows)."""
    operation = {READS: "read", WRITES: "write", DELETES: "delete"}[admission.kind]
    where = (
        f"subscription '{admission.scope_id}'"
        if admission.scope == "subscription"
        else f"tenant '{admission.scope_id}'"
    )
    return (
        f"Number of '{operation}' requests for {where} actor '{principal}' on tenant '{tenant_id}' exceeded. "
        f"Please try again after '{admission.retry_after}' seconds after additional tokens are available. "
        "Refer to https://aka.ms/arm-throttling"
    )
