"""Domain values observed from ARM and decided by the pure core. No I/O here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from remediation.ids import ClusterId, WorkspaceId

TERMINAL_PROVISIONING_STATES = frozenset({"succeeded", "failed", "canceled"})


class Status(StrEnum):
    COMPLIANT = "compliant"
    NON_COMPLIANT = "non_compliant"
    REMEDIATED = "remediated"
    EXCLUDED = "excluded"
    DEFERRED = "deferred"
    BLOCKED = "blocked"
    FAILED = "failed"


class Reason(StrEnum):
    """Reason codes of our own; ARM error codes (ScopeLocked, AuthorizationFailed...) pass through as text."""

    EXCLUDED_BY_TAG = "excluded-by-tag"
    CLUSTER_BUSY = "cluster-busy"
    SETTING_LIMIT_REACHED = "setting-limit-reached"
    SINK_CONFLICT = "sink-conflict"  # another setting already sends to the target workspace
    CLUSTER_NOT_FOUND = "cluster-not-found"
    DEADLINE = "deadline"
    WORKSPACE_FAILED = "workspace-failed"
    THROTTLED = "throttled"  # ARM's request limits outlasted the run's time budget
    INVALID_RESOURCE_ID = "invalid-resource-id"  # a listed entry whose ID is not of the kind expected


# ARM's answers to a write we may not make: the cluster needs a person (a role, a pre-created
# resource group), so it is ``blocked`` with ARM's code, not ``failed``.
PERMISSION_DENIED_CODES: frozenset[str] = frozenset({"AuthorizationFailed", "LinkedAuthorizationFailed"})


class ActionKind(StrEnum):
    CREATE = "create"
    UPDATE = "update"


class Trigger(StrEnum):
    """What started a run (recorded with every change and observation)."""

    CLI = "cli"
    TIMER = "timer"  # the timer's fan-out (it sweeps nothing itself)
    QUEUE = "queue"  # a subscription's sweep, from the sweep queue
    EVENT_GRID = "event_grid"
    HTTP = "http"


MAX_SETTINGS_PER_RESOURCE = 5
WORKSPACE_USABLE_STATE = "succeeded"
WORKSPACE_FAILED_STATES = frozenset({"failed", "canceled", "deleting"})


@dataclass(frozen=True)
class Creation:
    """What an attempt to create a resource found out.

    ``created`` is True only when our request made the resource (a 409 or a lost race means
    someone else did: nothing is recorded as created); ``state`` is its provisioningState
    when we stopped looking (a workspace is used only when it is ``Succeeded``).
    """

    id: str
    created: bool
    state: str = "Succeeded"


@dataclass(frozen=True)
class Cluster:
    id: ClusterId
    name: str
    subscription_id: str
    resource_group: str
    location: str
    provisioning_state: str
    tags: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_settled(self) -> bool:
        return self.provisioning_state.lower() in TERMINAL_PROVISIONING_STATES


@dataclass(frozen=True)
class RejectedEntry:
    """An entry of an ARM listing whose resource ID is not of the kind expected: never written to,
    reported as a failed item of its own. ``resource_id`` and ``name`` are as ARM wrote them (raw:
    escape them with :func:`remediation.ids.printable` before showing them)."""

    resource_id: str
    name: str
    problem: str  # why it was rejected (escaped)


@dataclass(frozen=True)
class ClusterListing:
    """A subscription's managed clusters, and the entries of the listing that are not clusters we can use."""

    clusters: tuple[Cluster, ...]
    rejected: tuple[RejectedEntry, ...] = ()


@dataclass(frozen=True)
class LogEntry:
    enabled: bool
    category: str | None = None
    category_group: str | None = None
    # The entry's legacy retentionPolicy (storage destinations only), read for the baselines
    # (remediation.core.baselines); None when ARM did not return it. Never written.
    retention_enabled: bool | None = field(default=None, compare=False)
    retention_days: int | None = field(default=None, compare=False)


@dataclass(frozen=True)
class MetricEntry:
    category: str
    enabled: bool


@dataclass(frozen=True)
class DiagnosticSetting:
    name: str
    logs: tuple[LogEntry, ...] = ()
    workspace_id: str | None = None
    storage_account_id: str | None = None
    event_hub_authorization_rule_id: str | None = None
    marketplace_partner_id: str | None = None
    log_analytics_destination_type: str | None = None
    last_modified_at: datetime | None = None  # systemData.lastModifiedAt (None when ARM did not say)
    metrics: tuple[MetricEntry, ...] = ()  # read for the baselines; an update keeps them through ``raw``
    raw: Any = field(default=None, compare=False, repr=False)  # the SDK object, so an update keeps all of it

    @property
    def enabled_categories(self) -> frozenset[str]:
        """Categories named explicitly by enabled entries (groups not expanded)."""
        return frozenset(e.category for e in self.logs if e.enabled and e.category)


@dataclass(frozen=True)
class CategoryMetadata:
    """Which log categories a resource type offers and which groups hold each one."""

    groups: Mapping[str, frozenset[str]]  # lower-case group name -> categories
    categories: frozenset[str] = frozenset()

    def members(self, group: str) -> frozenset[str]:
        return self.groups.get(group.lower(), frozenset())


@dataclass(frozen=True)
class ClusterState:
    """Everything observed about one cluster that a decision needs."""

    cluster: Cluster
    settings: tuple[DiagnosticSetting, ...]
    metadata: CategoryMetadata
    missing_workspaces: frozenset[str] = frozenset()  # id_key() of workspaces that returned 404


@dataclass(frozen=True)
class Verdict:
    covered: frozenset[str]
    missing: tuple[str, ...]  # required categories not covered, in configuration order
    counted_settings: tuple[str, ...]  # names of the settings that count

    @property
    def compliant(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class SettingChange:
    kind: ActionKind
    setting_name: str
    workspace_id: WorkspaceId
    categories: tuple[str, ...]  # ours after the change
    categories_before: tuple[str, ...]
    log_analytics_destination_type: str | None
    keep_logs: tuple[LogEntry, ...] = ()  # ours' existing non-category entries (groups), kept as they are


@dataclass(frozen=True)
class SettingPlan:
    """What to do for one cluster: nothing, a change of ours, or why not."""

    status: Status  # compliant | non_compliant | excluded | deferred | blocked
    missing: tuple[str, ...]
    reason: str | None = None
    change: SettingChange | None = None
