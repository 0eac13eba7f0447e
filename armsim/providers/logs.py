"""The Log Analytics query API (``POST /v1/workspaces/{customerId}/query``, ``POST /v1/{resourceId}/query``).

Served over a model of ingested records: per workspace, cluster and category, the time of the
last record, the billed bytes and the table mode the records landed in. armsim does not run
KQL: it only looks for the table names in the query to tell the modes apart (``AKSAudit``,
``AKSAuditAdmin``, ``AKSControlPlane`` for resource-specific records; ``AzureDiagnostics``
for the others) and answers one row per (cluster, category) in the request's ``timespan``,
with the columns ``_ResourceId`` (lower case, as Log Analytics returns it), ``Category``,
``LastSeen`` and ``BilledBytes``. Errors have the query API's shape ``{"error": {"code",
"message", "correlationId"}}``.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from armsim.access import AccessControl
from armsim.errors import ArmError
from armsim.routing import Response
from armsim.state import State, key, resource_type_of

LOGS_PREFIX = "/v1/"
# What a query needs at a scope containing the workspace when armsim models role assignments (sim.grant).
QUERY_ACTION = "Microsoft.OperationalInsights/workspaces/query/read"
RESOURCE_SPECIFIC = "resource-specific"
AZURE_DIAGNOSTICS = "azure-diagnostics"
# Resource-specific tables of AKS categories: AKSControlPlane holds every category but these two.
DEDICATED_TABLES = {"kube-audit": "AKSAudit", "kube-audit-admin": "AKSAuditAdmin"}
CONTROL_PLANE_TABLE = "AKSControlPlane"
COLUMNS = (
    {"name": "_ResourceId", "type": "string"},
    {"name": "Category", "type": "string"},
    {"name": "LastSeen", "type": "datetime"},
    {"name": "BilledBytes", "type": "long"},
)


@dataclass
class Ingested:
    """What a workspace holds about one (cluster, category): its newest record and billed volume."""

    resource_id: str
    category: str
    last_seen: datetime
    billed_bytes: int
    mode: str = RESOURCE_SPECIFIC


def table_of(record: Ingested) -> str:
    if record.mode == AZURE_DIAGNOSTICS:
        return "AzureDiagnostics"
    return DEDICATED_TABLES.get(record.category.lower(), CONTROL_PLANE_TABLE)


def _mentions(query: str, table: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9_]){table}(?![A-Za-z0-9_])", query) is not None


_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(text: str) -> timedelta:
    match = _DURATION.match(text.strip())
    if not match or text.strip() in ("P", "PT"):
        raise ValueError(text)
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return timedelta(
        days=parts.get("d", 0), hours=parts.get("h", 0), minutes=parts.get("m", 0), seconds=parts.get("s", 0)
    )


def parse_timespan(text: str | None, now: datetime) -> tuple[datetime, datetime] | None:
    """ISO 8601 ``duration``, ``start/end`` or ``start/duration`` (what the SDK sends)."""
    if not text:
        return None
    if "/" not in text:
        return now - parse_duration(text), now
    first, second = text.split("/", 1)
    start = datetime.fromisoformat(first.replace("Z", "+00:00"))
    if second.upper().startswith("P"):
        return start, start + parse_duration(second)
    return start, datetime.fromisoformat(second.replace("Z", "+00:00"))


def _error(status: int, code: str, message: str) -> ArmError:
    return ArmError(status, code, message)


class LogsDispatcher:
    """One query API request: authenticate, find the workspace, answer from the ingested records."""

    def __init__(self, sim: Any, method: str, path: str, body: Any, body_error: str | None, headers: Any):
        self.sim = sim
        self.method = method
        self.path = path
        self.body = body
        self.body_error = body_error
        self.headers = headers

    def run(self) -> tuple[int, dict[str, Any]]:
        self._authenticate()
        segments = [s for s in self.path.split("/") if s]
        lower = [s.lower() for s in segments]
        if self.method != "POST" or len(segments) < 3 or lower[-1] != "query":
            raise _error(404, "PathNotFoundError", f"The requested path does not exist: {self.method} {self.path}")
        with self.sim.lock:
            if lower[1] == "workspaces" and len(segments) == 4:
                workspace_key = self._by_customer_id(segments[2])
            else:
                workspace_key = self._by_resource_id("/" + "/".join(segments[1:-1]))
            self._check_access(workspace_key)
            query, timespan = self._request()
            rows = self._rows(workspace_key, query, timespan)
        answer: dict[str, Any] = {
            "tables": [{"name": "PrimaryResult", "columns": [dict(c) for c in COLUMNS], "rows": rows}]
        }
        partial = self.sim.partial_queries.get(workspace_key)
        if partial:  # the service's partial success: 200 with the rows it got and an error
            answer["error"] = {"code": "PartialError", "message": partial, "details": [{"code": partial}]}
        return 200, answer

    def _authenticate(self) -> None:
        header = self.headers.get("Authorization") or ""
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        issued = self.sim.tokens.get(token) if token else None
        if issued is None or issued[1] < time.time():
            raise _error(401, "AuthorizationRequiredError", "Valid authentication was not provided.")
        if issued[0].rstrip("/").lower().removesuffix("/.default") != self.sim.base_url.lower():
            raise _error(
                401, "InvalidTokenError", f"The provided authentication is not valid for this resource ({issued[0]})."
            )

    def _by_customer_id(self, customer_id: str) -> str:
        for workspace_key, workspace in self.sim.workspaces.items():
            if str(workspace["properties"].get("customerId", "")).lower() == customer_id.lower():
                return workspace_key
        raise _error(404, "WorkspaceNotFoundError", f"The workspace {customer_id} could not be found.")

    def _by_resource_id(self, resource_id: str) -> str:
        workspace_key = key(resource_id)
        if resource_type_of(resource_id) != "microsoft.operationalinsights/workspaces":
            raise _error(
                400,
                "BadArgumentError",
                f"armsim answers resource-centric queries on workspaces only, not {resource_id}.",
            )
        self._check_access(workspace_key)
        if workspace_key not in self.sim.workspaces:
            raise _error(404, "ResourceNotFoundError", f"The resource {resource_id} could not be found.")
        return workspace_key

    def _check_access(self, workspace_key: str) -> None:
        sim = self.sim
        if sim.is_denied(workspace_key) or not sim.is_granted(QUERY_ACTION, workspace_key):
            raise _error(
                403,
                "InsufficientAccessError",
                "The provided credentials have insufficient access to perform the requested operation.",
            )

    def _request(self) -> tuple[str, tuple[datetime, datetime] | None]:
        if self.body_error is not None or not isinstance(self.body, dict) or not self.body.get("query"):
            raise _error(400, "BadArgumentError", "The request had some invalid properties: a query is required.")
        try:
            timespan = parse_timespan(self.body.get("timespan"), datetime.now(UTC))
        except ValueError:
            raise _error(400, "BadArgumentError", f"Invalid timespan {self.body.get('timespan')!r}.") from None
        return str(self.body["query"]), timespan

    def _rows(self, workspace_key: str, query: str, timespan: tuple[datetime, datetime] | None) -> list[list[Any]]:
        rows = []
        for record in self.sim.ingested.get(workspace_key, {}).values():
            if not _mentions(query, table_of(record)):
                continue
            if timespan is not None and not timespan[0] <= record.last_seen <= timespan[1]:
                continue
            rows.append(
                [
                    record.resource_id.lower(),
                    record.category,
                    record.last_seen.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                    record.billed_bytes,
                ]
            )
        return sorted(rows)


def error_body(error: ArmError) -> dict[str, Any]:
    return {"error": {"code": error.code, "message": error.message, "correlationId": str(uuid.uuid4())}}


def answer_query(sim: State, method: str, path: str, body: Any, body_error: str | None, headers: Any) -> Response:
    """Answer one query API request (errors in the query API's own shape)."""
    try:
        status, answer = LogsDispatcher(sim, method, path, body, body_error, headers).run()
        return Response(status, answer)
    except ArmError as exc:
        return Response(exc.status, error_body(exc), exc.headers)


class LogsSeeding(AccessControl):
    """Mixin of :class:`armsim.ArmSimulator`: the records workspaces hold, as the query API sees them."""

    def _init_state(self) -> None:
        super()._init_state()
        self.partial_queries: dict[str, str] = {}  # workspace key -> inner error code of a partial answer
        self.ingested: dict[str, dict[tuple[str, str], Ingested]] = {}  # workspace key -> (cluster key, category)

    def ingest(
        self,
        workspace_id: str,
        cluster_id: str,
        category: str,
        *,
        last_seen: datetime | None = None,
        billed_bytes: int = 0,
        mode: str = RESOURCE_SPECIFIC,
    ) -> None:
        """Model records of ``category`` from ``cluster_id`` in the workspace: the newest at ``last_seen``
        (default now) and ``billed_bytes`` billed in the lookback. ``mode``: resource-specific or azure-diagnostics."""
        if mode not in (RESOURCE_SPECIFIC, AZURE_DIAGNOSTICS):
            raise ValueError(f"mode must be {RESOURCE_SPECIFIC} or {AZURE_DIAGNOSTICS}")
        with self.lock:
            records = self.ingested.setdefault(key(workspace_id), {})
            records[(key(cluster_id), category.lower())] = Ingested(
                resource_id=self.resource_spelling(cluster_id) or cluster_id,
                category=category,
                last_seen=last_seen or datetime.now(UTC),
                billed_bytes=billed_bytes,
                mode=mode,
            )

    def answer_partially(self, workspace_id: str, code: str = "QueryExecutionLimitExceeded") -> None:
        """Queries of this workspace succeed only partly: 200 with their rows and an ``error`` (code PartialError)."""
        with self.lock:
            self.partial_queries[key(workspace_id)] = code

    def clear_ingested(self, workspace_id: str | None = None) -> None:
        with self.lock:
            if workspace_id is None:
                self.ingested.clear()
            else:
                self.ingested.pop(key(workspace_id), None)
