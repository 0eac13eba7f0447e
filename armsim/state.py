"""The simulator's shared state: the estate every provider lives in, the request log, and the ID helpers.

:class:`State` holds what every provider needs: configuration, one :class:`threading.RLock` that
guards all state, the subscriptions and resource groups (the shared estate), access control
(forbidden scopes, role grants, locks), tokens, long-running operations and the request log.
Providers add their own resources through the cooperative :meth:`State._init_state` hook and
register them with :meth:`State.register_resources` so that :meth:`State.resource_spelling`
(the ID as created) finds them.

This module imports only armsim's leaf modules (specs, throttle): every other module may import it.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from armsim.specs import shared_validator
from armsim.throttle import Throttle

WRITE_METHODS = frozenset({"PUT", "PATCH", "POST", "DELETE"})
_monotonic = time.monotonic


def key(resource_id: str) -> str:
    """Case-insensitive comparison key of an ARM ID (lower case, single slashes, no trailing slash)."""
    parts = [p for p in resource_id.split("/") if p]
    return "/" + "/".join(parts).lower()


def under(path_key: str, scope_key: str) -> bool:
    """True when ``path_key`` is ``scope_key`` or below it (both :func:`key` forms)."""
    return path_key == scope_key or path_key.startswith(scope_key + "/")


def resource_type_of(resource_id: str) -> str:
    """``microsoft.containerservice/managedclusters`` for a cluster ID (lower case), as in ARM's action names."""
    parts = [p for p in resource_id.split("/") if p]
    lowered = [p.lower() for p in parts]
    if "providers" not in lowered:
        return (
            "microsoft.resources/subscriptions/resourcegroups"
            if len(parts) == 4
            else "microsoft.resources/subscriptions"
        )
    i = len(lowered) - 1 - lowered[::-1].index("providers")
    namespace = lowered[i + 1]
    types = lowered[i + 2 :: 2]
    return "/".join([namespace, *types])


def operation_name(resource_id: str, method: str) -> str:
    """ARM's operation (action) name of a write or delete, spelled as in the path:
    ``Microsoft.Insights/diagnosticSettings/write``."""
    parts = [p for p in resource_id.split("/") if p]
    lowered = [p.lower() for p in parts]
    if "providers" in lowered:
        i = len(lowered) - 1 - lowered[::-1].index("providers")
        operation = "/".join([parts[i + 1], *parts[i + 2 :: 2]])
    else:
        operation = "Microsoft.Resources/subscriptions/resourceGroups"
    return operation + ("/delete" if method.upper() == "DELETE" else "/write")


def iso(moment: datetime) -> str:
    """``2025-05-16T04:21:05.123456Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_text() -> str:
    """Now, as ARM writes timestamps in operation bodies (``...T04:21:05.0000000Z``)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime())


@dataclass
class RecordedRequest:
    """One request the simulator answered (or dropped)."""

    method: str
    path: str  # as sent, percent-decoded, without the query string
    query: dict[str, str]
    status: int | None  # None when the connection was dropped by a fault
    body: Any  # parsed JSON request body, or None
    headers: dict[str, str]
    kind: str  # "arm", "identity" or "logs" (the Log Analytics query API)
    response: Any = None  # parsed JSON response body (a private copy), or None
    time: float = field(default_factory=time.time)
    received: float = field(default_factory=_monotonic)  # request fully read (monotonic clock)
    answered: float | None = None  # response about to be written (monotonic clock); None if dropped
    principal: str | None = None  # object ID of the caller (from its token), when authenticated
    applied: int | None = None  # apply_first faults: the status the request had when carried out

    @property
    def is_write(self) -> bool:
        return self.kind == "arm" and self.method in WRITE_METHODS


def sequential_rounds(requests: Iterable[RecordedRequest]) -> int:
    """How many requests of ``requests`` had to wait for one another: the longest chain in which each
    request arrived after the previous one was answered (requests that overlap count once)."""
    intervals = sorted(
        ((r.received, r.answered) for r in requests if r.answered is not None), key=lambda interval: interval[1]
    )
    rounds, last_end = 0, float("-inf")
    for start, end in intervals:
        if start > last_end:
            rounds += 1
            last_end = end
    return rounds


@dataclass
class Operation:
    """A long-running operation: InProgress until ``ready_at`` (``State.clock``) has come and ``remaining``
    polls have been answered, then Succeeded."""

    id: str
    resource_key: str
    remaining: int
    started: str
    status: str = "InProgress"
    ready_at: float = 0.0
    on_done: Callable[[], None] | None = None  # another resource's operation (a table plan change)
    result: Callable[[], Any] | None = None


class State:
    """Configuration and state shared by every provider. See the module docstring."""

    def __init__(
        self,
        *,
        page_size: int = 50,
        lro_polls: int = 1,
        lro_retry_after_ms: int | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        principal_id: str = "5b8a1e6c-0000-4000-8000-00000000a11d",
        tenant_id: str = "72f988bf-0000-4000-8000-000000000047",
        client_id: str = "c11e7a5e-0000-4000-8000-00000000a11d",
        throttle: bool = False,
        latency: float = 0.0,
        workspace_creation_seconds: float = 13.0,
        table_change_seconds: float = 2.0,
    ) -> None:
        self.page_size = page_size
        self.lro_polls = lro_polls
        # How long long-running operations take (recorded: workspace creations 1.7 s and 13 s, table changes
        # 1.5 s to 42 s), on ``clock`` (replaceable: tests use a fake one or scale the durations down).
        self.workspace_creation_seconds = workspace_creation_seconds
        self.table_change_seconds = table_change_seconds
        self.clock: Callable[[], float] = time.monotonic
        # How workspace creations end: "Succeeded", "Failed" (the workspace is left Failed) or
        # "never" (the operation stays InProgress and the workspace Creating).
        self.lro_outcome = "Succeeded"
        self.stopping = threading.Event()  # set by stop(): hung requests give up
        # Retry-After-Ms on long-running operations: None as real ARM (no Retry-After); tests set a few ms
        # so that the product's pollers do not wait their default interval.
        self.lro_retry_after_ms = lro_retry_after_ms
        self.host = host
        self.port = port
        self.principal_id = principal_id  # object ID of the managed identity the token endpoint serves
        self.client_id = client_id  # its application (client) ID
        self.tenant_id = tenant_id
        self.throttle = Throttle(enabled=throttle)  # ARM's token buckets; see armsim/throttle.py
        self.latency = latency  # seconds added before answering every ARM request
        self.identity_header = secrets.token_hex(16)
        self.lock = threading.RLock()
        self.validator = shared_validator()
        # the shared estate, keyed by key(id)
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.resource_groups: dict[str, dict[str, Any]] = {}
        # access control
        self.forbidden_subscriptions: set[str] = set()
        self.forbidden_resources: set[str] = set()
        self.forbidden_actions: set[tuple[str, str]] = set()  # (action lower-case, scope key)
        # Role assignments of the caller, as (actions lower-case, scope key). None = RBAC not modelled
        # (every action allowed unless forbidden above); once grant() is called, only granted actions.
        self.role_grants: list[tuple[frozenset[str], str]] | None = None
        self.locks: set[str] = set()
        self.operations: dict[str, Operation] = {}
        self.tokens: dict[str, tuple[str, float]] = {}  # token -> (resource, expires_on)
        self.token_principals: dict[str, tuple[str, str]] = {}  # token -> (object ID, client ID)
        self._requests: list[RecordedRequest] = []
        self._resource_tables: list[dict[str, dict[str, Any]]] = []
        self._init_state()
        self.register_resources(self.resource_groups)

    def _init_state(self) -> None:
        """Hook for providers: each mixin that keeps state overrides it, calls ``super()._init_state()``
        first, then creates its dictionaries (and registers them with :meth:`register_resources`)."""

    def _within(self, target_key: str, scope_key: str) -> bool:
        """Hook for providers: whether a role granted at ``scope_key`` reaches ``target_key`` (both
        :func:`key` forms); by default, the scope and every path below it."""
        return under(target_key, scope_key)

    def _forget(self, resource_key: str) -> None:
        """Hook for providers: the resource ``resource_key`` is gone; drop what hangs off it (its settings)."""

    def register_resources(self, table: dict[str, dict[str, Any]]) -> None:
        """Make :meth:`resource_spelling` find the resources of ``table`` (key(id) -> JSON with ``id``)."""
        self._resource_tables.append(table)

    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def resource_spelling(self, resource_id: str) -> str | None:
        """The ID as created (of any registered resource), or None when unknown."""
        k = key(resource_id)
        for table in self._resource_tables:
            if k in table:
                return str(table[k]["id"])
        return None

    def resource_location(self, resource_id: str) -> str | None:
        """The location of a registered resource, or None."""
        k = key(resource_id)
        for table in self._resource_tables:
            if k in table:
                location = table[k].get("location")
                return str(location) if location else None
        return None

    # ------------------------------------------------------------------ recording
    @property
    def requests(self) -> list[RecordedRequest]:
        with self.lock:
            return list(self._requests)

    def arm_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.kind == "arm"]

    def write_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.is_write]

    def query_requests(self) -> list[RecordedRequest]:
        """Requests to the Log Analytics query API (``/v1/...``)."""
        return [r for r in self.requests if r.kind == "logs"]

    def identity_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.kind == "identity"]

    def clear_requests(self) -> None:
        with self.lock:
            self._requests.clear()

    def record(self, request: RecordedRequest) -> None:
        with self.lock:
            self._requests.append(request)
