"""ARM's request limits as its answers report them: the buckets a request draws on, and our model of each.

Three kinds of bucket (Microsoft's "Understand how Azure Resource Manager throttles requests", and the
real answers in ``specs/azure-recordings``):

- **principal**: per subscription (or the tenant) and caller, per kind of request: 250 reads refilled at
  25/s, 200 writes or deletes at 10/s. Header ``x-ms-ratelimit-remaining-{subscription|tenant}-{kind}``,
  which real ARM sends on writes and deletes but **not on reads**: the model of the read bucket runs on
  the documented rate alone.
- **global**: per subscription and kind, shared by every caller, 15 times a principal's (3750 reads at
  375/s, 3000 writes or deletes at 150/s). Header ``x-ms-ratelimit-remaining-subscription-global-{kind}``
  (the only one on a real read). Other callers drain it, so what is left for us, and how fast it comes
  back, is learned from the headers.
- **resource provider**: a provider's own budget per subscription, whose size and refill Microsoft does
  not document. ``x-ms-ratelimit-remaining-subscription-resource-requests`` (Microsoft.Insights on a
  diagnostic-setting PUT, the only rate-limit header of that answer: 149 and 99 left in the recordings),
  ``-subscription-resource-entities-read``, and ``x-ms-ratelimit-remaining-resource:
  <policy>;<left>[,...]`` (Microsoft.Compute, ...). One model per (subscription, provider, budget),
  drawn on by the kinds of request whose answers report it; its size is learned from the headers
  (the largest ``left + 1`` seen) and its refill from what they show over time and from ``Retry-After``.

Learning a refill: between two answers of a bucket that was not full, the tokens ARM gained are the
change of ``left`` plus the tokens our answered requests took; over a window of a second or more (and
8 tokens, or 10 s), that over the time is the refill left for us. ARM may have counted our requests
still in flight before an answer, so the gain is a range (up to that many tokens more) and the refill
only moves into it. An answer whose ``left`` plus our other requests ARM may have counted first (those
in flight since the last answer, or the most ever in flight at once) reaches the bucket's size may show
a full bucket, whose refill was capped: the window then only raises the refill, and starts again (with
8 writes in flight and waits longer than a refill to full, the estimate otherwise fell to MIN_REFILL).
Until then, the documented rate (global) or the bucket's size per minute (provider); after a 429, one
token per ``Retry-After``.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

READS, WRITES, DELETES = "reads", "writes", "deletes"
KINDS = (READS, WRITES, DELETES)
GLOBAL = "global-"
PREFIX = "x-ms-ratelimit-remaining-"


@dataclass(frozen=True)
class Limit:
    burst: int
    refill: float  # tokens per second


# ARM's documented limits per caller, and the subscription's global ones (15 times).
LIMITS: Mapping[str, Limit] = {READS: Limit(250, 25.0), WRITES: Limit(200, 10.0), DELETES: Limit(200, 10.0)}
GLOBAL_FACTOR = 15
GLOBAL_LIMITS: Mapping[str, Limit] = {
    k: Limit(v.burst * GLOBAL_FACTOR, v.refill * GLOBAL_FACTOR) for k, v in LIMITS.items()
}

# Tokens of ARM's bucket the model leaves unused: concurrent requests are counted by ARM in an
# order that may differ from ours by a request or two. (In the steady state this costs nothing:
# the bucket then holds these tokens instead of none, and the refill rate is the same.)
RESERVE_TOKENS = 2
# Learning a refill: a window of at least MIN_WINDOW seconds and MIN_TOKENS tokens gained (or
# LONG_WINDOW seconds); observations older than MAX_WINDOW are dropped (a neighbour's pace changes).
MIN_WINDOW = 1.0
MIN_TOKENS = 8
LONG_WINDOW = 10.0
MAX_WINDOW = 60.0
SAMPLE_EVERY = 0.25  # seconds between kept observations
# A learned bucket not heard of for MAX_WINDOW (or ever) may be anything: at most PROBE_IN_FLIGHT
# requests go before an answer tells (the others wait for it, PROBE_WAIT at most between looks),
# and no longer than PROBE_PATIENCE (a first answer that does not come holds nobody up for long).
PROBE_IN_FLIGHT = 4
PROBE_WAIT = 0.05
PROBE_PATIENCE = 2.0
MIN_REFILL = 0.01  # tokens per second: no bucket is taken never to refill
# A provider's budget, before anything is learned of its refill: its size per minute.
PROVIDER_PRIOR_SECONDS = 60.0

_PRINCIPAL = re.compile(r"^x-ms-ratelimit-remaining-(subscription|tenant)-(reads|writes|deletes)$")
_GLOBAL = re.compile(r"^x-ms-ratelimit-remaining-subscription-global-(reads|writes|deletes)$")
_PROVIDER = re.compile(r"^x-ms-ratelimit-remaining-subscription-resource-([a-z0-9-]+)$")
_RESOURCE = "x-ms-ratelimit-remaining-resource"


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


def provider_of(url: str) -> str | None:
    """The resource provider a request is for: the namespace after its last ``/providers/``."""
    parts = [p.lower() for p in urlsplit(url).path.split("/") if p]
    found = [parts[i + 1] for i in range(len(parts) - 1) if parts[i] == "providers"]
    return found[-1] if found else None


def reported(headers: Mapping[str, str], provider: str | None) -> dict[str, int]:
    """The buckets an answer reports and what each had left: ``reads`` (principal), ``global-reads``,
    ``<provider>/resource-requests``, and each ``<policy>`` of ``x-ms-ratelimit-remaining-resource``
    (``microsoft.compute/highcostget3min``). A name with a ``/`` is a provider's budget."""
    out: dict[str, int] = {}
    for name, value in headers.items():
        lower = name.lower()
        if not lower.startswith(PREFIX):
            continue
        if lower == _RESOURCE:
            for entry in value.split(","):
                policy, _, count = entry.strip().rpartition(";")
                policy = policy.strip().lower()
                if policy and count.strip().isdigit():
                    out[policy if "/" in policy else f"{provider or 'unknown'}/{policy}"] = int(count)
            continue
        if not value.strip().isdigit():
            continue
        left = int(value)
        if match := _PRINCIPAL.match(lower):
            out[match[2]] = left
        elif match := _GLOBAL.match(lower):
            out[GLOBAL + match[1]] = left
        elif (match := _PROVIDER.match(lower)) and provider is not None:
            out[f"{provider}/resource-{match[1]}"] = left
    return out


def retry_after(headers: Mapping[str, str], default: float) -> float:
    """A 429's wait in seconds: ``retry-after-ms``, ``x-ms-retry-after-ms``, else ``retry-after`` (seconds)."""
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
    return default


class Bucket:
    """Our model of one of ARM's buckets. ``learned``: its size and refill come from the headers
    (global and provider buckets), not only from the documentation (a caller's own buckets)."""

    def __init__(self, burst: float, refill: float, now: float, *, learned: bool, tokens: float | None = None) -> None:
        self.burst = burst
        self.refill = refill
        self.learned = learned
        self.tokens = burst if tokens is None else tokens  # ARM's buckets start full
        self.updated = now
        self.closed_until = 0.0  # after a 429: nothing is sent before this
        self.in_flight: set[int] = set()  # tickets sent and not answered yet
        self.kinds: set[str] = set()  # provider budgets: the kinds of request that draw on it
        self.estimated = False  # the refill was learned from what the headers showed
        self._newest = 0  # the ticket of the newest answer the model was set from
        self._counted = 0  # our requests ARM let through and reported this bucket on
        self._window: deque[tuple[float, int, int]] = deque()  # (time, left, counted) since last full
        self._overlap = 0  # our requests in flight at the last answer, and sent since
        self._peak = 1  # the most of our requests on this bucket in flight at once
        self.heard: float | None = None  # when an answer of a request drawing on it last came back
        self._probing: float | None = None  # when the requests sent while stale started waiting for an answer

    @property
    def reserve(self) -> float:
        """:data:`RESERVE_TOKENS`, or a tenth of a small bucket."""
        return min(float(RESERVE_TOKENS), (self.burst - 1) / 10)

    def advance(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.refill)
            self.updated = now

    def wait_time(self, now: float) -> float:
        """Seconds until a token can be taken (0: now)."""
        self.advance(now)
        closed = max(0.0, self.closed_until - now)
        short = 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.refill
        if self.learned and len(self.in_flight) >= PROBE_IN_FLIGHT and self.stale(now):
            self._probing = now if self._probing is None else self._probing
            if now - self._probing < PROBE_PATIENCE:
                short = max(short, PROBE_WAIT)  # what the first answers say first
        return max(closed, short)

    def stale(self, now: float) -> bool:
        return self.heard is None or now - self.heard > MAX_WINDOW

    def answered(self, now: float, ticket: int) -> None:
        """A request that drew on this bucket was answered (whether or not the answer reports it)."""
        self.in_flight.discard(ticket)
        self.heard, self._probing = now, None

    def take(self, ticket: int) -> None:
        self.tokens -= 1.0
        self.in_flight.add(ticket)
        self._overlap += 1
        self._peak = max(self._peak, len(self.in_flight))

    def unseen(self, count: int) -> None:
        """``count`` of our requests were in flight, drawing on this bucket unknown to us, when it was first reported."""
        self._peak = max(self._peak, count + 1)

    def observe(self, now: float, ticket: int, left: int, *, refused: bool) -> None:
        """Correct the model from what one answer says ARM had ``left`` after it (``now`` advanced)."""
        if left + 1 > self.burst:  # ARM's bucket is larger than we thought
            self.burst = float(left + 1)
            if not self.learned:
                self.tokens = float(left - len(self.in_flight)) - self.reserve
                return
        # What ARM had left, less our requests still in flight (ARM may not have counted them yet)
        # and a small reserve (concurrent requests are counted in an order that may differ from ours).
        estimate = float(left - len(self.in_flight)) - self.reserve
        if self.learned and ticket > self._newest:
            self.tokens, self._newest = estimate, ticket  # the newest news, either way
        else:
            # A documented bucket refills at ARM's rate, and an answer that arrives late tells of a
            # bucket ARM has drained since: only ever downwards.
            self.tokens = min(self.tokens, estimate)
        if self.learned:
            self._learn_refill(now, left, refused=refused)

    def _learn_refill(self, now: float, left: int, *, refused: bool) -> None:
        if not refused:
            self._counted += 1
        # Full, for all we know: ARM may have counted our other requests (those in flight at the last answer
        # or sent since, or as many as were ever in flight at once) before this one, so ``left`` may be a full
        # bucket less those. Its refill was then capped: the window shows at most a lower bound; start again.
        others, self._overlap = max(self._overlap, self._peak) - 1, len(self.in_flight)
        full = left + others >= self.burst - 2  # ARM rounds what is left down: a bucket of 11.9 of 12 shows 10
        if not self._window or now - self._window[-1][0] >= SAMPLE_EVERY:
            self._window.append((now, left, self._counted))
        while len(self._window) > 2 and now - self._window[1][0] >= MAX_WINDOW:
            self._window.popleft()
        then, before, counted = self._window[0]
        span = now - then
        gained = left - before + (self._counted - counted)
        if span >= MIN_WINDOW and (gained >= MIN_TOKENS or span >= LONG_WINDOW):
            # ARM may also have counted our requests still in flight before this answer: it gained at least
            # ``gained`` and, unless the bucket was full, at most that many more. The refill moves into that range.
            rate = max(MIN_REFILL, gained / span)
            most = float("inf") if full else (gained + len(self.in_flight)) / span
            self.refill = max(rate, min(self.refill, most))
            self.estimated = True
        if full:
            self._window.clear()
            self._window.append((now, left, self._counted))

    def throttled(self, now: float, wait: float) -> None:
        """ARM refused a request on this bucket: empty, and closed for ``wait`` seconds."""
        self.tokens = min(self.tokens, 0.0)
        self.closed_until = max(self.closed_until, now + wait)
        if self.learned and not self.estimated and wait > 0:
            # nothing measured yet: ARM says the next token comes in ``wait`` seconds
            self.refill = max(MIN_REFILL, 1.0 / wait)
