"""The timer sweep: the whole configured scope in ``REMEDIATION_MODE``, the safety net of the event path."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from remediation.app.runtime import Runtime
from remediation.core.model import Trigger
from remediation.core.report import STATUS_ORDER, ReportDocument
from remediation.core.signals import Signal, needing_attention, subscription_summaries
from remediation.engine.reconcile import run
from remediation.errors import RemediationError

logger = logging.getLogger(__name__)


class SweepFailedError(RemediationError):
    """The sweep could read nothing at all (no cluster, and errors): the execution must fail."""


def sweep(runtime: Runtime, *, past_due: bool = False) -> ReportDocument:
    """Sweep every cluster in scope. Per-cluster failures stay in the report; reading nothing raises."""
    if past_due:
        logger.warning("the timer is past due; sweeping now", extra={"trigger": Trigger.TIMER.value})
    document = run(
        runtime.config,
        runtime.gateway,
        mode=runtime.config.mode,
        trigger=Trigger.TIMER,
        change_sinks=runtime.change_sinks,
        logs=runtime.logs,
    )
    summary = document["summary"]
    counts: dict[str, int] = {name: summary[name] for name in STATUS_ORDER}
    fields: dict[str, object] = {
        "event": Signal.SWEEP_COMPLETED.value,
        "run_id": document["run_id"],
        "trigger": Trigger.TIMER.value,
        "mode": document["mode"],
        "clusters": summary["clusters"],
        "errors": len(document["errors"]),
        **counts,
    }
    logger.info(
        "sweep %s (%s): %d clusters, %s; %d errors",
        document["run_id"],
        document["mode"],
        summary["clusters"],
        ", ".join(f"{name}={count}" for name, count in counts.items()),
        len(document["errors"]),
        extra=fields,
    )
    log_signals(document, runtime.config.subscription_ids)
    for error in document["errors"]:
        logger.warning(
            "sweep %s: %s: %s: %s",
            document["run_id"],
            error["scope"],
            error["code"],
            error["message"],
            extra={"run_id": document["run_id"], "trigger": Trigger.TIMER.value},
        )
    if not document["clusters"] and document["errors"]:
        codes = ", ".join(sorted({e["code"] for e in document["errors"]}))
        raise SweepFailedError(f"sweep {document['run_id']} could read nothing ({codes}); see the errors logged above")
    return document


def log_signals(document: ReportDocument, subscription_ids: Iterable[str] = ()) -> None:
    """The records infra's alerts and workbook query: per subscription, and per cluster needing a person."""
    base = {"run_id": document["run_id"], "trigger": Trigger.TIMER.value, "mode": document["mode"]}
    for record in subscription_summaries(document, subscription_ids):
        logger.info(
            "sweep %s: subscription %s: %d clusters, failed=%d, blocked=%d; %d errors",
            document["run_id"],
            record["subscription_id"],
            record["clusters"],
            record["failed"],
            record["blocked"],
            record["errors"],
            extra={**base, "event": Signal.SWEEP_SUBSCRIPTION.value, **record},
        )
    for cluster in needing_attention(document):
        logger.warning(
            "sweep %s: cluster %s is %s (%s)",
            document["run_id"],
            cluster["id"],
            cluster["status"],
            cluster["reason"] or "-",
            extra={
                **base,
                "event": Signal.CLUSTER_ATTENTION.value,
                "cluster_id": cluster["id"],
                "subscription_id": cluster["subscription_id"].lower(),
                "status": cluster["status"],
                "reason": cluster["reason"] or "",
            },
        )
