"""The management SDK clients: one per (service, subscription), built once and reused.

Every client of the process shares one HTTP transport (one connection pool), one token
(:class:`~remediation.azure.identity.SharedToken`) and one model of ARM's request limits
(:class:`~remediation.azure.pacing.Pacer`), and has the same pipeline: the bounded retry
policy (:mod:`remediation.azure.policies`), then pacing on every attempt.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import requests
import requests.adapters
from azure.core.pipeline.transport import RequestsTransport
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.loganalytics import LogAnalyticsManagementClient
from azure.mgmt.managementgroups import ManagementGroupsMgmtClient
from azure.mgmt.monitor import MonitorManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient

from remediation.azure.endpoints import EndpointTokenPolicy, LinkGuardPolicy
from remediation.azure.identity import SharedToken
from remediation.azure.pacing import Pacer, PacingPolicy
from remediation.azure.policies import RETRY_AFTER_CAP, SDK_OPTIONS, log_rate_limits, new_retry_policy
from remediation.kit.clock import SYSTEM_CLOCK, Clock

T = TypeVar("T")

# One HTTP connection pool for every SDK client of the process, as large as the engine's
# largest concurrency (connections are opened only when needed).
POOL_SIZE = 64

_lock = threading.Lock()
_shared: dict[str, Any] = {}


def shared_transport() -> RequestsTransport:
    """The process's one HTTP transport (one ``requests`` session, one connection pool of :data:`POOL_SIZE`)."""
    with _lock:
        transport = _shared.get("transport")
        if transport is None:
            session = requests.Session()
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=POOL_SIZE)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            transport = RequestsTransport(session=session, session_owner=False)
            _shared["transport"] = transport
        return transport


def shared_pacer() -> Pacer:
    """The process's one model of ARM's request limits (every run, sweep and event shares ARM's buckets)."""
    with _lock:
        pacer = _shared.get("pacer")
        if pacer is None:
            pacer = _shared["pacer"] = Pacer(retry_after_cap=RETRY_AFTER_CAP, clock=_shared.get("clock", SYSTEM_CLOCK))
        return pacer


def forget_pacer(clock: Clock = SYSTEM_CLOCK) -> None:
    """Drop the process's model of ARM's limits: the next use starts with full buckets, modelled (and
    waited for) on ``clock`` (real time, unless whoever runs the process runs it on other time)."""
    with _lock:
        _shared.pop("pacer", None)
        _shared["clock"] = clock


class ArmClients:
    """The SDK clients of one ARM endpoint and identity, made on first use per (service, subscription)."""

    def __init__(self, endpoint: str, scopes: list[str], token: SharedToken, pacer: Pacer, transport: Any) -> None:
        self._endpoint = endpoint
        self._scopes = scopes
        self._token = token
        self._pacer = pacer
        self._transport = transport
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}

    def _client(self, kind: str, subscription_id: str | None, factory: Callable[..., T]) -> T:
        key = (kind, (subscription_id or "-").lower())
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                kwargs: dict[str, Any] = {
                    "base_url": self._endpoint,
                    "credential_scopes": self._scopes,
                    "raw_response_hook": log_rate_limits,
                    "retry_policy": new_retry_policy(),
                    **SDK_OPTIONS,
                    # one transport, one token, one model of ARM's buckets for every client
                    "transport": self._transport,
                    "per_retry_policies": [PacingPolicy(self._pacer)],
                    # requests, and our token, stay on ARM's endpoint
                    "per_call_policies": [LinkGuardPolicy(self._endpoint)],
                    "authentication_policy": EndpointTokenPolicy(self._token, *self._scopes, endpoint=self._endpoint),
                }
                if subscription_id is None:
                    client = factory(self._token, **kwargs)
                else:
                    client = factory(self._token, subscription_id, **kwargs)
                self._clients[key] = client
            return client

    def built(self) -> list[Any]:
        """The clients made so far."""
        with self._lock:
            return list(self._clients.values())

    def subscriptions(self) -> SubscriptionClient:
        return self._client("subscriptions", None, SubscriptionClient)

    def management_groups(self) -> ManagementGroupsMgmtClient:
        return self._client("managementgroups", None, ManagementGroupsMgmtClient)

    def aks(self, subscription_id: str) -> ContainerServiceClient:
        return self._client("aks", subscription_id, ContainerServiceClient)

    def monitor(self, subscription_id: str) -> MonitorManagementClient:
        return self._client("monitor", subscription_id, MonitorManagementClient)

    def logs(self, subscription_id: str) -> LogAnalyticsManagementClient:
        return self._client("loganalytics", subscription_id, LogAnalyticsManagementClient)

    def resources(self, subscription_id: str) -> ResourceManagementClient:
        return self._client("resources", subscription_id, ResourceManagementClient)
