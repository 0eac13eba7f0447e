"""Recording what a run observed in the state store (the table behind ``GET /api/status``).

:func:`record_sweep` stores each cluster's outcome, the sweep of each subscription swept, and
removes the stored clusters of those subscriptions that the sweep no longer saw (deleted
clusters). :func:`record_outcomes` stores the outcomes of an event (no subscription sweep, no
removal); :func:`forget_cluster` removes a cluster an event found deleted.

The store is an observation cache, not the estate: a failure to record is logged at ERROR and
never fails the run that made the observation (the next sweep records again). With a deadline
(the run's), recording gets at most the time left plus
:data:`~remediation.kit.deadline.RESERVE_SECONDS`: a hung table never holds an event past its budget
(the write that is still running is abandoned to its client's own timeouts). Each table call
carries the deadline too: its retries wait on the deadline's clock and none is started that would not fit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from remediation.core.model import Trigger
from remediation.core.report import ReportDocument
from remediation.core.status import (
    SubscriptionSweep,
    fresher,
    gone,
    observations,
    subscription_sweeps,
)
from remediation.engine.ports import StateStore
from remediation.errors import StateTableTimeoutError
from remediation.kit.deadline import RESERVE_SECONDS, Deadline
from remediation.kit.timeout import run_with_timeout

logger = logging.getLogger(__name__)
T = TypeVar("T")


def _within(deadline: Deadline | None, work: Callable[[], T]) -> T:
    """``work()``, or :class:`StateTableTimeoutError` once the deadline (plus the reserve) has passed; its errors propagate."""
    if deadline is None:
        return work()
    return run_with_timeout(
        work, deadline.remaining() + RESERVE_SECONDS, name="state-table", on_timeout=StateTableTimeoutError
    )


def record_sweep(
    store: StateStore,
    document: ReportDocument,
    subscriptions: Sequence[str],
    *,
    trigger: Trigger,
    deadline: Deadline | None = None,
) -> list[SubscriptionSweep]:
    """Record a sweep of ``subscriptions``; returns the subscriptions' sweeps (empty when recording failed).

    Per subscription: read its stored rows once; write the sweep's outcomes except where a row was
    observed after the sweep started (an event's, newer); remove the rows of clusters the sweep
    no longer saw (:func:`remediation.core.status.gone`); then the subscription's sweep row.
    """
    fields = {"run_id": document["run_id"], "trigger": str(trigger)}
    items = observations(document, trigger)
    sweeps = subscription_sweeps(document, subscriptions, trigger)

    def work() -> None:
        for sweep in sweeps:
            stored = store.stored_clusters(sweep.subscription_id, deadline=deadline)
            newer = fresher(stored, sweep)
            mine = [o for o in items if o.cluster["subscription_id"].lower() == sweep.subscription_id]
            store.put_observations([o for o in mine if o.key not in newer], deadline=deadline)
            removed = gone(stored, sweep, [o.cluster["id"] for o in mine])
            if removed:
                store.delete_clusters(removed, deadline=deadline)
                logger.info(
                    "subscription %s: %d cluster(s) no longer exist and left the state table",
                    sweep.subscription_id,
                    len(removed),
                    extra={**fields, "subscription_id": sweep.subscription_id, "removed": len(removed)},
                )
            store.put_sweep(sweep, deadline=deadline)

    try:
        _within(deadline, work)
    except Exception as exc:  # noqa: BLE001 - the state table is a cache: never fail the sweep for it
        logger.error(
            "could not record sweep %s in the state table (%s: %s); /api/status shows older observations",
            document["run_id"],
            type(exc).__name__,
            exc,
            extra=fields,
        )
        return []
    return sweeps


def record_outcomes(
    store: StateStore, document: ReportDocument, *, trigger: Trigger, deadline: Deadline | None = None
) -> bool:
    """Record the cluster outcomes of a run that swept no subscription (an event); True when stored."""
    items = observations(document, trigger)
    try:
        _within(deadline, lambda: store.put_observations(items, deadline=deadline))
    except Exception as exc:  # noqa: BLE001 - see record_sweep
        logger.error(
            "could not record run %s in the state table (%s: %s)",
            document["run_id"],
            type(exc).__name__,
            exc,
            extra={"run_id": document["run_id"], "trigger": str(trigger)},
        )
        return False
    return True


def forget_cluster(store: StateStore, cluster_id: str, *, deadline: Deadline | None = None) -> bool:
    """Remove a cluster found deleted; True when done."""
    try:
        _within(deadline, lambda: store.delete_clusters([cluster_id], deadline=deadline))
    except Exception as exc:  # noqa: BLE001 - see record_sweep
        logger.error(
            "could not remove cluster %s from the state table (%s: %s)",
            cluster_id,
            type(exc).__name__,
            exc,
            extra={"cluster_id": cluster_id},
        )
        return False
    return True
