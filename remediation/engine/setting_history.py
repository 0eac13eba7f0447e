"""When did the verified clusters' settings last change? The Activity Log, read once per subscription.

Real ARM sends no ``systemData`` on diagnostic settings, so the flow verdict's grace period
needs another source (:mod:`remediation.core.last_change`). The flow stage first decides every
cluster on what it has; the clusters whose verdict hinges on a setting's unknown age (reason
``last-write-unknown``) name the subscriptions to read. Each of those subscriptions' Activity
Log is listed once (every page), all in parallel, within the flow budget, over
``[now - grace - WINDOW_MARGIN, now]``.

A listing that fails (403 without ``Microsoft.Insights/eventtypes/values/read``, a timeout,
the budget) never fails the run: it adds an error (``step: "flow"``, the Activity Log's path as
its scope, not the subscription's: the subscription itself was read), and our own change ledger, when the run has one, fills in for our setting's writes;
a setting nothing tells about stays of unknown age, its cluster ``unknown``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime, timedelta
from typing import Protocol

from remediation.config.values import LEDGER_MAX_LIMIT
from remediation.core.last_change import SettingChanges, SettingKey, setting_key
from remediation.core.report import ErrorDoc
from remediation.engine.ports import ChangeHistory
from remediation.errors import ArmError, LedgerError
from remediation.kit.deadline import Deadline, DeadlineExceeded

logger = logging.getLogger(__name__)

# The listing reaches this far back beyond the grace period (the Activity Log is read a little
# before the verdicts are decided, and event times are the service's, not ours).
WINDOW_MARGIN = timedelta(minutes=5)


def activity_log_id(subscription_id: str) -> str:
    """The scope of an error reading a subscription's Activity Log."""
    return f"/subscriptions/{subscription_id}/providers/Microsoft.Insights/eventtypes/management/values"


class SettingHistory(Protocol):
    """The Activity Log's diagnostic-setting changes (``ArmGateway.list_setting_changes``)."""

    def list_setting_changes(
        self, subscription_id: str, *, since: datetime, until: datetime
    ) -> dict[SettingKey, datetime]: ...


def read_setting_changes(
    history: SettingHistory,
    subscriptions: Iterable[str],
    *,
    now: datetime,
    grace: timedelta,
    deadline: Deadline,
    ledger: ChangeHistory | None = None,
    our_setting: str | None = None,
) -> tuple[dict[str, SettingChanges], list[ErrorDoc]]:
    """Per subscription (lower case), what its Activity Log says; and an error per failed listing."""
    since = now - grace - WINDOW_MARGIN
    wanted = sorted({s.lower() for s in subscriptions if s})
    if not wanted:
        return {}, []

    def one(subscription_id: str) -> SettingChanges:
        if deadline.expired:
            raise DeadlineExceeded(f"read the Activity Log of subscription {subscription_id}")
        return SettingChanges(since, history.list_setting_changes(subscription_id, since=since, until=now))

    changes: dict[str, SettingChanges] = {}
    errors: list[ErrorDoc] = []
    pool = ThreadPoolExecutor(max_workers=min(len(wanted), 8), thread_name_prefix="activity-log")
    try:
        futures: dict[Future[SettingChanges], str] = {pool.submit(one, s): s for s in wanted}
        wait(futures, timeout=max(0.0, deadline.remaining()))
        for future, subscription_id in futures.items():
            failure = _failure(future, subscription_id, deadline)
            if failure is None:
                changes[subscription_id] = future.result()
                continue
            errors.append(failure)
            logger.warning(
                "the Activity Log of subscription %s could not be read: %s: %s",
                subscription_id,
                failure["code"],
                failure["message"],
                extra={"subscription_id": subscription_id, "flow_error": failure["code"]},
            )
            ours, ledger_since = _ledger_changes(ledger, subscription_id, since)
            changes[subscription_id] = SettingChanges(
                None, ledger=ours, failure=failure["code"], ledger_since=ledger_since, ours=our_setting
            )
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return changes, errors


def _failure(future: Future[SettingChanges], subscription_id: str, deadline: Deadline) -> ErrorDoc | None:
    scope = activity_log_id(subscription_id)
    if not future.done():
        message = f"read the Activity Log of subscription {subscription_id}: no answer within the flow budget"
        return ErrorDoc(scope=scope, code="query-timeout", message=message, step="flow")
    exc = future.exception()
    if exc is None:
        return None
    if isinstance(exc, ArmError):
        return ErrorDoc(scope=scope, code=exc.code, message=exc.message, step="flow")
    if isinstance(exc, DeadlineExceeded):
        return ErrorDoc(scope=scope, code="query-timeout", message=f"{exc} (the flow budget ran out)", step="flow")
    message = f"read the Activity Log of subscription {subscription_id}: {type(exc).__name__}: {exc}"
    return ErrorDoc(scope=scope, code="InternalError", message=message, step="flow")


def _ledger_changes(
    ledger: ChangeHistory | None, subscription_id: str, since: datetime
) -> tuple[dict[SettingKey, datetime], datetime | None]:
    """Our setting writes in the subscription since ``since``, and from when on the ledger was read
    completely (None: there is no ledger, or it could not be read)."""
    if ledger is None:
        return {}, None
    try:
        records = ledger.list_changes(since=since, limit=LEDGER_MAX_LIMIT, subscriptions=[subscription_id])
    except LedgerError as exc:
        logger.warning("the change ledger could not be read either: %s", exc)
        return {}, None
    found: dict[SettingKey, datetime] = {}
    oldest: datetime | None = None
    for record in records:
        moment = _moment(record.get("timestamp"))
        if moment is None:
            continue
        oldest = moment if oldest is None or moment < oldest else oldest
        cluster, name = record.get("cluster_id"), record.get("setting_name")
        if cluster and name:
            key = setting_key(str(cluster), str(name))
            if key not in found or moment > found[key]:
                found[key] = moment
    # a full page of records may not reach back to ``since``: the ledger covers from its oldest on
    covered = oldest if len(records) >= LEDGER_MAX_LIMIT else since
    return found, covered


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
