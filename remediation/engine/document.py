"""The record stage's report: a run's outcomes as a :class:`~remediation.core.report.ReportDocument`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from remediation import __version__
from remediation.config.values import Config
from remediation.core import baselines
from remediation.core.evidence import SettingEvidence, explain
from remediation.core.exemptions import exemption_doc, exemption_of
from remediation.core.flow_verdict import Flow
from remediation.core.model import Status
from remediation.core.planner import target_workspace
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
from remediation.engine.context import Run, now, subscription_name
from remediation.engine.flow_check import FlowResults
from remediation.engine.outcomes import ClusterOutcome
from remediation.engine.table_plans import TablePlanOutcome
from remediation.ids import id_key, is_cluster_id


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


def _cost_doc(state: Run, results: FlowResults) -> CostDoc | None:
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


def _cluster_doc(state: Run, outcome: ClusterOutcome, flow: Flow | None, names: bool) -> ClusterDoc:
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
        exemption=exemption_of(c.tags, config.exclude_tag, today=state.today),
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
    doc = ClusterDoc(
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
        subscription_name=subscription_name(state, c.subscription_id) if names else None,
        portal_url=f"{config.cloud.portal}/#resource{c.id}/overview",
        settings=[_setting_doc(e) for e in outcome.settings] if outcome.settings is not None else None,
        explanation=why.text,
        next_step=why.next_step,
    )
    if not is_cluster_id(c.id):  # a listed entry that is not a cluster (invalid-resource-id): no link to it
        del doc["portal_url"]
    exemption = exemption_of(c.tags, config.exclude_tag, today=state.today)
    if exemption is not None:
        doc["exemption"] = exemption_doc(exemption)
    if config.baselines:
        doc["baselines"] = (
            outcome.baselines
            if outcome.baselines is not None
            else baselines.unknown(
                baselines.EXCLUDED if outcome.status is Status.EXCLUDED else baselines.NOT_READ, config.baselines
            )
        )
    return doc


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


def build_document(
    state: Run,
    outcomes: Iterable[ClusterOutcome],
    *,
    started: str,
    flow: FlowResults,
    plans: Sequence[TablePlanOutcome],
    subscriptions: Sequence[str],
    clusters: Sequence[str],
    names: bool,
) -> ReportDocument:
    """The run's report; ``names``: look up the subscriptions' display names (a sweep does, an event does not)."""
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
        finished_at=now(),
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
