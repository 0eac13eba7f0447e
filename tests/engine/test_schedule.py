"""Interleaving subscriptions and the auto concurrency (remediation.engine.schedule)."""

from __future__ import annotations

import threading

from remediation.config.settings import MAX_CONCURRENCY
from remediation.core.model import Cluster
from remediation.engine.schedule import Interleaver, auto_concurrency
from remediation.ids import ClusterId


def cluster(sub: str, i: int) -> Cluster:
    cid = f"/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c{i}"
    return Cluster(ClusterId(cid), f"c{i}", sub, "rg", "eastus", "Succeeded")


def test_subscriptions_are_interleaved() -> None:
    clusters = [cluster("a", i) for i in range(3)] + [cluster("b", i) for i in range(3)] + [cluster("c", 0)]
    scheduler = Interleaver(clusters, workers=64)
    taken = []
    while (c := scheduler.take()) is not None:
        taken.append(c.subscription_id)
        scheduler.done(c)
    assert taken == ["a", "b", "c", "a", "b", "a", "b"]


def test_no_subscription_takes_more_than_its_share_until_the_others_are_done() -> None:
    clusters = [cluster("a", i) for i in range(10)] + [cluster("b", 0)]
    scheduler = Interleaver(clusters, workers=4)
    held = [scheduler.take() for _ in range(3)]  # a, b, a
    assert [c.subscription_id for c in held if c] == ["a", "b", "a"]
    # a holds its share (2 of 4 workers): the next taker waits until b is done
    got: list[Cluster | None] = []
    taker = threading.Thread(target=lambda: got.append(scheduler.take()))
    taker.start()
    taker.join(0.2)
    assert taker.is_alive() and got == []
    scheduler.done(held[1])  # b finished: a may now use every worker
    taker.join(5)
    assert not taker.is_alive()
    assert got[0] is not None and got[0].subscription_id == "a"
    assert scheduler.take() is not None  # a now holds all 4 workers


def test_empty_scope() -> None:
    assert Interleaver([], workers=8).take() is None


def test_auto_concurrency_follows_subscriptions_and_round_trip() -> None:
    assert auto_concurrency(1, 0.03, 1000) == 8
    assert auto_concurrency(3, 0.03, 1800) == 24
    assert auto_concurrency(10, 0.03, 10_000) == MAX_CONCURRENCY
    assert auto_concurrency(1, 0.5, 1000) == 35  # slow ARM: more in flight per subscription
    assert auto_concurrency(1, None, 1000) == 8
    assert auto_concurrency(4, 0.03, 3) == 3  # never more workers than clusters
    assert auto_concurrency(0, None, 0) == 1
