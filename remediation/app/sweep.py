"""The timer's fan-out and the per-subscription sweep it feeds, on an Azure Storage queue.

The Functions host is the distributed engine: the timer (:func:`fan_out`) lists the subscriptions
in scope and puts one message per subscription on ``REMEDIATION_SWEEP_QUEUE``; the queue trigger
(:func:`sweep_subscription`) reconciles one subscription per message, and instances scale out
with the queue. What each outcome does, so that the host's at-least-once delivery does the right thing:

- malformed message: ERROR log, return (retrying cannot help);
- subscription outside ``REMEDIATION_SUBSCRIPTION_IDS`` (the scope changed since): WARNING, return;
- superseded (a sweep of that subscription started after the message was enqueued, and covers
  its mode): INFO, return, no ARM request;
- the subscription's clusters could not be listed, or anything unexpected: raise, so the host
  makes the message visible again after ``visibilityTimeout`` and retries; after
  ``maxDequeueCount`` attempts it moves the message to the poison queue, where
  :func:`poisoned` logs it at ERROR with the subscription;
- per-cluster failures stay in the report and the state table (the engine already retried each
  request; the next sweep tries again): the message completes.

A message's ``mode`` is honoured only when it is at least as safe as ``REMEDIATION_MODE`` now:
``report`` in either means report (switching to report mode stops writes even for messages
already queued).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from remediation.app.runtime import Runtime
from remediation.config.parse import parse_subscription_ids
from remediation.config.settings import BY_NAME
from remediation.config.values import Mode
from remediation.core.model import Trigger
from remediation.core.report import STATUS_ORDER, ReportDocument
from remediation.core.signals import Signal, needing_attention, subscription_summaries
from remediation.engine.estate import subscriptions_in_scope
from remediation.engine.observations import record_sweep
from remediation.engine.response import queue_delivery
from remediation.engine.sweep import run
from remediation.errors import (
    ArmError,
    ConfigError,
    MalformedMessageError,
    StateError,
    SweepFailedError,
    SweepQueueError,
)
from remediation.kit.deadline import Deadline

logger = logging.getLogger(__name__)

MESSAGE_VERSION = 1


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True, kw_only=True)
class SweepRequest:
    """One message on the sweep queue: sweep this subscription."""

    subscription_id: str
    run_id: str
    mode: Mode
    enqueued_at: str
    enqueued_by: Trigger = Trigger.TIMER  # "trigger" in the message: what put it on the queue

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": MESSAGE_VERSION,
                "subscription_id": self.subscription_id,
                "run_id": self.run_id,
                "mode": self.mode.value,
                "enqueued_at": self.enqueued_at,
                "trigger": self.enqueued_by.value,
            },
            separators=(",", ":"),
        )


def _field(data: Mapping[str, Any], name: str) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        raise MalformedMessageError(f"'{name}' must be a non-empty string")
    return value.strip()


def parse_request(body: bytes | str) -> SweepRequest:
    """The request a message body holds; raises :class:`MalformedMessageError`."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError):
        raise MalformedMessageError("the body is not JSON") from None
    if not isinstance(data, dict):
        raise MalformedMessageError("the body is not a JSON object")
    if data.get("version", MESSAGE_VERSION) != MESSAGE_VERSION:
        raise MalformedMessageError(f"unsupported message version {data.get('version')!r}")
    try:
        (subscription_id,) = parse_subscription_ids(_field(data, "subscription_id"), "subscription_id")
    except (ConfigError, ValueError) as exc:
        raise MalformedMessageError(str(exc)) from None
    mode_raw = _field(data, "mode").lower()
    if mode_raw not in {m.value for m in Mode}:
        raise MalformedMessageError(f"mode {mode_raw!r} is not one of: {', '.join(m.value for m in Mode)}")
    enqueued_at = _field(data, "enqueued_at")
    try:
        datetime.fromisoformat(enqueued_at.replace("Z", "+00:00"))
    except ValueError:
        raise MalformedMessageError(f"enqueued_at {enqueued_at!r} is not an ISO 8601 time") from None
    trigger = data.get("trigger", Trigger.TIMER.value)
    known = {t.value: t for t in Trigger}
    return SweepRequest(
        subscription_id=subscription_id,
        run_id=_field(data, "run_id"),
        mode=Mode(mode_raw),
        enqueued_at=enqueued_at,
        enqueued_by=known.get(trigger, Trigger.TIMER) if isinstance(trigger, str) else Trigger.TIMER,
    )


# --- the timer: fan out ------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class FanOut:
    run_id: str
    requests: tuple[SweepRequest, ...]
    delays: tuple[int, ...]


def spread_delays(count: int, spread_seconds: int) -> tuple[int, ...]:
    """Visibility delays that spread ``count`` messages evenly over ``[0, spread_seconds)``."""
    if count <= 0:
        return ()
    return tuple((i * spread_seconds) // count for i in range(count))


def fan_out(runtime: Runtime, *, past_due: bool = False) -> FanOut:
    """Put one sweep message per subscription in scope on the sweep queue (the timer's whole job).

    Raises :class:`SweepFailedError` when the subscriptions cannot be listed and
    :class:`SweepQueueError` when the queue is missing or a message could not be put (the
    execution fails; the messages already put are swept, and the next timer run puts them again).
    """
    run_id = uuid.uuid4().hex
    fields: dict[str, Any] = {"run_id": run_id, "trigger": Trigger.TIMER.value, "mode": runtime.config.mode.value}
    # The timer's budget (remediation.kit.deadline): the queue's retries wait on it, never past it.
    deadline = Deadline.for_trigger(Trigger.TIMER.value, runtime.config.deadline_seconds, clock=runtime.clock)
    if past_due:
        logger.warning("the timer is past due; fanning out now", extra=fields)
    if runtime.queue is None:
        raise SweepQueueError("no sweep queue: AzureWebJobsStorage (or AzureWebJobsStorage__accountName) is not set")
    try:
        # REMEDIATION_MANAGEMENT_GROUP: one listing of the group, a failure naming it.
        subscriptions = subscriptions_in_scope(runtime.config, runtime.gateway)
    except ArmError as exc:
        raise SweepFailedError(f"sweep {run_id} could not list subscriptions: {exc}") from exc
    subscriptions = list(dict.fromkeys(s.lower() for s in subscriptions))
    enqueued_at = _now()
    requests = tuple(
        SweepRequest(subscription_id=s, run_id=run_id, mode=runtime.config.mode, enqueued_at=enqueued_at)
        for s in subscriptions
    )
    delays = spread_delays(len(requests), runtime.sweep_spread_seconds)
    failed: list[str] = []
    for request, delay in zip(requests, delays, strict=True):
        try:
            runtime.queue.send(request.to_json(), delay_seconds=delay, deadline=deadline)
        except SweepQueueError as exc:
            logger.error(
                "sweep %s: subscription %s not queued: %s",
                run_id,
                request.subscription_id,
                exc,
                extra={**fields, "subscription_id": request.subscription_id},
            )
            failed.append(request.subscription_id)
    logger.info(
        "sweep %s (%s): %d subscription(s) queued on %s, spread over %d s",
        run_id,
        runtime.config.mode.value,
        len(requests) - len(failed),
        runtime.queue.name,
        runtime.sweep_spread_seconds,
        extra={**fields, "subscriptions": len(requests), "queued": len(requests) - len(failed)},
    )
    if not requests:
        logger.warning("sweep %s: no subscription in scope", run_id, extra=fields)
    if failed:
        raise SweepQueueError(f"sweep {run_id}: {len(failed)} of {len(requests)} subscription(s) could not be queued")
    return FanOut(run_id=run_id, requests=requests, delays=delays)


# --- the queue trigger: one subscription ---------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SweepOutcome:
    """What one message did (returned for logging and tests)."""

    request: SweepRequest | None
    document: ReportDocument | None = None
    note: str = ""


def _effective_mode(request: SweepRequest, configured: Mode) -> Mode:
    return Mode.REPORT if Mode.REPORT in (request.mode, configured) else Mode.APPLY


def _superseded(runtime: Runtime, request: SweepRequest, mode: Mode, deadline: Deadline) -> str | None:
    """The run that already swept the subscription after this message was enqueued, if any."""
    if runtime.state is None:
        return None
    try:
        last = runtime.state.sweep(request.subscription_id, deadline=deadline)
    except StateError as exc:
        logger.warning("could not read the last sweep of %s: %s; sweeping", request.subscription_id, exc)
        return None
    if last is None or last.started_at <= request.enqueued_at or last.listing_failed:
        return None
    if last.mode == Mode.APPLY.value or mode is Mode.REPORT:
        return last.run_id
    return None


def sweep_subscription(
    runtime: Runtime, body: bytes | str, *, message_id: str = "", dequeue_count: int = 1
) -> SweepOutcome:
    """Reconcile the subscription one queue message names; raises only when a retry can help."""
    base: dict[str, Any] = {"trigger": Trigger.QUEUE.value, "message_id": message_id, "dequeue_count": dequeue_count}
    try:
        request = parse_request(body)
    except MalformedMessageError as exc:
        logger.error("malformed sweep message %s: %s; not retried", message_id, exc, extra=base)
        return SweepOutcome(request=None, note="malformed")
    fields = {**base, "run_id": request.run_id, "subscription_id": request.subscription_id}
    if not runtime.config.subscription_in_scope(request.subscription_id):
        logger.warning(
            "sweep %s: subscription %s is outside REMEDIATION_SUBSCRIPTION_IDS; ignored",
            request.run_id,
            request.subscription_id,
            extra=fields,
        )
        return SweepOutcome(request=request, note="out-of-scope")
    mode = _effective_mode(request, runtime.config.mode)
    if mode is not request.mode:
        logger.warning(
            "sweep %s: message asks for %s but REMEDIATION_MODE is %s: sweeping in report mode",
            request.run_id,
            request.mode.value,
            runtime.config.mode.value,
            extra=fields,
        )
    # The queue trigger's budget (remediation.kit.deadline), for the sweep and for recording it.
    deadline = Deadline.for_trigger(Trigger.QUEUE.value, runtime.config.deadline_seconds, clock=runtime.clock)
    newer = _superseded(runtime, request, mode, deadline)
    if newer is not None:
        logger.info(
            "sweep %s of %s superseded by sweep %s, which started after it was queued; nothing to do",
            request.run_id,
            request.subscription_id,
            newer,
            extra=fields,
        )
        return SweepOutcome(request=request, note="superseded")
    document = run(
        runtime.config,
        runtime.gateway,
        deadline=deadline,
        mode=mode,
        trigger=Trigger.QUEUE,
        subscriptions=[request.subscription_id],
        change_sinks=runtime.change_sinks,
        logs=runtime.logs,
        ledger=runtime.ledger,
        run_id=request.run_id,
    )
    if runtime.state is not None:
        record_sweep(runtime.state, document, [request.subscription_id], trigger=Trigger.QUEUE, deadline=deadline)
    _log_summary(document, fields)
    log_signals(document, [request.subscription_id])
    delivery = queue_delivery(document, subscription_id=request.subscription_id, dequeue_count=dequeue_count)
    if delivery.redeliver is not None:
        raise delivery.redeliver
    return SweepOutcome(request=request, document=document)


def _log_summary(document: ReportDocument, fields: Mapping[str, Any]) -> None:
    summary = document["summary"]
    counts: dict[str, int] = {name: summary[name] for name in STATUS_ORDER}
    logger.info(
        "sweep %s of %s (%s): %d clusters, %s; %d errors",
        document["run_id"],
        fields["subscription_id"],
        document["mode"],
        summary["clusters"],
        ", ".join(f"{name}={count}" for name, count in counts.items()),
        len(document["errors"]),
        extra={
            **fields,
            "event": Signal.SWEEP_COMPLETED.value,
            "mode": document["mode"],
            "clusters": summary["clusters"],
            "errors": len(document["errors"]),
            **counts,
        },
    )
    for error in document["errors"]:
        logger.warning(
            "sweep %s: %s: %s: %s",
            document["run_id"],
            error["scope"],
            error["code"],
            error["message"],
            extra=dict(fields),
        )


def poison_queue_name(env: Mapping[str, str]) -> str:
    """The poison queue of the sweep queue (the host appends ``-poison``), for the record only."""
    default = BY_NAME["REMEDIATION_SWEEP_QUEUE"].default
    return ((env.get("REMEDIATION_SWEEP_QUEUE") or "").strip() or default) + "-poison"


def poisoned(body: bytes | str, *, message_id: str = "", queue: str = "") -> SweepRequest | None:
    """A sweep message the host gave up on (moved to the poison queue): log it at ERROR with its subscription.

    The record is ``sweep.poisoned`` (``remediation.core.signals``), which infra's alert rule selects.
    """
    base: dict[str, Any] = {
        "trigger": Trigger.QUEUE.value,
        "message_id": message_id,
        "event": Signal.SWEEP_POISONED.value,
        "queue": queue,
    }
    try:
        request = parse_request(body)
    except MalformedMessageError as exc:
        logger.error("poison sweep message %s is malformed (%s); dropped", message_id, exc, extra=base)
        return None
    logger.error(
        "sweep %s of subscription %s failed on every attempt; the message went to the poison queue. "
        "The next timer sweep queues the subscription again; see the failed executions of sweep_subscription",
        request.run_id,
        request.subscription_id,
        extra={
            **base,
            "run_id": request.run_id,
            "subscription_id": request.subscription_id,
            "mode": request.mode.value,
        },
    )
    return request


def log_signals(document: ReportDocument, subscription_ids: Iterable[str] = ()) -> None:
    """The records infra's alerts and workbook query: per subscription, and per cluster needing a person."""
    base = {"run_id": document["run_id"], "trigger": Trigger.QUEUE.value, "mode": document["mode"]}
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
