"""The ports of the engine: what it needs from the outside world, as protocols.

The engine never imports an adapter; the composition roots (``app.runtime``, ``cli.run``) hand it
objects that satisfy these protocols (``remediation.azure`` implements them against ARM, Log
Analytics and Azure Tables; the tests' adapters are the same ones against armsim and Azurite).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from remediation.core.flow_verdict import FlowRow
from remediation.core.last_change import SettingKey
from remediation.core.model import CategoryMetadata, Cluster, ClusterListing, Creation, DiagnosticSetting, SettingChange
from remediation.core.status import Observation, SubscriptionSweep
from remediation.ids import WorkspaceId
from remediation.kit.deadline import Deadline


class WorkspaceGateway(Protocol):
    """Log Analytics workspaces and their resource groups (:mod:`remediation.engine.workspaces`)."""

    def workspace_state(self, workspace_id: str) -> str | None: ...

    def wait_for_workspace(self, workspace_id: str, state: str) -> str: ...

    def resource_group_exists(self, subscription_id: str, name: str) -> bool: ...

    def create_resource_group(
        self, subscription_id: str, name: str, location: str, tags: Mapping[str, str]
    ) -> Creation: ...

    def create_workspace(
        self, workspace_id: WorkspaceId, *, location: str, retention_days: int, tags: Mapping[str, str]
    ) -> Creation: ...


class TablePlanGateway(Protocol):
    """The ``AKSAudit`` table's plan in our workspaces (:mod:`remediation.engine.table_plans`)."""

    def workspace_tags(self, workspace_id: str) -> dict[str, str] | None: ...

    def get_table_plan(self, workspace_id: str, table: str) -> str: ...

    def set_table_plan(self, workspace_id: str, table: str, plan: str) -> str: ...


class Gateway(WorkspaceGateway, TablePlanGateway, Protocol):
    """ARM: subscriptions, clusters, their diagnostic settings, and everything above."""

    def bounded(self, deadline: Deadline) -> Gateway: ...

    def list_subscriptions(self) -> list[str]: ...

    def list_management_group_subscriptions(self, group_id: str) -> list[str]: ...

    def list_clusters(self, subscription_id: str) -> ClusterListing:
        """The subscription's clusters, and apart the listed entries whose ID is not a cluster's."""
        ...

    def get_cluster(self, cluster_id: str) -> Cluster: ...

    def list_settings(self, cluster: Cluster) -> tuple[DiagnosticSetting, ...]: ...

    def get_category_metadata(self, cluster: Cluster) -> CategoryMetadata: ...

    def write_setting(self, cluster: Cluster, change: SettingChange, existing: DiagnosticSetting | None) -> None: ...

    def list_setting_changes(
        self, subscription_id: str, *, since: datetime, until: datetime
    ) -> dict[SettingKey, datetime]:
        """The newest write or delete of each diagnostic setting in the subscription's Activity Log."""
        ...

    def round_trip(self) -> float | None:
        """Smoothed ARM round-trip time in seconds observed so far (None before any answer)."""
        ...

    def subscription_name(self, subscription_id: str) -> str | None: ...

    def caller_ids(self) -> frozenset[str]:
        """Our identity's IDs as ARM sees them (object ID, application ID), lower case."""
        ...


class LogsGateway(Protocol):
    """Log Analytics queries, for flow verification (:mod:`remediation.engine.flow_check`)."""

    def query_flow(
        self, workspace_id: str, query: str, *, lookback_hours: int, server_timeout: int, deadline: Deadline
    ) -> tuple[FlowRow, ...]: ...


class ChangeHistory(Protocol):
    """Our change records, newest first (the ledger): flow verification's fill-in for setting ages."""

    def list_changes(
        self,
        cluster_id: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        *,
        subscriptions: Sequence[str] = (),
    ) -> list[dict[str, Any]]: ...


class StateStore(Protocol):
    """The state table: each cluster's latest observed outcome (:mod:`remediation.engine.observations`).

    With ``deadline``, a call's retries wait on that deadline's clock and never past it."""

    def put_observations(self, items: Sequence[Observation], *, deadline: Deadline | None = None) -> None: ...

    def put_sweep(self, sweep: SubscriptionSweep, *, deadline: Deadline | None = None) -> None: ...

    def stored_clusters(self, subscription_id: str, *, deadline: Deadline | None = None) -> list[tuple[str, str, str]]:
        """``(cluster_id, observed_at, trigger)`` of every stored cluster of one subscription."""
        ...

    def delete_clusters(self, cluster_ids: Iterable[str], *, deadline: Deadline | None = None) -> None: ...
