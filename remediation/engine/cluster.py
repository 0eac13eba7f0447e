"""The per-cluster stages every run shares: observe, assess, remediate.

:func:`process` takes one cluster (and its settings, when the scope already read them) to a
:class:`~remediation.engine.outcomes.ClusterOutcome`; it never raises for ARM failures, which
become outcomes (``failed``, ``blocked``, ``deferred``) where they are caught. When ARM rejects
our write in a way that stale knowledge explains (a workspace that is gone, a category it does
not know), the first attempt returns :class:`~remediation.engine.outcomes.StaleKnowledge`; what
we knew is forgotten and the cluster is decided once more, exactly once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from remediation.config.values import Mode
from remediation.core import baselines
from remediation.core.changes import ChangeEvent, ChangeRecord
from remediation.core.evidence import SettingEvidence, setting_evidence
from remediation.core.exemptions import ExemptionState, exemption_of
from remediation.core.flow_verdict import flow_sinks
from remediation.core.model import (
    PERMISSION_DENIED_CODES,
    ActionKind,
    CategoryMetadata,
    Cluster,
    ClusterState,
    DiagnosticSetting,
    LogEntry,
    Reason,
    SettingPlan,
    Status,
)
from remediation.core.planner import apply_change, find_ours, plan_setting, precheck, target_workspace
from remediation.core.report import BaselineDoc
from remediation.engine.context import Run, category_metadata
from remediation.engine.knowledge import is_stale_knowledge
from remediation.engine.outcomes import ClusterOutcome, StaleKnowledge
from remediation.errors import ArmError, InternalError, UnknownCategoriesError, WorkspaceFailedError
from remediation.ids import id_key
from remediation.kit.deadline import DeadlineExceeded

logger = logging.getLogger(__name__)


def check_categories(
    state: Run, pool: ThreadPoolExecutor | None, targets: Sequence[Cluster]
) -> UnknownCategoriesError | None:
    """Before the first write: every configured category must be one ARM knows for AKS clusters.

    The metadata is read once per subscription (and cached for the run); a subscription whose
    metadata cannot be read is left to the per-cluster work, which reports it. Returns the
    configuration error, if any (the caller decides what it means for its trigger).
    """
    first: dict[str, Cluster] = {}
    for cluster in targets:
        if precheck(cluster, state.config, today=state.today) is None:
            first.setdefault(cluster.subscription_id, cluster)

    def read(cluster: Cluster) -> CategoryMetadata | None:
        try:
            return category_metadata(state, cluster)
        except (ArmError, DeadlineExceeded):
            return None

    found: Iterable[CategoryMetadata | None] = (
        pool.map(read, first.values()) if pool is not None else map(read, first.values())
    )
    for metadata in found:
        if metadata is None or not metadata.categories:
            continue
        known = {c.lower() for c in metadata.categories}
        unknown = [c for c in state.config.categories if c.lower() not in known]
        if unknown:
            return UnknownCategoriesError(unknown, sorted(metadata.categories))
    return None


def process(state: Run, cluster: Cluster, settings: tuple[DiagnosticSetting, ...] | None = None) -> ClusterOutcome:
    """Assess one cluster and, in apply mode, remediate it. Never raises for ARM failures.

    ``settings``: the cluster's diagnostic settings when already read."""
    first = _attempt(state, cluster, settings)
    if not isinstance(first, StaleKnowledge):
        return first
    logger.info(
        "cluster %s: ARM rejected the write (%s); reading categories and workspaces again",
        cluster.id,
        first.error.code,
        extra=state.log_fields(cluster.id),
    )
    state.forget_knowledge()
    second = _attempt(state, cluster, first.settings)
    if isinstance(second, StaleKnowledge):  # rejected again with fresh knowledge: a plain failure
        return _failed(state, cluster, second.error, second.missing, second.evidence, second.baselines)
    return second


def _failed(
    state: Run,
    cluster: Cluster,
    error: ArmError,
    missing: tuple[str, ...] | None,
    evidence: tuple[SettingEvidence, ...] | None,
    judged: dict[str, BaselineDoc] | None = None,
) -> ClusterOutcome:
    logger.warning("cluster %s failed: %s", cluster.id, error, extra=state.log_fields(cluster.id))
    state.add_error(cluster.id, error)
    return ClusterOutcome(
        cluster=cluster,
        status=Status.FAILED,
        missing=missing,
        reason=error.code,
        error=error,
        settings=evidence,
        baselines=judged,
    )


def _attempt(
    state: Run, cluster: Cluster, settings: tuple[DiagnosticSetting, ...] | None
) -> ClusterOutcome | StaleKnowledge:
    """Observe, assess and (apply mode) remediate one cluster once."""
    config = state.config
    _log_exemption(state, cluster)
    early = precheck(cluster, config, today=state.today)
    if early is not None:
        return ClusterOutcome(cluster=cluster, status=early.status, missing=None, reason=early.reason)
    if state.deadline.expired:
        return ClusterOutcome(
            cluster=cluster, status=Status.DEFERRED, missing=(), reason=Reason.DEADLINE.value, note="no time left"
        )
    evidence: tuple[SettingEvidence, ...] | None = None
    judged: dict[str, BaselineDoc] | None = None
    missing: tuple[str, ...] | None = None
    try:
        metadata = category_metadata(state, cluster)
        if settings is None:
            settings = state.gateway.list_settings(cluster)
        workspaces = {id_key(s.workspace_id) for s in settings if s.workspace_id}
        missing_workspaces = frozenset(w for w in workspaces if not state.workspaces.exists(w))
        observed = ClusterState(cluster, settings, metadata, missing_workspaces)
        evidence = setting_evidence(observed, config)
        judged = _judge(state, observed)
        decided = plan_setting(observed, config, today=state.today)
        sinks = flow_sinks(observed, config)
        missing = decided.missing
        if decided.change is None:
            return ClusterOutcome(
                cluster=cluster,
                status=decided.status,
                missing=decided.missing,
                reason=decided.reason,
                sinks=sinks,
                settings=evidence,
                baselines=judged,
            )
        if state.mode is Mode.REPORT:
            state.workspaces.preview(decided.change.workspace_id, cluster.location)
            return ClusterOutcome(
                cluster=cluster,
                status=Status.NON_COMPLIANT,
                missing=decided.missing,
                change=decided.change,
                sinks=sinks,
                settings=evidence,
                baselines=judged,
            )
        try:
            return _remediate(state, observed, decided, evidence)
        except ArmError as exc:
            if is_stale_knowledge(exc):
                return StaleKnowledge(
                    error=exc, settings=settings, missing=decided.missing, evidence=evidence, baselines=judged
                )
            if exc.code not in PERMISSION_DENIED_CODES:
                raise
            logger.warning("cluster %s blocked: %s", cluster.id, exc, extra=state.log_fields(cluster.id))
            state.add_error(cluster.id, exc)
            return ClusterOutcome(
                cluster=cluster,
                status=Status.BLOCKED,
                missing=decided.missing,
                reason=exc.code,
                error=exc,
                sinks=sinks,
                settings=evidence,
                baselines=judged,
            )
    except DeadlineExceeded as exc:
        logger.warning("cluster %s deferred: %s", cluster.id, exc, extra=state.log_fields(cluster.id))
        return ClusterOutcome(
            cluster=cluster,
            status=Status.DEFERRED,
            missing=missing,
            reason=Reason.DEADLINE.value,
            note=str(exc),
            settings=evidence,
            baselines=judged,
        )
    except WorkspaceFailedError as exc:
        logger.warning("cluster %s blocked: %s", cluster.id, exc, extra=state.log_fields(cluster.id))
        return ClusterOutcome(
            cluster=cluster,
            status=Status.BLOCKED,
            missing=missing,
            reason=Reason.WORKSPACE_FAILED.value,
            error=exc,
            settings=evidence,
            baselines=judged,
        )
    except ArmError as exc:
        return _failed(state, cluster, exc, missing, evidence, judged)
    except Exception as exc:
        logger.exception("cluster %s failed unexpectedly", cluster.id, extra={"run_id": state.run_id})
        error = InternalError(exc)
        state.add_error(cluster.id, error)
        return ClusterOutcome(
            cluster=cluster,
            status=Status.FAILED,
            missing=missing,
            reason=error.code,
            error=error,
            settings=evidence,
            baselines=judged,
        )


def _log_exemption(state: Run, cluster: Cluster) -> None:
    """An exclude tag that no longer excludes (expired) or never did (malformed) is worth a line."""
    exemption = exemption_of(cluster.tags, state.config.exclude_tag, today=state.today)
    if exemption is None or exemption.excludes:
        return
    fields = {**state.log_fields(cluster.id), "exemption_state": exemption.state.value, "tag": exemption.tag}
    if exemption.state is ExemptionState.MALFORMED:
        logger.warning(
            "cluster %s: the exclude tag %r is malformed and excludes nothing", cluster.id, exemption.tag, extra=fields
        )
    else:
        logger.info("cluster %s: its exemption (%s) has expired", cluster.id, exemption.tag, extra=fields)


def _judge(state: Run, observed: ClusterState) -> dict[str, BaselineDoc]:
    """The chosen baselines' verdicts on the cluster's settings (after our change, once written)."""
    target = target_workspace(observed.cluster, state.config)
    return baselines.judge(baselines.observed(observed, target), state.config.baselines)


def _remediate(
    state: Run, observed: ClusterState, decided: SettingPlan, evidence: tuple[SettingEvidence, ...]
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
            trigger=state.trigger,
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
    return ClusterOutcome(
        cluster=cluster,
        status=Status.REMEDIATED,
        missing=decided.missing,
        change=change,
        sinks=sinks,
        settings=evidence,
        baselines=_judge(state, apply_change(observed, change)),
    )
