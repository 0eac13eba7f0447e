"""Microsoft.Insights: the subscription's Activity Log (``/subscriptions/{id}/providers/Microsoft.Insights/
eventtypes/management/values``, api 2015-04-01, azure-mgmt-monitor's ``activity_logs.list``).

Served from the writes and deletes armsim has carried out (every PUT, PATCH, POST or DELETE that reached
its handler: a ``Started`` event and a ``Succeeded`` or ``Failed`` one with the same correlation ID, as ARM
logs them) and from events a test seeds (:meth:`ActivityLogSeeding.add_activity`; a seeded diagnostic
setting is logged as written at its ``last_modified_at``). The shape is the spec's ``EventData``
(``specs: monitor/.../2015-04-01/activityLogs_API.json`` and its ``GetActivityLogsFiltered`` example).

``$filter`` takes only the spec's patterns: ``eventTimestamp ge '<start>'`` (required), optionally ``and
eventTimestamp le '<end>'`` and one of ``resourceGroupName``, ``resourceUri``, ``resourceProvider``,
``correlationId`` ``eq '<value>'``; anything else is 400 ``BadRequest``. ``$select`` keeps the named
properties. Events come newest first, ``sim.activity_page_size`` per page, with an absolute ``nextLink``
(``$skipToken``). ARM keeps 90 days. ``sim.activity_delay`` (a timedelta, default none) holds each event
back for that long after it happened, as the real log's ingestion may (not recorded: unconfirmed).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from armsim.errors import ArmError
from armsim.routing import Request, Response, Route
from armsim.state import State, iso, operation_name

API_VERSIONS: dict[str, tuple[str, ...]] = {"activityLogs": ("2015-04-01",)}  # azure-mgmt-monitor 6.0.2
RETENTION = timedelta(days=90)
_CLAUSE = re.compile(
    r"^\s*(?P<field>eventTimestamp|resourceGroupName|resourceUri|resourceProvider|correlationId)\s+"
    r"(?P<op>ge|le|eq)\s+'(?P<value>[^']*)'\s*$",
    re.IGNORECASE,
)
SELECTABLE = {
    name.lower(): name
    for name in (
        "authorization",
        "claims",
        "correlationId",
        "description",
        "eventDataId",
        "eventName",
        "eventTimestamp",
        "httpRequest",
        "level",
        "operationId",
        "operationName",
        "properties",
        "resourceGroupName",
        "resourceProviderName",
        "resourceId",
        "status",
        "submissionTimestamp",
        "subStatus",
        "subscriptionId",
    )
}
_SUB_STATUS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 400: "Bad Request", 403: "Forbidden"}


def _localized(value: str) -> dict[str, str]:
    return {"value": value, "localizedValue": value}


def activity_operation(resource_id: str, method: str) -> str:
    """The operation as the Activity Log names it: ``microsoft.insights/diagnosticSettings/write``."""
    namespace, _, rest = operation_name(resource_id, method).partition("/")
    return f"{namespace.lower()}/{rest}"


@dataclass
class ActivityEvent:
    """One Activity Log record (the parts armsim varies)."""

    resource_id: str  # the resource the operation was on, as the request spelled it
    operation: str  # "Microsoft.Insights/diagnosticSettings/write"
    at: datetime
    status: str = "Succeeded"  # Started, Succeeded, Failed
    caller: str = ""  # object ID of a service principal, or a user's UPN
    app_id: str = ""
    method: str = "PUT"
    http_status: int | None = 200
    correlation_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    @property
    def subscription_id(self) -> str:
        parts = [p for p in self.resource_id.split("/") if p]
        return parts[1] if len(parts) > 1 else ""

    @property
    def resource_group(self) -> str:
        parts = [p for p in self.resource_id.split("/") if p]
        return parts[3] if len(parts) > 3 and parts[2].lower() == "resourcegroups" else ""

    @property
    def provider(self) -> str:
        return self.operation.split("/", 1)[0]

    def json(self, tenant_id: str, delay: timedelta) -> dict[str, Any]:
        ticks = int((self.at - datetime(1, 1, 1, tzinfo=UTC)).total_seconds() * 10_000_000)
        sub_status = ""
        if self.status != "Started" and self.http_status is not None:
            text = _SUB_STATUS.get(self.http_status, "")
            sub_status = f"{text} (HTTP Status Code: {self.http_status})".strip()
        claims = {
            "aud": "https://management.core.windows.net/",
            "appid": self.app_id,
            "appidacr": "2",
            "http://schemas.microsoft.com/identity/claims/objectidentifier": self.caller,
            "http://schemas.microsoft.com/identity/claims/tenantid": tenant_id,
            "ver": "1.0",
        }
        return {
            "authorization": {"action": self.operation, "scope": self.resource_id},
            "caller": self.caller,
            "channels": "Operation",
            "claims": claims,
            "correlationId": self.correlation_id,
            "description": "",
            "eventDataId": self.event_id,
            "eventName": _localized("BeginRequest" if self.status == "Started" else "EndRequest"),
            "category": _localized("Administrative"),
            "httpRequest": {
                "clientRequestId": self.correlation_id,
                "clientIpAddress": "127.0.0.1",
                "method": self.method,
            },
            "id": f"{self.resource_id}/events/{self.event_id}/ticks/{ticks}",
            "level": "Error" if self.status == "Failed" else "Informational",
            "resourceGroupName": self.resource_group,
            "resourceProviderName": _localized(self.provider),
            "resourceId": self.resource_id,
            "resourceType": _localized(self.operation.rsplit("/", 1)[0]),
            "operationId": self.correlation_id,
            "operationName": _localized(self.operation),
            "properties": {"statusCode": sub_status.split(" (")[0]} if sub_status else {},
            "status": _localized(self.status),
            "subStatus": _localized(sub_status),
            "eventTimestamp": iso(self.at),
            "submissionTimestamp": iso(self.at + delay + timedelta(seconds=12)),
            "subscriptionId": self.subscription_id,
            "tenantId": tenant_id,
        }


class ActivityLogSeeding(State):
    """Mixin of :class:`armsim.ArmSimulator`: the Activity Log."""

    def _init_state(self) -> None:
        super()._init_state()
        self.activity: list[ActivityEvent] = []
        self.activity_page_size = 200
        self.activity_delay = timedelta(0)

    def add_activity(
        self,
        resource_id: str,
        *,
        at: datetime,
        operation: str | None = None,
        delete: bool = False,
        caller: str = "user@contoso.example",
        app_id: str = "",
        status: str = "Succeeded",
    ) -> ActivityEvent:
        """Seed a write (or ``delete``) of ``resource_id`` at ``at``: ARM's Started and ``status`` events."""
        method = "DELETE" if delete else "PUT"
        op = operation or activity_operation(resource_id, method)
        with self.lock:
            started = ActivityEvent(resource_id, op, at, "Started", caller, app_id, method, None)
            done = ActivityEvent(
                resource_id,
                op,
                at,
                status,
                caller,
                app_id,
                method,
                200 if status == "Succeeded" else 400,
                correlation_id=started.correlation_id,
            )
            self.activity += [started, done]
            return done

    def log_activity(self, request: Request, status: int, caller: tuple[str, str] | None) -> None:
        """Called by the ARM pipeline for a write or delete that reached its handler."""
        oid, app_id = caller or ("", "")
        op = activity_operation(request.path, request.method)
        now = datetime.now(UTC)
        started = ActivityEvent(request.path, op, now, "Started", oid, app_id, request.method, None)
        outcome = "Succeeded" if status < 400 else "Failed"
        done = ActivityEvent(
            request.path, op, now, outcome, oid, app_id, request.method, status, correlation_id=started.correlation_id
        )
        self.activity += [started, done]


def _when(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise _bad(f"'{text}' is not a valid date and time.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _bad(message: str) -> ArmError:
    return ArmError(400, "BadRequest", message, bare=True)


def parse_filter(text: str | None) -> dict[str, Any]:
    """The spec's ``$filter`` patterns, or 400 ``BadRequest``."""
    if not text:
        raise _bad("The $filter query parameter is required and must specify at least eventTimestamp ge '<start>'.")
    found: dict[str, Any] = {}
    for clause in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        match = _CLAUSE.match(clause)
        if not match:
            raise _bad(f"The $filter '{text}' is not supported: '{clause}' is none of the allowed patterns.")
        name, op, value = match["field"].lower(), match["op"].lower(), match["value"]
        if name == "eventtimestamp" and op in ("ge", "le"):
            found[op] = _when(value)
        elif name != "eventtimestamp" and op == "eq" and "eq" not in found:
            found["eq"] = (name, value)
        else:
            raise _bad(f"The $filter '{text}' is not supported: '{clause}' is none of the allowed patterns.")
    if "ge" not in found:
        raise _bad("The $filter must specify the start time: eventTimestamp ge '<start>'.")
    return found


def _matches(event: ActivityEvent, eq: tuple[str, str] | None) -> bool:
    if eq is None:
        return True
    name, value = eq
    wanted = value.lower()
    if name == "resourcegroupname":
        return event.resource_group.lower() == wanted
    if name == "resourceuri":
        return event.resource_id.lower().rstrip("/") == wanted.rstrip("/")
    if name == "resourceprovider":
        return event.provider.lower() == wanted
    return event.correlation_id.lower() == wanted


def list_activity(req: Request, sub: str) -> Response:
    sim = req.sim
    query = parse_filter(req.query.get("$filter"))
    now = datetime.now(UTC)
    start, end = query["ge"], query.get("le", now)
    if start < now - RETENTION:
        start = now - RETENTION  # older events are gone
    visible = [
        e
        for e in sim.activity
        if e.subscription_id.lower() == sub.lower()
        and start <= e.at <= end
        and e.at + sim.activity_delay <= now
        and _matches(e, query.get("eq"))
    ]
    visible.sort(key=lambda e: e.at, reverse=True)
    try:
        skip = int(req.query.get("$skipToken") or 0)
    except ValueError:
        raise _bad("The $skipToken is invalid.") from None
    size = max(1, sim.activity_page_size)
    items = [e.json(sim.tenant_id, sim.activity_delay) for e in visible[skip : skip + size]]
    select = [s.strip() for s in (req.query.get("$select") or "").split(",") if s.strip()]
    unknown = [s for s in select if s.lower() not in SELECTABLE]
    if unknown:
        raise _bad(f"$select may name only {', '.join(SELECTABLE.values())}; not {', '.join(unknown)}.")
    select = [SELECTABLE[s.lower()] for s in select]
    if select:
        items = [{k: v for k, v in item.items() if k in select} for item in items]
    body: dict[str, Any] = {"value": items}
    if skip + size < len(visible):
        params = [("api-version", req.api_version), ("$filter", req.query["$filter"]), ("$skipToken", str(skip + size))]
        if select:
            params.append(("$select", req.query["$select"]))
        body["nextLink"] = f"{sim.base_url}{req.path}?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in params)
    return Response(200, body)


ROUTES = (
    Route(
        "GET",
        "/subscriptions/{sub}/providers/Microsoft.Insights/eventtypes/management/values",
        "activityLogs",
        list_activity,
    ),
)
