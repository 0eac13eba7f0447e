"""Under ARM's request limits (armsim's throttle model): paced, not failed; subscriptions interleaved.

armsim's buckets, the process's model of them (the pacer) and the runs' deadlines share one fake clock
(tests/support/clock.py): time passes only when the product waits, so what ARM refills between two
requests, and what the pacer learns from the answers, does not depend on the machine's load."""

from __future__ import annotations

import functools

import pytest

from armsim.throttle import READS, WRITES, Limit
from remediation.azure import clients as clients_module
from remediation.azure import gateway as gateway_module
from remediation.azure.pacing import Pacer
from tests.support.clock import FakeClock
from tests.support.constants import SUB_A, SUB_B

pytestmark = pytest.mark.usefixtures("fresh_pacer")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fresh_pacer(clock: FakeClock) -> Pacer:
    """The process's pacer (new for each test, see tests/conftest.py), on ``clock``."""
    clients_module.forget_pacer(clock)
    return clients_module.shared_pacer()


# What one ARM request takes on the fake clock (as bench_scale's latency): ARM refills while answers travel.
REQUEST_SECONDS = 0.03


@pytest.fixture
def sim_factory(sim_factory, clock: FakeClock):
    """armsim with its buckets on ``clock``; with throttling on, each ARM request takes REQUEST_SECONDS of it."""

    def make(**kwargs):
        sim = sim_factory(**kwargs)
        sim.throttle.clock = clock
        if sim.throttle.enabled:
            sim.inject_fault(status=None, times=None, before=lambda: clock.advance(REQUEST_SECONDS))
        return sim

    return make


@pytest.fixture
def sweep(sweep, clock: FakeClock):
    """Runs whose deadlines are on ``clock``."""
    return functools.partial(sweep, clock=clock)


def settings_reads(sim) -> list:
    return [r for r in sim.arm_requests() if r.method == "GET" and r.path.lower().endswith("/diagnosticsettings")]


def test_a_throttled_sweep_waits_for_tokens_instead_of_failing(sim_factory, sweep, fresh_pacer) -> None:
    sim = sim_factory(throttle=True)
    # armsim's old headers (the caller's bucket on every answer): real ARM reports only the global bucket on
    # reads, which the pacer does not read yet (issue 15 C)
    sim.throttle.report = "principal"
    sim.throttle.subscription_limits[READS] = Limit(20, 25.0)  # a small burst: pacing starts at once
    for i in range(60):
        sim.add_cluster(SUB_A, "rg-apps", f"aks-{i:02d}", "eastus")

    document = sweep("report")

    assert document["summary"]["failed"] == 0
    assert document["summary"]["non_compliant"] == 60
    requests = sim.arm_requests()
    refused = [r for r in requests if r.status == 429]
    assert len(refused) <= max(1, len(requests) // 50), f"{len(refused)} of {len(requests)} answered 429"
    assert fresh_pacer.stats.waits > 0  # the pacer did hold requests back


def test_a_throttled_apply_paces_its_writes_and_fails_nothing(sim_factory, sweep, fresh_pacer) -> None:
    sim = sim_factory(throttle=True)
    # armsim's old headers: real ARM reports Microsoft.Insights' own budget on a setting PUT, which the pacer
    # does not read yet (issue 15 C)
    sim.throttle.report = "principal"
    # writes run out after 15 (more than the workers' first wave: the first answers tell the model)
    sim.throttle.subscription_limits[WRITES] = Limit(15, 20.0)
    sim.add_workspace(SUB_A, "rg-aks-audit-logs", "law-aks-audit-eastus", "eastus")
    for i in range(40):
        sim.add_cluster(SUB_A, "rg-apps", f"aks-{i:02d}", "eastus")

    document = sweep("apply")

    assert document["summary"]["remediated"] == 40
    assert document["summary"]["failed"] == 0
    writes = sim.write_requests()
    assert len([w for w in writes if w.status == 200]) == 40
    assert len([w for w in writes if w.status == 429]) <= 1
    assert fresh_pacer.stats.waits > 0


def test_a_global_bucket_that_other_callers_drain_is_paced_from_its_header(sim_factory, sweep, fresh_pacer) -> None:
    """As real ARM: reads report only the subscription's global bucket, which other callers (a noisy
    neighbour) have emptied and leave 20 reads/s of. The pacer learns that from the header alone."""
    sim = sim_factory(throttle=True)
    for i in range(60):
        sim.add_cluster(SUB_A, "rg-apps", f"aks-{i:02d}", "eastus")
    sim.throttle.add_neighbour(SUB_A, READS, 355.0)  # of the 375/s refill
    sim.throttle.drain(SUB_A, READS, 3750)

    document = sweep("report")

    assert document["summary"]["failed"] == 0
    assert document["summary"]["non_compliant"] == 60
    requests = sim.arm_requests()
    refused = [r for r in requests if r.status == 429]
    assert len(refused) <= max(2, len(requests) // 20), f"{len(refused)} of {len(requests)} answered 429"
    (learned,) = [b for b in fresh_pacer.buckets() if b.name == "global-reads" and SUB_A in b.scope]
    # not the documented 375/s, nor a guess from a 429's Retry-After: the 20/s left for us, measured from the header
    assert learned.burst == 3750 and learned.estimated and 15 < learned.refill < 25


def test_microsoft_insights_write_budget_is_learned_and_never_fails_a_cluster(sim_factory, sweep, fresh_pacer) -> None:
    """As real ARM: a setting PUT reports only Microsoft.Insights' own budget, whose size and refill the
    product is not told (here 12, refilled 4/s)."""
    sim = sim_factory(throttle=True)
    sim.throttle.provider_limits["microsoft.insights"] = Limit(12, 4.0)
    sim.add_workspace(SUB_A, "rg-aks-audit-logs", "law-aks-audit-eastus", "eastus")
    for i in range(40):
        sim.add_cluster(SUB_A, "rg-apps", f"aks-{i:02d}", "eastus")

    # 8 workers: the pacer waits past the budget's refill to full, and the answers then report a full budget
    # less the writes in flight; the refill learned from them fell to MIN_REFILL and 5 runs in 12 failed
    # clusters as throttled, before ratelimits.py judged "full" counting the writes in flight.
    document = sweep("apply", REMEDIATION_MAX_CONCURRENCY="8")

    assert document["summary"]["remediated"] == 40
    assert document["summary"]["failed"] == 0
    puts = [w for w in sim.write_requests() if "/diagnosticSettings/" in w.path]
    assert len([w for w in puts if w.status == 200]) == 40
    assert len([w for w in puts if w.status == 429]) <= 2
    (budget,) = [b for b in fresh_pacer.buckets() if b.name == "microsoft.insights/resource-requests"]
    assert budget.burst == 12 and budget.kinds == ("writes",)
    # How fast the budget refills is learned from the answers (on the fake clock here too; the estimate
    # itself is tested in tests/azure/test_pacing_learning.py).


def test_throttling_that_outlasts_the_budget_fails_the_cluster_as_throttled(sim, sweep) -> None:
    sim.add_subscription(SUB_A)
    sim.add_cluster(SUB_A, "rg-apps", "aks-one", "eastus")
    sim.inject_fault(path_contains="/diagnosticSettings", status=429, retry_after=3600, times=None)

    # the Retry-After (capped at 10 s) does not fit in the run's 5 s: no waiting, no hammering
    document = sweep("apply", REMEDIATION_DEADLINE_SECONDS="5")

    (cluster,) = document["clusters"]
    assert cluster["status"] == "failed"
    assert cluster["reason"] == "throttled"
    assert document["errors"][0]["code"] == "throttled"
    assert len([r for r in sim.arm_requests() if r.status == 429]) == 1  # asked once, then no hammering
    assert sim.write_requests() == []


def test_a_slow_subscription_does_not_starve_the_others(sim, sweep) -> None:
    for i in range(20):
        sim.add_cluster(SUB_A, "rg-a", f"aks-a{i:02d}", "eastus")
        sim.add_cluster(SUB_B, "rg-b", f"aks-b{i:02d}", "eastus")
    sim.inject_fault(path_contains=f"/subscriptions/{SUB_A}/resourceGroups/", status=None, latency=0.3, times=None)

    document = sweep("report", REMEDIATION_SUBSCRIPTION_IDS=f"{SUB_A},{SUB_B}", REMEDIATION_MAX_CONCURRENCY="4")

    assert document["summary"]["non_compliant"] == 40
    reads = settings_reads(sim)
    last_b = max(i for i, r in enumerate(reads) if SUB_B in r.path)
    a_before = sum(1 for r in reads[:last_b] if SUB_A in r.path)
    # A's share is 2 of the 4 workers: B's 20 clusters went through while A's crawled
    assert a_before < 10, f"{a_before} of A's reads came before B's last"


def test_all_clients_share_one_transport_and_one_token(sim, sweep) -> None:
    subs = [f"{i:08d}-0000-4000-8000-000000000000" for i in range(1, 6)]
    for sub in subs:
        sim.add_cluster(sub, "rg", "aks", "eastus")

    document = sweep("apply", REMEDIATION_SUBSCRIPTION_IDS=",".join(subs))

    assert document["summary"]["remediated"] == 5
    assert len(sim.identity_requests()) == 1
    (gateway,) = [g for (endpoint, _), g in gateway_module._gateways.items() if endpoint == sim.base_url]
    built = gateway.clients.built()
    transports = {id(client._client._pipeline._transport) for client in built}
    assert len(built) >= 10  # clusters, settings, workspaces, resource groups per subscription
    assert transports == {id(clients_module.shared_transport())}
