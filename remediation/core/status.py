"""The estate as last observed: what a run records per cluster and per subscription, and the status document.

Every sweep and event stores each cluster's latest outcome (:class:`Observation`) and each swept
subscription's last sweep (:class:`SubscriptionSweep`); ``GET /api/status`` assembles the stored
rows into a schema-1 document with ``mode: "status"`` (:func:`status_document`), with no ARM
request. Pure: the storage lives in ``remediation.azure.state``, the recording in
``remediation.engine.observations``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from remediation.core.model import Trigger
from remediation.core.report import (
    SCHEMA_VERSION,
    ClusterDoc,
    ErrorDoc,
    ReportDocument,
    SubscriptionSweepDoc,
    SummaryDoc,
    summarize,
)
from remediation.ids import id_key

NOT_OBSERVED = "NotObserved"
# The outcome of a named cluster that could not be read (404), or of a listed entry whose ID is not a
# cluster's (it has no key the table could hold), is no observation of a cluster.
_NOT_A_CLUSTER = frozenset({"cluster-not-found", "invalid-resource-id"})


@dataclass(frozen=True)
class Observation:
    """One cluster's outcome as a run observed it."""

    cluster: ClusterDoc
    observed_at: str
    run_id: str
    mode: Literal["report", "apply"]
    trigger: str

    @property
    def key(self) -> str:
        return id_key(self.cluster["id"])


@dataclass(frozen=True)
class SubscriptionSweep:
    """A subscription's last sweep: when, by which run, and what it found."""

    subscription_id: str
    run_id: str
    mode: Literal["report", "apply"]
    trigger: str
    started_at: str
    finished_at: str
    summary: SummaryDoc
    errors: tuple[ErrorDoc, ...]

    @property
    def listing_failed(self) -> bool:
        """True when the sweep could not list the subscription's clusters (it saw none of them)."""
        scope = f"/subscriptions/{self.subscription_id}".lower()
        return any(e["scope"].rstrip("/").lower() == scope for e in self.errors)


def _in_subscription(scope: str, subscription_id: str) -> bool:
    prefix = f"/subscriptions/{subscription_id}".lower()
    scope = scope.lower()
    return scope == prefix or scope.startswith(prefix + "/")


def observations(document: ReportDocument, trigger: Trigger) -> list[Observation]:
    """Each cluster outcome of a run (report or apply) as an observation stamped with the run's start.

    The engine reads each cluster somewhere between the run's start and end; the start is the
    time the observation is certainly no older than, so a newer one (an event's during a long
    sweep) is never taken for older.
    """
    mode = document["mode"]
    if mode == "status":
        raise ValueError("a status document holds no new observation")
    return [
        Observation(cluster, document["started_at"], document["run_id"], mode, trigger)
        for cluster in document["clusters"]
        if cluster["reason"] not in _NOT_A_CLUSTER
    ]


def subscription_sweeps(
    document: ReportDocument, subscriptions: Iterable[str], trigger: Trigger
) -> list[SubscriptionSweep]:
    """The sweep of each of ``subscriptions`` (lower-cased GUIDs) that ``document`` (a run over them) holds."""
    mode = document["mode"]
    if mode == "status":
        raise ValueError("a status document holds no sweep")
    sweeps = []
    for subscription_id in dict.fromkeys(s.lower() for s in subscriptions):
        clusters = [c for c in document["clusters"] if c["subscription_id"].lower() == subscription_id]
        errors = tuple(e for e in document["errors"] if _in_subscription(e["scope"], subscription_id))
        sweep = SubscriptionSweep(
            subscription_id=subscription_id,
            run_id=document["run_id"],
            mode=mode,
            trigger=trigger,
            started_at=document["started_at"],
            finished_at=document["finished_at"],
            summary=summarize(clusters),
            errors=errors,
        )
        if sweep.listing_failed:
            sweep.summary["unreadable_subscriptions"] = 1
        sweeps.append(sweep)
    return sweeps


def gone(stored: Iterable[tuple[str, str, str]], sweep: SubscriptionSweep, seen: Iterable[str]) -> list[str]:
    """Stored clusters (``(cluster_id, observed_at, trigger)``) of the swept subscription that no longer exist.

    A cluster is gone when the sweep listed the subscription and did not see it, and its row is
    older than the sweep: a row written meanwhile by an event (a cluster created after the listing)
    is kept. Times are RFC 3339 UTC strings to the second, so they compare as text; a tie counts as
    older for a row written by an earlier sweep (sweeps of one subscription do not overlap: one
    message per subscription per fan-out, and a superseded message sweeps nothing) and as newer
    for a row written by an event (kept until the next sweep).
    """
    if sweep.listing_failed:
        return []
    seen_keys = {id_key(c) for c in seen}
    removed = []
    for cluster_id, observed_at, trigger in stored:
        if id_key(cluster_id) in seen_keys:
            continue
        older = observed_at < sweep.started_at or (observed_at == sweep.started_at and trigger == sweep.trigger)
        if older:
            removed.append(cluster_id)
    return removed


def fresher(stored: Iterable[tuple[str, str, str]], sweep: SubscriptionSweep) -> set[str]:
    """Keys of stored clusters observed after the sweep started (by an event meanwhile): the sweep's
    own, older observation of them must not replace theirs."""
    return {id_key(cid) for cid, observed_at, _ in stored if observed_at > sweep.started_at}


def _shown(error: ErrorDoc, subscription_id: str, wanted_clusters: Mapping[str, str]) -> bool:
    """Unfiltered by cluster, every error of a shown subscription; else the subscription's own and the named ones'."""
    if not wanted_clusters:
        return True
    scope = id_key(error["scope"])
    return scope == f"/subscriptions/{subscription_id}" or scope in wanted_clusters


def _sweep_doc(sweep: SubscriptionSweep) -> SubscriptionSweepDoc:
    return SubscriptionSweepDoc(
        subscription_id=sweep.subscription_id,
        run_id=sweep.run_id,
        mode=sweep.mode,
        trigger=sweep.trigger,
        started_at=sweep.started_at,
        finished_at=sweep.finished_at,
        summary=sweep.summary,
        errors=len(sweep.errors),
    )


def status_document(
    stored: Iterable[Observation],
    sweeps: Iterable[SubscriptionSweep],
    *,
    required_categories: Sequence[str],
    document_id: str,
    now: str,
    subscriptions: Sequence[str] = (),
    clusters: Sequence[str] = (),
) -> ReportDocument:
    """The schema-1 status document of the stored observations and sweeps, filtered like a report.

    ``subscriptions`` / ``clusters`` narrow the document as on ``/api/report``; a named cluster or
    subscription that nothing has observed yet is listed in ``errors`` with code ``NotObserved``.
    ``started_at`` is the oldest observation shown (``now`` when none), ``finished_at`` is ``now``.
    """
    wanted_subs = {s.lower() for s in subscriptions}
    wanted_clusters = {id_key(c): c for c in clusters}
    chosen: dict[str, Observation] = {}
    for item in stored:
        if wanted_clusters and item.key not in wanted_clusters:
            continue
        if wanted_subs and item.cluster["subscription_id"].lower() not in wanted_subs:
            continue
        if item.key not in chosen or chosen[item.key].observed_at < item.observed_at:
            chosen[item.key] = item
    ordered = sorted(chosen.values(), key=lambda o: (o.cluster["subscription_id"].lower(), o.key))
    docs: list[ClusterDoc] = []
    for item in ordered:
        doc = ClusterDoc(**item.cluster)  # a copy: the stored outcome is not changed
        doc["observed_at"] = item.observed_at
        doc["observed_run_id"] = item.run_id
        docs.append(doc)

    by_sub = {s.subscription_id.lower(): s for s in sweeps}
    if wanted_clusters:
        shown_subs = {c["subscription_id"].lower() for c in docs}
    elif wanted_subs:
        shown_subs = wanted_subs
    else:
        shown_subs = set(by_sub)
    errors: list[ErrorDoc] = []
    sweep_docs: list[SubscriptionSweepDoc] = []
    for subscription_id in sorted(shown_subs):
        sweep = by_sub.get(subscription_id)
        if sweep is None:
            if not wanted_clusters:
                errors.append(
                    ErrorDoc(
                        scope=f"/subscriptions/{subscription_id}",
                        code=NOT_OBSERVED,
                        message="no sweep of this subscription has been recorded yet",
                    )
                )
            continue
        sweep_docs.append(_sweep_doc(sweep))
        errors.extend(e for e in sweep.errors if _shown(e, subscription_id, wanted_clusters))
    for key, cluster_id in wanted_clusters.items():
        if key not in chosen:
            errors.append(
                ErrorDoc(scope=cluster_id, code=NOT_OBSERVED, message="no sweep or event has observed this cluster")
            )
    started = min((o.observed_at for o in ordered), default=now)
    return ReportDocument(
        schema_version=SCHEMA_VERSION,
        mode="status",
        run_id=document_id,
        started_at=min(started, now),
        finished_at=now,
        required_categories=list(required_categories),
        summary=summarize(
            docs, unreadable_subscriptions=sum(1 for s in sweep_docs if s["summary"].get("unreadable_subscriptions"))
        ),
        clusters=docs,
        workspaces=[],
        errors=sorted(errors, key=lambda e: (e["scope"].lower(), e["code"])),
        subscriptions=sweep_docs,
    )
