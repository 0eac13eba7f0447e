"""What the pacer learns from ARM's answers as real ARM sends them (global and resource-provider buckets),
on a fake clock: the recorded headers, and whole runs against a model of ARM's buckets with many requests
in flight (an event-driven simulation: no thread, no sleep)."""

from __future__ import annotations

import heapq
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from remediation.azure.pacing import Pacer
from remediation.azure.ratelimits import MIN_REFILL, READS, WRITES, Bucket, provider_of, reported, scope_of
from remediation.errors import ThrottledError
from remediation.kit.deadline import Deadline
from tests.support.constants import SUB_A

RECORDINGS = Path(__file__).resolve().parents[2] / "specs" / "azure-recordings"
SCOPE = f"sub:{SUB_A}"  # a pacer scope: one subscription's buckets
INSIGHTS = "microsoft.insights"
BUDGET = f"{INSIGHTS}/resource-requests"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_what_the_pacer_learns_from_the_recorded_answers() -> None:
    """Every recorded answer's headers, replayed in order: the buckets real ARM reports, as the pacer sees them."""
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep)
    for path in sorted(RECORDINGS.glob("*.json")):
        for exchange in json.loads(path.read_text())["exchanges"]:
            url, method = exchange["uri"], exchange["method"]
            scope, provider = scope_of(url), provider_of(url)
            kind = {"GET": READS, "HEAD": READS}.get(method, WRITES if method != "DELETE" else "deletes")
            headers = {k.lower(): str(v) for k, v in (exchange.get("headers") or {}).items()}
            ticket = pacer.acquire(scope, kind, Deadline(60, clock=clock), provider)
            pacer.observe(
                scope, kind, ticket, remaining=reported(headers, provider), retry_after=None, provider=provider
            )
            clock.now += 1.0
    known = {(b.name, b.burst, b.learned) for b in pacer.buckets()}
    # the global buckets: 3750 reads, 3000 writes and deletes, as documented (15 times a caller's)
    assert ("global-reads", 3750.0, True) in known and ("global-writes", 3000.0, True) in known
    # Microsoft.Insights' own budget: at least 150 requests (the size Microsoft does not document)
    insights = next(b for b in pacer.buckets() if b.name == BUDGET)
    assert insights.burst == 150.0 and insights.kinds == ("writes",)
    # a caller's write bucket: real ARM says 1199 left of what the documentation calls 200 (older answers)
    assert max(b.burst for b in pacer.buckets() if b.name == "writes") == 1200.0


# -- a model of ARM's buckets and a run against it ---------------------------------------------------------------


@dataclass
class ArmBucket:
    burst: float
    refill: float
    tokens: float
    drain: float = 0.0  # what other callers take per second
    updated: float = 0.0

    def retry_after(self) -> int:
        """ARM's Retry-After: whole seconds until a token is back (a minute if it never comes)."""
        rate = self.refill - self.drain
        return 60 if rate <= 0 else max(1, math.ceil((1.0 - self.tokens) / rate))

    def at(self, now: float) -> None:
        self.tokens = max(0.0, min(self.burst, self.tokens + (now - self.updated) * (self.refill - self.drain)))
        self.updated = now


@dataclass
class Request:
    kind: str
    provider: str | None
    draws: tuple[str, ...]  # ARM's buckets
    reports: tuple[str, ...]  # the ones its answer names


@dataclass
class Run:
    answered: int = 0
    refused: int = 0
    finished: float = 0.0
    by_bucket: dict[str, int] = field(default_factory=dict)


def simulate(
    pacer: Pacer, clock: Clock, arm: dict[str, ArmBucket], requests: Sequence[Request], *, workers: int, rtt: float
) -> Run:
    """``workers`` callers each send one request at a time, through the pacer, to ``arm``; every answer
    comes back ``rtt`` later and wakes the callers the pacer holds back (as its condition does)."""
    for bucket in arm.values():
        bucket.updated = clock.now
    start = clock.now
    todo = list(reversed(requests))
    run = Run()
    events: list[tuple[float, int, int]] = []
    current: dict[int, int] = {}  # worker -> its one live event (older ones are stale)
    seq = 0

    def schedule(at: float, worker: int) -> None:
        nonlocal seq
        seq += 1
        current[worker] = seq
        heapq.heappush(events, (at, seq, worker))

    for worker in range(workers):
        schedule(clock.now, worker)
    holding: dict[int, Request] = {}
    flying: dict[int, tuple[int, Request, dict[str, int], float | None]] = {}
    blocked: set[int] = set()
    while events:
        when, number, worker = heapq.heappop(events)
        if current.get(worker) != number:
            continue
        clock.now = max(clock.now, when)
        if worker in flying:
            ticket, request, left, wait = flying.pop(worker)
            pacer.observe(SCOPE, request.kind, ticket, remaining=left, retry_after=wait, provider=request.provider)
            if wait is None:
                run.answered += 1
            else:
                holding[worker] = request  # sent again
            for other in blocked - {worker}:
                schedule(clock.now, other)
            blocked.clear()
        request = holding.pop(worker, None) or (todo.pop() if todo else None)
        if request is None:
            current.pop(worker, None)
            continue
        ticket, pause = pacer.try_acquire(SCOPE, request.kind, request.provider)
        if ticket is None:
            holding[worker] = request
            blocked.add(worker)
            schedule(clock.now + pause, worker)
            continue
        blocked.discard(worker)
        for name in request.draws:
            arm[name].at(clock.now)
        empty = [n for n in request.draws if arm[n].tokens < 1.0]
        if not empty:
            for name in request.draws:
                arm[name].tokens -= 1.0
        left = {n: int(arm[n].tokens) for n in request.reports}
        wait = None
        if empty:
            run.refused += 1
            run.by_bucket[empty[0]] = run.by_bucket.get(empty[0], 0) + 1
            wait = float(max(arm[n].retry_after() for n in empty))
        flying[worker] = (ticket, request, left, wait)
        schedule(clock.now + rtt, worker)
    run.finished = clock.now - start
    return run


def arm_buckets(*, insights: tuple[int, float] | None = None, neighbour: float = 0.0, global_start: float = 3750.0):
    """ARM's buckets for one subscription as armsim models them (the documented ones, and Insights' budget)."""
    buckets = {
        "reads": ArmBucket(250, 25.0, 250),
        "writes": ArmBucket(200, 10.0, 200),
        "global-reads": ArmBucket(3750, 375.0, global_start, drain=neighbour),
        "global-writes": ArmBucket(3000, 150.0, 3000),
    }
    if insights:
        buckets[BUDGET] = ArmBucket(insights[0], insights[1], insights[0])
    return buckets


READ = Request(READS, INSIGHTS, ("reads", "global-reads"), ("global-reads",))
SETTING_PUT = Request(WRITES, INSIGHTS, ("writes", "global-writes", BUDGET), (BUDGET,))


@pytest.mark.parametrize("workers", [1, 8, 32])
def test_a_global_bucket_other_callers_drain_is_paced_at_what_they_leave(workers: int) -> None:
    """Other callers leave 15 reads/s of the subscription's global bucket (empty at the start): the pacer
    learns that rate from the global header alone, with few 429s, and never fails a request."""
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep, retry_after_cap=10.0)
    arm = arm_buckets(neighbour=360.0, global_start=0.0)
    run = simulate(pacer, clock, arm, [READ] * 600, workers=workers, rtt=0.03)
    bound = 600 / 15.0
    assert run.answered == 600
    assert run.refused <= 0.05 * (600 + run.refused), run
    assert bound / run.finished >= 0.8, f"{run.finished:.1f} s for a bound of {bound:.1f} s"
    (view,) = [b for b in pacer.buckets() if b.name == "global-reads"]
    assert view.estimated and view.refill == pytest.approx(15.0, rel=0.2)


@pytest.mark.parametrize(("size", "refill"), [(50, 1.0), (150, 2.5), (20, 0.2)])
def test_a_resource_providers_budget_is_learned_from_its_header_and_429s(size: int, refill: float) -> None:
    """Microsoft.Insights meters setting writes on a budget whose size and refill the pacer is not told."""
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep, retry_after_cap=10.0)
    arm = arm_buckets(insights=(size, refill))
    writes = size + int(60 * refill) * 3  # three minutes' worth beyond the burst
    requests = [r for _ in range(writes) for r in (READ, SETTING_PUT)]
    run = simulate(pacer, clock, arm, requests, workers=16, rtt=0.03)
    bound = (writes - size) / refill
    assert run.answered == len(requests)
    assert run.refused <= 0.05 * (len(requests) + run.refused), run
    assert bound / run.finished >= 0.85, f"{run.finished:.1f} s for a bound of {bound:.1f} s"
    (view,) = [b for b in pacer.buckets() if b.name == BUDGET]
    assert view.burst == size and view.kinds == ("writes",)
    assert view.estimated and view.refill == pytest.approx(refill, rel=0.15)
    # reads never waited for the writes' budget
    assert all(b.name != BUDGET or "reads" not in b.kinds for b in pacer.buckets())


def test_a_429_closes_the_bucket_that_refused_it() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep, retry_after_cap=10.0)
    deadline = Deadline(3600, clock=clock)
    # the global bucket says it is empty: it refused; the caller's own read bucket stays open
    ticket = pacer.acquire(SCOPE, READS, deadline)
    pacer.observe(SCOPE, READS, ticket, remaining={"global-reads": 0}, retry_after=2.0)
    assert pacer.stats.throttled_by == {"global-reads": 1}
    # a read whose answer shows plenty left globally was refused by the bucket it does not report: the caller's
    clock.now += 5
    ticket = pacer.acquire(SCOPE, READS, deadline)
    pacer.observe(SCOPE, READS, ticket, remaining={"global-reads": 3000}, retry_after=1.0)
    assert pacer.stats.throttled_by == {"global-reads": 1, "reads": 1}
    # a provider's Retry-After is honoured beyond the gateway's cap (up to a minute): its budget may be per minute
    clock.now += 5
    ticket = pacer.acquire(SCOPE, WRITES, deadline, INSIGHTS)
    pacer.observe(SCOPE, WRITES, ticket, remaining={BUDGET: 0}, retry_after=45.0, provider=INSIGHTS)
    before = clock.now
    pacer.acquire(SCOPE, WRITES, deadline, INSIGHTS)
    assert clock.now - before == pytest.approx(45.0)
    # and until anything else is learned, that budget refills at most one token per Retry-After
    (view,) = [b for b in pacer.buckets() if b.name == BUDGET]
    assert view.refill == pytest.approx(1 / 45, rel=0.05) and not view.estimated
    # a write elsewhere (no provider budget reported there) does not wait for Insights' budget
    ticket = pacer.acquire(SCOPE, WRITES, Deadline(2, clock=clock), "microsoft.operationalinsights")


def test_a_providers_429s_never_fail_a_request_while_the_deadline_allows() -> None:
    clock = Clock()
    pacer = Pacer(clock=clock, sleep=clock.sleep, retry_after_cap=10.0)
    ticket = pacer.acquire(SCOPE, WRITES, None, INSIGHTS)
    pacer.observe(SCOPE, WRITES, ticket, remaining={BUDGET: 0}, retry_after=30.0, provider=INSIGHTS)
    with pytest.raises(ThrottledError, match=r"needs a wait of 30\.0 s"):
        pacer.acquire(SCOPE, WRITES, Deadline(20, clock=clock), INSIGHTS)
    pacer.acquire(SCOPE, WRITES, Deadline(40, clock=clock), INSIGHTS)
    assert pacer.stats.waits == 1


def test_a_budget_that_fills_while_the_pacer_waits_does_not_lower_the_learned_refill() -> None:
    """8 writes in flight on a budget of 12 refilled 4/s, sent in waves 10 s apart (longer than it takes
    to refill to full): ARM counts each wave from a full budget (11 left, then 10, ..., 4) but the answers
    come back in another order, so most of them show "full, less the writes in flight". Those cannot tell a
    slow refill from a full budget: the refill learned from them may rise, never fall (it collapsed to
    MIN_REFILL, and the next wave then waited minutes)."""
    now = 100.0
    budget = Bucket(12.0, 12.0 / 60, now, learned=True)
    ticket = 0
    answered_order = [4, 11, 7, 10, 5, 9, 6, 8]  # what each answer reports, in the order they arrive
    for _ in range(6):
        tickets = []
        for _ in answered_order:
            ticket += 1
            budget.take(ticket)
            tickets.append(ticket)
        now += 0.03
        for sent, left in zip(tickets, answered_order, strict=True):
            budget.advance(now)
            budget.answered(now, sent)
            budget.observe(now, sent, left, refused=False)
            assert budget.refill >= 12.0 / 60, f"learned {budget.refill:.3f}/s from {left} left"
        now += 10.0
    assert budget.refill > MIN_REFILL
