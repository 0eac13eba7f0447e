"""The client-side model of ARM's buckets (remediation.azure.pacing), on a fake clock."""

from __future__ import annotations

import pytest

from remediation.azure.pacing import DELETES, READS, WRITES, Limit, Pacer, kind_of, scope_of
from remediation.azure.ratelimits import (
    PROBE_IN_FLIGHT,
    PROBE_PATIENCE,
    PROBE_WAIT,
    provider_of,
    reported,
    retry_after,
)
from remediation.core.model import Reason
from remediation.errors import ThrottledError
from remediation.kit.deadline import Deadline
from tests.support.constants import SUB_A

SCOPE = f"sub:{SUB_A}"  # a pacer scope: one subscription's buckets


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pacer(clock: Clock) -> Pacer:
    return Pacer(clock=clock, sleep=clock.sleep)


def forever(clock: Clock) -> Deadline:
    return Deadline(3600, clock=clock)


def test_requests_are_sorted_into_arms_buckets() -> None:
    assert scope_of("https://management.azure.com/subscriptions/ABC/resourceGroups/x?api-version=1") == "sub:abc"
    assert scope_of("https://management.azure.com/subscriptions?api-version=1") == "tenant"
    assert scope_of("https://management.azure.com/providers/Microsoft.Insights/operations") == "tenant"
    assert [kind_of(m) for m in ("GET", "head", "PUT", "PATCH", "POST", "DELETE")] == [
        READS,
        READS,
        WRITES,
        WRITES,
        WRITES,
        DELETES,
    ]


def answered(pacer: Pacer, kind: str, deadline: Deadline) -> None:
    """One request: a token taken, an answer without rate-limit headers."""
    pacer.observe(SCOPE, kind, pacer.acquire(SCOPE, kind, deadline), remaining=None, retry_after=None)


def test_the_burst_goes_at_once_then_the_refill_rate(pacer: Pacer, clock: Clock) -> None:
    deadline = forever(clock)
    for _ in range(250):
        answered(pacer, READS, deadline)
    assert clock.sleeps == []
    answered(pacer, READS, deadline)
    assert clock.sleeps == [0.04]  # one read token per 40 ms
    for _ in range(10):
        answered(pacer, WRITES, deadline)
    assert clock.sleeps == [0.04]  # writes are another bucket
    assert pacer.stats.requests == 261 and pacer.stats.waits == 1


def test_remaining_header_corrects_the_model_downwards_minus_requests_in_flight(pacer: Pacer, clock: Clock) -> None:
    deadline = forever(clock)
    tickets = [pacer.acquire(SCOPE, READS, deadline) for _ in range(3)]
    # someone else (another worker of this identity) used the bucket: ARM has 7 left after our first request
    pacer.observe(SCOPE, READS, tickets[0], remaining=7, retry_after=None)
    assert pacer.tokens(SCOPE, READS) == 3  # the two still in flight are taken off, and 2 kept in reserve
    pacer.observe(SCOPE, READS, tickets[2], remaining=5, retry_after=None)
    assert pacer.tokens(SCOPE, READS) == 2  # tickets[1] still in flight
    pacer.observe(SCOPE, READS, tickets[1], remaining=6, retry_after=None)  # late: ARM has drained more since
    assert pacer.tokens(SCOPE, READS) == 2
    for _ in range(2):
        pacer.acquire(SCOPE, READS, deadline)
    assert clock.sleeps == []
    pacer.acquire(SCOPE, READS, deadline)
    assert clock.sleeps == [0.04]


def test_a_429_closes_the_bucket_for_its_retry_after(pacer: Pacer, clock: Clock) -> None:
    deadline = forever(clock)
    ticket = pacer.acquire(SCOPE, WRITES, deadline)
    pacer.observe(SCOPE, WRITES, ticket, remaining=0, retry_after=3.0)
    pacer.acquire(SCOPE, WRITES, deadline)
    assert sum(clock.sleeps) == pytest.approx(3.0)
    assert pacer.stats.throttled == 1


def test_a_wait_that_does_not_fit_the_deadline_is_not_started(pacer: Pacer, clock: Clock) -> None:
    ticket = pacer.acquire(SCOPE, READS, forever(clock))
    pacer.observe(SCOPE, READS, ticket, remaining=0, retry_after=30.0)
    with pytest.raises(ThrottledError) as caught:
        pacer.acquire(SCOPE, READS, Deadline(10, clock=clock))
    assert clock.sleeps == []
    assert caught.value.code == Reason.THROTTLED.value == "throttled"
    assert caught.value.transient and caught.value.status == 429
    assert "needs a wait of 30.0 s" in caught.value.message
    # a longer budget waits it out
    pacer.acquire(SCOPE, READS, Deadline(60, clock=clock))
    assert sum(clock.sleeps) == pytest.approx(30.0)


def test_until_a_global_bucket_is_heard_of_only_a_few_requests_go(pacer: Pacer, clock: Clock) -> None:
    """What other callers left in the subscription's global bucket is unknown until an answer tells: the
    first few requests go, the others wait for their answers (at most PROBE_PATIENCE)."""
    deadline = forever(clock)
    first = [pacer.acquire(SCOPE, READS, deadline) for _ in range(PROBE_IN_FLIGHT)]
    assert clock.sleeps == []
    pacer.acquire(SCOPE, READS, deadline)  # no answer comes: it goes after the patience
    assert PROBE_PATIENCE <= sum(clock.sleeps) <= PROBE_PATIENCE + 2 * PROBE_WAIT
    pacer.observe(SCOPE, READS, first[0], remaining={"global-reads": 3000}, retry_after=None)
    clock.sleeps.clear()
    for _ in range(20):
        pacer.acquire(SCOPE, READS, deadline)
    assert clock.sleeps == []  # heard of: as many as the model allows


def test_a_larger_bucket_than_documented_is_learned(pacer: Pacer, clock: Clock) -> None:
    ticket = pacer.acquire(SCOPE, READS, forever(clock))
    pacer.observe(SCOPE, READS, ticket, remaining=11999, retry_after=None)
    assert pacer.tokens(SCOPE, READS) == 11997


def test_an_unanswered_request_is_forgotten(pacer: Pacer, clock: Clock) -> None:
    ticket = pacer.acquire(SCOPE, READS, forever(clock))
    pacer.release(SCOPE, READS, ticket)
    other = pacer.acquire(SCOPE, READS, forever(clock))
    pacer.observe(SCOPE, READS, other, remaining=100, retry_after=None)
    assert pacer.tokens(SCOPE, READS) == 98


def test_round_trip_is_smoothed(pacer: Pacer, clock: Clock) -> None:
    assert pacer.round_trip is None
    pacer.observe(SCOPE, READS, pacer.acquire(SCOPE, READS, None), remaining=None, retry_after=None, rtt=0.1)
    pacer.observe(SCOPE, READS, pacer.acquire(SCOPE, READS, None), remaining=None, retry_after=None, rtt=0.2)
    assert pacer.round_trip == pytest.approx(0.12)


def test_headers_are_read_as_arm_sends_them() -> None:
    # as recorded: a read, a diagnostic-setting PUT, a table PUT, a delete; a tenant-level read
    assert reported({"x-ms-ratelimit-remaining-subscription-global-reads": "3749"}, "microsoft.network") == {
        "global-reads": 3749
    }
    assert reported({"x-ms-ratelimit-remaining-subscription-resource-requests": "149"}, "microsoft.insights") == {
        "microsoft.insights/resource-requests": 149
    }
    table_put = {
        "x-ms-ratelimit-remaining-subscription-global-writes": "2999",
        "x-ms-ratelimit-remaining-subscription-writes": "199",
    }
    assert reported(table_put, "microsoft.operationalinsights") == {"global-writes": 2999, "writes": 199}
    assert reported({"X-Ms-Ratelimit-Remaining-Subscription-Deletes": "14999"}, None) == {"deletes": 14999}
    assert reported({"x-ms-ratelimit-remaining-tenant-reads": "3"}, None) == {"reads": 3}
    # Compute's policies, and a provider budget's header on a request naming no provider (ignored)
    compute = {
        "x-ms-ratelimit-remaining-resource": "Microsoft.Compute/HighCostGet3Min;107, Microsoft.Compute/GetVM;x,Plain;5"
    }
    assert reported(compute, "microsoft.compute") == {
        "microsoft.compute/highcostget3min": 107,
        "microsoft.compute/plain": 5,
    }
    assert reported({"x-ms-ratelimit-remaining-subscription-resource-requests": "9"}, None) == {}
    assert reported({"x-ms-ratelimit-remaining-subscription-reads": "x", "content-type": "json"}, None) == {}
    assert (
        provider_of(
            "https://m/subscriptions/s/resourceGroups/r/providers/Microsoft.ContainerService/managedClusters/a"
            "/providers/Microsoft.Insights/diagnosticSettings/x?api-version=1"
        )
        == "microsoft.insights"
    )
    assert provider_of("https://m/subscriptions/s/resourcegroups/r?api-version=1") is None
    assert retry_after({"retry-after": "7"}, 1.0) == 7.0
    assert retry_after({"retry-after-ms": "250", "retry-after": "7"}, 1.0) == 0.25
    assert retry_after({"retry-after": "Fri, 27 Nov 2026 13:00:00 GMT"}, 1.0) == 1.0
    assert retry_after({}, 1.0) == 1.0
    assert retry_after({"retry-after-ms": "soon", "retry-after": "3"}, 1.0) == 3.0


def test_without_a_deadline_waits_are_bounded_too(pacer: Pacer, clock: Clock) -> None:
    ticket = pacer.acquire(SCOPE, READS, None)
    pacer.observe(SCOPE, READS, ticket, remaining=0, retry_after=600.0)
    with pytest.raises(ThrottledError):
        pacer.acquire(SCOPE, READS, None)


def test_limits_can_be_given() -> None:
    clock = Clock()
    pacer = Pacer({READS: Limit(2, 1.0), WRITES: Limit(1, 1.0), DELETES: Limit(1, 1.0)}, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        pacer.acquire(SCOPE, READS, None)
    assert clock.sleeps == [1.0]


def test_retry_after_is_capped_when_a_cap_is_given(clock: Clock) -> None:
    pacer = Pacer(clock=clock, sleep=clock.sleep, retry_after_cap=10.0)
    ticket = pacer.acquire(SCOPE, READS, None)
    pacer.observe(SCOPE, READS, ticket, remaining=0, retry_after=600.0)
    pacer.acquire(SCOPE, READS, forever(clock))
    assert sum(clock.sleeps) == pytest.approx(10.0)
