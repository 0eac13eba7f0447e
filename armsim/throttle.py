"""ARM's request throttling: token buckets per caller, per subscription, and per resource provider.

What the public documentation describes (Azure Resource Manager, "Understand how Azure Resource Manager
throttles requests", regional token-bucket limits since 2024) and what real answers show
(``../shared/azure-recordings``):

* **per caller**: each subscription (and the tenant, for requests that name no subscription) has, per
  security principal, one bucket per kind of operation:

  | scope | reads | writes (PUT/PATCH/POST) | deletes |
  |---|---|---|---|
  | subscription | 250 burst, 25/s | 200 burst, 10/s | 200 burst, 10/s |
  | tenant | 250 burst, 25/s | 200 burst, 10/s | 200 burst, 10/s |

* **global**: each subscription also has one bucket per kind shared by every principal, 15 times a
  principal's (3750 reads, 375/s): other callers (a "noisy neighbour", :meth:`Throttle.add_neighbour`,
  :meth:`Throttle.drain`) can empty it for us;
* **resource provider**: Microsoft.Insights meters diagnostic-setting writes on its own budget per
  subscription, whose size and refill Microsoft does not document (the recordings show 150, and 100 in
  a later one; armsim's default is 150 refilled 2.5/s, an assumption: set ``provider_limits``).

A request takes one token from each bucket it draws on; if any is empty it is answered 429
``TooManyRequests`` with ``Retry-After`` (whole seconds until a token is back) and takes nothing.

Headers, as ARM sends them (``report="arm"``, the default): a read reports only
``x-ms-ratelimit-remaining-subscription-global-reads``; a write ``-subscription-global-writes`` and
``-subscription-writes``; a delete ``-subscription-deletes`` and ``-subscription-global-deletes``; a
metered write (a diagnostic-setting PUT) only ``x-ms-ratelimit-remaining-subscription-resource-requests``;
tenant-level requests ``-tenant-{kind}``. ``report="principal"`` is armsim's old behaviour: every answer
reports the caller's bucket as ``x-ms-ratelimit-remaining-{subscription|tenant}-{kind}``.

Off (the default), nothing is ever refused and the headers report full buckets.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

READS, WRITES, DELETES = "reads", "writes", "deletes"
PRINCIPAL, GLOBAL, PROVIDER = "principal", "global", "provider"
REPORT_ARM, REPORT_PRINCIPAL = "arm", "principal"
PREFIX = "x-ms-ratelimit-remaining-"
RESOURCE_REQUESTS = PREFIX + "subscription-resource-requests"


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
GLOBAL_FACTOR = 15  # a subscription's global bucket is 15 times a principal's
# Resource providers' own write budgets (per subscription) and the resource types whose writes draw on them.
PROVIDER_LIMITS: Mapping[str, Limit] = {"microsoft.insights": Limit(150, 2.5)}
METERED_TYPES: Mapping[str, str] = {"microsoft.insights/diagnosticsettings": "microsoft.insights"}
# Retry-After when a bucket never refills (neighbours take more than the refill): try again in a minute.
NEVER = 60


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
    remaining: int  # the caller's bucket, after this request
    retry_after: int = 0  # seconds, when refused
    scope: str = ""  # "subscription" or "tenant"
    scope_id: str = ""  # the subscription ID, or the tenant ID
    kind: str = READS
    global_remaining: int | None = None  # the subscription's global bucket (None at tenant scope)
    provider: str | None = None  # the resource provider whose budget the request drew on
    provider_remaining: int | None = None
    refused_by: str = ""  # PRINCIPAL, GLOBAL or PROVIDER when refused
    report: str = REPORT_ARM

    @property
    def header(self) -> str:
        """The caller's bucket's header name (``x-ms-ratelimit-remaining-subscription-reads``)."""
        return f"{PREFIX}{self.scope}-{self.kind}"

    @property
    def headers(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.report == REPORT_PRINCIPAL or self.scope != "subscription":
            out[self.header] = str(self.remaining)
        elif self.provider is not None:
            out[RESOURCE_REQUESTS] = str(self.provider_remaining)
        elif self.kind == READS:
            out[f"{PREFIX}subscription-global-reads"] = str(self.global_remaining)
        elif self.kind == WRITES:
            out[f"{PREFIX}subscription-global-writes"] = str(self.global_remaining)
            out[self.header] = str(self.remaining)
        else:
            out[self.header] = str(self.remaining)
            out[f"{PREFIX}subscription-global-deletes"] = str(self.global_remaining)
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


class _Bucket:
    __slots__ = ("drain_rate", "limit", "tokens", "updated")

    def __init__(self, limit: Limit, now: float) -> None:
        self.limit = limit
        self.tokens = float(limit.burst)
        self.updated = now
        self.drain_rate = 0.0  # tokens per second other callers take (global buckets)

    def refill(self, now: float) -> None:
        if now > self.updated:
            gained = (now - self.updated) * (self.limit.refill - self.drain_rate)
            self.tokens = max(0.0, min(float(self.limit.burst), self.tokens + gained))
            self.updated = now

    def wait(self) -> int:
        """Whole seconds until one token is back (at least 1)."""
        rate = self.limit.refill - self.drain_rate
        if rate <= 0:
            return NEVER
        return max(1, math.ceil((1.0 - self.tokens) / rate))


@dataclass
class Throttle:
    """Token buckets keyed by (scope, ID, principal, kind), (subscription, kind) and (subscription, provider).
    Thread-safe. ``global_limits`` overrides the 15-times rule per kind."""

    enabled: bool = False
    subscription_limits: dict[str, Limit] = field(default_factory=lambda: dict(SUBSCRIPTION_LIMITS))
    tenant_limits: dict[str, Limit] = field(default_factory=lambda: dict(TENANT_LIMITS))
    global_limits: dict[str, Limit] = field(default_factory=dict)
    provider_limits: dict[str, Limit] = field(default_factory=lambda: dict(PROVIDER_LIMITS))
    metered_types: dict[str, str] = field(default_factory=lambda: dict(METERED_TYPES))
    report: str = REPORT_ARM
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, ...], _Bucket] = {}
        self._neighbours: dict[tuple[str, str], float] = {}
        self.refused = 0
        self.refused_by: Counter[str] = Counter()

    def reset(self) -> None:
        """Every bucket full again (as at the start of a benchmark run); neighbours stay."""
        with self._lock:
            self._buckets.clear()
            self.refused = 0
            self.refused_by.clear()

    # ------------------------------------------------------------------ other callers
    def add_neighbour(self, subscription_id: str, kind: str, rate: float) -> None:
        """Other principals take ``rate`` tokens per second of the subscription's global ``kind`` bucket."""
        with self._lock:
            sub = subscription_id.lower()
            self._neighbours[(sub, kind)] = self._neighbours.get((sub, kind), 0.0) + rate
            bucket = self._buckets.get((GLOBAL, sub, kind))
            if bucket is not None:
                bucket.refill(self.clock())
                bucket.drain_rate = self._neighbours[(sub, kind)]

    def drain(self, subscription_id: str, kind: str, tokens: int) -> None:
        """Other principals take ``tokens`` from the subscription's global ``kind`` bucket now."""
        with self._lock:
            bucket = self._global(subscription_id.lower(), kind, self.clock())
            bucket.tokens = max(0.0, bucket.tokens - tokens)

    def global_tokens(self, subscription_id: str, kind: str) -> float:
        with self._lock:
            return self._global(subscription_id.lower(), kind, self.clock()).tokens

    # ------------------------------------------------------------------ admission
    def admit(
        self,
        *,
        method: str,
        subscription_id: str | None,
        tenant_id: str,
        principal: str,
        resource_type: str | None = None,
    ) -> Admission:
        """Take one token from each bucket this request draws on, or refuse it."""
        return self._answer(method, subscription_id, tenant_id, principal, resource_type, take=True)

    def peek(
        self,
        *,
        method: str,
        subscription_id: str | None,
        tenant_id: str,
        principal: str,
        resource_type: str | None = None,
    ) -> Admission:
        """What ``admit`` would report as remaining, without taking a token (for unauthenticated requests)."""
        return self._answer(method, subscription_id, tenant_id, principal, resource_type, take=False)

    def provider_of(self, method: str, resource_type: str | None) -> str | None:
        """The resource provider whose budget a request draws on (a metered write), or None."""
        if resource_type is None or kind_of(method) != WRITES:
            return None
        return self.metered_types.get(resource_type.lower())

    def _answer(
        self,
        method: str,
        subscription_id: str | None,
        tenant_id: str,
        principal: str,
        resource_type: str | None,
        *,
        take: bool,
    ) -> Admission:
        kind = kind_of(method)
        scope = "subscription" if subscription_id else "tenant"
        scope_id = (subscription_id or tenant_id).lower()
        limits = self.subscription_limits if subscription_id else self.tenant_limits
        provider = self.provider_of(method, resource_type) if subscription_id else None
        base = {"scope": scope, "scope_id": scope_id, "kind": kind, "provider": provider, "report": self.report}
        if not self.enabled:
            return Admission(
                True,
                limits[kind].burst,
                global_remaining=self._global_limit(kind).burst if subscription_id else None,
                provider_remaining=self.provider_limits[provider].burst if provider else None,
                **base,  # type: ignore[arg-type]
            )
        now = self.clock()
        with self._lock:
            buckets: list[tuple[str, _Bucket]] = [
                (PRINCIPAL, self._bucket((scope, scope_id, principal.lower(), kind), limits[kind], now))
            ]
            if subscription_id:
                buckets.append((GLOBAL, self._global(scope_id, kind, now)))
            if provider:
                buckets.append(
                    (PROVIDER, self._bucket((PROVIDER, scope_id, provider), self.provider_limits[provider], now))
                )
            empty = [(name, bucket) for name, bucket in buckets if bucket.tokens < 1.0]
            if take and not empty:
                for _, bucket in buckets:
                    bucket.tokens -= 1.0
            elif take:
                self.refused += 1
                self.refused_by[empty[0][0]] += 1
            left = {name: int(bucket.tokens) for name, bucket in buckets}
            refused = bool(take and empty)
            return Admission(
                not refused,
                0 if refused and empty[0][0] == PRINCIPAL else left[PRINCIPAL],
                retry_after=max(bucket.wait() for _, bucket in empty) if refused else 0,
                global_remaining=left.get(GLOBAL),
                provider_remaining=left.get(PROVIDER),
                refused_by=empty[0][0] if refused else "",
                **base,  # type: ignore[arg-type]
            )

    def _bucket(self, bucket_key: tuple[str, ...], limit: Limit, now: float) -> _Bucket:
        bucket = self._buckets.get(bucket_key)
        if bucket is None:
            bucket = self._buckets[bucket_key] = _Bucket(limit, now)
        bucket.refill(now)
        return bucket

    def _global_limit(self, kind: str) -> Limit:
        if kind in self.global_limits:
            return self.global_limits[kind]
        limit = self.subscription_limits[kind]
        return Limit(limit.burst * GLOBAL_FACTOR, limit.refill * GLOBAL_FACTOR)

    def _global(self, subscription: str, kind: str, now: float) -> _Bucket:
        bucket_key = (GLOBAL, subscription, kind)
        bucket = self._buckets.get(bucket_key)
        if bucket is None:
            bucket = self._buckets[bucket_key] = _Bucket(self._global_limit(kind), now)
            bucket.drain_rate = self._neighbours.get((subscription, kind), 0.0)
        bucket.refill(now)
        return bucket


def throttled_message(admission: Admission, principal: str, tenant_id: str) -> str:
    """The 429 message: ARM's documented wording for a caller's bucket; armsim's for the others."""
    operation = {READS: "read", WRITES: "write", DELETES: "delete"}[admission.kind]
    where = (
        f"subscription '{admission.scope_id}'"
        if admission.scope == "subscription"
        else f"tenant '{admission.scope_id}'"
    )
    after = f"Please try again after '{admission.retry_after}' seconds"
    if admission.refused_by == GLOBAL:
        return (
            f"Number of '{operation}' requests for {where} exceeded the subscription's global limit, shared by "
            f"every caller. {after}. Refer to https://aka.ms/arm-throttling"
        )
    if admission.refused_by == PROVIDER:
        return (
            f"Number of requests for {where} and resource provider '{admission.provider}' exceeded the "
            f"provider's limit. {after}."
        )
    return (
        f"Number of '{operation}' requests for {where} actor '{principal}' on tenant '{tenant_id}' exceeded. "
        f"{after} after additional tokens are available. "
        "Refer to https://aka.ms/arm-throttling"
    )
