"""The pure status model: observations from a run, deleted clusters, and the status document."""

from __future__ import annotations

from typing import Any

import pytest

from remediation.core.report import ClusterDoc, ErrorDoc, ReportDocument, summarize
from remediation.core.status import Observation, gone, observations, status_document, subscription_sweeps
from tests.support.constants import SUB_A, SUB_B


def cid(name: str, sub: str = SUB_A) -> str:
    return f"/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/{name}"


def cluster(name: str, sub: str = SUB_A, status: Any = "compliant", reason: str | None = None) -> ClusterDoc:
    return ClusterDoc(
        id=cid(name, sub),
        name=name,
        subscription_id=sub,
        resource_group="rg",
        location="westeurope",
        status=status,
        missing_categories=[],
        reason=reason,
        action=None,
    )


def document(clusters: list[ClusterDoc], errors: list[ErrorDoc] | None = None, mode: Any = "apply") -> ReportDocument:
    return ReportDocument(
        schema_version=1,
        mode=mode,
        run_id="run-2",
        started_at="2026-11-27T10:00:00Z",
        finished_at="2026-11-27T10:00:05Z",
        required_categories=["kube-audit"],
        summary=summarize(clusters),
        clusters=clusters,
        workspaces=[],
        errors=errors or [],
    )


def test_observations_are_stamped_with_the_run_and_skip_unreadable_named_clusters() -> None:
    doc = document([cluster("a"), cluster("gone", status="failed", reason="cluster-not-found")])
    (item,) = observations(doc, "timer")
    assert (item.cluster["name"], item.observed_at, item.run_id, item.mode, item.trigger) == (
        "a",
        "2026-11-27T10:00:00Z",  # the run's start: the observation is no older
        "run-2",
        "apply",
        "timer",
    )
    with pytest.raises(ValueError):
        observations(document([], mode="status"), "timer")


def test_sweeps_split_clusters_and_errors_by_subscription() -> None:
    errors = [
        ErrorDoc(scope=f"/subscriptions/{SUB_B}", code="AuthorizationFailed", message="no"),
        ErrorDoc(scope=cid("b"), code="ScopeLocked", message="locked"),
    ]
    doc = document([cluster("a"), cluster("b", status="failed", reason="ScopeLocked")], errors)
    mine, other = subscription_sweeps(doc, [SUB_A, SUB_B.upper()], "timer")
    assert (mine.summary["clusters"], mine.summary["failed"], len(mine.errors), mine.listing_failed) == (2, 1, 1, False)
    assert (other.summary["clusters"], other.listing_failed, other.subscription_id) == (0, True, SUB_B)


def test_gone_removes_unseen_older_rows_only_when_the_listing_worked() -> None:
    doc = document([cluster("a")])
    (sweep,) = subscription_sweeps(doc, [SUB_A], "timer")
    stored = [
        (cid("a"), "2026-11-27T09:00:00Z", "timer"),  # seen
        (cid("deleted"), "2026-11-27T09:00:00Z", "timer"),  # older, unseen: gone
        (cid("tie-sweep"), "2026-11-27T10:00:00Z", "timer"),  # same second, by a sweep: gone
        (cid("tie-event"), "2026-11-27T10:00:00Z", "event_grid"),  # same second, by an event: kept
        (cid("new"), "2026-11-27T10:00:03Z", "event_grid"),  # observed during the sweep: kept
    ]
    assert gone(stored, sweep, [cid("A").upper()]) == [cid("deleted"), cid("tie-sweep")]
    failed = document([], [ErrorDoc(scope=f"/subscriptions/{SUB_A}", code="AuthorizationFailed", message="no")])
    (blind,) = subscription_sweeps(failed, [SUB_A], "timer")
    assert gone(stored, blind, []) == []


def test_status_document_keeps_the_newest_observation_and_names_gaps() -> None:
    old = Observation(cluster("a", status="non_compliant"), "2026-11-27T09:00:00Z", "run-1", "report", "timer")
    new = Observation(cluster("a", status="remediated"), "2026-11-27T10:00:05Z", "run-2", "apply", "event_grid")
    other = Observation(cluster("z", SUB_B), "2026-11-27T08:00:00Z", "run-0", "apply", "timer")
    doc = status_document(
        [new, other, old],
        [],
        required_categories=["kube-audit"],
        document_id="d",
        now="2026-11-27T11:00:00Z",
        subscriptions=[SUB_A],
        clusters=[],
    )
    assert doc["mode"] == "status"
    assert [(c["name"], c["status"], c["observed_run_id"]) for c in doc["clusters"]] == [("a", "remediated", "run-2")]
    assert new.cluster.get("observed_at") is None, "the stored outcome is not changed"
    assert (doc["started_at"], doc["finished_at"]) == ("2026-11-27T10:00:05Z", "2026-11-27T11:00:00Z")
    assert [e["code"] for e in doc["errors"]] == ["NotObserved"], "no sweep of SUB_A recorded"
    assert doc["subscriptions"] == []


def test_fresher_names_rows_observed_after_the_sweep_started() -> None:
    from remediation.core.status import fresher

    (sweep,) = subscription_sweeps(document([cluster("a")]), [SUB_A], "timer")
    stored = [
        (cid("a"), "2026-11-27T10:00:03Z", "event_grid"),
        (cid("b"), "2026-11-27T10:00:00Z", "event_grid"),
        (cid("c"), "2026-11-27T09:00:00Z", "timer"),
    ]
    assert fresher(stored, sweep) == {cid("a").lower()}
