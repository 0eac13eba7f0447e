"""The settings catalogue: every ``REMEDIATION_*`` variable, its default, its meaning and what it accepts.

One record per variable (:class:`Setting`). A setting's range (low..high, or its choices) is declared
here once: the parser (:mod:`remediation.config.parse`) checks values against it, and its help text
(:attr:`Setting.description`, docs/configuration.md's "allowed" column, infra/main.bicep) is derived
from it or tested against it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from enum import StrEnum

from remediation.config.values import (
    CLOUDS,
    DEFAULT_CATEGORIES,
    AcceptedDestinations,
    AuditTablePlan,
    DestinationTables,
    Mode,
)

SETTING_PREFIX = "REMEDIATION_"
# The most clusters processed at once (REMEDIATION_MAX_CONCURRENCY's ceiling, also auto's).
MAX_CONCURRENCY = 64


@dataclass(frozen=True)
class Setting:
    """One configuration variable: its name, default, one-line meaning and the values it accepts.

    A numeric setting declares ``low`` and ``high`` (inclusive), whole numbers unless ``whole`` is
    false, and any ``words`` it accepts besides a number (``auto``); an enumerated one its ``choices``;
    a name its ``pattern`` and, in words, its ``form``.
    """

    name: str
    default: str
    meaning: str
    _: KW_ONLY
    low: int | None = None
    high: int | None = None
    whole: bool = True
    words: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    form: str = ""

    @property
    def numeric(self) -> bool:
        return self.low is not None and self.high is not None

    @property
    def allowed(self) -> str:
        """What the setting accepts, in words: ``30..730``, ``auto or 1..64``, ``apply or report``, a name's
        form; empty: its parser's own rules (lists, URLs, resource IDs)."""
        if self.pattern is not None:
            return self.form
        values = (*self.words, f"{self.low}..{self.high}") if self.numeric else self.choices
        if len(values) < 2:
            return "".join(values)
        return f"{', '.join(values[:-1])} or {values[-1]}"

    def matches(self, raw: str) -> bool:
        """True when ``raw`` has the form the setting's pattern declares (never without a pattern)."""
        return self.pattern is not None and self.pattern.match(raw) is not None

    @property
    def description(self) -> str:
        """The help text: the meaning, then what the setting accepts."""
        return f"{self.meaning} ({self.allowed})" if self.allowed else self.meaning


def values_of(enum: type[StrEnum]) -> tuple[str, ...]:
    return tuple(member.value for member in enum)


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "REMEDIATION_SUBSCRIPTION_IDS",
        "",
        "comma-separated subscription GUIDs in scope; empty = every enabled subscription the identity can list",
    ),
    Setting("REMEDIATION_CATEGORIES", ",".join(DEFAULT_CATEGORIES), "required log categories"),
    Setting(
        "REMEDIATION_SETTING_NAME",
        "aks-audit-remediation",
        "name of the diagnostic setting we own",
        # ARM allows more (' ' among others): kept strict.
        pattern=re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,259}$"),
        form="a valid diagnostic setting name: a letter or digit, then letters, digits, '-', '_' or '.', "
        "at most 260 in all",
    ),
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
        pattern=re.compile(r"^[-\w().]{0,89}[-\w()]$", re.ASCII),
        form="a management group ID (its name): letters, digits, '-', '_', '(', ')' or '.', "
        "at most 90, not ending in '.'",
    ),
    Setting(
        "REMEDIATION_WORKSPACE_RESOURCE_GROUP",
        "rg-aks-audit-logs",
        "where per-region workspaces live (in each cluster's subscription, or REMEDIATION_WORKSPACE_SUBSCRIPTION_ID)",
        pattern=re.compile(r"^[-\w._()]{0,89}[-\w_()]$"),
        form="a valid resource group name: letters, digits, '-', '_', '.', '(' or ')', at most 90, not ending in '.'",
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
        pattern=re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,40}$"),
        form="a workspace name prefix: it must start with a letter or digit and hold only letters, digits "
        "and '-', at most 41",
    ),
    Setting("REMEDIATION_WORKSPACE_RETENTION_DAYS", "90", "retention for workspaces we create", low=30, high=730),
    Setting(
        "REMEDIATION_DESTINATION_TABLES",
        "resource-specific",
        "the tables our setting writes to: resource-specific = logAnalyticsDestinationType Dedicated",
        choices=values_of(DestinationTables),
    ),
    Setting(
        "REMEDIATION_ACCEPTED_DESTINATIONS",
        "log-analytics",
        "which existing sinks count as compliant",
        choices=values_of(AcceptedDestinations),
    ),
    Setting(
        "REMEDIATION_EXCLUDE_TAG",
        "aks-audit-remediation=exclude",
        "clusters carrying this tag (case-insensitive) are never touched",
    ),
    Setting("REMEDIATION_MODE", "apply", "what unattended triggers do", choices=values_of(Mode)),
    Setting(
        "REMEDIATION_MAX_CONCURRENCY",
        "auto",
        "clusters processed at once; auto = from the subscriptions in scope and ARM's round trip",
        low=1,
        high=MAX_CONCURRENCY,
        words=("auto",),
    ),
    Setting(
        "REMEDIATION_CLOUD",
        "AzureCloud",
        "the cloud: its ARM endpoint and authority",
        choices=tuple(CLOUDS),
    ),
    Setting(
        "REMEDIATION_ARM_ENDPOINT",
        "",
        "overrides the ARM endpoint (sovereign/private clouds, the simulator); empty = from the cloud",
    ),
    Setting(
        "REMEDIATION_DEADLINE_SECONDS",
        "",
        "time budget of every run in seconds; empty = the trigger's own budget",
        low=1,
        high=86_400,
        whole=False,
    ),
    Setting(
        "REMEDIATION_VERIFY_FLOW",
        "true",
        "query each destination workspace once per run to prove the audit records arrive",
        choices=("true", "false"),
    ),
    Setting(
        "REMEDIATION_LOGS_ENDPOINT",
        "",
        "overrides the Log Analytics query endpoint (the simulator); empty = from the cloud",
    ),
    Setting(
        "REMEDIATION_FLOW_LOOKBACK_HOURS", "24", "how far back flow verification looks for records", low=1, high=168
    ),
    Setting(
        "REMEDIATION_FLOW_GRACE_MINUTES",
        "90",
        "a setting modified less than this long ago is pending, not silent",
        low=0,
        high=1440,
    ),
    Setting(
        "REMEDIATION_AUDIT_TABLE_PLAN",
        "analytics",
        "the AKSAudit table plan in workspaces we created",
        choices=values_of(AuditTablePlan),
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
        "spread the fan-out's messages evenly over this many seconds with visibility delays",
        low=0,
        high=3600,
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
        "days each ledger record stays immutable (infra's retention policy; verify-ledger reports it)",
        low=1,
        high=146_000,
    ),
    Setting(
        "REMEDIATION_EVENT_COALESCE_SECONDS",
        "30",
        "Event Grid: cluster writes within this many seconds after a reconcile of the cluster cost no ARM read",
        low=0,
        high=3600,
    ),
    Setting(
        "REMEDIATION_REPORT_CACHE_SECONDS",
        "300",
        "GET /api/report: a result younger than this is served again, with its age; 0 = only shared runs",
        low=0,
        high=3600,
    ),
    Setting(
        "REMEDIATION_REPORT_MAX_CLUSTERS",
        "50",
        "GET /api/report and /api/status: at most this many named clusters per request",
        low=1,
        high=1000,
    ),
)

SETTING_NAMES: tuple[str, ...] = tuple(s.name for s in SETTINGS)
DEFAULTS: Mapping[str, str] = {s.name: s.default for s in SETTINGS}
ALL_SETTING_NAMES: tuple[str, ...] = SETTING_NAMES + tuple(s.name for s in FUNCTION_APP_SETTINGS)
BY_NAME: Mapping[str, Setting] = {s.name: s for s in (*SETTINGS, *FUNCTION_APP_SETTINGS)}
