"""The ARM gateway: the only module that talks to the Azure management SDK.

One credential per process and one SDK client per (subscription, service), reused across
runs and warm Function invocations. Single HTTP calls are retried by the SDK's own retry
policy (429 honouring ``Retry-After``, 5xx, connection errors); a write that meets
"another operation is in progress" (409) is retried by tenacity with a bounded backoff.
Every SDK failure is classified here, once, into :mod:`remediation.errors`.
"""

from __future__ import annotations

import copy
import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from azure.core.credentials import TokenCredential
from azure.core.exceptions import (
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.core.pipeline import PipelineResponse
from azure.identity import DefaultAzureCredential
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.loganalytics import LogAnalyticsManagementClient
from azure.mgmt.loganalytics.models import Workspace, WorkspaceProperties, WorkspaceSku
from azure.mgmt.monitor import MonitorManagementClient
from azure.mgmt.monitor.v2021_05_01_preview.models import DiagnosticSettingsResource, LogSettings
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from remediation.config import Config
from remediation.core.model import CategoryMetadata, Cluster, DiagnosticSetting, LogEntry, SettingChange
from remediation.errors import ArmError, ClusterNotFoundError, NotFoundError, TransientArmError
from remediation.ids import ClusterId, WorkspaceId, parse_cluster_id, workspace_ref

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Bounds for the SDK's per-request retry policy: at most 4 tries, waits capped at 8 s.
SDK_RETRY: Mapping[str, Any] = {
    "retry_total": 3,
    "retry_backoff_factor": 0.5,
    "retry_backoff_max": 8,
    "connection_timeout": 10,
    "read_timeout": 60,
}
# 409 "operation in progress" on a write: 4 attempts, 2..10 s apart (at most ~25 s).
CONFLICT_ATTEMPTS = 4
_IN_PROGRESS_CODES = frozenset(
    {"anotheroperationinprogress", "operationnotallowed", "conflict", "resourcebusy", "operationinprogress"}
)
_TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})

_credential_lock = threading.Lock()
_credentials: dict[str, TokenCredential] = {}
_gateways: dict[tuple[str, str], ArmGateway] = {}


# What DefaultAzureCredential reads from the environment when it is built: a change of any
# of these (another managed identity, another token endpoint) needs a new credential.
_IDENTITY_ENV = (
    "IDENTITY_ENDPOINT",
    "MSI_ENDPOINT",
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_FEDERATED_TOKEN_FILE",
)


def _identity_key(config: Config) -> str:
    return "|".join([config.cloud.authority_host, *(os.environ.get(name, "") for name in _IDENTITY_ENV)])


def _credential_for(config: Config) -> TokenCredential:
    key = _identity_key(config)
    with _credential_lock:
        credential = _credentials.get(key)
        if credential is None:
            credential = DefaultAzureCredential(authority=config.cloud.authority_host)
            _credentials[key] = credential
        return credential


def _log_rate_limits(response: PipelineResponse[Any, Any]) -> None:
    headers = response.http_response.headers
    remaining = {k: v for k, v in headers.items() if k.lower().startswith("x-ms-ratelimit-remaining")}
    if remaining:
        logger.debug("ARM rate limits remaining: %s", remaining)


def classify(exc: Exception, *, what: str) -> ArmError:
    """Turn an SDK exception into an :class:`ArmError` that says whether retrying can help."""
    if isinstance(exc, ArmError):
        return exc
    if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
        return TransientArmError("ConnectionError", f"{what}: {exc}", transient=True)
    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        error = getattr(exc, "error", None)
        code = getattr(error, "code", None) or (exc.reason or "HttpError")
        message = getattr(error, "message", None) or str(exc.message or exc)
        message = f"{what}: {message}"
        if status == 404 or isinstance(exc, ResourceNotFoundError):
            return NotFoundError(code, message, status=status)
        if status in _TRANSIENT_STATUSES or (status == 409 and code.lower() in _IN_PROGRESS_CODES):
            return TransientArmError(code, message, status=status, transient=True)
        return ArmError(code, message, status=status)
    return ArmError(type(exc).__name__, f"{what}: {exc}")


def _is_in_progress(exc: BaseException) -> bool:
    return isinstance(exc, ArmError) and exc.status == 409 and exc.transient


class ArmGateway:
    """Typed, classified access to the ARM operations the product uses."""

    def __init__(self, config: Config, credential: TokenCredential) -> None:
        self._endpoint = config.arm_endpoint
        self._scopes = [config.credential_scope]
        self._credential = credential
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}

    @classmethod
    def from_config(cls, config: Config, credential: TokenCredential | None = None) -> ArmGateway:
        """The process-wide gateway for this endpoint (built once, reused by warm invocations)."""
        if credential is not None:
            return cls(config, credential)
        key = (config.arm_endpoint, _identity_key(config))
        with _credential_lock:
            gateway = _gateways.get(key)
        if gateway is None:
            gateway = cls(config, _credential_for(config))
            with _credential_lock:
                gateway = _gateways.setdefault(key, gateway)
        return gateway

    # -- clients -----------------------------------------------------------------------------
    def _client(self, kind: str, subscription_id: str, factory: Callable[..., T]) -> T:
        key = (kind, subscription_id.lower())
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                kwargs: dict[str, Any] = {
                    "base_url": self._endpoint,
                    "credential_scopes": self._scopes,
                    "raw_response_hook": _log_rate_limits,
                    **SDK_RETRY,
                }
                if kind == "subscriptions":
                    client = factory(self._credential, **kwargs)
                else:
                    client = factory(self._credential, subscription_id, **kwargs)
                self._clients[key] = client
            return client

    def _aks(self, subscription_id: str) -> ContainerServiceClient:
        return self._client("aks", subscription_id, ContainerServiceClient)

    def _monitor(self, subscription_id: str) -> MonitorManagementClient:
        return self._client("monitor", subscription_id, MonitorManagementClient)

    def _logs(self, subscription_id: str) -> LogAnalyticsManagementClient:
        return self._client("loganalytics", subscription_id, LogAnalyticsManagementClient)

    def _resources(self, subscription_id: str) -> ResourceManagementClient:
        return self._client("resources", subscription_id, ResourceManagementClient)

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except Exception as exc:
            raise classify(exc, what=what) from exc

    def _write(self, what: str, fn: Callable[[], T]) -> T:
        """A write, retried while ARM says another operation is in progress (409)."""
        retrying = Retrying(
            retry=retry_if_exception(_is_in_progress),
            stop=stop_after_attempt(CONFLICT_ATTEMPTS),
            wait=wait_exponential(multiplier=2, min=2, max=10),
            reraise=True,
        )
        result: T = retrying(self._call, what, fn)
        return result

    # -- subscriptions and clusters -------------------------------------------------------------
    def list_subscriptions(self) -> list[str]:
        """IDs of the enabled subscriptions the identity can see."""
        client: SubscriptionClient = self._client("subscriptions", "-", SubscriptionClient)

        def read() -> list[str]:
            return [
                str(s.subscription_id).lower()
                for s in client.subscriptions.list()
                if _text(s.state).lower() in {"enabled", "warned", "pastdue"}
            ]

        return self._call("list subscriptions", read)

    def list_clusters(self, subscription_id: str) -> list[Cluster]:
        def read() -> list[Cluster]:
            return [_cluster(mc) for mc in self._aks(subscription_id).managed_clusters.list()]

        return self._call(f"list clusters in subscription {subscription_id}", read)

    def get_cluster(self, cluster_id: str) -> Cluster:
        ref = parse_cluster_id(cluster_id)
        try:
            mc = self._call(
                f"read cluster {cluster_id}",
                lambda: self._aks(ref.subscription_id).managed_clusters.get(ref.resource_group, ref.name),
            )
        except NotFoundError as exc:
            raise ClusterNotFoundError(exc.code, exc.message, status=404) from exc
        return _cluster(mc)

    # -- diagnostic settings -------------------------------------------------------------------
    def list_settings(self, cluster: Cluster) -> tuple[DiagnosticSetting, ...]:
        uri = _uri(cluster.id)

        def read() -> tuple[DiagnosticSetting, ...]:
            return tuple(_setting(s) for s in self._monitor(cluster.subscription_id).diagnostic_settings.list(uri))

        return self._call(f"list diagnostic settings of {cluster.id}", read)

    def get_category_metadata(self, cluster: Cluster) -> CategoryMetadata:
        uri = _uri(cluster.id)

        def read() -> CategoryMetadata:
            groups: dict[str, set[str]] = {}
            categories: set[str] = set()
            for item in self._monitor(cluster.subscription_id).diagnostic_settings_category.list(uri):
                if _text(item.category_type).lower() != "logs":
                    continue
                categories.add(str(item.name))
                for group in item.category_groups or []:
                    groups.setdefault(str(group).lower(), set()).add(str(item.name))
            return CategoryMetadata(
                groups={g: frozenset(c) for g, c in groups.items()}, categories=frozenset(categories)
            )

        return self._call(f"read diagnostic categories of {cluster.id}", read)

    def write_setting(self, cluster: Cluster, change: SettingChange, existing: DiagnosticSetting | None) -> None:
        """Create or update our setting exactly as ``change`` says, keeping all else of it."""
        body: DiagnosticSettingsResource
        if existing is not None and isinstance(existing.raw, DiagnosticSettingsResource):
            body = copy.deepcopy(existing.raw)
        else:
            body = DiagnosticSettingsResource()
        body.workspace_id = change.workspace_id
        body.log_analytics_destination_type = change.log_analytics_destination_type
        body.logs = [_log_settings(e) for e in change.keep_logs] + [
            LogSettings(category=c, enabled=True) for c in change.categories
        ]
        uri = _uri(cluster.id)
        self._write(
            f"write diagnostic setting {change.setting_name} on {cluster.id}",
            lambda: self._monitor(cluster.subscription_id).diagnostic_settings.create_or_update(
                uri, change.setting_name, body
            ),
        )

    # -- workspaces and resource groups ----------------------------------------------------------
    def workspace_exists(self, workspace_id: str) -> bool:
        """False only on 404; a workspace we may not read (403) is assumed to exist."""
        ref = workspace_ref(workspace_id)
        try:
            self._call(
                f"read workspace {workspace_id}",
                lambda: self._logs(ref.subscription_id).workspaces.get(ref.resource_group, ref.name),
            )
        except NotFoundError:
            return False
        except ArmError as exc:
            if exc.status == 403:
                logger.debug("workspace %s is not readable (%s); assuming it exists", workspace_id, exc.code)
                return True
            raise
        return True

    def resource_group_exists(self, subscription_id: str, name: str) -> bool:
        try:
            self._call(
                f"read resource group {name}", lambda: self._resources(subscription_id).resource_groups.get(name)
            )
        except NotFoundError:
            return False
        return True

    def create_resource_group(self, subscription_id: str, name: str, location: str, tags: Mapping[str, str]) -> str:
        group = self._write(
            f"create resource group {name}",
            lambda: self._resources(subscription_id).resource_groups.create_or_update(
                name, {"location": location, "tags": dict(tags)}
            ),
        )
        return str(group.id)

    def create_workspace(
        self, workspace_id: WorkspaceId, *, location: str, retention_days: int, tags: Mapping[str, str]
    ) -> str:
        """Create a workspace and wait for the long-running operation to finish."""
        ref = workspace_ref(workspace_id)
        params = Workspace(
            location=location,
            tags=dict(tags),
            properties=WorkspaceProperties(sku=WorkspaceSku(name="PerGB2018"), retention_in_days=retention_days),
        )

        def create() -> Any:
            poller = self._logs(ref.subscription_id).workspaces.begin_create_or_update(
                ref.resource_group, ref.name, params, polling_interval=1
            )
            return poller.result()

        ws = self._write(f"create workspace {workspace_id}", create)
        return str(ws.id)


def _text(value: Any) -> str:
    """An SDK enum or string as its plain text value ('' for None)."""
    return str(getattr(value, "value", value) or "")


def _uri(resource_id: str) -> str:
    # The monitor SDK puts resource_uri after a literal '/' without quoting it.
    return resource_id.lstrip("/")


def _cluster(mc: Any) -> Cluster:
    ref = parse_cluster_id(str(mc.id))
    return Cluster(
        id=ClusterId(str(mc.id)),
        name=str(mc.name),
        subscription_id=ref.subscription_id,
        resource_group=ref.resource_group,
        location=str(mc.location),
        provisioning_state=_text(mc.provisioning_state),
        tags=dict(mc.tags or {}),
    )


def _setting(s: DiagnosticSettingsResource) -> DiagnosticSetting:
    return DiagnosticSetting(
        name=str(s.name),
        logs=tuple(
            LogEntry(enabled=bool(e.enabled), category=e.category or None, category_group=e.category_group or None)
            for e in (s.logs or [])
        ),
        workspace_id=s.workspace_id or None,
        storage_account_id=s.storage_account_id or None,
        event_hub_authorization_rule_id=s.event_hub_authorization_rule_id or None,
        marketplace_partner_id=s.marketplace_partner_id or None,
        log_analytics_destination_type=s.log_analytics_destination_type or None,
        raw=s,
    )


def _log_settings(entry: LogEntry) -> LogSettings:
    return LogSettings(category=entry.category, category_group=entry.category_group, enabled=entry.enabled)
