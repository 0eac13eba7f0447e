"""The Event Grid path: from one subscription event to at most one reconciled cluster.

The event is a hint, not state: :func:`handle_event` classifies it (pure, no I/O; anything
not ours is ignored without an ARM request), then reads the cluster and reconciles it through
the engine, which waits for a cluster still provisioning to settle. What it does with each
outcome, so that Event Grid's at-least-once delivery does the right thing:

- ignored event: DEBUG log, return.
- event caused by our own identity (its ``claims``/``authorization`` name us; our PUT's own
  ``diagnosticSettings/write`` comes back this way): DEBUG log, return, no ARM request.
- malformed event: ERROR log, return (redelivering it cannot help).
- cluster deleted meanwhile (404), or a permanent ARM error: logged, return (the sweep reports it).
- cluster still provisioning after :data:`SETTLE_TIMEOUT`: raise, so Event Grid redelivers
  with its own backoff (10 s, 30 s, 1 min, 5 min, ...); the timer sweep is the safety net.
- transient ARM failure that outlasted our retries (an identity-endpoint failure too), or the
  event's time budget ran out (:class:`~remediation.kit.deadline.DeadlineExceeded`, e.g. a
  workspace still being created): raise, so Event Grid redelivers.
- a configured category ARM does not know: ERROR log, return (a redelivery cannot help).
- duplicates and out-of-order deliveries: the engine compares the observed state with the
  plan and writes nothing when the cluster is already compliant.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from remediation.app.event_coalescing import Verdict
from remediation.app.events import (
    Cause,
    Decision,
    Ignore,
    IgnoreReason,
    Malformed,
    ReconcileCluster,
    classify,
    event_callers,
)
from remediation.app.runtime import Runtime
from remediation.core.model import Trigger
from remediation.core.report import ReportDocument
from remediation.engine.estate import estate_of
from remediation.engine.event import reconcile_cluster
from remediation.engine.observations import forget_cluster, record_outcomes
from remediation.engine.outcomes import EventResult, Stop
from remediation.engine.response import event_grid_delivery
from remediation.errors import ArmError, UnknownCategoriesError
from remediation.kit.deadline import Deadline
from remediation.output.common import escape_control

logger = logging.getLogger(__name__)

# Event Grid waits 30 s for a webhook (the Event Grid trigger) to answer before it counts the
# delivery as failed and schedules a retry; a longer wait would only overlap with redeliveries.
# 20 s covers the engine's settle waits of 2 + 4 + 8 s plus the reads, and fits well inside
# host.json's functionTimeout. An AKS create takes minutes: Event Grid's retry schedule
# (10 s, 30 s, 1 min, 5 min, 10 min, 30 min, 1 h, ... for 24 h) covers the rest.
EVENT_GRID_RESPONSE_TIMEOUT = 30.0
SETTLE_TIMEOUT = 20.0
# The one flow query of the event path waits at most this long (after the settle wait, within 30 s).
EVENT_FLOW_BUDGET_SECONDS = 5.0
# A trailing run (for events that joined a reconcile in flight) starts only with this much of the budget left.
TRAILING_RUN_MIN_SECONDS = 10.0


@dataclass(frozen=True, kw_only=True)
class EventOutcome:
    """What happened to one event (returned for logging and tests)."""

    decision: Decision
    document: ReportDocument | None = None
    note: str = ""


def handle_event(
    runtime: Runtime,
    *,
    event_id: str,
    event_type: str,
    subject: str,
    data: object,
    event_time: datetime | None = None,
    settle_timeout: float = SETTLE_TIMEOUT,
    settle_wait: tuple[float, float] | None = None,
) -> EventOutcome:
    """Handle one Event Grid event; raises only when a redelivery can help."""
    base: dict[str, Any] = {"trigger": Trigger.EVENT_GRID.value, "event": event_type, "event_id": event_id}
    decision = classify(event_type, data, subscription_ids=runtime.config.subscription_ids)
    if isinstance(decision, Ignore):
        logger.debug(
            "event %s ignored (%s): %s %s",
            event_id,
            decision.reason.value,
            event_type,
            subject,
            extra={**base, "ignore_reason": decision.reason.value},
        )
        return EventOutcome(decision=decision)
    if isinstance(decision, Malformed):
        # Everything here came from the event's sender: escaped, so it can forge no log line.
        logger.error(
            "malformed event %s (%s, subject %s): %s; not retried",
            escape_control(event_id),
            escape_control(event_type),
            escape_control(subject),
            escape_control(decision.message),
            extra={key: escape_control(value) for key, value in base.items()},
        )
        return EventOutcome(decision=decision)
    if runtime.config.management_group is not None and not _in_group(runtime, decision, base):
        return EventOutcome(decision=Ignore(IgnoreReason.OUT_OF_SCOPE, decision.subscription_id))
    ours = runtime.gateway.caller_ids() & event_callers(data)
    if ours:
        # The setting write our own PUT caused (or any change by our identity): not news, and
        # reconciling it would cost reads that compete with the sweep for ARM's read bucket.
        logger.debug(
            "event %s dropped: caused by our own identity (%s): %s %s",
            event_id,
            ", ".join(sorted(ours)),
            event_type,
            subject,
            extra={**base, "ignore_reason": IgnoreReason.OUR_OWN_WRITE.value, "cluster_id": decision.cluster_id},
        )
        return EventOutcome(decision=Ignore(IgnoreReason.OUR_OWN_WRITE, decision.cluster_id))
    # An event storm (an upgrade's writes, redeliveries) costs one reconcile: remediation.app.event_coalescing.
    drift = decision.reason is not Cause.CLUSTER_WRITTEN
    verdict = runtime.events.admit(decision.cluster_id, event_time=event_time, drift=drift)
    if verdict is not Verdict.RUN:
        logger.debug(
            "event %s: %s not reconciled again (%s)",
            event_id,
            decision.cluster_id,
            verdict.value,
            extra={**base, "cluster_id": decision.cluster_id, "coalesced": verdict.value},
        )
        return EventOutcome(decision=decision, note=verdict.value)
    return _reconcile_coalesced(runtime, decision, base, settle_timeout=settle_timeout, settle_wait=settle_wait)


def _event_deadline(runtime: Runtime) -> Deadline:
    """An event's budget (REMEDIATION_DEADLINE_SECONDS, else Event Grid's), on the runtime's clock."""
    return Deadline.for_trigger(Trigger.EVENT_GRID.value, runtime.config.deadline_seconds, clock=runtime.clock)


def _reconcile_coalesced(
    runtime: Runtime,
    decision: ReconcileCluster,
    base: Mapping[str, Any],
    *,
    settle_timeout: float,
    settle_wait: tuple[float, float] | None,
) -> EventOutcome:
    """Reconcile as the cluster's runner; once more if events joined the run (within the event's budget)."""
    deadline = _event_deadline(runtime)
    cluster_id = decision.cluster_id
    while True:
        try:
            outcome = _reconcile(
                runtime, decision, base, settle_timeout=settle_timeout, settle_wait=settle_wait, deadline=deadline
            )
        except BaseException:
            runtime.events.finish(cluster_id, succeeded=False)
            raise
        if not runtime.events.finish(cluster_id, succeeded=outcome.document is not None):
            return outcome
        if deadline.remaining() < TRAILING_RUN_MIN_SECONDS:
            runtime.events.finish(cluster_id, succeeded=False)
            logger.warning(
                "cluster %s: events arrived during its reconcile but no time is left for another; the sweep covers them",
                cluster_id,
                extra={**base, "cluster_id": cluster_id},
            )
            return outcome
        logger.info(
            "cluster %s: reconciled once more for the events that arrived meanwhile", cluster_id, extra=dict(base)
        )


def _in_group(runtime: Runtime, decision: ReconcileCluster, base: Mapping[str, Any]) -> bool:
    """Whether the event's subscription is under REMEDIATION_MANAGEMENT_GROUP now (one listing per
    event: a subscription moved out keeps its topic, and must no longer be written to). A failed
    listing raises when a redelivery can help, else drops the event (the error names the group;
    the timer sweep reports it too)."""
    deadline = _event_deadline(runtime)
    try:
        estate = estate_of(runtime.config, runtime.gateway.bounded(deadline))
    except ArmError as exc:
        logger.error("event %s: %s", base["event_id"], exc, extra={**base, "cluster_id": decision.cluster_id})
        if exc.transient:
            raise
        return False
    if estate.admits(decision.subscription_id):
        return True
    logger.info(
        "event %s ignored: %s",
        base["event_id"],
        estate.outside_message(decision.subscription_id),
        extra={**base, "ignore_reason": IgnoreReason.OUT_OF_SCOPE.value, "cluster_id": decision.cluster_id},
    )
    return False


def _reconcile(
    runtime: Runtime,
    decision: ReconcileCluster,
    base: Mapping[str, Any],
    *,
    settle_timeout: float,
    settle_wait: tuple[float, float] | None,
    deadline: Deadline | None = None,
) -> EventOutcome:
    fields = {**base, "cluster_id": decision.cluster_id, "cause": decision.reason.value}
    logger.info(
        "event %s: reconciling %s (%s)", base["event_id"], decision.cluster_id, decision.reason.value, extra=fields
    )
    options: dict[str, Any] = {} if settle_wait is None else {"settle_wait": settle_wait}
    # One budget for the whole event: reconciling, and then recording the outcome in the state table.
    deadline = deadline or _event_deadline(runtime)
    result = reconcile_cluster(
        runtime.config,
        runtime.gateway,
        decision.cluster_id,
        mode=runtime.config.mode,
        trigger=Trigger.EVENT_GRID,
        deadline=deadline,
        change_sinks=runtime.change_sinks,
        settle_timeout=settle_timeout,
        logs=runtime.logs,
        ledger=runtime.ledger,
        flow_budget=EVENT_FLOW_BUDGET_SECONDS,
        **options,
    )
    _log_stop(result, fields)
    if result.stop is Stop.CLUSTER_NOT_FOUND and runtime.state is not None:
        forget_cluster(runtime.state, decision.cluster_id, deadline=deadline)
    if result.document is not None:
        _log_result(result.document, fields)
        if runtime.state is not None:
            record_outcomes(runtime.state, result.document, trigger=Trigger.EVENT_GRID, deadline=deadline)
    delivery = event_grid_delivery(result)
    if delivery.redeliver is not None:
        raise delivery.redeliver  # the function fails: Event Grid delivers the event again
    return EventOutcome(decision=decision, document=result.document, note=delivery.note)


def _log_stop(result: EventResult, fields: Mapping[str, Any]) -> None:
    """Why the event ended without a report, at the level it deserves."""
    cluster_id, exc = result.cluster_id, result.error
    match result.stop:
        case None:
            return
        case Stop.CLUSTER_NOT_FOUND:
            logger.info("cluster %s no longer exists; nothing to do", cluster_id, extra=fields)
        case Stop.UNREADABLE:
            logger.error("cluster %s could not be read: %s", cluster_id, exc, extra=fields)
        case Stop.TRANSIENT:  # the identity endpoint's 429/5xx too
            logger.warning("cluster %s: %s; Event Grid will redeliver", cluster_id, exc, extra=fields)
        case Stop.DEADLINE:
            logger.warning(
                "cluster %s: the event's time budget ran out (%s); Event Grid will redeliver",
                cluster_id,
                exc,
                extra={**fields, "status": "deferred", "reason": "deadline"},
            )
        case Stop.CLUSTER_BUSY:
            logger.warning("%s", exc, extra=fields)
        case Stop.UNKNOWN_CATEGORIES:
            variable = exc.variable if isinstance(exc, UnknownCategoriesError) else "REMEDIATION_CATEGORIES"
            logger.error(
                "invalid configuration: %s; nothing written", exc, extra={**fields, "config_variable": variable}
            )


def _log_result(document: ReportDocument, fields: Mapping[str, Any]) -> None:
    extra = {**fields, "run_id": document["run_id"]}
    for cluster in document["clusters"]:
        status = cluster["status"]
        missing = ",".join(cluster["missing_categories"] or ()) or "-"
        action = cluster["action"]
        if status == "non_compliant":
            planned = f"would {action['kind']} {action['setting_name']}" if action else "no change planned"
            logger.warning(
                "report mode: cluster %s is missing %s (%s); nothing written",
                cluster["id"],
                missing,
                planned,
                extra={**extra, "status": status},
            )
        elif status == "failed":
            logger.error("cluster %s failed: %s", cluster["id"], cluster["reason"], extra={**extra, "status": status})
        else:
            logger.info(
                "cluster %s: %s (missing before: %s, reason: %s)",
                cluster["id"],
                status,
                missing,
                cluster["reason"] or "-",
                extra={**extra, "status": status},
            )
