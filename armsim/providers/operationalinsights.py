"""Microsoft.OperationalInsights: workspaces (get, PUT long-running, DELETE) and their operations.

As real ARM answers (``../shared/azure-recordings``, api 2025-02-01): a PUT of a new workspace answers
201 ``Creating`` with ``Azure-AsyncOperation`` (``.../locations/{l}/operationstatuses/{id}?api-version=
2015-11-01-preview``) and ``Location`` (the workspace itself), and no ``Retry-After``
(``sim.lro_retry_after_ms`` adds ``Retry-After-Ms``: tests use it to scale polling down). The
operation answers ``InProgress`` (no ``endTime``) to ``sim.lro_polls`` polls, then ``Succeeded`` with
``endTime`` and ``properties: {}``, or as ``sim.lro_outcome`` says. A GET of the workspace advances its
creation like a poll. A PUT of an existing workspace is an update: 200, no long-running operation.
Workspaces carry an ``etag`` (new at every change) and no ``tags`` key when they have none. The same
operation URLs serve table changes (:mod:`armsim.providers.tables`).
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Mapping
from typing import Any

from armsim.errors import ArmError, bad_request, not_found, rg_not_found
from armsim.providers.resources import ResourcesSeeding, find_resource_group
from armsim.routing import Request, Response, Route
from armsim.state import Operation, key, now_text

API_VERSIONS: dict[str, tuple[str, ...]] = {
    "workspaces": ("2025-07-01",),  # azure-mgmt-loganalytics 14.0.0
    # the LRO status URLs armsim hands out: workspaces' say 2015-11-01-preview (as ARM's do), tables' their own
    "workspaceOperations": ("2025-07-01", "2015-11-01-preview"),
}
WORKSPACE = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.OperationalInsights/workspaces/{name}"
OPERATIONS = "/subscriptions/{sub}/providers/Microsoft.OperationalInsights/locations/{location}"
OPERATION_API_VERSION = "2015-11-01-preview"


def merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``update`` laid over it, objects merged key by key (as ARM merges ``features``,
    ``workspaceCapping``: a PUT that names one of their fields keeps the others)."""
    out = copy.deepcopy(base)
    for name, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(name), dict):
            out[name] = merge(out[name], value)
        else:
            out[name] = copy.deepcopy(value)
    return out


def new_etag() -> str:
    return f'"{uuid.uuid4()}"'


def workspace_answer(workspace: dict[str, Any]) -> dict[str, Any]:
    """A stored workspace as ARM answers it: no ``tags`` key when it has none."""
    answer = dict(workspace)
    if not answer.get("tags"):
        answer.pop("tags", None)
    return answer


_WORKSPACE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]$")


class WorkspaceSeeding(ResourcesSeeding):
    """Mixin of :class:`armsim.ArmSimulator`: Log Analytics workspaces."""

    def _init_state(self) -> None:
        super()._init_state()
        self.workspaces: dict[str, dict[str, Any]] = {}
        self.register_resources(self.workspaces)

    def add_workspace(
        self,
        subscription_id: str,
        resource_group: str,
        name: str,
        location: str,
        retention_in_days: int = 30,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        with self.lock:
            self.add_resource_group(subscription_id, resource_group, location)
            rid = (
                f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
                f"/providers/Microsoft.OperationalInsights/workspaces/{name}"
            )
            self.workspaces[key(rid)] = self.new_workspace_body(
                rid, name, location, {"sku": {"name": "PerGB2018"}, "retentionInDays": retention_in_days}, tags
            )
            return rid

    def new_workspace_body(
        self,
        rid: str,
        name: str,
        location: str,
        properties: Mapping[str, Any],
        tags: Mapping[str, str] | None,
        state: str = "Succeeded",
    ) -> dict[str, Any]:
        now = now_text()
        props = copy.deepcopy(dict(properties))
        for read_only in ("provisioningState", "customerId", "createdDate", "modifiedDate"):
            props.pop(read_only, None)
        sku = dict(props.pop("sku", None) or {"name": "PerGB2018"})
        sku.setdefault("lastSkuUpdate", now)
        body_props: dict[str, Any] = {
            "customerId": str(uuid.uuid5(uuid.NAMESPACE_URL, key(rid))),
            "provisioningState": state,
            "sku": sku,
            "retentionInDays": 30,
            "workspaceCapping": {
                "dailyQuotaGb": -1.0,
                "quotaNextResetTime": now,
                "dataIngestionStatus": "RespectQuota",
            },
            "publicNetworkAccessForIngestion": "Enabled",
            "publicNetworkAccessForQuery": "Enabled",
            "createdDate": now,
            "modifiedDate": now,
            "features": {"legacy": 0, "searchVersion": 1, "enableLogAccessUsingOnlyResourcePermissions": True},
        }
        body_props = merge(body_props, props)
        return {
            "id": rid,
            "name": name,
            "type": "Microsoft.OperationalInsights/workspaces",
            "location": location,
            "tags": dict(tags or {}),
            "properties": body_props,
            "etag": new_etag(),
        }

    def delete_workspace(self, workspace_id: str) -> None:
        with self.lock:
            self.workspaces.pop(key(workspace_id), None)

    def workspace_exists(self, workspace_id: str) -> bool:
        with self.lock:
            return key(workspace_id) in self.workspaces

    def get_workspace(self, workspace_id: str) -> dict[str, Any] | None:
        with self.lock:
            workspace = self.workspaces.get(key(workspace_id))
            return copy.deepcopy(workspace) if workspace else None


def retry_after(req: Request) -> dict[str, str]:
    """``Retry-After-Ms`` when the test scales polling down (real ARM sends no Retry-After here)."""
    ms = req.sim.lro_retry_after_ms
    return {} if ms is None else {"Retry-After-Ms": str(ms)}


def lro_headers(req: Request, op_id: str, location: str, *, result: str, version: str) -> dict[str, str]:
    """``Azure-AsyncOperation`` (the operation's status, with api-version ``version``) and ``Location``
    (``result``: an absolute URL), as ARM sends them: no Retry-After unless the test scales polling down."""
    sim = req.sim
    base = f"{sim.base_url}/subscriptions/{req.segments[1]}/providers/Microsoft.OperationalInsights/locations/"
    region = location.replace(" ", "").lower()
    return {
        "Azure-AsyncOperation": f"{base}{region}/operationstatuses/{op_id}?api-version={version}",
        "Location": result,
        **retry_after(req),
    }


def get_workspace(req: Request, sub: str, rg: str, name: str) -> Response:
    sim = req.sim
    if find_resource_group(sim, sub, rg) is None:
        raise rg_not_found(rg)
    found = sim.workspaces.get(key(req.path))
    if found is None:
        raise not_found("Microsoft.OperationalInsights/workspaces", name, rg)
    # A creation goes on whether or not anyone polls its operation: a read of the workspace
    # advances it like a poll (so a client that lost the operation URL still sees it finish).
    for op in list(sim.operations.values()):
        if op.resource_key == key(req.path) and op.status == "InProgress":
            advance(req, op.id)
    return Response(200, workspace_answer(found))


def delete_workspace(req: Request, sub: str, rg: str, name: str) -> Response:
    found = req.sim.workspaces.pop(key(req.path), None)
    return Response(200 if found else 204)


def put_workspace(req: Request, sub: str, rg: str, name: str) -> Response:
    sim = req.sim
    if not _WORKSPACE_NAME.match(name):
        raise bad_request(
            f"Workspace name '{name}' is invalid: 4-63 letters, digits or '-', starting and ending with a letter "
            "or digit.",
            "InvalidParameter",
        )
    rg_json = find_resource_group(sim, sub, rg)
    if rg_json is None:
        raise rg_not_found(rg)
    body = req.json_body()
    req.validate("workspace", body)
    props = body.get("properties") or {}
    sku = (props.get("sku") or {}).get("name")
    if not sku:
        raise bad_request("properties.sku.name is required.", "InvalidParameter")
    retention = props.get("retentionInDays")
    if retention is not None and not 30 <= retention <= 730:
        raise bad_request(
            f"retentionInDays {retention} is out of range: PerGB2018 workspaces keep data 30 to 730 days.",
            "InvalidParameter",
        )
    rid = f"{rg_json['id']}/providers/Microsoft.OperationalInsights/workspaces/{name}"
    k = key(rid)
    existing = sim.workspaces.get(k)
    if existing is not None:
        if existing["location"].lower() != str(body["location"]).lower():
            raise bad_request(
                f"The location of workspace '{name}' cannot be changed from '{existing['location']}'.",
                "InvalidLocation",
            )
        before = existing["properties"]
        merged = merge(before, {k2: v for k2, v in props.items() if k2 not in ("provisioningState", "customerId")})
        if "sku" in props and props["sku"] != before.get("sku"):
            merged["sku"] = {**props["sku"], "lastSkuUpdate": now_text()}
        merged["modifiedDate"] = now_text()
        existing["properties"] = merged
        existing["etag"] = new_etag()
        if "tags" in body:
            existing["tags"] = dict(body.get("tags") or {})
        return Response(200, workspace_answer(existing))
    workspace = sim.new_workspace_body(rid, name, str(body["location"]), props, body.get("tags"), state="Creating")
    sim.workspaces[k] = workspace
    op_id = str(uuid.uuid4())
    ready_at = sim.clock() + sim.workspace_creation_seconds
    sim.operations[op_id] = Operation(op_id, k, max(0, sim.lro_polls), now_text(), ready_at=ready_at)
    itself = f"{sim.base_url}{rid}?api-version={req.api_version}"
    headers = lro_headers(req, op_id, str(body["location"]), result=itself, version=OPERATION_API_VERSION)
    return Response(201, workspace_answer(workspace), headers)


def advance(req: Request, op_id: str) -> Operation:
    """One poll of an operation: count down its InProgress answers and wait for its time, then end it."""
    sim = req.sim
    op = sim.operations.get(op_id)
    if op is None:
        raise ArmError(404, "OperationNotFound", f"The operation '{op_id}' was not found.")
    running = op.remaining > 0 or sim.clock() < op.ready_at
    if op.status == "InProgress" and op.on_done is not None:
        if running:
            op.remaining = max(0, op.remaining - 1)
        else:
            op.status = "Succeeded"
            op.on_done()
        return op
    if op.status == "InProgress" and sim.lro_outcome != "never":
        if running:
            op.remaining = max(0, op.remaining - 1)
        else:
            op.status = "Succeeded"
            workspace = sim.workspaces.get(op.resource_key)
            if workspace is None:
                op.status = "Failed"
            elif sim.lro_outcome == "Failed":
                op.status = "Failed"
                workspace["properties"]["provisioningState"] = "Failed"
            else:
                workspace["properties"]["provisioningState"] = "Succeeded"
                workspace["properties"]["modifiedDate"] = now_text()
                workspace["etag"] = new_etag()
    return op


def operation_status(req: Request, sub: str, location: str, op_id: str) -> Response:
    sim = req.sim
    op = advance(req, op_id)
    body: dict[str, Any] = {"id": req.path, "name": op_id, "status": op.status, "startTime": op.started}
    headers = None
    if op.status == "InProgress":
        headers = retry_after(req)
    else:
        body["endTime"] = now_text()
        body["properties"] = {}
    if op.status == "Failed":
        if op.resource_key in sim.workspaces:
            body["error"] = {"code": "InternalServerError", "message": "The workspace could not be provisioned."}
        else:
            body["error"] = {"code": "ResourceNotFound", "message": "The workspace was deleted while it was created."}
    return Response(200, body, headers)


def operation_result(req: Request, sub: str, location: str, op_id: str) -> Response:
    sim = req.sim
    op = advance(req, op_id)
    if op.status == "InProgress":
        url = f"{sim.base_url}{req.path}?api-version={req.api_version}"
        return Response(202, None, {"Location": url, **retry_after(req)})
    if op.result is not None:
        return Response(200, op.result())
    workspace = sim.workspaces.get(op.resource_key)
    return Response(200, workspace_answer(workspace)) if workspace else Response(204)


ROUTES = (
    Route("GET", WORKSPACE, "workspaces", get_workspace),
    Route("PUT", WORKSPACE, "workspaces", put_workspace),
    Route("DELETE", WORKSPACE, "workspaces", delete_workspace),
    Route("GET", OPERATIONS + "/operationStatuses/{op_id}", "workspaceOperations", operation_status),
    Route("GET", OPERATIONS + "/operationResults/{op_id}", "workspaceOperations", operation_result),
)
