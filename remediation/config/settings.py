"""The settings catalogue: every ``REMEDIATION_*`` variable, its default and its meaning.

One record per variable (:class:`Setting`), read by the parser (:mod:`remediation.config.parse`),
the docs (docs/configuration.md) and infra (infra/main.bicep, local.settings.sample.json).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from remediation.config.values import DEFAULT_CATEGORIES

SETTING_PREFIX = "REMEDIATION_"


@dataclass(frozen=True)
class Setting:
    """One configuration variable: its name, default and one-line meaning (for docs and infra)."""

    name: str
    default: str
    meaning: str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "REMEDIATION_SUBSCRIPTION_IDS",
        "",
        "comma-separated subscription GUIDs in scope; empty = every enabled subscription the identity can list",
    ),
    Setting("REMEDIATION_CATEGORIES", ",".join(DEFAULT_CATEGORIES), "required log categories"),
    Setting("REMEDIATION_SETTING_NAME", "aks-audit-remediation", "name of the diagnostic setting we own"),
    Setting(
        "REMEDIATION_WORKSPACE_ID",
        "",
        "one workspace (full resource ID) for every cluster; created if missing",
    ),
    Setting(
        "REMEDIATION_MANAGEMENT_GROUP",
        "",
        "a management group ID: the subscriptions in scope are its descendants, listed at every run "
        "(intersected with REMEDIATION_SUBSCRIPTION_IDS when both are set)",
    ),
    Setting(
        "REMEDIATION_WORKSPACE_RESOURCE_GROUP",
        "rg-aks-audit-logs",
        "where per-region workspaces live (in each cluster's subscription, or REMEDIATION_WORKSPACE_SUBSCRIPTION_ID)",
    ),
    Setting(
        "REMEDIATION_WORKSPACE_SUBSCRIPTION_ID",
        "",
        "one subscription GUID for every per-region workspace; empty = each cluster's own subscription",
    ),
    Setting(
        "REMEDIATION_WORKSPACE_NAME_PREFIX",
        "law-aks-audit-",
        "per-region workspace name = prefix + cluster location",
    ),
    Setting("REMEDIATION_WORKSPACE_RETENTION_DAYS", "90", "retention for workspaces we create (30..730)"),
    Setting(
        "REMEDIATION_DESTINATION_TABLES",
        "resource-specific",
        "resource-specific (logAnalyticsDestinationType Dedicated) or azure-diagnostics",
    ),
    Setting(
        "REMEDIATION_ACCEPTED_DESTINATIONS",
        "log-analytics",
        "which existing sinks count as compliant: log-analytics or any",
    ),
    Setting(
        "REMEDIATION_EXCLUDE_TAG",
        "aks-audit-remediation=exclude",
        "clusters carrying this tag (case-insensitive) are never touched",
    ),
    Setting("REMEDIATION_MODE", "apply", "what unattended triggers do: apply or report"),
    Setting(
        "REMEDIATION_MAX_CONCURRENCY",
        "auto",
        "clusters processed at once: auto (from the subscriptions in scope and ARM's round trip) or 1..64",
    ),
    Setting(
        "REMEDIATION_CLOUD",
        "AzureCloud",
        "AzureCloud, AzureChinaCloud or AzureUSGovernment: ARM endpoint and authority",
    ),
    Setting(
        "REMEDIATION_ARM_ENDPOINT",
        "",
        "overrides the ARM endpoint (sovereign/private clouds, the simulator); empty = from the cloud",
    ),
    Setting(
        "REMEDIATION_DEADLINE_SECONDS",
        "",
        "time budget of every run in seconds (1..86400); empty = the trigger's own budget",
    ),
    Setting(
        "REMEDIATION_VERIFY_FLOW",
        "true",
        "true or false: query each destination workspace once per run to prove the audit records arrive",
    ),
    Setting(
        "REMEDIATION_LOGS_ENDPOINT",
        "",
        "overrides the Log Analytics query endpoint (the simulator); empty = from the cloud",
    ),
    Setting("REMEDIATION_FLOW_LOOKBACK_HOURS", "24", "how far back flow verification looks for records (1..168)"),
    Setting(
        "REMEDIATION_FLOW_GRACE_MINUTES",
        "90",
        "a setting modified less than this long ago is pending, not silent (0..1440)",
    ),
    Setting(
        "REMEDIATION_AUDIT_TABLE_PLAN",
        "analytics",
        "analytics or basic: the AKSAudit table plan in workspaces we created",
    ),
    Setting(
        "REMEDIATION_BASELINES",
        "all",
        "baselines each cluster is judged against in reports: all, none, or comma-separated ids (docs/baselines.md)",
    ),
)


# Settings read only by the Function app (function_app.py and the ledger), beside SETTINGS.
FUNCTION_APP_SETTINGS: tuple[Setting, ...] = (
    Setting("REMEDIATION_SCHEDULE", "0 0 * * * *", "NCRONTAB schedule of the timer sweep (default hourly)"),
    Setting("REMEDIATION_LEDGER_TABLE", "remediationchanges", "Azure Table that keeps every change record"),
    Setting(
        "REMEDIATION_SWEEP_QUEUE",
        "remediation-sweep",
        "Storage queue of the timer's fan-out: one message per subscription, swept by sweep_subscription",
    ),
    Setting(
        "REMEDIATION_SWEEP_SPREAD_SECONDS",
        "0",
        "spread the fan-out's messages evenly over this many seconds with visibility delays (0..3600)",
    ),
    Setting(
        "REMEDIATION_STATE_TABLE",
        "remediationstate",
        "Azure Table of each cluster's latest observed outcome and each subscription's last sweep (/api/status)",
    ),
    Setting(
        "REMEDIATION_LEDGER_CONTAINER",
        "remediation-ledger",
        "blob container of the tamper-evident change ledger (a hash chain in append blobs, WORM in Azure)",
    ),
    Setting(
        "REMEDIATION_LEDGER_BLOB_ENDPOINT",
        "",
        "blob endpoint (https) of the ledger's storage account; empty = the account AzureWebJobsStorage names",
    ),
    Setting(
        "REMEDIATION_LEDGER_RETENTION_DAYS",
        "365",
        "days each ledger record stays immutable (infra's retention policy; verify-ledger reports it) (1..146000)",
    ),
    Setting(
        "REMEDIATION_EVENT_COALESCE_SECONDS",
        "30",
        "Event Grid: cluster writes within this many seconds after a reconcile of the cluster cost no ARM read (0..3600)",
    ),
    Setting(
        "REMEDIATION_REPORT_CACHE_SECONDS",
        "300",
        "GET /api/report: a result younger than this is served again, with its age (0..3600; 0 = only shared runs)",
    ),
    Setting(
        "REMEDIATION_REPORT_MAX_CLUSTERS",
        "50",
        "GET /api/report and /api/status: at most this many named clusters per request (1..1000)",
    ),
)

# The longest visibility delay the fan-out may spread its messages over.
SWEEP_SPREAD_MAX_SECONDS = 3600

SETTING_NAMES: tuple[str, ...] = tuple(s.name for s in SETTINGS)
DEFAULTS: Mapping[str, str] = {s.name: s.default for s in SETTINGS}
ALL_SETTING_NAMES: tuple[str, ...] = SETTING_NAMES + tuple(s.name for s in FUNCTION_APP_SETTINGS)
