"""The management SDKs' models to our core model (:mod:`remediation.core.model`) and back."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from azure.mgmt.loganalytics.models import Table, TableProperties, Workspace, WorkspaceProperties, WorkspaceSku
from azure.mgmt.monitor.v2021_05_01_preview.models import DiagnosticSettingsResource, LogSettings

from remediation.core.model import (
    CategoryMetadata,
    Cluster,
    ClusterListing,
    DiagnosticSetting,
    LogEntry,
    MetricEntry,
    RejectedEntry,
    SettingChange,
)
from remediation.errors import ResourceIdError
from remediation.ids import ClusterId, id_key, parse_cluster_id, printable

# Subscription states in which the subscription is used (others are disabled or deleted).
USABLE_SUBSCRIPTION_STATES = frozenset({"enabled", "warned", "pastdue"})
WORKSPACE_SKU = "PerGB2018"


def text(value: Any) -> str:
    """An SDK enum or string as its plain text value ('' for None)."""
    return str(getattr(value, "value", value) or "")


def resource_uri(resource_id: str) -> str:
    """A resource ID as the monitor SDK's ``resource_uri`` (it puts it after a literal '/' without quoting)."""
    return resource_id.lstrip("/")


def cluster(mc: Any) -> Cluster:
    """A ``ManagedCluster`` as our :class:`Cluster`; raises ResourceIdError when its ID is not a cluster's."""
    ref = parse_cluster_id(str(mc.id))
    return Cluster(
        id=ClusterId(str(mc.id)),
        name=str(mc.name),
        subscription_id=ref.subscription_id,
        resource_group=ref.resource_group,
        location=str(mc.location),
        provisioning_state=text(mc.provisioning_state),
        tags=dict(mc.tags or {}),
    )


def cluster_listing(items: Iterable[Any]) -> ClusterListing:
    """A subscription's cluster listing: its clusters, and apart the entries whose ID is not a
    cluster's (one bad entry costs only itself, never the listing)."""
    clusters: list[Cluster] = []
    rejected: list[RejectedEntry] = []
    for mc in items:
        try:
            clusters.append(cluster(mc))
        except ResourceIdError as exc:
            rejected.append(RejectedEntry(resource_id=str(mc.id), name=str(mc.name or ""), problem=str(exc)))
    return ClusterListing(clusters=tuple(clusters), rejected=tuple(rejected))


def settings_of(resource_id: str, items: Iterable[DiagnosticSettingsResource]) -> tuple[DiagnosticSetting, ...]:
    """The diagnostic settings of one resource, as listed; raises ResourceIdError when an entry's ID
    is not ``<resource>/providers/Microsoft.Insights/diagnosticSettings/<its name>`` or holds a
    non-printable character (the resource is then not judged on a listing it cannot trust)."""
    found = []
    for s in items:
        name, sid = str(s.name or ""), str(s.id or "")
        expected = f"{resource_id}/providers/Microsoft.Insights/diagnosticSettings/{name}"
        if not name or id_key(sid) != id_key(expected) or printable(sid) != sid:
            raise ResourceIdError(f"{sid!r} (named {name!r}) is not a diagnostic setting of {resource_id!r}")
        found.append(setting(s))
    return tuple(found)


def setting(s: DiagnosticSettingsResource) -> DiagnosticSetting:
    """A diagnostic setting as ARM holds it (the SDK model kept as ``raw``, for a faithful rewrite)."""
    return DiagnosticSetting(
        name=str(s.name),
        logs=tuple(
            LogEntry(
                enabled=bool(e.enabled),
                category=e.category or None,
                category_group=e.category_group or None,
                retention_enabled=e.retention_policy.enabled if e.retention_policy is not None else None,
                retention_days=e.retention_policy.days if e.retention_policy is not None else None,
            )
            for e in (s.logs or [])
        ),
        metrics=tuple(
            MetricEntry(category=m.category, enabled=bool(m.enabled)) for m in (s.metrics or []) if m.category
        ),
        workspace_id=s.workspace_id or None,
        storage_account_id=s.storage_account_id or None,
        event_hub_authorization_rule_id=s.event_hub_authorization_rule_id or None,
        marketplace_partner_id=s.marketplace_partner_id or None,
        log_analytics_destination_type=s.log_analytics_destination_type or None,
        last_modified_at=_last_modified(s),
        raw=s,
    )


def _last_modified(s: DiagnosticSettingsResource) -> datetime | None:
    """``systemData.lastModifiedAt`` (else ``createdAt``), timezone-aware; None when ARM did not say."""
    system_data = getattr(s, "system_data", None)
    value = getattr(system_data, "last_modified_at", None) or getattr(system_data, "created_at", None)
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def setting_body(change: SettingChange, existing: DiagnosticSetting | None) -> DiagnosticSettingsResource:
    """The PUT body of our setting: exactly what ``change`` says, all else of the existing one kept."""
    body: DiagnosticSettingsResource
    if existing is not None and isinstance(existing.raw, DiagnosticSettingsResource):
        body = copy.deepcopy(existing.raw)
    else:
        body = DiagnosticSettingsResource()
    body.workspace_id = change.workspace_id
    body.log_analytics_destination_type = change.log_analytics_destination_type
    body.logs = [
        LogSettings(category=e.category, category_group=e.category_group, enabled=e.enabled) for e in change.keep_logs
    ] + [LogSettings(category=c, enabled=True) for c in change.categories]
    return body


def holds(found: DiagnosticSettingsResource, change: SettingChange) -> bool:
    """Whether a setting read back holds what ``change`` writes (its workspace and categories)."""
    read = setting(found)
    enabled = {e.category for e in read.logs if e.enabled and e.category}
    return (read.workspace_id or "").lower() == change.workspace_id.lower() and set(change.categories) <= enabled


def category_metadata(items: Iterable[Any]) -> CategoryMetadata:
    """ARM's diagnostic categories of a resource (its log categories and their groups)."""
    groups: dict[str, set[str]] = {}
    categories: set[str] = set()
    for item in items:
        if text(item.category_type).lower() != "logs":
            continue
        categories.add(str(item.name))
        for group in item.category_groups or []:
            groups.setdefault(str(group).lower(), set()).add(str(item.name))
    return CategoryMetadata(groups={g: frozenset(c) for g, c in groups.items()}, categories=frozenset(categories))


def new_workspace(location: str, retention_days: int, tags: Mapping[str, str]) -> Workspace:
    """The PUT body of a workspace we create."""
    return Workspace(
        location=location,
        tags=dict(tags),
        properties=WorkspaceProperties(sku=WorkspaceSku(name=WORKSPACE_SKU), retention_in_days=retention_days),
    )


def table_plan_patch(plan: str) -> Table:
    """The PATCH body that sets a table's plan."""
    return Table(properties=TableProperties(plan=plan))


def table_plan(table: Any) -> str:
    """The plan of a table model ('' when absent)."""
    return text(getattr(getattr(table, "properties", None), "plan", None))
