"""Table-plan step: the ``AKSAudit`` plan of the workspaces we created, once per run.

With ``REMEDIATION_AUDIT_TABLE_PLAN=basic``, each distinct destination workspace of the run is
read once: only one carrying our ``managed-by`` tag is considered; its ``AKSAudit`` table is read
and, when its plan is not ``Basic``, patched (apply mode; a dry run reports ``would_update``).
Every change is recorded as ``table_plan.updated`` in the change log and the ledger. ARM's
refusal (a plan may change once a week per table) is reported with ARM's code, logged at
WARNING and tried again on a later run; it never fails a cluster or the run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from remediation.config.values import Config, Mode
from remediation.core.changes import ChangeEvent, ChangeRecord
from remediation.core.model import Trigger
from remediation.core.table_plan import AUDIT_TABLE, TablePlanAction, created_by_us, needs_change, wanted_plan
from remediation.engine.changelog import ChangeLog
from remediation.engine.ports import TablePlanGateway
from remediation.errors import ArmError
from remediation.ids import id_key

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class TablePlanOutcome:
    workspace_id: str
    table: str
    plan_before: str | None
    plan_after: str | None
    action: TablePlanAction
    reason: str | None = None


def ensure_table_plans(
    config: Config,
    gateway: TablePlanGateway,
    changes: ChangeLog,
    workspace_ids: Iterable[str],
    *,
    owner_tag: Mapping[str, str],
    mode: Mode,
    run_id: str,
    trigger: Trigger,
) -> list[TablePlanOutcome]:
    """Make sure of the audit table's plan in each of our workspaces; never raises for ARM failures."""
    wanted = wanted_plan(config)
    if wanted is None:
        return []
    outcomes = []
    for workspace_id in {id_key(w): w for w in workspace_ids}.values():
        try:
            tags = gateway.workspace_tags(workspace_id)
        except ArmError as exc:
            logger.warning("could not read workspace %s for its table plan: %s", workspace_id, exc)
            continue
        if not created_by_us(tags, owner_tag):
            continue  # never touch a table of a workspace we did not create
        outcomes.append(_one(gateway, changes, workspace_id, wanted, mode=mode, run_id=run_id, trigger=trigger))
    return sorted(outcomes, key=lambda o: id_key(o.workspace_id))


def _one(
    gateway: TablePlanGateway,
    changes: ChangeLog,
    workspace_id: str,
    wanted: str,
    *,
    mode: Mode,
    run_id: str,
    trigger: Trigger,
) -> TablePlanOutcome:
    try:
        current = gateway.get_table_plan(workspace_id, AUDIT_TABLE)
    except ArmError as exc:
        logger.warning("could not read table %s of %s: %s", AUDIT_TABLE, workspace_id, exc)
        return TablePlanOutcome(
            workspace_id=workspace_id,
            table=AUDIT_TABLE,
            plan_before=None,
            plan_after=None,
            action=TablePlanAction.UNREADABLE,
            reason=exc.code,
        )
    if not needs_change(current, wanted):
        return TablePlanOutcome(
            workspace_id=workspace_id,
            table=AUDIT_TABLE,
            plan_before=current,
            plan_after=current,
            action=TablePlanAction.UNCHANGED,
        )
    if mode is Mode.REPORT:
        return TablePlanOutcome(
            workspace_id=workspace_id,
            table=AUDIT_TABLE,
            plan_before=current,
            plan_after=wanted,
            action=TablePlanAction.WOULD_UPDATE,
        )
    try:
        after = gateway.set_table_plan(workspace_id, AUDIT_TABLE, wanted)
    except ArmError as exc:
        logger.warning(
            "the plan of table %s of %s was not changed to %s: %s (tried again on the next run)",
            AUDIT_TABLE,
            workspace_id,
            wanted,
            exc,
            extra={"run_id": run_id, "workspace_id": workspace_id, "table_plan_refused": exc.code},
        )
        return TablePlanOutcome(
            workspace_id=workspace_id,
            table=AUDIT_TABLE,
            plan_before=current,
            plan_after=current,
            action=TablePlanAction.REFUSED,
            reason=exc.code,
        )
    changes.record(
        ChangeRecord(
            event=ChangeEvent.TABLE_PLAN_UPDATED,
            run_id=run_id,
            trigger=trigger,
            resource_id=f"{workspace_id}/tables/{AUDIT_TABLE}",
            workspace_id=workspace_id,
            plan_before=current,
            plan_after=after,
        )
    )
    return TablePlanOutcome(
        workspace_id=workspace_id,
        table=AUDIT_TABLE,
        plan_before=current,
        plan_after=after,
        action=TablePlanAction.UPDATED,
    )
