"""The engine: read the estate, ask the pure planner, write what the plan says, report.

``run`` sweeps a scope (subscriptions or named clusters); ``reconcile_cluster`` handles
the single cluster an event names, waiting for it to settle first. A failure on one
cluster or one subscription is recorded in the report and never stops the others.

Every run has a :class:`~remediation.deadline.Deadline` (the trigger's budget, or
``REMEDIATION_DEADLINE_SECONDS``); the gateway draws every wait from it. A cluster the run
has no time left for is reported ``deferred`` with reason ``deadline`` and nothing is
written to it; the run then ends normally.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from remediation import __version__
from remediation.config import Config, Mode
from remediation.core.changes import ChangeEvent, ChangeRecord, ChangeSink
from remediation.core.evidence import SettingEvidence, explain, setting_evidence
from remediation.core.flow import Flow, FlowSink, flow_sinks
from remediation.core.model import (
    PERMISSION_DENIED_CODES,
    ActionKind,
    CategoryMetadata,
    Cluster,
    ClusterState,
    DiagnosticSetting,
    LogEntry,
    Plan,
    Reason,
    SettingChange,
    Status,
    Trigger,
)
from remediation.core.planner import find_ours, plan, precheck, target_workspace
from remediation.core.report import (
    ActionDoc,
    ClusterDoc,
    ConfigurationDoc,
    CostDoc,
    DestinationDoc,
    ErrorDoc,
    FlowDoc,
    ReportDocument,
    ScopeDoc,
    SettingDoc,
    TablePlanDoc,
    WorkspaceCostDoc,
    WorkspaceDoc,
    summarize,
)
from remediation.deadline import Deadline, DeadlineExceeded
from remediation.engine.changelog import ChangeLog
from remediation.engine.flow import FLOW_BUDGET_SECONDS, FlowCheck, FlowResults, LogsGateway, verify_flow
from remediation.engine.knowledge import Knowledge, is_stale_knowledge, knowledge_for
from remediation.engine.schedule import Interleaver, auto_concurrency
from remediation.engine.table_plans import TablePlanGateway, TablePlanOutcome, ensure_table_plans
from remediation.engine.workspaces import MANAGED_BY_TAG, Once, WorkspaceGateway, WorkspaceResolver
from remediation.errors import (
    ArmError,
    ClusterBusyError,
    ClusterNotFoundError,
    CredentialError,
    UnknownCategoriesError,
    WorkspaceFailedError,
)
from remediation.ids import id_key, parse_cluster_id

logger = logging.getLogger(__name__)

Progress = Callable[[int, int], None]

# Listing the subscriptions' clusters, when REMEDIATION_MAX_CONCURRENCY is auto.
DISCOVERY_WORKERS = 16

# Waiting for a cluster to settle on the event path: 2 s, 4 s, 8 s, then every 15 s.
SETTLE_WAIT_MIN = 2.0
SETTLE_WAIT_MAX = 15.0
# Kept from the settle wait for the work after it (reads, workspace, the write, the records).
SETTLE_WORK_RESERVE = 5.0
# A wait is started only when this much time is left after it for the read that follows.
READ_RESERVE = 1.0


class Gateway(WorkspaceGateway, TablePlanGateway, Protocol):
    def bounded(self, deadline: Deadline) -> Gateway: ...

    def list_subscriptions(self) -> list[str]: ...

    def list_clusters(self, subscription_id: str) -> list[Cluster]: ...

    def get_cluster(self, cluster_id: str) -> Cluster: ...

    def list_settings(self, cluster: Cluster) -> tuple[DiagnosticSetting, ...]: ...

    def get_category_metadata(self, cluster: Cluster) -> CategoryMetadata: ...

    def write_setting(self, cluster: Cluster, change: SettingChange, existing: DiagnosticSetting | None) -> None: ...

    def round_trip(self) -> float | None:
        """Smoothed ARM round-trip time in seconds observed so far (None before any answer)."""
        ...

    def subscription_name(self, subscription_id: str) -> str | None: ...

    def caller_ids(self) -> frozenset[str]:
        """Our identity's IDs as ARM sees them (object ID, application ID), lower case."""
        ...


@dataclass
class ClusterOutcome:
    cluster: Cluster
    status: Status
    missing: tuple[str, ...] | None = ()  # None: not determined (excluded, or failed before reading)
    reason: str | None = None
    change: SettingChange | None = None
    error: ArmError | None = None
    note: str = ""
    sinks: tuple[FlowSink, ...] | None = None  # None: not assessed (excluded, failed): no flow verdict
    settings: tuple[SettingEvidence, ...] | None = None  # None: not read


@dataclass
class _Run:
    config: Config
    gateway: Gateway
    mode: Mode
    trigger: Trigger
    run_id: str
    changes: ChangeLog
    workspaces: WorkspaceResolver
    deadline: Deadline
    logs: LogsGateway | None = None
    knowledge: Knowledge = field(default_factory=Knowledge)
    # One caller per subscription reads the category metadata (retrying within the budget);
    # its waiters share the answer, a transient failure included, instead of each retrying in
    # turn. A permanent failure (403 or 404 on that one cluster) lets the next cluster try.
    metadata: Once = field(default_factory=lambda: Once(remember_failure=_shared_failure))
    subscription_names: Once = field(default_factory=lambda: Once(remember_failure=lambda exc: True))
    errors: list[ErrorDoc] = field(default_factory=list)
    unreadable_subscriptions: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_error(self, scope: str, error: ArmError) -> None:
        with self.lock:
            self.errors.append(ErrorDoc(scope=scope, code=error.code, message=error.message))

    def forget_knowledge(self) -> None:
        """ARM rejected a write that what we knew (categories, workspaces) led to: read it all again."""
        self.knowledge.forget()
        self.metadata = Once(remember_failure=_shared_failure)
        self.workspaces.forget()

    def add_deadline_error(self, scope: str, exc: DeadlineExceeded) -> None:
        with self.lock:
            self.errors.append(ErrorDoc(scope=scope, code="DeadlineExceeded", message=str(exc)))


def _shared_failure(exc: Exception) -> bool:
    return isinstance(exc, DeadlineExceeded) or (isinstance(exc, ArmError) and exc.transient)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _start(
    config: Config,
    gateway: Gateway,
    *,
    mode: Mode,
    trigger: Trigger,
    change_sinks: Sequence[ChangeSink],
    run_id: str | None,
    deadline: Deadline | None,
    logs: LogsGateway | None = None,
    trust_known_workspaces: bool = False,
) -> _Run:
    run_id = run_id or uuid.uuid4().hex
    deadline = deadline or Deadline.for_trigger(trigger.value, config.deadline_seconds)
    gateway = gateway.bounded(deadline)
    changes = ChangeLog(change_sinks, deadline=deadline)
    known = knowledge_for(config.arm_endpoint)
    resolver = WorkspaceResolver(
        gateway,
        config,
        changes,
        run_id=run_id,
        trigger=trigger.value,
        known=known,
        trust_known=trust_known_workspaces,
    )
    return _Run(config, gateway, mode, trigger, run_id, changes, resolver, deadline, logs, known)


def _table_plans(state: _Run, outcomes: Sequence[ClusterOutcome]) -> list[TablePlanOutcome]:
    """The audit table's plan in the workspaces of this run that we created (a dry run only reads)."""
    candidates = [s.workspace_id for o in outcomes for s in (o.sinks or ())]
    candidates += [w.id for w in state.workspaces.outcomes if w.action != "would_create"]
    return ensure_table_plans(
        state.config,
        state.gateway,
        state.changes,
        candidates,
        owner_tag=MANAGED_BY_TAG,
        mode=state.mode,
        run_id=state.run_id,
        trigger=state.trigger.value,
    )


def _verify(state: _Run, outcomes: Sequence[ClusterOutcome], budget: float) -> FlowResults:
    """Flow verification of the assessed clusters, within ``budget`` seconds of the run's deadline."""
    checks = [FlowCheck(o.cluster.id, o.sinks) for o in outcomes if o.sinks is not None]
    return verify_flow(state.config, state.logs, checks, run_id=state.run_id, deadline=state.deadline.child(budget))


def run(
    config: Config,
    gateway: Gateway,
    *,
    mode: Mode,
    trigger: Trigger,
    subscriptions: Sequence[str] = (),
    clusters: Sequence[str] = (),
    change_sinks: Sequence[ChangeSink] = (),
    run_id: str | None = None,
    progress: Progress | None = None,
    deadline: Deadline | None = None,
    logs: LogsGateway | None = None,
    flow_budget: float = FLOW_BUDGET_SECONDS,
) -> ReportDocument:
    """Reconcile (or, in report mode, only assess) every cluster in scope, within ``deadline``
    (default: the trigger's budget or ``REMEDIATION_DEADLINE_SECONDS``), then verify the flow
    (at most ``flow_budget`` seconds of it). Without ``logs`` every flow verdict is ``unknown``."""
    started = _now()
    state = _start(
        config,
        gateway,
        mode=mode,
        trigger=trigger,
        change_sinks=change_sinks,
        run_id=run_id,
        deadline=deadline,
        logs=logs,
    )
    logger.info(
        "run %s started (%s, trigger %s, deadline in %.0f s)",
        state.run_id,
        mode.value,
        trigger.value,
        state.deadline.remaining(),
        extra={"run_id": state.run_id, "trigger": trigger.value},
    )
    try:
        with ThreadPoolExecutor(
            max_workers=config.max_concurrency or DISCOVERY_WORKERS, thread_name_prefix="discover"
        ) as pool:
            targets, outcomes = _discover(state, pool, subscriptions=subscriptions, clusters=clusters)
            _check_categories(state, pool, targets)
        total = len(targets) + len(outcomes)
        if progress:
            progress(len(outcomes), total)
        subscriptions_seen = len({c.subscription_id.lower() for c in targets})
        workers = config.max_concurrency or auto_concurrency(subscriptions_seen, gateway.round_trip(), len(targets))
        logger.info(
            "run %s: %d clusters in %d subscriptions, %d at once",
            state.run_id,
            len(targets),
            subscriptions_seen,
            workers,
            extra={"run_id": state.run_id, "trigger": trigger.value, "concurrency": workers},
        )
        outcomes.extend(_process_interleaved(state, targets, workers, total - len(targets), total, progress))
        plans = _table_plans(state, outcomes)
        document = _document(
            state,
            outcomes,
            started,
            _verify(state, outcomes, flow_budget),
            plans,
            subscriptions=subscriptions,
            clusters=clusters,
            names=True,
        )
    finally:
        state.changes.close()
    logger.info(
        "run %s finished: %s",
        state.run_id,
        ", ".join(f"{k}={v}" for k, v in document["summary"].items() if not isinstance(v, dict)),
        extra={"run_id": state.run_id, "trigger": trigger.value, "summary": dict(document["summary"])},
    )
    return document


def _process_interleaved(
    state: _Run, targets: list[Cluster], workers: int, done: int, total: int, progress: Progress | None
) -> list[ClusterOutcome]:
    """Process ``targets`` with ``workers`` threads, subscriptions interleaved (see :mod:`.schedule`)."""
    scheduler = Interleaver(targets, workers)
    outcomes: list[ClusterOutcome] = []
    lock = threading.Lock()

    stop = threading.Event()  # set on an interrupt (Ctrl-C): finish the clusters in flight, start no other

    def work() -> None:
        while not stop.is_set() and (cluster := scheduler.take()) is not None:
            try:
                outcome = _process(state, cluster)
            finally:
                scheduler.done(cluster)
            with lock:
                outcomes.append(outcome)
                if progress:
                    progress(done + len(outcomes), total)

    threads = max(1, min(workers, len(targets)))
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="remediation") as pool:
        futures = [pool.submit(work) for _ in range(threads)]
        try:
            for future in futures:
                future.result()
        except BaseException as exc:
            stop.set()
            if isinstance(exc, KeyboardInterrupt):
                logger.warning(
                    "interrupted: finishing the clusters in flight, starting no other", extra={"run_id": state.run_id}
                )
            raise
    return outcomes


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
) -> ReportDocument:
    """Reconcile one cluster once it has settled.

    A cluster still provisioning is first assessed as it is (reads only): if it is already
    compliant (or excluded) there is nothing to wait for. Otherwise the cluster is re-read
    with bounded backoff until its state is terminal, then reconciled.

    Raises :class:`ClusterNotFoundError` if it does not exist, :class:`ClusterBusyError`
    if it is still provisioning after ``settle_timeout`` seconds (or when the budget would not
    allow the next wait), :class:`TransientArmError` if a temporary ARM failure outlasted the
    retries, and :class:`DeadlineExceeded` if the run's budget ran out.
    """
    started = _now()
    state = _start(
        config,
        gateway,
        mode=mode,
        trigger=trigger,
        change_sinks=change_sinks,
        run_id=run_id,
        deadline=deadline,
        logs=logs,
        trust_known_workspaces=True,
    )
    try:
        cluster, settings = _first_round(state, cluster_id)
        _check_categories(state, None, [cluster])
        outcome = _process(state, cluster, settings)  # a busy cluster is never written: this only reads
        if outcome.status is Status.DEFERRED and outcome.reason == Reason.CLUSTER_BUSY.value and settle_timeout > 0:
            budget = state.deadline.child(min(settle_timeout, state.deadline.remaining() - SETTLE_WORK_RESERVE))
            cluster = _wait_until_settled(state.gateway, cluster, budget, settle_wait)
            outcome = _process(state, cluster)
        if outcome.error is not None and outcome.error.transient:
            raise outcome.error
        if outcome.status is Status.DEFERRED and outcome.reason == Reason.DEADLINE.value:
            raise DeadlineExceeded(f"cluster {cluster.id}: {outcome.note or 'no time left'}")
        # The event path skips subscription display names: one read fewer on the hot path.
        return _document(state, [outcome], started, _verify(state, [outcome], flow_budget), clusters=[cluster_id])
    finally:
        state.changes.close()


def _first_round(state: _Run, cluster_id: str) -> tuple[Cluster, tuple[DiagnosticSetting, ...] | None]:
    """The cluster and its diagnostic settings, read at the same time (and the category metadata
    too, when this worker does not know it yet): one round trip instead of three.

    Raises what reading the cluster raises; a failed settings read is left to the assessment
    (it reads them again and reports the failure)."""
    ref = parse_cluster_id(cluster_id)
    by_id = Cluster(ref.id, ref.name, ref.subscription_id, ref.resource_group, location="", provisioning_state="")
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="event") as pool:
        cluster_read = pool.submit(state.gateway.get_cluster, cluster_id)
        settings_read = pool.submit(state.gateway.list_settings, by_id)
        if state.knowledge.category_metadata() is None:
            pool.submit(_metadata, state, by_id)  # warms the run's and the process's cache; failures are read again
        cluster = cluster_read.result()
        try:
            settings: tuple[DiagnosticSetting, ...] | None = settings_read.result()
        except (ArmError, DeadlineExceeded):
            settings = None
    return cluster, settings


def _wait_until_settled(gateway: Gateway, cluster: Cluster, budget: Deadline, wait: tuple[float, float]) -> Cluster:
    """Re-read the cluster, waiting ``wait[0]``, ``2*wait[0]``, ... (at most ``wait[1]``) in between.

    A wait is started only when the read after it still fits in ``budget``: the limit is
    checked before waiting, not after."""
    delay = wait[0]
    while not cluster.is_settled:
        if not budget.can_wait(delay + min(READ_RESERVE, delay)):
            raise ClusterBusyError(cluster.id, cluster.provisioning_state, budget.budget - budget.remaining())
        budget.sleep(delay)
        cluster = gateway.get_cluster(cluster.id)
        delay = min(delay * 2, wait[1])
    return cluster


def _discover(
    state: _Run, pool: ThreadPoolExecutor, *, subscriptions: Sequence[str], clusters: Sequence[str]
) -> tuple[list[Cluster], list[ClusterOutcome]]:
    """The clusters in scope (the named ones, else every cluster of every subscription in scope),
    and the named clusters that could not be read."""
    if clusters:
        found: dict[str, Cluster] = {}
        unreadable: list[ClusterOutcome] = []
        for cluster_id, read in zip(
            clusters, pool.map(lambda cid: _read_named_cluster(state, cid), clusters), strict=True
        ):
            if isinstance(read, Cluster):
                found.setdefault(id_key(read.id), read)
            else:
                unreadable.append(_unreadable(cluster_id, read))
        return list(found.values()), unreadable

    subs = list(subscriptions) or list(state.config.subscription_ids)
    if not subs:
        try:
            subs = state.gateway.list_subscriptions()
        except ArmError as exc:
            logger.warning("could not list subscriptions: %s", exc, extra={"run_id": state.run_id})
            state.add_error("/subscriptions", exc)
            return [], []
        except DeadlineExceeded as exc:
            state.add_deadline_error("/subscriptions", exc)
            return [], []

    def list_one(subscription_id: str) -> list[Cluster]:
        try:
            return state.gateway.list_clusters(subscription_id)
        except (ArmError, DeadlineExceeded) as exc:
            # A credential failure is the same for every subscription: the caller reports it once.
            level = logging.DEBUG if isinstance(exc, CredentialError) else logging.WARNING
            logger.log(
                level,
                "could not list clusters of subscription %s: %s",
                subscription_id,
                exc,
                extra={"run_id": state.run_id},
            )
            scope = f"/subscriptions/{subscription_id}"
            if isinstance(exc, ArmError):
                state.add_error(scope, exc)
            else:
                state.add_deadline_error(scope, exc)
            with state.lock:
                state.unreadable_subscriptions.add(subscription_id)
            return []

    listed: dict[str, Cluster] = {}
    for clusters_of_one in pool.map(list_one, dict.fromkeys(s.lower() for s in subs)):
        for cluster in clusters_of_one:
            listed.setdefault(id_key(cluster.id), cluster)
    return sorted(listed.values(), key=lambda c: id_key(c.id)), []


def _metadata(state: _Run, cluster: Cluster) -> CategoryMetadata:
    """The category metadata of managed clusters: known to this worker (for an hour), else read
    once per subscription in this run."""
    known = state.knowledge.category_metadata()
    if known is not None:
        return known

    def read() -> CategoryMetadata:
        metadata = state.gateway.get_category_metadata(cluster)
        state.knowledge.remember_categories(metadata)
        return metadata

    result: CategoryMetadata = state.metadata.get(cluster.subscription_id, read)
    return result


def _check_categories(state: _Run, pool: ThreadPoolExecutor | None, targets: Sequence[Cluster]) -> None:
    """Before the first write: every configured category must be one ARM knows for AKS clusters.

    The metadata is read once per subscription (and cached for the run); a subscription whose
    metadata cannot be read is left to the per-cluster work, which reports it.
    Raises :class:`UnknownCategoriesError`.
    """
    first: dict[str, Cluster] = {}
    for cluster in targets:
        if precheck(cluster, state.config) is None:
            first.setdefault(cluster.subscription_id, cluster)

    def read(cluster: Cluster) -> CategoryMetadata | None:
        try:
            return _metadata(state, cluster)
        except (ArmError, DeadlineExceeded):
            return None

    found = pool.map(read, first.values()) if pool is not None else map(read, first.values())
    for metadata in found:
        if metadata is None or not metadata.categories:
            continue
        known = {c.lower() for c in metadata.categories}
        unknown = [c for c in state.config.categories if c.lower() not in known]
        if unknown:
            raise UnknownCategoriesError(unknown, sorted(metadata.categories))


def _read_named_cluster(state: _Run, cluster_id: str) -> Cluster | ArmError:
    try:
        return state.gateway.get_cluster(cluster_id)
    except ArmError as exc:
        state.add_error(cluster_id, exc)
        return exc
    except DeadlineExceeded as exc:
        return ArmError(Reason.DEADLINE.value, str(exc))


def _unreadable(cluster_id: str, error: ArmError) -> ClusterOutcome:
    ref = parse_cluster_id(cluster_id)
    cluster = Cluster(
        id=ref.id,
        name=ref.name,
        subscription_id=ref.subscription_id,
        resource_group=ref.resource_group,
        location="",
        provisioning_state="",
    )
    if error.code == Reason.DEADLINE.value:
        return ClusterOutcome(cluster, Status.DEFERRED, (), Reason.DEADLINE.value, note=error.message)
    reason = Reason.CLUSTER_NOT_FOUND.value if isinstance(error, ClusterNotFoundError) else error.code
    return ClusterOutcome(cluster, Status.FAILED, None, reason, None, error)


def _process(state: _Run, cluster: Cluster, settings: tuple[DiagnosticSetting, ...] | None = None) -> ClusterOutcome:
    """Assess one cluster and, in apply mode, remediate it. Never raises for ARM failures.

    ``settings``: the cluster's diagnostic settings when already read. When ARM rejects our write
    in a way that stale knowledge explains (a workspace that is gone, a category it does not
    know), what we knew is forgotten and the cluster is decided once more."""
    try:
        return _assess(state, cluster, settings)
    except _StaleKnowledge as stale:
        logger.info(
            "cluster %s: ARM rejected the write (%s); reading categories and workspaces again",
            cluster.id,
            stale.error.code,
            extra={"run_id": state.run_id, "trigger": state.trigger.value, "cluster_id": cluster.id},
        )
        state.forget_knowledge()
        return _assess(state, cluster, stale.settings, retry=False)


class _StaleKnowledge(Exception):  # noqa: N818 - a signal, not an error
    def __init__(self, error: ArmError, settings: tuple[DiagnosticSetting, ...]) -> None:
        super().__init__(str(error))
        self.error = error
        self.settings = settings


def _assess(
    state: _Run, cluster: Cluster, settings: tuple[DiagnosticSetting, ...] | None, *, retry: bool = True
) -> ClusterOutcome:
    config = state.config
    early = precheck(cluster, config)
    if early is not None:
        return ClusterOutcome(cluster, early.status, None, early.reason)
    if state.deadline.expired:
        return ClusterOutcome(cluster, Status.DEFERRED, (), Reason.DEADLINE.value, note="no time left")
    evidence: tuple[SettingEvidence, ...] | None = None
    missing: tuple[str, ...] | None = None
    try:
        metadata = _metadata(state, cluster)
        if settings is None:
            settings = state.gateway.list_settings(cluster)
        workspaces = {id_key(s.workspace_id) for s in settings if s.workspace_id}
        missing_workspaces = frozenset(w for w in workspaces if not state.workspaces.exists(w))
        observed = ClusterState(cluster, settings, metadata, missing_workspaces)
        evidence = setting_evidence(observed, config)
        decided = plan(observed, config)
        sinks = flow_sinks(observed, config)
        missing = decided.missing
        if decided.change is None:
            return ClusterOutcome(
                cluster, decided.status, decided.missing, decided.reason, sinks=sinks, settings=evidence
            )
        if state.mode is Mode.REPORT:
            state.workspaces.plan(decided.change.workspace_id, cluster.location)
            return ClusterOutcome(
                cluster, Status.NON_COMPLIANT, decided.missing, None, decided.change, sinks=sinks, settings=evidence
            )
        try:
            return _remediate(state, observed, decided, evidence)
        except ArmError as exc:
            if retry and is_stale_knowledge(exc):
                raise _StaleKnowledge(exc, settings) from exc
            if exc.code not in PERMISSION_DENIED_CODES:
                raise
            logger.warning(
                "cluster %s blocked: %s",
                cluster.id,
                exc,
                extra={"run_id": state.run_id, "trigger": state.trigger.value, "cluster_id": cluster.id},
            )
            state.add_error(cluster.id, exc)
            return ClusterOutcome(
                cluster, Status.BLOCKED, decided.missing, exc.code, None, exc, sinks=sinks, settings=evidence
            )

            return ClusterOutcome(cluster, Status.BLOCKED, decided.missing, exc.code, None, exc, sinks=sinks)
    except _StaleKnowledge:
        raise
    except DeadlineExceeded as exc:
        logger.warning(
            "cluster %s deferred: %s",
            cluster.id,
            exc,
            extra={"run_id": state.run_id, "trigger": state.trigger.value, "cluster_id": cluster.id},
        )
        return ClusterOutcome(
            cluster, Status.DEFERRED, missing, Reason.DEADLINE.value, note=str(exc), settings=evidence
        )
    except WorkspaceFailedError as exc:
        logger.warning(
            "cluster %s blocked: %s",
            cluster.id,
            exc,
            extra={"run_id": state.run_id, "trigger": state.trigger.value, "cluster_id": cluster.id},
        )
        return ClusterOutcome(
            cluster, Status.BLOCKED, missing, Reason.WORKSPACE_FAILED.value, error=exc, settings=evidence
        )
    except ArmError as exc:
        logger.warning(
            "cluster %s failed: %s",
            cluster.id,
            exc,
            extra={"run_id": state.run_id, "trigger": state.trigger.value, "cluster_id": cluster.id},
        )
        state.add_error(cluster.id, exc)
        return ClusterOutcome(cluster, Status.FAILED, missing, exc.code, None, exc, settings=evidence)
    except Exception as exc:
        logger.exception("cluster %s failed unexpectedly", cluster.id, extra={"run_id": state.run_id})
        error = ArmError("InternalError", f"{type(exc).__name__}: {exc}")
        state.add_error(cluster.id, error)
        return ClusterOutcome(cluster, Status.FAILED, missing, error.code, None, error, settings=evidence)


def _remediate(
    state: _Run, observed: ClusterState, decided: Plan, evidence: tuple[SettingEvidence, ...]
) -> ClusterOutcome:
    cluster, settings = observed.cluster, observed.settings
    change = decided.change
    assert change is not None
    state.workspaces.ensure(change.workspace_id, cluster.location, cluster_id=cluster.id)
    existing = find_ours(settings, state.config) if change.kind is ActionKind.UPDATE else None
    state.gateway.write_setting(cluster, change, existing)
    event = ChangeEvent.SETTING_CREATED if change.kind is ActionKind.CREATE else ChangeEvent.SETTING_UPDATED
    state.changes.record(
        ChangeRecord(
            event=event,
            run_id=state.run_id,
            trigger=state.trigger.value,
            resource_id=f"{cluster.id}/providers/Microsoft.Insights/diagnosticSettings/{change.setting_name}",
            cluster_id=cluster.id,
            setting_name=change.setting_name,
            workspace_id=change.workspace_id,
            categories_before=change.categories_before,
            categories_after=change.categories,
        )
    )
    written = DiagnosticSetting(
        name=change.setting_name,
        logs=change.keep_logs + tuple(LogEntry(enabled=True, category=c) for c in change.categories),
        workspace_id=change.workspace_id,
        log_analytics_destination_type=change.log_analytics_destination_type,
        last_modified_at=datetime.now(UTC),
    )
    sinks = flow_sinks(observed, state.config, written=written)
    return ClusterOutcome(cluster, Status.REMEDIATED, decided.missing, None, change, sinks=sinks, settings=evidence)


def _rfc3339(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _flow_doc(flow: Flow | None) -> FlowDoc | None:
    if flow is None:
        return None
    return FlowDoc(
        verdict=flow.verdict.value,
        last_seen={c: _rfc3339(t) for c, t in flow.last_seen.items()},
        gb_per_day=flow.gb_per_day,
        reason=flow.reason,
    )


def _cost_doc(state: _Run, results: FlowResults) -> CostDoc | None:
    cost = results.cost
    if cost is None:
        return None
    return CostDoc(
        lookback_hours=state.config.flow_lookback_hours,
        queries=results.queries,
        gb_per_day=dict(cost.gb_per_day),
        total_gb_per_day=cost.total,
        kube_audit_share=cost.kube_audit_share,
        workspaces=[
            WorkspaceCostDoc(id=w.workspace_id, gb_per_day=dict(w.gb_per_day), total_gb_per_day=w.total)
            for w in cost.workspaces
        ],
    )


def _subscription_name(state: _Run, subscription_id: str) -> str | None:
    """The subscription's display name: one read per subscription per run; None if unreadable."""

    def read() -> str | None:
        if state.deadline.expired:  # a display name is never worth going past the run's budget
            return None
        try:
            return state.gateway.subscription_name(subscription_id)
        except (ArmError, DeadlineExceeded) as exc:
            logger.debug("no display name for subscription %s: %s", subscription_id, exc)
            return None

    name: str | None = state.subscription_names.get(subscription_id.lower(), read)
    return name


def _setting_doc(evidence: SettingEvidence) -> SettingDoc:
    return SettingDoc(
        name=evidence.name,
        ours=evidence.ours,
        destinations=[DestinationDoc(kind=d.kind, target=d.target) for d in evidence.destinations],  # type: ignore[typeddict-item]
        categories=list(evidence.categories),
        disabled_categories=list(evidence.disabled_categories),
        counted=evidence.counted,
        not_counted_reason=evidence.not_counted_reason,
    )


def _cluster_doc(state: _Run, outcome: ClusterOutcome, flow: Flow | None, names: bool) -> ClusterDoc:
    c = outcome.cluster
    config = state.config
    action: ActionDoc | None = None
    if outcome.change is not None:
        action = ActionDoc(
            kind=outcome.change.kind.value,
            setting_name=outcome.change.setting_name,
            workspace_id=outcome.change.workspace_id,
            categories=list(outcome.change.categories),
            added=[x for x in outcome.change.categories if x not in outcome.change.categories_before],
        )
    why = explain(
        cluster=c,
        status=outcome.status,
        reason=outcome.reason,
        missing=outcome.missing,
        settings=outcome.settings,
        change=outcome.change,
        config=config,
        error_message=outcome.error.message if outcome.error is not None else None,
        target_workspace=target_workspace(c, config) if c.location else None,
    )
    return ClusterDoc(
        id=c.id,
        name=c.name,
        subscription_id=c.subscription_id,
        resource_group=c.resource_group,
        location=c.location,
        status=outcome.status.value,
        missing_categories=list(outcome.missing) if outcome.missing is not None else None,
        reason=outcome.reason,
        action=action,
        flow=_flow_doc(flow),
        subscription_name=_subscription_name(state, c.subscription_id) if names else None,
        portal_url=f"{config.cloud.portal}/#resource{c.id}/overview",
        settings=[_setting_doc(e) for e in outcome.settings] if outcome.settings is not None else None,
        explanation=why.text,
        next_step=why.next_step,
    )


def _configuration(config: Config) -> ConfigurationDoc:
    workspace = config.workspace_id or (
        f"per region: {config.workspace_name_prefix}<location> in resource group {config.workspace_resource_group} "
        "of each cluster's subscription"
    )
    return ConfigurationDoc(
        mode=config.mode.value,
        categories=list(config.categories),
        destination_tables=config.destination_tables.value,
        accepted_destinations=config.accepted_destinations.value,
        setting_name=config.setting_name,
        workspace=workspace,
        exclude_tag=str(config.exclude_tag),
        cloud=config.cloud.name,
        portal=config.cloud.portal,
    )


def _document(
    state: _Run,
    outcomes: Iterable[ClusterOutcome],
    started: str,
    flow: FlowResults | None = None,
    plans: Sequence[TablePlanOutcome] = (),
    *,
    subscriptions: Sequence[str] = (),
    clusters: Sequence[str] = (),
    names: bool = False,
) -> ReportDocument:
    flow = flow or FlowResults()
    ordered = sorted(outcomes, key=lambda o: (o.cluster.subscription_id, id_key(o.cluster.id)))
    cluster_docs = [_cluster_doc(state, o, flow.flows.get(id_key(o.cluster.id)), names) for o in ordered]
    workspaces = [WorkspaceDoc(id=w.id, location=w.location, action=w.action) for w in state.workspaces.outcomes]
    errors = [*state.errors, *flow.errors]
    for failure in state.changes.failures:
        errors.append(
            ErrorDoc(
                scope="ledger",
                code="LedgerWriteFailed",
                message=f"{failure.record.event.value} {failure.record.resource_id}: {failure.error}",
            )
        )
    return ReportDocument(
        schema_version=1,
        mode=state.mode.value,
        run_id=state.run_id,
        started_at=started,
        finished_at=_now(),
        required_categories=list(state.config.categories),
        summary=summarize(cluster_docs, unreadable_subscriptions=len(state.unreadable_subscriptions)),
        clusters=cluster_docs,
        workspaces=workspaces,
        errors=sorted(errors, key=lambda e: (e["scope"].lower(), e["code"])),
        cost=_cost_doc(state, flow),
        table_plans=[
            TablePlanDoc(
                workspace_id=p.workspace_id,
                table=p.table,
                plan_before=p.plan_before,
                plan_after=p.plan_after,
                action=p.action.value,
                reason=p.reason,
            )
            for p in plans
        ],
        tool_version=__version__,
        scope=ScopeDoc(
            subscriptions=list(subscriptions or state.config.subscription_ids),
            clusters=list(clusters),
        ),
        configuration=_configuration(state.config),
    )
