"""ArmSimulator: an in-process HTTPS fake of Azure Resource Manager plus the App Service managed-identity endpoint.

One :class:`threading.RLock` guards all state; the HTTP server is a ThreadingHTTPServer whose TLS
handshake runs in the worker thread. Routing, validation and error shapes live in :mod:`armsim.handlers`.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import secrets
import shutil
import socket
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from armsim.categories import MANAGED_CLUSTER_TYPE, CategoryTable
from armsim.logs import AZURE_DIAGNOSTICS, RESOURCE_SPECIFIC, Ingested
from armsim.specs import shared_validator
from armsim.throttle import Throttle
from armsim.tls import write_self_signed

IDENTITY_PATH = "/msi/token"
_monotonic = time.monotonic
WRITE_METHODS = frozenset({"PUT", "PATCH", "POST", "DELETE"})


def key(resource_id: str) -> str:
    """Case-insensitive comparison key of an ARM ID (lower case, single slashes, no trailing slash)."""
    parts = [p for p in resource_id.split("/") if p]
    return "/" + "/".join(parts).lower()


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


@dataclass
class RecordedRequest:
    """One request the simulator answered (or dropped)."""

    method: str
    path: str  # as sent, without the query string
    query: dict[str, str]
    status: int | None  # None when the connection was dropped by a fault
    body: Any  # parsed JSON request body, or None
    headers: dict[str, str]
    kind: str  # "arm", "identity" or "logs" (the Log Analytics query API)
    response: Any = None  # parsed JSON response body, or None
    time: float = field(default_factory=time.time)
    received: float = field(default_factory=_monotonic)  # request fully read (monotonic clock)
    answered: float | None = None  # response about to be written (monotonic clock); None if dropped
    principal: str | None = None  # object ID of the caller (from its token), when authenticated
    applied: int | None = None  # apply_first faults: the status the request had when carried out

    @property
    def is_write(self) -> bool:
        return self.kind == "arm" and self.method in WRITE_METHODS


@dataclass
class Fault:
    method: str | None
    path_contains: str | None
    status: int | None
    retry_after: float | None
    times: int | None  # None = forever
    drop_connection: bool
    latency: float
    code: str | None = None
    message: str | None = None
    apply_first: bool = False  # carry the request out, then answer with the fault (response lost)
    hang: bool = False  # never answer (until the simulator stops)
    identity: bool = False  # match the managed-identity token endpoint instead of ARM
    before: Callable[[], None] | None = None  # run when the fault strikes (e.g. a rival creates the resource)

    def matches(self, method: str, path: str, kind: str) -> bool:
        if self.times is not None and self.times <= 0:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        if self.identity:
            return kind == "identity"
        if self.path_contains is None:
            return kind == "arm"
        return self.path_contains.lower() in path.lower()


@dataclass
class Operation:
    """A long-running workspace create: InProgress for ``remaining`` polls, then Succeeded."""

    id: str
    resource_key: str
    remaining: int
    started: str
    status: str = "InProgress"
    on_done: Callable[[], None] | None = None  # another resource's operation (a table plan change)
    result: Callable[[], Any] | None = None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type, sim: ArmSimulator, context: ssl.SSLContext) -> None:
        self.sim = sim
        self.context = context
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        # TLS handshake in the worker thread so a slow client cannot stall accept().
        with self.sockets_lock:
            self.open_sockets.add(request)
        try:
            request.settimeout(30)
            # No Nagle: a response (and the TLS handshake) goes out at once, not after the client's delayed ACK.
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            tls = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            self._forget(request)
            return
        with self.sockets_lock:  # wrapping detached the plain socket: track the TLS one
            self.open_sockets.discard(request)
            self.open_sockets.add(tls)
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            self._forget(tls)
            with contextlib.suppress(OSError):
                tls.close()

    def _forget(self, request: socket.socket) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)

    def close_all(self) -> None:
        with self.sockets_lock:
            sockets = list(self.open_sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:  # quiet: clients drop connections
        pass


class ArmSimulator:
    """Fake ARM over HTTPS on 127.0.0.1. See ``armsim/README.md`` for the API and behaviour."""

    def __init__(
        self,
        *,
        page_size: int = 50,
        lro_polls: int = 1,
        lro_retry_after_ms: int = 10,
        port: int = 0,
        host: str = "127.0.0.1",
        principal_id: str = "5b8a1e6c-0000-4000-8000-00000000a11d",
        tenant_id: str = "72f988bf-0000-4000-8000-000000000047",
        client_id: str = "c11e7a5e-0000-4000-8000-00000000a11d",
        throttle: bool = False,
        latency: float = 0.0,
    ) -> None:
        self.page_size = page_size
        self.lro_polls = lro_polls
        # How workspace creations end: "Succeeded", "Failed" (the workspace is left Failed) or
        # "never" (the operation stays InProgress and the workspace Creating).
        self.lro_outcome = "Succeeded"
        self.stopping = threading.Event()  # set by stop(): hung requests give up
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
        # state, keyed by key(id)
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.forbidden_subscriptions: set[str] = set()
        self.resource_groups: dict[str, dict[str, Any]] = {}
        self.clusters: dict[str, dict[str, Any]] = {}
        self.pending_settles: dict[str, list[Any]] = {}  # cluster key -> [reads left, state]
        self.workspaces: dict[str, dict[str, Any]] = {}
        self.diagnostic_settings: dict[str, dict[str, dict[str, Any]]] = {}  # resource key -> name.lower() -> json
        self.forbidden_resources: set[str] = set()
        self.forbidden_actions: set[tuple[str, str]] = set()  # (action lower-case, scope key)
        # Role assignments of the caller, as (actions lower-case, scope key). None = RBAC not modelled
        # (every action allowed unless forbidden above); once grant() is called, only granted actions.
        self.role_grants: list[tuple[frozenset[str], str]] | None = None
        self.locks: set[str] = set()
        self.category_tables: dict[str, CategoryTable] = {MANAGED_CLUSTER_TYPE: CategoryTable.aks()}
        self.operations: dict[str, Operation] = {}
        self.tables: dict[str, dict[str, dict[str, Any]]] = {}  # workspace key -> table name lower -> json
        self.partial_queries: dict[str, str] = {}  # workspace key -> inner error code of a partial answer
        self.ingested: dict[str, dict[tuple[str, str], Ingested]] = {}  # workspace key -> (cluster key, category)
        self.faults: list[Fault] = []
        self.tokens: dict[str, tuple[str, float]] = {}  # token -> (resource, expires_on)
        self.token_principals: dict[str, tuple[str, str]] = {}  # token -> (object ID, client ID)
        self._requests: list[RecordedRequest] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._tmp: Path | None = None
        self.cert_path = ""
        self.key_path = ""

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> ArmSimulator:
        from armsim.handlers import Handler

        if self._server is not None:
            return self
        self._tmp = Path(tempfile.mkdtemp(prefix="armsim-"))
        cert, keyfile = write_self_signed(self._tmp)
        self.cert_path, self.key_path = str(cert), str(keyfile)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, self.key_path)
        self._server = _Server((self.host, self.port), Handler, self, context)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="armsim", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self.stopping.set()
        self._server.shutdown()
        self._server.close_all()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        self._server = None
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> ArmSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def identity_endpoint(self) -> str:
        return self.base_url + IDENTITY_PATH

    def env(self) -> dict[str, str]:
        """Environment for the product: ARM endpoint, App Service managed identity, trust of our certificate."""
        return {
            "REMEDIATION_ARM_ENDPOINT": self.base_url,
            "REMEDIATION_LOGS_ENDPOINT": self.base_url,
            "IDENTITY_ENDPOINT": self.identity_endpoint,
            "IDENTITY_HEADER": self.identity_header,
            "REQUESTS_CA_BUNDLE": self.cert_path,
            "SSL_CERT_FILE": self.cert_path,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }

    # ------------------------------------------------------------------ estate
    def add_subscription(self, subscription_id: str, display_name: str = "", state: str = "Enabled") -> str:
        with self.lock:
            sid = f"/subscriptions/{subscription_id}"
            self.subscriptions[key(sid)] = {
                "id": sid,
                "authorizationSource": "RoleBased",
                "managedByTenants": [],
                "subscriptionId": subscription_id,
                "tenantId": self.tenant_id,
                "displayName": display_name or f"Subscription {subscription_id[:8]}",
                "state": state,
                "subscriptionPolicies": {
                    "locationPlacementId": "Public_2014-09-01",
                    "quotaId": "EnterpriseAgreement_2014-09-01",
                    "spendingLimit": "Off",
                },
            }
            return sid

    def _ensure_subscription(self, subscription_id: str) -> None:
        if key(f"/subscriptions/{subscription_id}") not in self.subscriptions:
            self.add_subscription(subscription_id)

    def forbid_subscription(self, subscription_id: str) -> None:
        with self.lock:
            self.forbidden_subscriptions.add(key(f"/subscriptions/{subscription_id}"))

    def add_resource_group(
        self, subscription_id: str, name: str, location: str, tags: dict[str, str] | None = None
    ) -> str:
        with self.lock:
            self._ensure_subscription(subscription_id)
            rid = f"/subscriptions/{subscription_id}/resourceGroups/{name}"
            existing = self.resource_groups.get(key(rid))
            if existing is None:
                self.resource_groups[key(rid)] = {
                    "id": rid,
                    "name": name,
                    "type": "Microsoft.Resources/resourceGroups",
                    "location": location,
                    "tags": dict(tags or {}),
                    "properties": {"provisioningState": "Succeeded"},
                }
                return rid
            return str(existing["id"])

    def resource_group_exists(self, subscription_id: str, name: str) -> bool:
        with self.lock:
            return key(f"/subscriptions/{subscription_id}/resourceGroups/{name}") in self.resource_groups

    def add_cluster(
        self,
        subscription_id: str,
        resource_group: str,
        name: str,
        location: str,
        provisioning_state: str = "Succeeded",
        tags: Mapping[str, str] | None = None,
    ) -> str:
        with self.lock:
            self.add_resource_group(subscription_id, resource_group, location)
            rid = (
                f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
                f"/providers/Microsoft.ContainerService/managedClusters/{name}"
            )
            dns = f"{name[:30]}-dns"
            suffix = uuid.uuid5(uuid.NAMESPACE_URL, key(rid)).hex[:8]
            self.clusters[key(rid)] = {
                "id": rid,
                "location": location,
                "name": name,
                "tags": dict(tags or {}),
                "type": "Microsoft.ContainerService/ManagedClusters",
                "eTag": suffix,
                "identity": {"type": "SystemAssigned", "principalId": str(uuid.uuid5(uuid.NAMESPACE_URL, rid))},
                "sku": {"name": "Base", "tier": "Standard"},
                "properties": {
                    "provisioningState": provisioning_state,
                    "powerState": {"code": "Running"},
                    "kubernetesVersion": "1.33.2",
                    "currentKubernetesVersion": "1.33.2",
                    "dnsPrefix": dns,
                    "fqdn": f"{dns}-{suffix}.hcp.{location}.azmk8s.io",
                    "azurePortalFQDN": f"{dns}-{suffix}.portal.hcp.{location}.azmk8s.io",
                    "agentPoolProfiles": [
                        {
                            "name": "nodepool1",
                            "count": 3,
                            "vmSize": "Standard_D4ds_v5",
                            "maxPods": 110,
                            "osType": "Linux",
                            "mode": "System",
                            "orchestratorVersion": "1.33.2",
                            "provisioningState": provisioning_state,
                        }
                    ],
                    "enableRBAC": True,
                    "nodeResourceGroup": f"MC_{resource_group}_{name}_{location}",
                    "maxAgentPools": 100,
                },
            }
            return rid

    def set_cluster_state(self, cluster_id: str, state: str) -> None:
        with self.lock:
            cluster = self.clusters[key(cluster_id)]
            cluster["properties"]["provisioningState"] = state

    def settle_after_reads(self, cluster_id: str, reads: int = 1, state: str = "Succeeded") -> None:
        """After ``reads`` more GETs of the cluster have been answered, its provisioningState becomes ``state``.

        Lets a test model a cluster that finishes provisioning while the product waits, deterministically.
        """
        with self.lock:
            self.pending_settles[key(cluster_id)] = [reads, state]

    def cluster_read(self, cluster_key: str) -> None:
        """Called by the handler after answering a GET of a cluster."""
        with self.lock:
            pending = self.pending_settles.get(cluster_key)
            if pending is None:
                return
            pending[0] -= 1
            if pending[0] <= 0:
                self.clusters[cluster_key]["properties"]["provisioningState"] = pending[1]
                del self.pending_settles[cluster_key]

    def get_cluster(self, cluster_id: str) -> dict[str, Any] | None:
        with self.lock:
            cluster = self.clusters.get(key(cluster_id))
            return copy.deepcopy(cluster) if cluster else None

    def delete_cluster(self, cluster_id: str) -> None:
        with self.lock:
            self.clusters.pop(key(cluster_id), None)
            self.diagnostic_settings.pop(key(cluster_id), None)

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
        now = _now()
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
        body_props.update(props)
        return {
            "id": rid,
            "name": name,
            "type": "Microsoft.OperationalInsights/workspaces",
            "location": location,
            "tags": dict(tags or {}),
            "properties": body_props,
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

    def forbid_resource(self, resource_id: str) -> None:
        with self.lock:
            self.forbidden_resources.add(key(resource_id))

    def forbid_action(self, action: str, scope: str) -> None:
        """Answer 403 AuthorizationFailed to ``action`` (e.g. ``Microsoft.Resources/subscriptions/
        resourceGroups/write``) on ``scope`` and below, as a role without that action would."""
        with self.lock:
            self.forbidden_actions.add((action.lower(), key(scope)))

    def grant(self, actions: Iterable[str], scope: str) -> None:
        """Model a role assignment: ``actions`` (exact names, no wildcards) at ``scope`` and below.
        From the first call on, every ARM request needs its action granted at a scope containing
        its path (``<resource type>/read|write|delete``), a diagnostic setting's workspace needs
        ``Microsoft.OperationalInsights/workspaces/sharedKeys/action`` (LinkedAuthorizationFailed),
        and listing subscriptions returns those where ``Microsoft.Resources/subscriptions/read`` is granted."""
        with self.lock:
            if self.role_grants is None:
                self.role_grants = []
            self.role_grants.append((frozenset(a.lower() for a in actions), key(scope)))

    def is_granted(self, action: str, resource_id: str) -> bool:
        """True when RBAC is not modelled, or ``action`` is granted at a scope containing ``resource_id``."""
        grants = self.role_grants
        if grants is None:
            return True
        target = key(resource_id)
        wanted = action.lower()
        return any(
            wanted in actions and (target == scope or target.startswith(scope + "/")) for actions, scope in grants
        )

    def lock_resource(self, resource_id: str) -> None:
        with self.lock:
            self.locks.add(key(resource_id))

    def unlock_resource(self, resource_id: str) -> None:
        with self.lock:
            self.locks.discard(key(resource_id))

    # ------------------------------------------------------------------ diagnostic settings
    def resource_spelling(self, resource_id: str) -> str | None:
        """The ID as created (clusters, workspaces, resource groups), or None when unknown."""
        k = key(resource_id)
        for table in (self.clusters, self.workspaces, self.resource_groups):
            if k in table:
                return str(table[k]["id"])
        return None

    def setting_json(
        self,
        resource_id: str,
        name: str,
        properties: Mapping[str, Any],
        *,
        modified_at: datetime | None = None,
        previous: Mapping[str, Any] | None = None,
        by: str | None = None,
    ) -> dict[str, Any]:
        """A setting as ARM stores it, with ``systemData`` (createdAt kept from ``previous``)."""
        parent = self.resource_spelling(resource_id) or "/" + resource_id.strip("/")
        moment = _iso(modified_at or datetime.now(UTC))
        who = by or self.principal_id
        kept = dict((previous or {}).get("systemData") or {})
        return {
            "id": f"{parent}/providers/microsoft.insights/diagnosticSettings/{name}",
            "type": "Microsoft.Insights/diagnosticSettings",
            "name": name,
            "systemData": {
                "createdBy": kept.get("createdBy", who),
                "createdByType": kept.get("createdByType", "Application"),
                "createdAt": kept.get("createdAt", moment),
                "lastModifiedBy": who,
                "lastModifiedByType": "Application",
                "lastModifiedAt": moment,
            },
            "properties": copy.deepcopy(dict(properties)),
        }

    def put_setting(
        self, resource_id: str, name: str, properties: dict[str, Any], *, last_modified_at: datetime | None = None
    ) -> None:
        """Seed a diagnostic setting verbatim, with no validation at all.

        Its ``systemData.lastModifiedAt`` is ``last_modified_at``, by default 30 days ago (an old setting).
        """
        with self.lock:
            per_resource = self.diagnostic_settings.setdefault(key(resource_id), {})
            existing = per_resource.get(name.lower())
            stored_name = existing["name"] if existing else name
            per_resource[name.lower()] = self.setting_json(
                resource_id,
                stored_name,
                properties,
                modified_at=last_modified_at or datetime.now(UTC) - timedelta(days=30),
                by="user@contoso.example",
            )

    def get_setting(self, resource_id: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            setting = self.diagnostic_settings.get(key(resource_id), {}).get(name.lower())
            return copy.deepcopy(setting) if setting else None

    def settings(self, resource_id: str) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {s["name"]: copy.deepcopy(s) for s in self.diagnostic_settings.get(key(resource_id), {}).values()}

    def delete_setting(self, resource_id: str, name: str) -> None:
        with self.lock:
            self.diagnostic_settings.get(key(resource_id), {}).pop(name.lower(), None)

    def category_table(self, resource_type: str = MANAGED_CLUSTER_TYPE) -> CategoryTable:
        with self.lock:
            return self.category_tables.setdefault(resource_type.lower(), CategoryTable([], [], {}))

    def set_category_groups(
        self, groups: Mapping[str, Iterable[str]], resource_type: str = MANAGED_CLUSTER_TYPE
    ) -> None:
        """Replace the category groups (e.g. ``{"audit": [...], "allLogs": [...]}``); new members become categories."""
        with self.lock:
            self.category_table(resource_type).set_groups(groups)

    def set_categories(
        self,
        logs: Iterable[str],
        metrics: Iterable[str] = ("AllMetrics",),
        groups: Mapping[str, Iterable[str]] | None = None,
        resource_type: str = MANAGED_CLUSTER_TYPE,
    ) -> None:
        """Replace the whole category table of a resource type."""
        with self.lock:
            table = CategoryTable(list(logs), list(metrics), {})
            if groups is not None:
                table.set_groups(groups)
            self.category_tables[resource_type.lower()] = table

    # ------------------------------------------------------------------ workspace tables
    def table(self, workspace_id: str, table: str) -> dict[str, Any] | None:
        """A table of a workspace as ARM serves it (made on first use for the tables armsim knows)."""
        from armsim.tables import canonical_name, new_table

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
        from armsim.tables import iso

        with self.lock:
            found = self.table(workspace_id, table)
            if found is None:
                raise KeyError(f"{workspace_id}/tables/{table}")
            found["properties"]["plan"] = plan
            found["properties"]["lastPlanModifiedDate"] = iso(changed_at) if changed_at else None

    # ------------------------------------------------------------------ ingested records (query API)
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

    # ------------------------------------------------------------------ faults
    def inject_fault(
        self,
        method: str | None = None,
        path_contains: str | None = None,
        status: int | None = 429,
        retry_after: float | None = 1,
        times: int | None = 1,
        drop_connection: bool = False,
        latency: float = 0.0,
        code: str | None = None,
        message: str | None = None,
        apply_first: bool = False,
        hang: bool = False,
        identity: bool = False,
        before: Callable[[], None] | None = None,
    ) -> Fault:
        """Answer the next ``times`` matching ARM requests with ``status`` (None: answer normally after latency).

        ``apply_first``: carry the request out (a write takes effect), then answer ``status`` or drop the
        connection: the response is lost. ``hang``: never answer (until :meth:`stop`). ``identity``: the
        fault is on the managed-identity token endpoint instead of ARM. ``before``: called when the
        fault strikes, before anything else (e.g. a rival creates the resource this request creates).
        """
        fault = Fault(
            method,
            path_contains,
            status,
            retry_after,
            times,
            drop_connection,
            latency,
            code,
            message,
            apply_first,
            hang,
            identity,
            before,
        )
        with self.lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def take_fault(self, method: str, path: str, kind: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path, kind):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
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

    # ------------------------------------------------------------------ tokens
    def issue_token(
        self, resource: str, lifetime: int = 3600, *, principal_id: str | None = None, client_id: str | None = None
    ) -> tuple[str, int]:
        """A JWT-shaped access token (claims ``oid``, ``appid``, ``tid``, ``aud``; the signature is random).

        By default for the managed identity the token endpoint serves; pass ``principal_id`` (and
        ``client_id``) to act as another caller.
        """
        oid = principal_id or self.principal_id
        appid = client_id or (self.client_id if principal_id is None else oid)
        issued = int(time.time())
        expires_on = issued + lifetime
        claims = {
            "aud": resource.removesuffix("/.default"),
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": issued,
            "nbf": issued,
            "exp": expires_on,
            "appid": appid,
            "appidacr": "2",
            "idtyp": "app",
            "oid": oid,
            "sub": oid,
            "tid": self.tenant_id,
            "uti": secrets.token_urlsafe(16),
            "ver": "1.0",
        }
        header = {"typ": "JWT", "alg": "RS256", "kid": "armsim"}
        token = ".".join(
            [_b64(header), _b64(claims), base64.urlsafe_b64encode(secrets.token_bytes(64)).decode().rstrip("=")]
        )
        with self.lock:
            self.tokens[token] = (resource, float(expires_on))
            self.token_principals[token] = (oid, appid)
        return token, expires_on

    def principal_of(self, authorization: str | None) -> tuple[str, str] | None:
        """(object ID, client ID) of a valid bearer token's caller, or None."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        token = authorization[7:].strip()
        with self.lock:
            issued = self.tokens.get(token)
            if issued is None or issued[1] < time.time():
                return None
            return self.token_principals.get(token)

    def event_for(self, request: RecordedRequest) -> dict[str, Any]:
        """The Event Grid event (schema: subscription system topic) that ARM publishes for a successful write
        or delete armsim answered: ``eventType``, ``subject``, ``data`` with the caller's ``claims`` and
        ``authorization`` (as in the official examples), ``id``, ``eventTime``, ``dataVersion``."""
        if not request.is_write or request.status is None or request.status >= 300:
            raise ValueError(f"{request.method} {request.path} answered {request.status}: ARM publishes no event")
        caller = None
        with self.lock:
            caller = self.token_principals.get((request.headers.get("Authorization") or "")[7:].strip())
        oid, appid = caller or ("", "")
        delete = request.method == "DELETE"
        resource_uri = request.path
        parts = [p for p in resource_uri.split("/") if p]
        lowered = [p.lower() for p in parts]
        if "providers" in lowered:
            i = len(lowered) - 1 - lowered[::-1].index("providers")
            operation = "/".join([parts[i + 1], *parts[i + 2 :: 2]])
        else:
            operation = "Microsoft.Resources/subscriptions/resourceGroups"
        operation += "/delete" if delete else "/write"
        subscription_id = parts[1] if len(parts) > 1 else ""
        return {
            "id": str(uuid.uuid4()),
            "eventType": "Microsoft.Resources.ResourceDeleteSuccess"
            if delete
            else "Microsoft.Resources.ResourceWriteSuccess",
            "subject": resource_uri,
            "eventTime": _now(),
            "dataVersion": "2",
            "topic": f"/subscriptions/{subscription_id}",
            "data": {
                "authorization": {
                    "scope": resource_uri,
                    "action": operation,
                    "evidence": {"role": "armsim", "principalId": oid, "principalType": "ServicePrincipal"},
                },
                "claims": {
                    "aud": self.base_url,
                    "appid": appid,
                    "appidacr": "2",
                    "http://schemas.microsoft.com/identity/claims/objectidentifier": oid,
                    "http://schemas.microsoft.com/identity/claims/tenantid": self.tenant_id,
                    "ver": "1.0",
                },
                "correlationId": request.headers.get("x-ms-correlation-request-id") or str(uuid.uuid4()),
                "resourceProvider": operation.split("/", 1)[0],
                "resourceUri": resource_uri,
                "operationName": operation,
                "status": "Succeeded",
                "subscriptionId": subscription_id,
                "tenantId": self.tenant_id,
            },
        }


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode().rstrip("=")


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


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime())


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")
