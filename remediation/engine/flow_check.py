"""Flow verification step: query each distinct destination workspace once, decide per cluster.

After the clusters of a run are assessed (and, in apply mode, written), the workspaces their
Log Analytics settings send to are queried in parallel, one query each, within a budget: a
workspace that does not answer in time, refuses (403) or fails leaves its clusters
``unknown`` and adds an error (``step: "flow"``) to the run; it never fails the run and never
delays the other workspaces. ``partial`` and ``silent`` verdicts are logged at WARNING on
logger ``remediation.engine.flow_check`` with the structured fields ``cluster_id``,
``flow_verdict``, ``categories`` (the required categories with no record), ``workspace_ids``
and ``run_id``.

Settings without ``systemData`` (every real one) get their age from the Activity Log, read
only for the subscriptions whose clusters need it (:mod:`remediation.engine.setting_history`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from remediation.config.values import Config
from remediation.core.flow_verdict import (
    FLOW_FINDINGS,
    Cost,
    Flow,
    FlowReason,
    FlowSink,
    QueryFailure,
    WorkspaceResult,
    cost_summary,
    decide_flow,
    flow_query,
    unknown,
    workspace_modes,
)
from remediation.core.last_change import SettingChanges
from remediation.core.report import ErrorDoc
from remediation.engine.ports import ChangeHistory, LogsGateway
from remediation.engine.setting_history import SettingHistory, read_setting_changes
from remediation.errors import ArmError
from remediation.ids import id_key, subscription_of
from remediation.kit.deadline import Deadline

logger = logging.getLogger(__name__)

# How long a run waits for its flow queries (all of them, in parallel).
FLOW_BUDGET_SECONDS = 60.0
# A transient failure (a read timeout) this close to the budget's end is the budget running out.
TIMEOUT_MARGIN_SECONDS = 1.0


@dataclass(frozen=True)
class FlowCheck:
    """One assessed cluster and the settings that send its required categories to a workspace."""

    cluster_id: str
    sinks: tuple[FlowSink, ...]


@dataclass
class FlowResults:
    flows: dict[str, Flow] = field(default_factory=dict)  # id_key(cluster) -> verdict
    cost: Cost | None = None
    queries: int = 0
    activity_log_reads: int = 0  # subscriptions whose Activity Log was listed
    errors: list[ErrorDoc] = field(default_factory=list)


def verify_flow(
    config: Config,
    logs: LogsGateway | None,
    checks: Sequence[FlowCheck],
    *,
    run_id: str,
    deadline: Deadline | None = None,
    now: datetime | None = None,
    history: SettingHistory | None = None,
    ledger: ChangeHistory | None = None,
) -> FlowResults:
    """Flow verdicts for ``checks`` and the estate's ingestion cost; never raises for query failures.

    The queries wait at most until ``deadline`` (default: :data:`FLOW_BUDGET_SECONDS` from now);
    pass the run's deadline (or a child of it) to keep them inside the run's budget. ``history``
    (the gateway, bounded by that deadline) reads the Activity Log; ``ledger`` fills in when it
    cannot be read.
    """
    required = config.categories
    results = FlowResults()
    if not config.verify_flow or logs is None:
        results.flows = {id_key(c.cluster_id): unknown(FlowReason.VERIFICATION_OFF.value, required) for c in checks}
        return results
    all_sinks = [s for c in checks for s in c.sinks]
    modes = workspace_modes(all_sinks)
    spelled = {id_key(s.workspace_id): s.workspace_id for s in reversed(all_sinks)}
    budget = deadline if deadline is not None else Deadline(FLOW_BUDGET_SECONDS)
    answers = _query_all(config, logs, {spelled[w]: flow_query(m) for w, m in modes.items()}, budget)
    results.queries = len(modes)
    for workspace, answer in sorted(answers.items()):
        if isinstance(answer, QueryFailure):
            results.errors.append(
                ErrorDoc(scope=spelled[workspace], code=answer.code, message=answer.message, step="flow")
            )
            logger.warning(
                "flow query of workspace %s failed: %s: %s",
                spelled[workspace],
                answer.code,
                answer.message,
                extra={"run_id": run_id, "workspace_id": spelled[workspace], "flow_error": answer.code},
            )
    moment = now or datetime.now(UTC)
    grace = timedelta(minutes=config.flow_grace_minutes)

    def decide(check: FlowCheck, changes: SettingChanges | None = None) -> Flow:
        return decide_flow(
            check.cluster_id,
            required,
            check.sinks,
            answers,
            now=moment,
            grace=grace,
            lookback_hours=config.flow_lookback_hours,
            changes=changes,
        )

    first = {id_key(c.cluster_id): decide(c) for c in checks}
    ageless = [c for c in checks if first[id_key(c.cluster_id)].reason == FlowReason.LAST_WRITE_UNKNOWN.value]
    changes: dict[str, SettingChanges] = {}
    if ageless and history is not None:
        changes, errors = read_setting_changes(
            history,
            (subscription_of(c.cluster_id) for c in ageless),
            now=moment,
            grace=grace,
            deadline=budget,
            ledger=ledger,
            our_setting=config.setting_name,
        )
        results.errors.extend(errors)
        results.activity_log_reads = len(changes)
    for check in checks:
        flow = first[id_key(check.cluster_id)]
        if flow.reason == FlowReason.LAST_WRITE_UNKNOWN.value:
            flow = decide(check, changes.get(subscription_of(check.cluster_id).lower()))
        results.flows[id_key(check.cluster_id)] = flow
        if flow.verdict in FLOW_FINDINGS:
            categories = list(flow.silent_categories)
            logger.warning(
                "audit records %s for cluster %s: no record of %s in the last %d h",
                flow.verdict.value,
                check.cluster_id,
                ", ".join(categories),
                config.flow_lookback_hours,
                extra={
                    "run_id": run_id,
                    "cluster_id": check.cluster_id,
                    "flow_verdict": flow.verdict.value,
                    "categories": categories,
                    "workspace_ids": sorted({s.workspace_id for s in check.sinks}),
                },
            )
    results.cost = cost_summary(
        answers, spelled, [c.cluster_id for c in checks], lookback_hours=config.flow_lookback_hours
    )
    return results


def _query_all(
    config: Config, logs: LogsGateway, queries: dict[str, str], deadline: Deadline
) -> dict[str, WorkspaceResult]:
    """Run every workspace's query in parallel; what has not answered by ``deadline`` times out."""
    answers: dict[str, WorkspaceResult] = {}
    if not queries:
        return answers
    if deadline.expired:  # the run's budget is spent: no query is started
        return {
            id_key(w): QueryFailure(
                FlowReason.QUERY_TIMEOUT.value, f"query workspace {w}: no time left in the run's budget"
            )
            for w in queries
        }
    server_timeout = max(1, int(deadline.request_timeout(FLOW_BUDGET_SECONDS)))

    def one(workspace_id: str, query: str) -> WorkspaceResult:
        try:
            return logs.query_flow(
                workspace_id,
                query,
                lookback_hours=config.flow_lookback_hours,
                server_timeout=server_timeout,
                deadline=deadline,
            )
        except ArmError as exc:
            if exc.transient and deadline.remaining() < TIMEOUT_MARGIN_SECONDS:
                # the socket timeout is the budget's end: this query ran out of time, whichever fired first
                return QueryFailure(FlowReason.QUERY_TIMEOUT.value, f"{exc.message} (the run's budget ran out)")
            return QueryFailure(exc.code, exc.message)
        except Exception as exc:  # noqa: BLE001 - a query failure never fails the run
            return QueryFailure("InternalError", f"query workspace {workspace_id}: {type(exc).__name__}: {exc}")

    pool = ThreadPoolExecutor(max_workers=min(len(queries), config.max_concurrency or 8), thread_name_prefix="flow")
    try:
        futures: dict[Future[WorkspaceResult], str] = {pool.submit(one, w, q): w for w, q in queries.items()}
        wait(futures, timeout=deadline.remaining())
        for future, workspace_id in futures.items():
            if future.done():
                answers[id_key(workspace_id)] = future.result()
            else:
                answers[id_key(workspace_id)] = QueryFailure(
                    FlowReason.QUERY_TIMEOUT.value,
                    f"query workspace {workspace_id}: no answer within the run's {deadline.budget:g} s budget",
                )
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return answers
