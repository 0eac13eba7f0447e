"""The stages after the clusters, shared by sweeps and events: verify the flow, keep the audit
table's plan, and record the run as a report."""

from __future__ import annotations

from collections.abc import Sequence

from remediation.core.report import ReportDocument
from remediation.engine.context import Run
from remediation.engine.document import build_document
from remediation.engine.flow_check import FlowCheck, FlowResults, verify_flow
from remediation.engine.outcomes import ClusterOutcome
from remediation.engine.table_plans import TablePlanOutcome, ensure_table_plans
from remediation.engine.workspaces import MANAGED_BY_TAG


def _table_plans(state: Run, outcomes: Sequence[ClusterOutcome]) -> list[TablePlanOutcome]:
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
        trigger=state.trigger,
    )


def _verify(state: Run, outcomes: Sequence[ClusterOutcome], budget: float) -> FlowResults:
    """Flow verification of the assessed clusters, within ``budget`` seconds of the run's deadline."""
    checks = [FlowCheck(o.cluster.id, o.sinks) for o in outcomes if o.sinks is not None]
    deadline = state.deadline.child(budget)
    history = state.gateway.bounded(deadline)  # the Activity Log, for settings without systemData
    return verify_flow(
        state.config,
        state.logs,
        checks,
        run_id=state.run_id,
        deadline=deadline,
        history=history,
        ledger=state.ledger,
    )


def finish(
    state: Run,
    outcomes: Sequence[ClusterOutcome],
    *,
    started: str,
    flow_budget: float,
    table_plans: bool,
    subscriptions: Sequence[str] = (),
    clusters: Sequence[str] = (),
    names: bool,
) -> ReportDocument:
    """Verify the flow of the assessed clusters (at most ``flow_budget`` seconds), then (``table_plans``)
    keep the audit table's plan of our workspaces, and return the run's report."""
    plans = _table_plans(state, outcomes) if table_plans else []
    flow = _verify(state, outcomes, flow_budget)
    return build_document(
        state,
        outcomes,
        started=started,
        flow=flow,
        plans=plans,
        subscriptions=subscriptions,
        clusters=clusters,
        names=names,
    )
