"""Log Analytics workspace tables (``.../workspaces/{ws}/tables/{table}``), API 2025-07-01.

The tables spec is not vendored (``specs/azure-specs`` holds Workspaces.json only): the shape
follows the models of azure-mgmt-loganalytics 14.0.0 (``Table``, ``TableProperties``). armsim
knows the AKS tables and ``AzureDiagnostics`` of every workspace, each starting on the Analytics
plan. A plan change (PUT or PATCH) is long-running: 202 with ``Azure-AsyncOperation`` and
``Location``; the plan is switched when the operation completes. A plan may change once a week
per table: a change within 7 days of the last one is refused with 400 ``BadRequest`` (Microsoft
documents the limit, not the error code: this code is armsim's choice).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

# Azure tables armsim serves in every workspace, and whether each supports the Basic plan.
KNOWN_TABLES = {"AKSAudit": True, "AKSAuditAdmin": True, "AKSControlPlane": True, "AzureDiagnostics": False}
PLANS = ("Analytics", "Basic", "Auxiliary")
PLAN_CHANGE_INTERVAL = timedelta(days=7)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_name(table: str) -> str | None:
    return next((t for t in KNOWN_TABLES if t.lower() == table.lower()), None)


def new_table(workspace: dict[str, Any], name: str) -> dict[str, Any]:
    retention = int(workspace["properties"].get("retentionInDays") or 30)
    return {
        "id": f"{workspace['id']}/tables/{name}",
        "name": name,
        "type": "Microsoft.OperationalInsights/workspaces/tables",
        "properties": {
            "plan": "Analytics",
            "retentionInDays": retention,
            "totalRetentionInDays": retention,
            "archiveRetentionInDays": 0,
            "retentionInDaysAsDefault": True,
            "totalRetentionInDaysAsDefault": True,
            "provisioningState": "Succeeded",
            "lastPlanModifiedDate": None,
            "schema": {"name": name, "tableType": "Microsoft", "tableSubType": "Any", "solutions": ["LogManagement"]},
        },
    }


def plan_change_refused(table: dict[str, Any], now: datetime) -> str | None:
    """Why a plan change is refused now (the weekly limit), or None."""
    last = table["properties"].get("lastPlanModifiedDate")
    if not last:
        return None
    changed = datetime.fromisoformat(str(last).replace("Z", "+00:00"))
    if now - changed < PLAN_CHANGE_INTERVAL:
        return (
            f"The plan of table '{table['name']}' was changed at {last}; a table's plan can be changed once a week. "
            f"Try again after {iso(changed + PLAN_CHANGE_INTERVAL)}."
        )
    return None
