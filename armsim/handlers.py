"""HTTP handling, routing and ARM semantics of the simulator. All errors use the ARM ``{"error": {...}}`` shape."""

from __future__ import annotations

import contextlib
import copy
import json
import re
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from armsim.errors import FAULT_CODES, ArmError, bad_request
from armsim.logs import LOGS_PREFIX, LogsDispatcher
from armsim.logs import error_body as logs_error_body
from armsim.simulator import IDENTITY_PATH, WRITE_METHODS, Operation, RecordedRequest, _now, key, resource_type_of
from armsim.throttle import Admission, throttled_message

if TYPE_CHECKING:
    from armsim.simulator import ArmSimulator

IDENTITY_API_VERSION = "2019-08-01"
# api-versions accepted per operation group: exactly what the pinned SDKs send.
SUPPORTED_API_VERSIONS: dict[str, tuple[str, ...]] = {
    "subscriptions": ("2022-12-01",),  # azure-mgmt-resource-subscriptions 1.0.0
    "resourceGroups": ("2025-04-01",),  # azure-mgmt-resource 26.0.0
    "managedClusters": ("2026-08-01",),  # azure-mgmt-containerservice 41.8.0
    "workspaces": ("2025-07-01",),  # azure-mgmt-loganalytics 14.0.0
    "workspaceOperations": ("2025-07-01",),  # the LRO status URLs armsim hands out
    "tables": ("2025-07-01",),  # azure-mgmt-loganalytics 14.0.0 (spec not vendored: the SDK's models)
    "diagnosticSettings": ("2021-05-01-preview",),  # azure-mgmt-monitor 6.0.2
    "diagnosticSettingsCategories": ("2021-05-01-preview",),
}
MAX_SETTINGS = 5
NOT_FOUND_HINT = "For more details please go to https://aka.ms/ARMResourceNotFoundFix"
RETENTION_MESSAGE = "Diagnostic settings does not support retention for new diagnostic settings."
_WORKSPACE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]$")
_RG_NAME = re.compile(r"^[-\w._()]{1,90}$")
SINKS = ("workspaceId", "storageAccountId", "eventHubAuthorizationRuleId", "marketplacePartnerId")


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] | None = None


@dataclass
class Route:
    group: str  # key of SUPPORTED_API_VERSIONS
    action: str  # handler name
    params: dict[str, str]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "armsim/1.0"
    timeout = 30
    # Answer in one segment, at once: TCP_NODELAY on the connection, and status line, headers and body
    # buffered into a single write (flushed by handle_one_request). Without both, every response waits
    # for the client's delayed ACK (about 40 ms on loopback) between the headers and the body.
    disable_nagle_algorithm = True
    wbufsize = 256 * 1024

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    @property
    def sim(self) -> ArmSimulator:
        return self.server.sim  # type: ignore[attr-defined,no-any-return]

    def do_GET(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    # ------------------------------------------------------------------ plumbing
    def _handle(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        body_error: str | None = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError as exc:
                body_error = str(exc)
        kind = "identity" if key(path) == IDENTITY_PATH else "logs" if key(path).startswith(LOGS_PREFIX) else "arm"
        record = RecordedRequest(
            method=self.command,
            path=path,
            query=query,
            status=None,
            body=body,
            headers=dict(self.headers.items()),
            kind=kind,
        )
        self._admission: Admission | None = None
        if kind == "arm":
            if self.sim.latency > 0:
                time.sleep(self.sim.latency)
            if self._throttled(record, path):
                return
        fault = self.sim.take_fault(self.command, path, kind)
        if fault is not None:
            if fault.hang:  # an endpoint that accepts the request and never answers
                self.sim.record(record)
                self.sim.stopping.wait()
                self.close_connection = True
                return
            if fault.latency:
                time.sleep(fault.latency)
            if fault.before is not None:
                fault.before()
            if fault.apply_first and kind == "arm":
                # The request takes effect; only its answer is lost (or replaced by the fault's).
                record.applied = self._dispatch(path, query, body, body_error).status
            if fault.drop_connection:
                self.sim.record(record)
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            if fault.status is not None:
                code = fault.code or FAULT_CODES.get(fault.status, "InternalServerError")
                message = fault.message or f"armsim injected fault: {fault.status} {code}."
                headers = {}
                if fault.retry_after is not None:
                    headers["Retry-After"] = _number(fault.retry_after)
                if kind == "identity":  # the App Service identity endpoint's own error shape
                    self._send(
                        record, Response(fault.status, {"statusCode": fault.status, "message": message}, headers)
                    )
                    return
                self._send(record, Response(fault.status, ArmError(fault.status, code, message).body(), headers))
                return
        if kind == "identity":
            response = self._identity(query)
        elif kind == "logs":
            try:
                status, answer = LogsDispatcher(self.sim, self.command, path, body, body_error, self.headers).run()
                response = Response(status, answer)
            except ArmError as exc:
                response = Response(exc.status, logs_error_body(exc), exc.headers)
        else:
            response = self._dispatch(path, query, body, body_error)
        self._send(record, response)

    def _dispatch(self, path: str, query: dict[str, str], body: Any, body_error: str | None) -> Response:
        try:
            return Dispatcher(self.sim, self.command, path, query, body, body_error, self.headers).run()
        except ArmError as exc:
            return Response(exc.status, exc.body(), exc.headers)

    def _throttled(self, record: RecordedRequest, path: str) -> bool:
        """ARM's token bucket for this caller: take a token, or answer 429 TooManyRequests."""
        sim = self.sim
        caller = sim.principal_of(self.headers.get("Authorization"))
        principal = caller[0] if caller else ""
        record.principal = caller[0] if caller else None
        segments = [s for s in path.split("/") if s]
        subscription = segments[1] if len(segments) >= 2 and segments[0].lower() == "subscriptions" else None
        admit = sim.throttle.admit if caller else sim.throttle.peek
        self._admission = admit(
            method=self.command, subscription_id=subscription, tenant_id=sim.tenant_id, principal=principal
        )
        if self._admission.allowed:
            return False
        error = ArmError(429, "TooManyRequests", throttled_message(self._admission, principal, sim.tenant_id))
        self._send(record, Response(429, error.body()))
        return True

    def _send(self, record: RecordedRequest, response: Response) -> None:
        payload = b""
        if response.body is not None and self.command != "HEAD":
            payload = json.dumps(response.body).encode("utf-8")
        self.send_response(response.status)
        request_id = str(uuid.uuid4())
        self.send_header("x-ms-request-id", request_id)
        self.send_header("x-ms-correlation-request-id", request_id)
        if self._admission is not None:
            for name, value in self._admission.headers.items():
                self.send_header(name, value)
        for name, value in (response.headers or {}).items():
            self.send_header(name, value)
        if payload:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        # Record before the response leaves: a client that has its answer finds its request in the log.
        record.answered = time.monotonic()
        record.status = response.status
        record.response = response.body
        self.sim.record(record)
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def _identity(self, query: dict[str, str]) -> Response:
        """App Service / Functions managed identity (``IDENTITY_ENDPOINT`` protocol, api-version 2019-08-01)."""
        if self.headers.get("X-IDENTITY-HEADER") != self.sim.identity_header:
            return Response(401, {"statusCode": 401, "message": "X-IDENTITY-HEADER is missing or invalid."})
        if query.get("api-version") != IDENTITY_API_VERSION:
            return Response(400, {"statusCode": 400, "message": f"api-version must be {IDENTITY_API_VERSION}."})
        resource = query.get("resource")
        if not resource:
            return Response(400, {"statusCode": 400, "message": "The 'resource' query parameter is required."})
        token, expires_on = self.sim.issue_token(resource)
        return Response(
            200,
            {
                "access_token": token,
                "expires_on": str(expires_on),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": self.sim.client_id,
            },
        )


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _not_found(type_name: str, name: str, resource_group: str) -> ArmError:
    return ArmError(
        404,
        "ResourceNotFound",
        f"The Resource '{type_name}/{name}' under resource group '{resource_group}' was not found. {NOT_FOUND_HINT}",
    )


def _rg_not_found(name: str) -> ArmError:
    return ArmError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")


def _under(path_key: str, scope_key: str) -> bool:
    return path_key == scope_key or path_key.startswith(scope_key + "/")


class Dispatcher:
    """One ARM request: authenticate, route, check api-version, RBAC and locks, then act."""

    def __init__(
        self,
        sim: ArmSimulator,
        method: str,
        path: str,
        query: dict[str, str],
        body: Any,
        body_error: str | None,
        headers: Any,
    ) -> None:
        self.sim = sim
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.body_error = body_error
        self.headers = headers
        self.segments = [s for s in path.split("/") if s]
        self.lower = [s.lower() for s in self.segments]

    # ------------------------------------------------------------------ pipeline
    def run(self) -> Response:
        self._authenticate()
        api_version = self.query.get("api-version")
        if not api_version:
            raise ArmError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        route = self._route()
        supported = SUPPORTED_API_VERSIONS[route.group]
        if api_version not in supported:
            raise ArmError(
                400,
                "InvalidApiVersionParameter",
                f"The api-version '{api_version}' is invalid. The supported versions are '{','.join(supported)}'.",
            )
        with self.sim.lock:
            self._check_scope(route)
            handler = getattr(self, route.action)
            return handler(**route.params)  # type: ignore[no-any-return]

    def _authenticate(self) -> None:
        header = self.headers.get("Authorization") or ""
        challenge = (
            f'Bearer authorization_uri="https://login.microsoftonline.com/{self.sim.tenant_id}", '
            f'error="invalid_token", error_description="The authentication failed because of missing or invalid token."'
        )
        fail_headers = {"WWW-Authenticate": challenge}
        if not header.lower().startswith("bearer ") or not header[7:].strip():
            raise ArmError(
                401,
                "InvalidAuthenticationToken",
                "The 'Authorization' header is missing or is not a Bearer token.",
                fail_headers,
            )
        token = header[7:].strip()
        with self.sim.lock:
            issued = self.sim.tokens.get(token)
        if issued is None or issued[1] < time.time():
            raise ArmError(401, "InvalidAuthenticationToken", "The access token is invalid or expired.", fail_headers)
        audience = issued[0].rstrip("/").lower()
        if audience.removesuffix("/.default") != self.sim.base_url.lower():
            raise ArmError(
                401,
                "InvalidAuthenticationToken",
                f"The access token has been obtained for wrong audience or resource '{issued[0]}'. "
                f"It should exactly match with one of the allowed audiences '{self.sim.base_url}/'.",
                fail_headers,
            )

    def _route(self) -> Route:
        s, lo, m = self.segments, self.lower, self.method
        n = len(lo)
        if lo == ["subscriptions"] and m == "GET":
            return Route("subscriptions", "list_subscriptions", {})
        if n == 2 and lo[0] == "subscriptions" and m == "GET":
            return Route("subscriptions", "get_subscription", {"sub": s[1]})
        if n >= 2 and lo[0] == "subscriptions":
            # {resourceUri}/providers/Microsoft.Insights/...
            for i in range(2, n - 2):
                if lo[i] == "providers" and lo[i + 1] == "microsoft.insights":
                    resource = "/" + "/".join(s[:i])
                    rest = lo[i + 2 :]
                    if rest == ["diagnosticsettings"] and m == "GET":
                        return Route("diagnosticSettings", "list_settings", {"resource": resource})
                    if len(rest) == 2 and rest[0] == "diagnosticsettings" and m in ("GET", "PUT", "DELETE"):
                        action = {"GET": "get_setting", "PUT": "put_setting", "DELETE": "delete_setting"}[m]
                        return Route("diagnosticSettings", action, {"resource": resource, "name": s[i + 3]})
                    if rest == ["diagnosticsettingscategories"] and m == "GET":
                        return Route("diagnosticSettingsCategories", "list_categories", {"resource": resource})
                    if len(rest) == 2 and rest[0] == "diagnosticsettingscategories" and m == "GET":
                        return Route(
                            "diagnosticSettingsCategories", "get_category", {"resource": resource, "name": s[i + 3]}
                        )
                    break
            sub = s[1]
            if lo[2:] == ["providers", "microsoft.containerservice", "managedclusters"] and m == "GET":
                return Route("managedClusters", "list_clusters", {"sub": sub, "rg": ""})
            if (
                n == 8
                and lo[2:5] == ["providers", "microsoft.operationalinsights", "locations"]
                and lo[6] in ("operationstatuses", "operationresults")
                and m == "GET"
            ):
                action = "operation_status" if lo[6] == "operationstatuses" else "operation_result"
                return Route("workspaceOperations", action, {"op_id": s[7]})
            if n >= 4 and lo[2] == "resourcegroups":
                rg = s[3]
                if n == 4 and m in ("GET", "HEAD", "PUT"):
                    action = {"GET": "get_rg", "HEAD": "head_rg", "PUT": "put_rg"}[m]
                    return Route("resourceGroups", action, {"sub": sub, "rg": rg})
                tail = lo[4:]
                if tail == ["providers", "microsoft.containerservice", "managedclusters"] and m == "GET":
                    return Route("managedClusters", "list_clusters", {"sub": sub, "rg": rg})
                if n == 8 and tail[:3] == ["providers", "microsoft.containerservice", "managedclusters"] and m == "GET":
                    return Route("managedClusters", "get_cluster", {"sub": sub, "rg": rg, "name": s[7]})
                if (
                    n == 10
                    and tail[:3] == ["providers", "microsoft.operationalinsights", "workspaces"]
                    and lo[8] == "tables"
                ):
                    action = {"GET": "get_table", "PUT": "update_table", "PATCH": "update_table"}.get(m)
                    if action:
                        return Route("tables", action, {"sub": sub, "rg": rg, "name": s[7], "table": s[9]})
                if n == 8 and tail[:3] == ["providers", "microsoft.operationalinsights", "workspaces"]:
                    action = {"GET": "get_workspace", "PUT": "put_workspace", "DELETE": "delete_workspace"}.get(m)
                    if action:
                        return Route("workspaces", action, {"sub": sub, "rg": rg, "name": s[7]})
        raise ArmError(
            404,
            "InvalidResourceType",
            f"armsim does not serve {self.method} {self.path} (no such resource type or operation).",
        )

    def _check_scope(self, route: Route) -> None:
        sim = self.sim
        if route.group == "subscriptions" and route.action == "list_subscriptions":
            return
        sub_key = key("/".join(self.segments[:2]))
        if sub_key not in sim.subscriptions:
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{self.segments[1]}' could not be found.")
        path_key = key(self.path)
        denied = sub_key in sim.forbidden_subscriptions or any(_under(path_key, f) for f in sim.forbidden_resources)
        if not denied and sim.forbidden_actions:
            action = self._action_name().lower()
            denied = any(a == action and _under(path_key, scope) for a, scope in sim.forbidden_actions)
        if not denied:
            denied = not sim.is_granted(self._action_name(), path_key)
        if denied:
            raise ArmError(
                403,
                "AuthorizationFailed",
                f"The client '{sim.principal_id}' with object id '{sim.principal_id}' does not have authorization to "
                f"perform action '{self._action_name()}' over scope '{self.path}' or the scope is invalid. "
                "If access was recently granted, please refresh your credentials.",
            )
        if self.method in WRITE_METHODS:
            locked = [lk for lk in sim.locks if _under(path_key, lk)]
            if locked:
                scopes = ",".join(f"'{sim.resource_spelling(lk) or lk}'" for lk in sorted(locked))
                raise ArmError(
                    409,
                    "ScopeLocked",
                    f"The scope '{self.path}' cannot perform write operation because following scope(s) are locked: "
                    f"{scopes}. Please remove the lock and try again.",
                )

    def _action_name(self) -> str:
        resource_type = resource_type_of(self.path)
        verb = {"GET": "read", "HEAD": "read", "DELETE": "delete"}.get(self.method, "write")
        return f"{resource_type}/{verb}"

    def _json_body(self) -> dict[str, Any]:
        if self.body_error is not None or not isinstance(self.body, dict):
            detail = self.body_error or "the request body must be a JSON object"
            raise ArmError(
                400, "InvalidRequestContent", f"The request content was invalid and could not be deserialized: {detail}"
            )
        return self.body

    def _validate(self, kind: str, body: dict[str, Any]) -> None:
        errors = self.sim.validator.errors(kind, body)
        if errors:
            raise ArmError(
                400,
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: " + "; ".join(errors[:5]),
            )

    # ------------------------------------------------------------------ subscriptions & resource groups
    def list_subscriptions(self) -> Response:
        visible = [
            dict(v)
            for k, v in self.sim.subscriptions.items()
            if self.sim.is_granted("Microsoft.Resources/subscriptions/read", k)
        ]
        return Response(200, {"value": visible})

    def get_subscription(self, sub: str) -> Response:
        return Response(200, dict(self.sim.subscriptions[key(f"/subscriptions/{sub}")]))

    def _rg(self, sub: str, rg: str) -> dict[str, Any] | None:
        return self.sim.resource_groups.get(key(f"/subscriptions/{sub}/resourceGroups/{rg}"))

    def get_rg(self, sub: str, rg: str) -> Response:
        found = self._rg(sub, rg)
        if found is None:
            raise _rg_not_found(rg)
        return Response(200, dict(found))

    def head_rg(self, sub: str, rg: str) -> Response:
        return Response(204 if self._rg(sub, rg) is not None else 404)

    def put_rg(self, sub: str, rg: str) -> Response:
        body = self._json_body()
        if not _RG_NAME.match(rg) or rg.endswith("."):
            raise bad_request(f"Resource group name '{rg}' is invalid.", "InvalidResourceGroup")
        if not body.get("location"):
            raise bad_request("The location property is required for this definition.", "LocationRequired")
        existing = self._rg(sub, rg)
        if existing is not None:
            if "tags" in body:
                existing["tags"] = dict(body.get("tags") or {})
            return Response(200, dict(existing))
        rid = self.sim.add_resource_group(self.segments[1], rg, str(body["location"]), body.get("tags"))
        return Response(201, dict(self.sim.resource_groups[key(rid)]))

    # ------------------------------------------------------------------ managed clusters
    def list_clusters(self, sub: str, rg: str) -> Response:
        if rg and self._rg(sub, rg) is None:
            raise _rg_not_found(rg)
        prefix = key(f"/subscriptions/{sub}/resourceGroups/{rg}" if rg else f"/subscriptions/{sub}") + "/"
        clusters = [c for k, c in self.sim.clusters.items() if k.startswith(prefix)]
        try:
            skip = int(self.query.get("$skipToken") or 0)
        except ValueError:
            raise bad_request("The $skipToken is invalid.", "InvalidSkipToken") from None
        size = max(1, self.sim.page_size)
        page = clusters[skip : skip + size]
        body: dict[str, Any] = {"value": [dict(c) for c in page]}
        if skip + size < len(clusters):
            body["nextLink"] = (
                f"{self.sim.base_url}{self.path}?api-version={self.query['api-version']}&$skipToken={skip + size}"
            )
        return Response(200, body)

    def get_cluster(self, sub: str, rg: str, name: str) -> Response:
        if self._rg(sub, rg) is None:
            raise _rg_not_found(rg)
        found = self.sim.clusters.get(key(self.path))
        if found is None:
            raise _not_found("Microsoft.ContainerService/managedClusters", name, rg)
        response = Response(200, copy.deepcopy(found))
        self.sim.cluster_read(key(self.path))
        return response

    # ------------------------------------------------------------------ workspaces (PUT is long-running)
    def get_workspace(self, sub: str, rg: str, name: str) -> Response:
        if self._rg(sub, rg) is None:
            raise _rg_not_found(rg)
        found = self.sim.workspaces.get(key(self.path))
        if found is None:
            raise _not_found("Microsoft.OperationalInsights/workspaces", name, rg)
        # A creation goes on whether or not anyone polls its operation: a read of the workspace
        # advances it like a poll (so a client that lost the operation URL still sees it finish).
        for op in list(self.sim.operations.values()):
            if op.resource_key == key(self.path) and op.status == "InProgress":
                self._advance(op.id)
        return Response(200, dict(found))

    def delete_workspace(self, sub: str, rg: str, name: str) -> Response:
        found = self.sim.workspaces.pop(key(self.path), None)
        return Response(200 if found else 204)

    def put_workspace(self, sub: str, rg: str, name: str) -> Response:
        sim = self.sim
        if not _WORKSPACE_NAME.match(name):
            raise bad_request(
                f"Workspace name '{name}' is invalid: 4-63 letters, digits or '-', starting and ending with a letter "
                "or digit.",
                "InvalidParameter",
            )
        rg_json = self._rg(sub, rg)
        if rg_json is None:
            raise _rg_not_found(rg)
        body = self._json_body()
        self._validate("workspace", body)
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
            merged = dict(existing["properties"])
            merged.update({k2: v for k2, v in props.items() if k2 not in ("provisioningState", "customerId")})
            merged["modifiedDate"] = _now()
            existing["properties"] = merged
            if "tags" in body:
                existing["tags"] = dict(body.get("tags") or {})
            return Response(200, dict(existing))
        workspace = sim.new_workspace_body(rid, name, str(body["location"]), props, body.get("tags"), state="Creating")
        sim.workspaces[k] = workspace
        op_id = str(uuid.uuid4())
        sim.operations[op_id] = Operation(op_id, k, max(0, sim.lro_polls), _now())
        base = f"{sim.base_url}/subscriptions/{self.segments[1]}/providers/Microsoft.OperationalInsights/locations/"
        location = str(body["location"]).replace(" ", "").lower()
        version = self.query["api-version"]
        headers = {
            "Azure-AsyncOperation": f"{base}{location}/operationStatuses/{op_id}?api-version={version}",
            "Location": f"{base}{location}/operationResults/{op_id}?api-version={version}",
            "Retry-After-Ms": str(sim.lro_retry_after_ms),
        }
        return Response(201, dict(workspace), headers)

    # ------------------------------------------------------------------ workspace tables (plan changes are long-running)
    def _table(self, sub: str, rg: str, name: str, table: str) -> dict[str, Any]:
        if self._rg(sub, rg) is None:
            raise _rg_not_found(rg)
        workspace_id = "/".join(self.path.split("/")[:9])
        if key(workspace_id) not in self.sim.workspaces:
            raise _not_found("Microsoft.OperationalInsights/workspaces", name, rg)
        found = self.sim.table(workspace_id, table)
        if found is None:
            raise ArmError(404, "ResourceNotFound", f"The table '{table}' was not found in workspace '{name}'.")
        return found

    def get_table(self, sub: str, rg: str, name: str, table: str) -> Response:
        return Response(200, copy.deepcopy(self._table(sub, rg, name, table)))

    def update_table(self, sub: str, rg: str, name: str, table: str) -> Response:
        from armsim.tables import KNOWN_TABLES, PLANS, iso, plan_change_refused

        found = self._table(sub, rg, name, table)
        body = self._json_body()
        plan = (body.get("properties") or {}).get("plan")
        if plan is None:
            return Response(200, copy.deepcopy(found))
        chosen = next((p for p in PLANS if p.lower() == str(plan).lower()), None)
        if chosen is None:
            raise bad_request(f"Invalid plan '{plan}': expected one of {', '.join(PLANS)}.", "InvalidParameter")
        if chosen != "Analytics" and not KNOWN_TABLES[found["name"]]:
            raise bad_request(f"Table '{found['name']}' does not support the {chosen} plan.")
        if chosen == found["properties"]["plan"]:
            return Response(200, copy.deepcopy(found))
        refused = plan_change_refused(found, datetime.now(UTC))
        if refused:
            raise bad_request(refused)
        sim = self.sim
        found["properties"]["provisioningState"] = "Updating"

        def done() -> None:
            found["properties"]["plan"] = chosen
            found["properties"]["lastPlanModifiedDate"] = iso(datetime.now(UTC))
            found["properties"]["provisioningState"] = "Succeeded"

        op_id = str(uuid.uuid4())
        sim.operations[op_id] = Operation(
            op_id, key(self.path), max(0, sim.lro_polls), _now(), on_done=done, result=lambda: copy.deepcopy(found)
        )
        workspace = sim.workspaces[key("/".join(self.path.split("/")[:9]))]
        base = f"{sim.base_url}/subscriptions/{self.segments[1]}/providers/Microsoft.OperationalInsights/locations/"
        location = str(workspace["location"]).replace(" ", "").lower()
        version = self.query["api-version"]
        headers = {
            "Azure-AsyncOperation": f"{base}{location}/operationStatuses/{op_id}?api-version={version}",
            "Location": f"{base}{location}/operationResults/{op_id}?api-version={version}",
            "Retry-After-Ms": str(sim.lro_retry_after_ms),
        }
        return Response(202, None, headers)

    def _advance(self, op_id: str) -> Operation:
        op = self.sim.operations.get(op_id)
        if op is None:
            raise ArmError(404, "OperationNotFound", f"The operation '{op_id}' was not found.")
        if op.status == "InProgress" and op.on_done is not None:
            if op.remaining > 0:
                op.remaining -= 1
            else:
                op.status = "Succeeded"
                op.on_done()
            return op
        if op.status == "InProgress" and self.sim.lro_outcome != "never":
            if op.remaining > 0:
                op.remaining -= 1
            else:
                op.status = "Succeeded"
                workspace = self.sim.workspaces.get(op.resource_key)
                if workspace is None:
                    op.status = "Failed"
                elif self.sim.lro_outcome == "Failed":
                    op.status = "Failed"
                    workspace["properties"]["provisioningState"] = "Failed"
                else:
                    workspace["properties"]["provisioningState"] = "Succeeded"
        return op

    def operation_status(self, op_id: str) -> Response:
        op = self._advance(op_id)
        body: dict[str, Any] = {"id": self.path, "name": op_id, "status": op.status, "startTime": op.started}
        headers = None
        if op.status == "InProgress":
            headers = {"Retry-After-Ms": str(self.sim.lro_retry_after_ms)}
        else:
            body["endTime"] = _now()
        if op.status == "Failed":
            if op.resource_key in self.sim.workspaces:
                body["error"] = {"code": "InternalServerError", "message": "The workspace could not be provisioned."}
            else:
                body["error"] = {
                    "code": "ResourceNotFound",
                    "message": "The workspace was deleted while it was created.",
                }
        return Response(200, body, headers)

    def operation_result(self, op_id: str) -> Response:
        op = self._advance(op_id)
        if op.status == "InProgress":
            url = f"{self.sim.base_url}{self.path}?api-version={self.query['api-version']}"
            return Response(202, None, {"Location": url, "Retry-After-Ms": str(self.sim.lro_retry_after_ms)})
        if op.result is not None:
            return Response(200, op.result())
        workspace = self.sim.workspaces.get(op.resource_key)
        return Response(200, dict(workspace)) if workspace else Response(204)

    # ------------------------------------------------------------------ diagnostic settings
    def _parent(self, resource: str) -> str:
        spelling = self.sim.resource_spelling(resource)
        if spelling is None or not key(resource).count("/providers/"):
            parts = [p for p in resource.split("/") if p]
            type_name = "/".join(parts[5:7]) if len(parts) >= 7 else resource_type_of(resource)
            rg = parts[3] if len(parts) > 3 else ""
            if len(parts) > 3 and self._rg(parts[1], rg) is None:
                raise _rg_not_found(rg)
            raise _not_found(type_name, parts[-1] if parts else "", rg)
        return spelling

    def list_settings(self, resource: str) -> Response:
        self._parent(resource)
        values = list(self.sim.diagnostic_settings.get(key(resource), {}).values())
        return Response(200, {"value": values})

    def get_setting(self, resource: str, name: str) -> Response:
        self._parent(resource)
        found = self.sim.diagnostic_settings.get(key(resource), {}).get(name.lower())
        if found is None:
            raise ArmError(404, "ResourceNotFound", f"The diagnostic setting '{name}' doesn't exist. {NOT_FOUND_HINT}")
        return Response(200, found)

    def delete_setting(self, resource: str, name: str) -> Response:
        self._parent(resource)
        found = self.sim.diagnostic_settings.get(key(resource), {}).pop(name.lower(), None)
        return Response(200 if found else 204)

    def list_categories(self, resource: str) -> Response:
        parent = self._parent(resource)
        return Response(200, {"value": self._categories(parent)})

    def get_category(self, resource: str, name: str) -> Response:
        parent = self._parent(resource)
        for item in self._categories(parent):
            if item["name"].lower() == name.lower():
                return Response(200, item)
        raise ArmError(404, "ResourceNotFound", f"The diagnostic settings category '{name}' doesn't exist.")

    def _categories(self, parent: str) -> list[dict[str, Any]]:
        table = self.sim.category_table(resource_type_of(parent))
        base = f"{parent}/providers/microsoft.insights/diagnosticSettingsCategories/"
        items: list[dict[str, Any]] = []
        for category in table.logs:
            props = {"categoryType": "Logs", "categoryGroups": table.groups_of(category)}
            items.append(
                {
                    "id": base + category,
                    "type": "microsoft.insights/diagnosticSettingsCategories",
                    "name": category,
                    "properties": props,
                }
            )
        for metric in table.metrics:
            items.append(
                {
                    "id": base + metric,
                    "type": "microsoft.insights/diagnosticSettingsCategories",
                    "name": metric,
                    "properties": {"categoryType": "Metrics"},
                }
            )
        return items

    def put_setting(self, resource: str, name: str) -> Response:
        sim = self.sim
        parent = self._parent(resource)
        body = self._json_body()
        self._validate("diagnosticSettings", body)
        props = body.get("properties") or {}
        table = sim.category_table(resource_type_of(parent))
        for entry in props.get("logs") or []:
            category, group = entry.get("category"), entry.get("categoryGroup")
            if bool(category) == bool(group):
                raise bad_request(
                    "Each log setting must specify exactly one of 'category' or 'categoryGroup'; got "
                    f"{json.dumps({k: entry.get(k) for k in ('category', 'categoryGroup')})}."
                )
            if category and table.find_log(category) is None:
                raise bad_request(
                    f"Category '{category}' is not supported for resource type '{resource_type_of(parent)}'."
                )
            if group and table.find_group(group) is None:
                raise bad_request(
                    f"Category group '{group}' is not supported for resource type '{resource_type_of(parent)}'."
                )
            self._check_retention(entry)
        for entry in props.get("metrics") or []:
            category = entry.get("category")
            if category and table.find_metric(category) is None:
                raise bad_request(
                    f"Metric category '{category}' is not supported for resource type '{resource_type_of(parent)}'."
                )
            self._check_retention(entry)
        if not any(props.get(sink) for sink in SINKS):
            raise bad_request(
                "A diagnostic setting needs at least one destination: workspaceId, storageAccountId, "
                "eventHubAuthorizationRuleId or marketplacePartnerId."
            )
        existing = sim.diagnostic_settings.setdefault(key(resource), {})
        if name.lower() not in existing and len(existing) >= MAX_SETTINGS:
            raise bad_request(
                f"The resource '{parent}' already has {len(existing)} diagnostic settings; at most {MAX_SETTINGS} "
                "are allowed per resource."
            )
        self._check_workspace_link(props.get("workspaceId"))
        self._check_sink_reuse(existing, name, props, table)
        previous = existing.get(name.lower())
        stored_name = previous["name"] if previous else name
        stored = sim.setting_json(resource, stored_name, props, previous=previous)
        existing[name.lower()] = stored
        return Response(200, stored)

    @staticmethod
    def _check_retention(entry: dict[str, Any]) -> None:
        policy = entry.get("retentionPolicy")
        if policy and (policy.get("enabled") or (policy.get("days") or 0) > 0):
            raise bad_request(RETENTION_MESSAGE)

    def _check_workspace_link(self, workspace_id: Any) -> None:
        if not workspace_id:
            return
        sim = self.sim
        if not str(workspace_id).lower().startswith("/subscriptions/"):
            raise bad_request(
                f"Property id '{workspace_id}' at path 'properties.workspaceId' is invalid. Expect fully qualified "
                "resource Id that start with '/subscriptions/{subscriptionId}' or '/providers/{resourceProviderNamespace}/'.",
                "LinkedInvalidPropertyId",
            )
        wk = key(str(workspace_id))
        parts = wk.split("/")
        sub_key = "/".join(parts[:3])
        linked_denied = sub_key in sim.forbidden_subscriptions or any(_under(wk, f) for f in sim.forbidden_resources)
        if linked_denied or not sim.is_granted("Microsoft.OperationalInsights/workspaces/sharedKeys/action", wk):
            raise ArmError(
                403,
                "LinkedAuthorizationFailed",
                f"The client '{sim.principal_id}' with object id '{sim.principal_id}' has permission to perform action "
                f"'Microsoft.Insights/diagnosticSettings/write' on scope '{self.path}'; however, it does not have "
                "permission to perform action(s) 'Microsoft.OperationalInsights/workspaces/sharedKeys/action' on the "
                f"linked scope(s) '{workspace_id}' (respectively) or the linked scope(s) are invalid.",
            )
        if wk not in sim.workspaces:
            raise bad_request(
                f"The linked resource '{workspace_id}' (properties.workspaceId) was not found.",
                "LinkedResourceNotFound",
            )

    @staticmethod
    def _enabled_categories(props: dict[str, Any], table: Any) -> dict[str, str]:
        out: dict[str, str] = {}
        for entry in props.get("logs") or []:
            if not entry.get("enabled"):
                continue
            if entry.get("categoryGroup"):
                for member in table.expand_group(entry["categoryGroup"]):
                    out.setdefault(member.lower(), member)
            elif entry.get("category"):
                out.setdefault(str(entry["category"]).lower(), str(entry["category"]))
        for entry in props.get("metrics") or []:
            if entry.get("enabled") and entry.get("category"):
                out.setdefault(str(entry["category"]).lower(), str(entry["category"]))
        return out

    @staticmethod
    def _sinks(props: dict[str, Any]) -> dict[str, str]:
        sinks = {}
        for sink in SINKS:
            value = props.get(sink)
            if value:
                sinks[sink] = key(str(value))
                if sink == "eventHubAuthorizationRuleId":
                    sinks[sink] += "|" + str(props.get("eventHubName") or "").lower()
        return sinks

    def _check_sink_reuse(
        self, existing: dict[str, dict[str, Any]], name: str, props: dict[str, Any], table: Any
    ) -> None:
        mine = self._enabled_categories(props, table)
        my_sinks = self._sinks(props)
        for other_key, other in existing.items():
            if other_key == name.lower():
                continue
            other_props = other.get("properties") or {}
            other_sinks = self._sinks(other_props)
            theirs = self._enabled_categories(other_props, table)
            for sink, value in my_sinks.items():
                if other_sinks.get(sink) != value:
                    continue
                shared = [mine[c] for c in mine if c in theirs]
                if shared:
                    raise bad_request(
                        f"Data sink '{props[sink]}' is already used in diagnostic setting '{other['name']}' for "
                        f"category '{shared[0]}'. Data sinks can't be reused in different settings on the same "
                        "category for the same resource."
                    )
