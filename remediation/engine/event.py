"""An event: the one cluster an Event Grid event names, once it has settled.

Its scope is :func:`remediation.engine.scope.first_round` (the cluster and its settings in one
round trip); then the same stages as a sweep (:func:`remediation.engine.cluster.process`,
:func:`remediation.engine.finish.finish`). A cluster still provisioning is first assessed as it
is (reads only): if it is already compliant (or excluded) there is nothing to wait for.
Otherwise it is re-read with bounded backoff until its state is terminal, then processed again.

The result is a value, :class:`~remediation.engine.outcomes.EventResult`: the report, or the
:class:`~remediation.engine.outcomes.Stop` that ended the run and the failure behind it.
:mod:`remediation.engine.response` says what the trigger makes of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from remediation.config.values import Config, Mode
from remediation.core.changes import ChangeSink
from remediation.core.model import Reason, Status, Trigger
from remediation.engine.cluster import check_categories, process
from remediation.engine.context import now, start_run
from remediation.engine.finish import finish
from remediation.engine.flow_check import FLOW_BUDGET_SECONDS
from remediation.engine.outcomes import EventResult, Stop
from remediation.engine.ports import ChangeHistory, Gateway, LogsGateway
from remediation.engine.scope import first_round, wait_until_settled
from remediation.errors import ArmError, ClusterBusyError, ClusterNotFoundError
from remediation.kit.deadline import Deadline, DeadlineExceeded

T = TypeVar("T")

# Waiting for a cluster to settle on the event path: 2 s, 4 s, 8 s, then every 15 s.
SETTLE_WAIT_MIN = 2.0
SETTLE_WAIT_MAX = 15.0
# Kept from the settle wait for the work after it (reads, workspace, the write, the records).
SETTLE_WORK_RESERVE = 5.0


def _read(cluster_id: str, read: Callable[[], T]) -> T | EventResult:
    """``read()``, or the result that a failure to read the cluster ends the event with."""
    try:
        return read()
    except ClusterNotFoundError as exc:
        return EventResult(cluster_id=cluster_id, stop=Stop.CLUSTER_NOT_FOUND, error=exc)
    except ArmError as exc:  # the identity endpoint's failures too (CredentialError)
        return EventResult(cluster_id=cluster_id, stop=Stop.TRANSIENT if exc.transient else Stop.UNREADABLE, error=exc)
    except DeadlineExceeded as exc:
        return EventResult(cluster_id=cluster_id, stop=Stop.DEADLINE, error=exc)


def reconcile_cluster(
    config: Config,
    gateway: Gateway,
    cluster_id: str,
    *,
    mode: Mode,
    trigger: Trigger,
    change_sinks: Sequence[ChangeSink] = (),
    settle_timeout: float = 0.0,
    run_id: str | None = None,
    settle_wait: tuple[float, float] = (SETTLE_WAIT_MIN, SETTLE_WAIT_MAX),
    deadline: Deadline | None = None,
    logs: LogsGateway | None = None,
    flow_budget: float = FLOW_BUDGET_SECONDS,
    ledger: ChangeHistory | None = None,
) -> EventResult:
    """Reconcile one cluster once it has settled (waiting at most ``settle_timeout`` seconds).

    Never raises for ARM failures or the deadline: the result says how the run ended."""
    started = now()
    state = start_run(
        config,
        gateway,
        mode=mode,
        trigger=trigger,
        change_sinks=change_sinks,
        run_id=run_id,
        deadline=deadline,
        logs=logs,
        ledger=ledger,
        trust_known_workspaces=True,
    )
    try:
        first = _read(cluster_id, lambda: first_round(state, cluster_id))
        if isinstance(first, EventResult):
            return first
        cluster, settings = first
        unknown = check_categories(state, None, [cluster])
        if unknown is not None:
            return EventResult(cluster_id=cluster_id, stop=Stop.UNKNOWN_CATEGORIES, error=unknown)
        outcome = process(state, cluster, settings)  # a busy cluster is never written: this only reads
        if outcome.status is Status.DEFERRED and outcome.reason == Reason.CLUSTER_BUSY.value and settle_timeout > 0:
            budget = state.deadline.child(min(settle_timeout, state.deadline.remaining() - SETTLE_WORK_RESERVE))
            settled = _read(cluster_id, lambda: wait_until_settled(state.gateway, cluster, budget, settle_wait))
            if isinstance(settled, EventResult):
                return settled
            if isinstance(settled, ClusterBusyError):
                return EventResult(cluster_id=cluster_id, stop=Stop.CLUSTER_BUSY, error=settled)
            cluster = settled
            outcome = process(state, cluster)
        if outcome.error is not None and outcome.error.transient:
            return EventResult(cluster_id=cluster_id, stop=Stop.TRANSIENT, error=outcome.error)
        if outcome.status is Status.DEFERRED and outcome.reason == Reason.DEADLINE.value:
            late = DeadlineExceeded(f"cluster {cluster.id}: {outcome.note or 'no time left'}")
            return EventResult(cluster_id=cluster_id, stop=Stop.DEADLINE, error=late)
        # The event path skips subscription display names (one read fewer on the hot path) and
        # leaves the audit table's plan to the sweep.
        document = finish(
            state,
            [outcome],
            started=started,
            flow_budget=flow_budget,
            table_plans=False,
            clusters=[cluster_id],
            names=False,
        )
        return EventResult(cluster_id=cluster_id, document=document)
    finally:
        state.changes.close()
