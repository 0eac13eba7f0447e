"""The configuration's values: the typed choices, clouds, the exclusion tag and :class:`Config` itself.

Pure value types; :mod:`remediation.config.parse` builds them from the environment and
:mod:`remediation.config.settings` lists the variables they come from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from remediation.ids import WorkspaceId

# The most change records one read of the ledger returns (/api/changes?limit=).
LEDGER_MAX_LIMIT = 1000

DEFAULT_CATEGORIES = (
    "kube-audit",
    "kube-audit-admin",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
)

# The baselines a report judges each cluster against (remediation/core/baselines.py), in report order.
BASELINE_IDS: tuple[str, ...] = (
    "cis-aks-2.1.1",
    "azure-policy-245fc9df",
    "azure-policy-6c66c325",
    "psrule-Azure.AKS.AuditLogs",
    "psrule-Azure.AKS.AuditAdmin",
    "psrule-Azure.AKS.PlatformLogs",
)


class Mode(StrEnum):
    APPLY = "apply"
    REPORT = "report"


class DestinationTables(StrEnum):
    RESOURCE_SPECIFIC = "resource-specific"
    AZURE_DIAGNOSTICS = "azure-diagnostics"

    @property
    def log_analytics_destination_type(self) -> str | None:
        """The ``logAnalyticsDestinationType`` ARM value for this choice."""
        return "Dedicated" if self is DestinationTables.RESOURCE_SPECIFIC else None


class AuditTablePlan(StrEnum):
    """The plan of the ``AKSAudit`` table in workspaces we created."""

    ANALYTICS = "analytics"
    BASIC = "basic"


class AcceptedDestinations(StrEnum):
    LOG_ANALYTICS = "log-analytics"
    ANY = "any"


@dataclass(frozen=True)
class Cloud:
    name: str
    arm_endpoint: str
    authority_host: str
    logs_endpoint: str  # the Log Analytics query API
    portal: str  # where a person opens a resource: <portal>/#resource<resource ID>


CLOUDS: Mapping[str, Cloud] = {
    "AzureCloud": Cloud(
        "AzureCloud",
        "https://management.azure.com",
        "https://login.microsoftonline.com",
        "https://api.loganalytics.io",
        "https://portal.azure.com",
    ),
    "AzureChinaCloud": Cloud(
        "AzureChinaCloud",
        "https://management.chinacloudapi.cn",
        "https://login.chinacloudapi.cn",
        "https://api.loganalytics.azure.cn",
        "https://portal.azure.cn",
    ),
    "AzureUSGovernment": Cloud(
        "AzureUSGovernment",
        "https://management.usgovcloudapi.net",
        "https://login.microsoftonline.us",
        "https://api.loganalytics.us",
        "https://portal.azure.us",
    ),
}


@dataclass(frozen=True)
class ExcludeTag:
    key: str
    value: str

    def matches(self, tags: Mapping[str, str] | None) -> bool:
        """True when ``tags`` carry this tag (key and value compared case-insensitively)."""
        for key, value in (tags or {}).items():
            if key.lower() == self.key.lower() and (value or "").lower() == self.value.lower():
                return True
        return False

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


@dataclass(frozen=True)
class Config:
    subscription_ids: tuple[str, ...]
    categories: tuple[str, ...]
    setting_name: str
    workspace_id: WorkspaceId | None
    workspace_resource_group: str
    workspace_name_prefix: str
    workspace_retention_days: int
    destination_tables: DestinationTables
    accepted_destinations: AcceptedDestinations
    exclude_tag: ExcludeTag
    mode: Mode
    max_concurrency: int | None  # None: auto (from the subscriptions in scope and the observed round trip)
    cloud: Cloud
    arm_endpoint: str
    deadline_seconds: float | None = None  # None: the trigger's own budget (remediation.kit.deadline)
    verify_flow: bool = True
    logs_endpoint: str = "https://api.loganalytics.io"
    flow_lookback_hours: int = 24
    flow_grace_minutes: int = 90
    audit_table_plan: AuditTablePlan = AuditTablePlan.ANALYTICS
    baselines: tuple[str, ...] = BASELINE_IDS  # which baselines reports show (REMEDIATION_BASELINES)
    # REMEDIATION_MANAGEMENT_GROUP: the subscriptions in scope are the group's descendants, listed
    # once per run (intersected with subscription_ids when both are set).
    management_group: str | None = None
    # REMEDIATION_WORKSPACE_SUBSCRIPTION_ID: every per-region workspace in this subscription.
    workspace_subscription_id: str | None = None

    @property
    def credential_scope(self) -> str:
        return self.arm_endpoint.rstrip("/") + "/.default"

    def subscription_in_scope(self, subscription_id: str) -> bool:
        """True when no scope is configured or the subscription is listed."""
        if not self.subscription_ids:
            return True
        return subscription_id.lower() in {s.lower() for s in self.subscription_ids}


@dataclass(frozen=True)
class ReportLimits:
    """What bounds ``GET /api/report`` (``remediation.app.report_runs``); from
    :func:`remediation.config.parse.parse_report_limits` (defaults: the catalogue's)."""

    cache_seconds: int
    max_clusters: int
