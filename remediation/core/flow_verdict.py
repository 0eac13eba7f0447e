"""Do the audit records arrive? Flow verdicts and ingestion cost, as pure functions.

The engine queries each distinct destination workspace once per run with :func:`flow_query`
and hands the rows (or the query's failure) to :func:`decide_flow`, one cluster at a time,
and to :func:`cost_summary` for the whole estate. Nothing here does I/O.

Verdicts, over the required categories:

* ``flowing``: every required category has a record in the lookback;
* ``pending``: not all have, but a setting covering a missing one was modified less than the
  grace period ago (ingestion can take up to 90 minutes to start);
* ``partial``: some have; ``silent``: none has;
* ``unknown``: a workspace could not be queried, no Log Analytics setting covers any
  required category, verification is off, or a setting covering a missing category may be
  younger than the grace period (when it last changed is unknown:
  :mod:`remediation.core.last_change`); ``reason`` says which.

A ``partial`` or ``silent`` verdict whose settings' ages come from our own ledger (the
Activity Log could not be read) has ``reason`` ``last-write-from-ledger``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from remediation.config.values import Config
from remediation.core.compliance import setting_covers, workspace_is_live
from remediation.core.last_change import ChangeSource, SettingChanges, is_young, last_change
from remediation.core.model import ClusterState, DiagnosticSetting
from remediation.ids import id_key

BYTES_PER_GB = 1_000_000_000  # Log Analytics bills decimal GB
AUDIT_TABLE = "AKSAudit"
COSTLY_CATEGORY = "kube-audit"


class FlowVerdict(StrEnum):
    FLOWING = "flowing"
    PARTIAL = "partial"
    SILENT = "silent"
    PENDING = "pending"
    UNKNOWN = "unknown"


FLOW_ORDER: tuple[str, ...] = tuple(v.value for v in FlowVerdict)
# Verdicts that are findings: they make the CLI exit 1 and are logged at WARNING.
FLOW_FINDINGS = frozenset({FlowVerdict.PARTIAL, FlowVerdict.SILENT})


class FlowReason(StrEnum):
    """Why a verdict is ``unknown`` (a failed query passes the service's own error code through)."""

    VERIFICATION_OFF = "verification-off"
    NOT_LOG_ANALYTICS = "not-log-analytics"
    QUERY_TIMEOUT = "query-timeout"
    # No systemData, and neither the Activity Log nor our ledger tells when a setting covering
    # a missing category last changed: it may be younger than the grace period.
    LAST_WRITE_UNKNOWN = "last-write-unknown"
    # Not about an unknown verdict: the settings' ages come from our own ledger (the Activity
    # Log could not be read), so a change by someone else in the grace period is not seen.
    LAST_WRITE_FROM_LEDGER = "last-write-from-ledger"


class TableMode(StrEnum):
    """Where a setting's records land: ``logAnalyticsDestinationType`` Dedicated or not."""

    RESOURCE_SPECIFIC = "resource-specific"
    AZURE_DIAGNOSTICS = "azure-diagnostics"


def table_mode(setting: DiagnosticSetting) -> TableMode:
    dedicated = (setting.log_analytics_destination_type or "").lower() == "dedicated"
    return TableMode.RESOURCE_SPECIFIC if dedicated else TableMode.AZURE_DIAGNOSTICS


@dataclass(frozen=True)
class FlowSink:
    """One live Log Analytics setting of a cluster and the required categories it sends."""

    workspace_id: str
    mode: TableMode
    categories: frozenset[str]
    last_modified_at: datetime | None  # systemData.lastModifiedAt, or when this run wrote it
    setting_name: str = ""


@dataclass(frozen=True)
class FlowRow:
    """One row of the flow query: a (cluster, category) seen in the lookback."""

    resource_id: str
    category: str
    last_seen: datetime
    billed_bytes: int


@dataclass(frozen=True)
class QueryFailure:
    code: str
    message: str


WorkspaceResult = tuple[FlowRow, ...] | QueryFailure


@dataclass(frozen=True)
class Flow:
    verdict: FlowVerdict
    last_seen: Mapping[str, datetime | None] = field(default_factory=dict)  # required category -> last record
    gb_per_day: float | None = None
    reason: str | None = None

    @property
    def silent_categories(self) -> tuple[str, ...]:
        return tuple(c for c, seen in self.last_seen.items() if seen is None)


def flow_sinks(
    state: ClusterState, config: Config, *, written: DiagnosticSetting | None = None
) -> tuple[FlowSink, ...]:
    """The cluster's settings that send required categories to a live workspace.

    ``written`` is a setting of ours this run has just written: it replaces the one read
    (if any) and counts as modified now.
    """
    settings = list(state.settings)
    if written is not None:
        settings = [s for s in settings if s.name.lower() != written.name.lower()] + [written]
    required = frozenset(config.categories)
    sinks = []
    for setting in settings:
        if not workspace_is_live(setting, state.missing_workspaces):
            continue
        categories = setting_covers(setting, state.metadata) & required
        if categories:
            sinks.append(
                FlowSink(
                    workspace_id=setting.workspace_id or "",
                    mode=table_mode(setting),
                    categories=categories,
                    last_modified_at=setting.last_modified_at,
                    setting_name=setting.name,
                )
            )
    return tuple(sinks)


# Column sources (Microsoft's table reference): AKSAudit and AKSAuditAdmin have no Category
# column (one category each); AKSControlPlane and AzureDiagnostics carry Category. All four
# have _ResourceId (the cluster, lower case), TimeGenerated, _BilledSize (bytes) and _IsBillable.
_SUMMARIZE = "summarize LastSeen = max(TimeGenerated), BilledBytes = tolong(sumif(_BilledSize, _IsBillable == true))"
_PARTS: Mapping[TableMode, tuple[str, ...]] = {
    TableMode.RESOURCE_SPECIFIC: (
        f'(AKSAudit | {_SUMMARIZE} by _ResourceId | extend Category = "kube-audit")',
        f'(AKSAuditAdmin | {_SUMMARIZE} by _ResourceId | extend Category = "kube-audit-admin")',
        f"(AKSControlPlane | {_SUMMARIZE} by _ResourceId, Category)",
    ),
    TableMode.AZURE_DIAGNOSTICS: (
        f'(AzureDiagnostics | where ResourceProvider == "MICROSOFT.CONTAINERSERVICE" | {_SUMMARIZE} by _ResourceId, Category)',
    ),
}
QUERY_COLUMNS = ("_ResourceId", "Category", "LastSeen", "BilledBytes")


def flow_query(modes: Iterable[TableMode]) -> str:
    """One KQL query returning a row per (cluster, category) seen, for the table modes in use.

    The lookback is the query API's ``timespan``, not a clause here.
    """
    chosen = [m for m in TableMode if m in set(modes)] or [TableMode.RESOURCE_SPECIFIC]
    parts = [p for m in chosen for p in _PARTS[m]]
    return "union isfuzzy=true\n    " + ",\n    ".join(parts) + f"\n| project {', '.join(QUERY_COLUMNS)}"


def workspace_modes(sinks: Iterable[FlowSink]) -> dict[str, set[TableMode]]:
    """id_key(workspace) -> the table modes the settings sending to it use."""
    modes: dict[str, set[TableMode]] = {}
    for sink in sinks:
        modes.setdefault(id_key(sink.workspace_id), set()).add(sink.mode)
    return modes


def unknown(reason: str, required: Sequence[str]) -> Flow:
    return Flow(FlowVerdict.UNKNOWN, dict.fromkeys(required), None, reason)


def decide_flow(
    cluster_id: str,
    required: Sequence[str],
    sinks: Sequence[FlowSink],
    results: Mapping[str, WorkspaceResult],
    *,
    now: datetime,
    grace: timedelta,
    lookback_hours: int,
    changes: SettingChanges | None = None,
) -> Flow:
    """The flow verdict of one cluster from the query results of its workspaces (keyed by id_key).

    ``changes``: what the cluster's subscription's Activity Log (or our ledger) says of setting
    changes, for settings without ``systemData``; None when nothing was read.
    """
    if not sinks:
        return unknown(FlowReason.NOT_LOG_ANALYTICS.value, required)
    workspaces = dict.fromkeys(id_key(s.workspace_id) for s in sinks)
    rows: list[FlowRow] = []
    for workspace in workspaces:
        result = results.get(workspace)
        if result is None:
            return unknown(FlowReason.QUERY_TIMEOUT.value, required)
        if isinstance(result, QueryFailure):
            return unknown(result.code, required)
        cluster = id_key(cluster_id)
        rows.extend(r for r in result if id_key(r.resource_id) == cluster)
    last_seen: dict[str, datetime | None] = {}
    for category in required:
        times = [r.last_seen for r in rows if r.category.lower() == category.lower()]
        last_seen[category] = max(times) if times else None
    gb_per_day = round(sum(r.billed_bytes for r in rows) / BYTES_PER_GB * 24 / lookback_hours, 6)
    missing = {c for c, seen in last_seen.items() if seen is None}
    if not missing:
        return Flow(FlowVerdict.FLOWING, last_seen, gb_per_day, None)
    ages = [
        last_change(cluster_id, s.setting_name, s.last_modified_at, changes, since=now - grace)
        for s in sinks
        if s.categories & missing
    ]
    reason = FlowReason.LAST_WRITE_FROM_LEDGER.value if any(a.source is ChangeSource.LEDGER for a in ages) else None
    if any(is_young(a, now=now, grace=grace) for a in ages):
        verdict = FlowVerdict.PENDING
    elif not all(a.known for a in ages):
        # it may be pending: no finding on that account alone
        return Flow(FlowVerdict.UNKNOWN, last_seen, gb_per_day, FlowReason.LAST_WRITE_UNKNOWN.value)
    elif len(missing) < len(last_seen):
        verdict = FlowVerdict.PARTIAL
    else:
        verdict = FlowVerdict.SILENT
    return Flow(verdict, last_seen, gb_per_day, reason)


@dataclass(frozen=True)
class WorkspaceCost:
    workspace_id: str
    gb_per_day: Mapping[str, float]  # category -> GB/day

    @property
    def total(self) -> float:
        return round(sum(self.gb_per_day.values()), 6)


@dataclass(frozen=True)
class Cost:
    gb_per_day: Mapping[str, float]  # category -> GB/day across the estate
    workspaces: tuple[WorkspaceCost, ...]

    @property
    def total(self) -> float:
        return round(sum(self.gb_per_day.values()), 6)

    @property
    def kube_audit_share(self) -> float | None:
        """The fraction of the billed volume that kube-audit alone takes (None when nothing is billed)."""
        total = sum(self.gb_per_day.values())
        return round(self.gb_per_day.get(COSTLY_CATEGORY, 0.0) / total, 4) if total else None


def cost_summary(
    results: Mapping[str, WorkspaceResult],
    workspace_ids: Mapping[str, str],
    clusters: Iterable[str],
    *,
    lookback_hours: int,
) -> Cost:
    """Billed GB/day by category, across the estate and per workspace, for the clusters in scope.

    ``workspace_ids`` maps id_key -> the workspace ID as first seen; failed queries add nothing.
    """
    in_scope = {id_key(c) for c in clusters}
    scale = 24 / lookback_hours / BYTES_PER_GB
    estate: dict[str, float] = {}
    per_workspace = []
    for workspace, result in sorted(results.items()):
        if isinstance(result, QueryFailure):
            continue
        volumes: dict[str, float] = {}
        for row in result:
            if id_key(row.resource_id) in in_scope:
                volumes[row.category] = volumes.get(row.category, 0.0) + row.billed_bytes * scale
        for category, gb in volumes.items():
            estate[category] = estate.get(category, 0.0) + gb
        per_workspace.append(
            WorkspaceCost(workspace_ids.get(workspace, workspace), {c: round(v, 6) for c, v in sorted(volumes.items())})
        )
    return Cost({c: round(v, 6) for c, v in sorted(estate.items())}, tuple(per_workspace))
