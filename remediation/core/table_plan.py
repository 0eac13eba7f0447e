"""The ``AKSAudit`` table plan of the workspaces we created: a pure decision.

``REMEDIATION_AUDIT_TABLE_PLAN=basic`` asks for the Basic plan on ``AKSAudit`` (the
``kube-audit`` table, by far the largest AKS one) in workspaces carrying our ``managed-by``
tag; ``analytics`` (the default) leaves every table alone. A workspace we did not create is
never touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from remediation.config.values import AuditTablePlan, Config

AUDIT_TABLE = "AKSAudit"


class TablePlanAction(StrEnum):
    UPDATED = "updated"
    WOULD_UPDATE = "would_update"  # report mode
    UNCHANGED = "unchanged"
    REFUSED = "refused"  # ARM said no (e.g. the plan changed less than a week ago): tried again next run
    UNREADABLE = "unreadable"  # the table could not be read


def wanted_plan(config: Config) -> str | None:
    """The plan to make sure of, or None when tables are left alone."""
    return "Basic" if config.audit_table_plan is AuditTablePlan.BASIC else None


def created_by_us(tags: Mapping[str, str] | None, owner_tag: Mapping[str, str]) -> bool:
    """True when ``tags`` carry every key/value of ``owner_tag`` (keys and values case-insensitive)."""
    if not tags:
        return False
    lowered = {k.lower(): (v or "").lower() for k, v in tags.items()}
    return all(lowered.get(k.lower()) == v.lower() for k, v in owner_tag.items())


def needs_change(current: str, wanted: str) -> bool:
    return current.lower() != wanted.lower()
