"""Log Analytics workspace tables (``.../workspaces/{ws}/tables/{table}``), API 2025-07-01.

The tables spec is not vendored (``specs/azure-specs`` holds Workspaces.json only): the shape
follows the models of azure-mgmt-loganalytics 14.0.0 (``Table``, ``TableProperties``). armsim
knows the AKS tables and ``AzureDiagnostics`` of every workspace, each starting on the Analytics
plan. As in real answers (``../shared/azure-recordings``) every PUT or PATCH is long-running, even one
that changes nothing: 202 with no body, ``Azure-AsyncOperation`` (``.../locations/{l}/operationstatuses/
{id}``) and ``Location`` (``.../tables/{t}/operationresults/{id}``), no Retry-After; the plan and
retention change when the operation completes. Tables carry no ``type`` field. A plan may change once
a week per table: a change within 7 days of the last one is refused with 400 ``BadRequest`` (Microsoft
documents the limit, not the error code: this code is armsim's choice).
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from armsim.errors import ArmError, bad_request, not_found, rg_not_found
from armsim.providers.operationalinsights import WORKSPACE, WorkspaceSeeding, advance, lro_headers, retry_after
from armsim.providers.resources import find_resource_group
from armsim.routing import Request, Response, Route
from armsim.state import Operation, iso, key, now_text

API_VERSIONS: dict[str, tuple[str, ...]] = {
    "tables": ("2025-07-01",),  # azure-mgmt-loganalytics 14.0.0 (spec not vendored: the SDK's models)
}
# Azure tables armsim serves in every workspace, and whether each supports the Basic plan.
KNOWN_TABLES = {"AKSAudit": True, "AKSAuditAdmin": True, "AKSControlPlane": True, "AzureDiagnostics": False}
PLANS = ("Analytics", "Basic", "Auxiliary")
PLAN_CHANGE_INTERVAL = timedelta(days=7)


def canonical_name(table: str) -> str | None:
    return next((t for t in KNOWN_TABLES if t.lower() == table.lower()), None)


def new_table(workspace: dict[str, Any], name: str) -> dict[str, Any]:
    retention = int(workspace["properties"].get("retentionInDays") or 30)
    return {
        "id": f"{workspace['id']}/tables/{name}",
        "name": name,
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


class TableSeeding(WorkspaceSeeding):
    """Mixin of :class:`armsim.ArmSimulator`: the tables of workspaces and their plans."""

    def _init_state(self) -> None:
        super()._init_state()
        self.tables: dict[str, dict[str, dict[str, Any]]] = {}  # workspace key -> table name lower -> json

    def table(self, workspace_id: str, table: str) -> dict[str, Any] | None:
        """A table of a workspace as ARM serves it (made on first use for the tables armsim knows)."""
        with self.lock:
            workspace = self.workspaces.get(key(workspace_id))
            name = canonical_name(table)
            if workspace is None or name is None:
                return None
            tables = self.tables.setdefault(key(workspace_id), {})
            return tables.setdefault(name.lower(), new_table(workspace, name))

    def table_plan(self, workspace_id: str, table: str) -> str | None:
        with self.lock:
            found = self.table(workspace_id, table)
            return str(found["properties"]["plan"]) if found else None

    def set_table_plan(self, workspace_id: str, table: str, plan: str, *, changed_at: datetime | None = None) -> None:
        """Seed a table's plan, as changed at ``changed_at`` (default: long ago, so no weekly limit applies)."""
        with self.lock:
            found = self.table(workspace_id, table)
            if found is None:
                raise KeyError(f"{workspace_id}/tables/{table}")
            found["properties"]["plan"] = plan
            found["properties"]["lastPlanModifiedDate"] = iso(changed_at) if changed_at else None


def _table(req: Request, sub: str, rg: str, name: str, table: str) -> dict[str, Any]:
    sim = req.sim
    if find_resource_group(sim, sub, rg) is None:
        raise rg_not_found(rg)
    workspace_id = "/".join(req.path.split("/")[:9])
    if key(workspace_id) not in sim.workspaces:
        raise not_found("Microsoft.OperationalInsights/workspaces", name, rg)
    found = sim.table(workspace_id, table)
    if found is None:
        raise ArmError(404, "ResourceNotFound", f"The table '{table}' was not found in workspace '{name}'.")
    return found  # type: ignore[no-any-return]


def get_table(req: Request, sub: str, rg: str, name: str, table: str) -> Response:
    return Response(200, _table(req, sub, rg, name, table))


def update_table(req: Request, sub: str, rg: str, name: str, table: str) -> Response:
    sim = req.sim
    found = _table(req, sub, rg, name, table)
    body = req.json_body()
    props = body.get("properties") or {}
    plan = props.get("plan")
    chosen = None
    if plan is not None:
        chosen = next((p for p in PLANS if p.lower() == str(plan).lower()), None)
        if chosen is None:
            raise bad_request(f"Invalid plan '{plan}': expected one of {', '.join(PLANS)}.", "InvalidParameter")
        if chosen != "Analytics" and not KNOWN_TABLES[found["name"]]:
            raise bad_request(f"Table '{found['name']}' does not support the {chosen} plan.")
        if chosen == found["properties"]["plan"]:
            chosen = None
    if chosen is not None:
        refused = plan_change_refused(found, datetime.now(UTC))
        if refused:
            raise bad_request(refused)
    retention = {k: props[k] for k in ("retentionInDays", "totalRetentionInDays") if props.get(k) is not None}
    found["properties"]["provisioningState"] = "Updating"

    def done() -> None:
        if chosen is not None:
            found["properties"]["plan"] = chosen
            found["properties"]["lastPlanModifiedDate"] = iso(datetime.now(UTC))
        for name_, value in retention.items():
            found["properties"][name_] = value
            found["properties"][name_ + "AsDefault"] = False
        found["properties"]["provisioningState"] = "Succeeded"

    op_id = str(uuid.uuid4())
    sim.operations[op_id] = Operation(
        op_id,
        key(req.path),
        max(0, sim.lro_polls),
        now_text(),
        on_done=done,
        result=lambda: copy.deepcopy(found),
        ready_at=sim.clock() + sim.table_change_seconds,
    )
    workspace = sim.workspaces[key("/".join(req.path.split("/")[:9]))]
    result = f"{sim.base_url}{req.path}/operationresults/{op_id}?api-version={req.api_version}"
    headers = lro_headers(req, op_id, str(workspace["location"]), result=result, version=req.api_version)
    return Response(202, None, headers)


def table_operation_result(req: Request, sub: str, rg: str, name: str, table: str, op_id: str) -> Response:
    """``Location`` of a table change: 202 while it runs, then the table."""
    op = advance(req, op_id)
    if op.status == "InProgress":
        return Response(
            202, None, {"Location": f"{req.sim.base_url}{req.path}?api-version={req.api_version}", **retry_after(req)}
        )
    return Response(200, op.result() if op.result else None)


ROUTES = (
    Route("GET", WORKSPACE + "/tables/{table}", "tables", get_table),
    Route("PUT", WORKSPACE + "/tables/{table}", "tables", update_table),
    Route("PATCH", WORKSPACE + "/tables/{table}", "tables", update_table),
    Route("GET", WORKSPACE + "/tables/{table}/operationresults/{op_id}", "tables", table_operation_result),
)
