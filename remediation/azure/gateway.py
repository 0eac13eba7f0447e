"""The ARM gateway: typed, classified access to the ARM operations the product uses.

The facade over the management SDKs, the only module the composition roots build ARM access
from. One gateway per ARM endpoint and identity (:meth:`ArmGateway.from_config`), reused across
runs and warm Function invocations; each run works through :meth:`ArmGateway.bounded`, a view
whose every call carries the run's :class:`~remediation.kit.deadline.Deadline` into the SDK as the
per-call keyword ``deadline`` (see :mod:`remediation.azure.policies`). Its rooms:

- :mod:`~remediation.azure.identity`: the credential, one token for every client;
- :mod:`~remediation.azure.clients`: one SDK client per (service, subscription), one transport;
- :mod:`~remediation.azure.policies`: the deadline in the request's context, bounded retries and polls;
- :mod:`~remediation.azure.pacing`: ARM's request limits, waited for before ARM has to say 429;
- :mod:`~remediation.azure.calls`: each call within the deadline; lookups, writes and creations tried again;
- :mod:`~remediation.azure.classify`: every SDK failure classified once (permanent or temporary);
- :mod:`~remediation.azure.models`: SDK models to our core model and back;
- :mod:`~remediation.azure.workspace_ops`: workspaces, their table's plan, their resource groups.

Waiting is bounded everywhere (see docs/deadlines.md): the SDK's retries stop when the next
wait would not fit; a write that meets "another operation is in progress" (409), and a listing
or the category metadata (shared lookups), are tried again 2..10 s apart within at most a
minute (:mod:`~remediation.azure.calls`); a workspace's creation is polled only until the deadline.

Writes whose outcome is ambiguous (connection lost, timeout, 5xx after the retries) are read
back: :meth:`ArmGateway.write_setting` returns normally when the setting is now what we wrote.
Workspaces and resource groups are created at most once (:mod:`~remediation.azure.workspace_ops`).
"""

from __future__ import annotations

import copy
import logging
import threading
from datetime import datetime
from typing import Any

from azure.core.credentials import TokenCredential

from remediation.azure import models
from remediation.azure.activity_log import list_setting_changes
from remediation.azure.calls import Caller
from remediation.azure.classify import is_ambiguous
from remediation.azure.clients import ArmClients, shared_pacer, shared_transport
from remediation.azure.identity import SharedToken, credential_for, identity_key, token_caller_ids
from remediation.azure.pacing import Pacer
from remediation.azure.policies import CallDeadline
from remediation.azure.workspace_ops import WorkspaceOperations
from remediation.config.values import Config
from remediation.core.last_change import SettingKey
from remediation.core.model import CategoryMetadata, Cluster, ClusterListing, DiagnosticSetting, SettingChange
from remediation.errors import ArmError, ClusterNotFoundError, ManagementGroupError, NotFoundError
from remediation.ids import parse_cluster_id
from remediation.kit.deadline import Deadline, DeadlineExceeded

logger = logging.getLogger(__name__)

# A subscription among a management group's descendants (the others are groups).
SUBSCRIPTION_DESCENDANT = "microsoft.management/managementgroups/subscriptions"

_lock = threading.Lock()
_gateways: dict[tuple[str, str], ArmGateway] = {}


class ArmGateway(WorkspaceOperations):
    """Typed, classified access to the ARM operations the product uses (workspaces, table plans
    and resource groups in :class:`~remediation.azure.workspace_ops.WorkspaceOperations`)."""

    def __init__(
        self,
        config: Config,
        credential: TokenCredential,
        *,
        pacer: Pacer | None = None,
        transport: Any = None,
    ) -> None:
        self._scopes = [config.credential_scope]
        self._credential = credential if isinstance(credential, SharedToken) else SharedToken(credential)
        self.pacer = pacer or shared_pacer()
        self.clients = ArmClients(
            config.arm_endpoint, self._scopes, self._credential, self.pacer, transport or shared_transport()
        )
        self._calls = Caller(Deadline.for_trigger("cli", config.deadline_seconds))

    @classmethod
    def from_config(cls, config: Config, credential: TokenCredential | None = None) -> ArmGateway:
        """The process-wide gateway for this endpoint (built once, reused by warm invocations)."""
        if credential is not None:
            return cls(config, credential)
        key = (config.arm_endpoint, identity_key(config))
        with _lock:
            gateway = _gateways.get(key)
        if gateway is None:
            gateway = cls(config, credential_for(config))
            with _lock:
                gateway = _gateways.setdefault(key, gateway)
        return gateway

    def bounded(self, deadline: Deadline) -> ArmGateway:
        """A view of this gateway (same credential and clients) whose every wait ends by ``deadline``."""
        view = copy.copy(self)
        view._calls = Caller(deadline)
        return view

    @property
    def deadline(self) -> Deadline:
        return self._calls.deadline

    def round_trip(self) -> float | None:
        """Smoothed round-trip time of ARM requests answered so far (from the pacer)."""
        return self.pacer.round_trip

    def caller_ids(self) -> frozenset[str]:
        """Who we are to ARM: the object ID (``oid``) and application ID (``appid``) in our ARM
        token, lower case. Event Grid events carry their caller's, so our own writes can be told
        apart. Empty when the token is not a JWT (nothing is then taken for ours)."""
        try:
            token = self._credential.get_token(*self._scopes).token
        except Exception as exc:  # noqa: BLE001 - not knowing who we are only costs reads
            logger.debug("could not read our own identity from a token: %s", exc)
            return frozenset()
        return token_caller_ids(token)

    # -- subscriptions and clusters -------------------------------------------------------------
    def list_subscriptions(self) -> list[str]:
        """IDs of the enabled subscriptions the identity can see."""
        client = self.clients.subscriptions()

        def read(call: CallDeadline) -> list[str]:
            return [
                str(s.subscription_id).lower()
                for s in client.subscriptions.list(deadline=call)
                if models.text(s.state).lower() in models.USABLE_SUBSCRIPTION_STATES
            ]

        return self._calls.read("list subscriptions", read)

    def list_management_group_subscriptions(self, group_id: str) -> list[str]:
        """IDs of every subscription under the management group, nested groups included: one
        listing of its descendants, every page. Raises :class:`ManagementGroupError` naming the group."""
        client = self.clients.management_groups()

        def read(call: CallDeadline) -> list[str]:
            return [
                str(d.name).lower()
                for d in client.management_groups.get_descendants(group_id, deadline=call)
                if models.text(d.type).lower() == SUBSCRIPTION_DESCENDANT
            ]

        try:
            return self._calls.read(f"list the subscriptions of management group {group_id}", read)
        except ArmError as exc:
            raise ManagementGroupError(group_id, exc) from exc

    def subscription_name(self, subscription_id: str) -> str | None:
        """The subscription's display name (None when ARM gives none)."""
        client = self.clients.subscriptions()
        sub = self._calls.call(
            f"read subscription {subscription_id}",
            lambda call: client.subscriptions.get(subscription_id, deadline=call),
        )
        return str(sub.display_name) if sub.display_name else None

    def list_clusters(self, subscription_id: str) -> ClusterListing:
        def read(call: CallDeadline) -> ClusterListing:
            return models.cluster_listing(self.clients.aks(subscription_id).managed_clusters.list(deadline=call))

        return self._calls.read(f"list clusters in subscription {subscription_id}", read)

    def get_cluster(self, cluster_id: str) -> Cluster:
        ref = parse_cluster_id(cluster_id)
        client = self.clients.aks(ref.subscription_id)
        try:
            return self._calls.call(
                f"read cluster {cluster_id}",
                lambda call: models.cluster(client.managed_clusters.get(ref.resource_group, ref.name, deadline=call)),
            )
        except NotFoundError as exc:
            raise ClusterNotFoundError(exc.code, exc.message, status=404) from exc

    # -- diagnostic settings -------------------------------------------------------------------
    def list_settings(self, cluster: Cluster) -> tuple[DiagnosticSetting, ...]:
        uri = models.resource_uri(cluster.id)
        client = self.clients.monitor(cluster.subscription_id)
        return self._calls.call(
            f"list diagnostic settings of {cluster.id}",
            lambda call: models.settings_of(cluster.id, client.diagnostic_settings.list(uri, deadline=call)),
        )

    def get_category_metadata(self, cluster: Cluster) -> CategoryMetadata:
        uri = models.resource_uri(cluster.id)
        client = self.clients.monitor(cluster.subscription_id)
        return self._calls.read(
            f"read diagnostic categories of {cluster.id}",
            lambda call: models.category_metadata(client.diagnostic_settings_category.list(uri, deadline=call)),
        )

    def list_setting_changes(
        self, subscription_id: str, *, since: datetime, until: datetime
    ) -> dict[SettingKey, datetime]:
        """The newest write or delete of each diagnostic setting in the subscription's Activity Log
        over ``[since, until]`` (every page; :mod:`remediation.azure.activity_log`)."""
        client = self.clients.monitor(subscription_id)
        return self._calls.read(
            f"read the Activity Log of subscription {subscription_id}",
            lambda call: list_setting_changes(client, since=since, until=until, deadline=call),
        )

    def write_setting(self, cluster: Cluster, change: SettingChange, existing: DiagnosticSetting | None) -> None:
        """Create or update our setting exactly as ``change`` says, keeping all else of it.

        After an ambiguous failure the setting is read back: when it now holds what we wrote,
        the write took effect and this returns normally; otherwise the failure is raised.
        """
        body = models.setting_body(change, existing)
        uri = models.resource_uri(cluster.id)
        client = self.clients.monitor(cluster.subscription_id)
        what = f"write diagnostic setting {change.setting_name} on {cluster.id}"
        try:
            self._calls.write(
                what,
                lambda call: client.diagnostic_settings.create_or_update(uri, change.setting_name, body, deadline=call),
            )
        except (ArmError, DeadlineExceeded) as exc:
            ambiguous = isinstance(exc, DeadlineExceeded) or is_ambiguous(exc)
            if not ambiguous or not self._setting_holds(cluster, change):
                raise
            logger.warning("%s: the answer was lost (%s), but reading it back shows the write took effect", what, exc)

    def _setting_holds(self, cluster: Cluster, change: SettingChange) -> bool:
        """Whether our setting on ``cluster`` now holds what ``change`` writes (read back once)."""
        uri = models.resource_uri(cluster.id)
        client = self.clients.monitor(cluster.subscription_id)
        try:
            found = self._calls.call(
                f"read back diagnostic setting {change.setting_name} on {cluster.id}",
                lambda call: client.diagnostic_settings.get(uri, change.setting_name, retry_total=1, deadline=call),
            )
        except (ArmError, DeadlineExceeded):
            return False
        return models.holds(found, change)


def forget_gateways() -> None:
    """Drop the process's gateways (and so their SDK clients): the next use builds them again."""
    with _lock:
        _gateways.clear()
