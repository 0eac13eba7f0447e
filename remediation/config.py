"""Configuration: every setting parsed and validated in one typed place.

Settings are environment variables (Function app settings). ``load_config`` either
returns a complete, valid :class:`Config` or raises :class:`ConfigError` naming the
variable that was wrong and what would be accepted.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from remediation.errors import ConfigError, ResourceIdError
from remediation.ids import WorkspaceId, parse_workspace_id

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

E = TypeVar("E", bound=StrEnum)

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Diagnostic setting names: ARM allows letters, digits, '-', '_', '.', ' ' ... keep it strict.
_SETTING_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,259}$")
_CATEGORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_RESOURCE_GROUP = re.compile(r"^[-\w._()]{1,90}$")
# A management group's ID (its name): letters, digits, '-', '_', '(', ')', '.', at most 90, not ending in '.'.
_MANAGEMENT_GROUP = re.compile(r"^[-\w().]{1,90}$", re.ASCII)
_WORKSPACE_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,40}$")


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

SETTING_NAMES: tuple[str, ...] = tuple(s.name for s in SETTINGS)
_DEFAULTS: Mapping[str, str] = {s.name: s.default for s in SETTINGS}


def _get(env: Mapping[str, str], name: str) -> str:
    value = env.get(name)
    if value is None:
        return _DEFAULTS[name]
    return value.strip()


def parse_subscription_ids(raw: str, variable: str = "REMEDIATION_SUBSCRIPTION_IDS") -> tuple[str, ...]:
    """Parse a comma-separated list of subscription GUIDs (duplicates removed, order kept)."""
    seen: dict[str, str] = {}
    for part in raw.split(","):
        item = part.strip()
        if not item:
            continue
        if not _GUID.match(item):
            raise ConfigError(
                variable, f"{item!r} is not a subscription GUID (expected xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
            )
        seen.setdefault(item.lower(), item.lower())
    return tuple(seen.values())


def _parse_categories(raw: str) -> tuple[str, ...]:
    categories: list[str] = []
    for part in raw.split(","):
        item = part.strip()
        if not item:
            continue
        if not _CATEGORY.match(item):
            raise ConfigError("REMEDIATION_CATEGORIES", f"{item!r} is not a log category name")
        if item not in categories:
            categories.append(item)
    if not categories:
        raise ConfigError(
            "REMEDIATION_CATEGORIES",
            "at least one category is required, e.g. kube-audit-admin,kube-apiserver",
        )
    return tuple(categories)


def _parse_int(env: Mapping[str, str], name: str, low: int, high: int) -> int:
    raw = _get(env, name)
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"{raw!r} is not a whole number ({low}..{high})") from None
    if not low <= value <= high:
        raise ConfigError(name, f"{value} is out of range ({low}..{high})")
    return value


def _parse_concurrency(env: Mapping[str, str]) -> int | None:
    name = "REMEDIATION_MAX_CONCURRENCY"
    raw = _get(env, name)
    if raw.lower() == "auto":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"{raw!r} is neither auto nor a whole number (1..64)") from None
    if not 1 <= value <= 64:
        raise ConfigError(name, f"{value} is out of range (auto or 1..64)")
    return value


def _parse_choice(env: Mapping[str, str], name: str, enum: type[E]) -> E:
    raw = _get(env, name)
    for member in enum:
        if member.value == raw.lower():
            return member
    choices = ", ".join(m.value for m in enum)
    raise ConfigError(name, f"{raw!r} is not one of: {choices}")


def _parse_exclude_tag(raw: str) -> ExcludeTag:
    key, sep, value = raw.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise ConfigError("REMEDIATION_EXCLUDE_TAG", f"{raw!r} must be key=value, e.g. aks-audit-remediation=exclude")
    return ExcludeTag(key.strip(), value.strip())


def _parse_endpoint(
    raw: str, default: str, variable: str = "REMEDIATION_ARM_ENDPOINT", example: str = "https://management.azure.com"
) -> str:
    if not raw:
        return default
    if not re.match(r"^https://[^/\s]+/?$", raw):
        raise ConfigError(variable, f"{raw!r} must be an https URL with no path, e.g. {example}")
    return raw.rstrip("/")


def _parse_deadline(raw: str) -> float | None:
    name = "REMEDIATION_DEADLINE_SECONDS"
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"{raw!r} is not a number of seconds (1..86400)") from None
    if not math.isfinite(value) or not 1 <= value <= 86_400:
        raise ConfigError(name, f"{raw} is out of range (1..86400 seconds)")
    return value


def parse_baselines(raw: str) -> tuple[str, ...]:
    """``REMEDIATION_BASELINES``: ``all``, ``none`` or comma-separated baseline ids (any case), in report order."""
    name = "REMEDIATION_BASELINES"
    items = [part.strip() for part in raw.split(",") if part.strip()]
    if [i.lower() for i in items] == ["all"]:
        return BASELINE_IDS
    if [i.lower() for i in items] == ["none"]:
        return ()
    known = {b.lower(): b for b in BASELINE_IDS}
    for item in items:
        if item.lower() not in known:
            raise ConfigError(
                name, f"{item!r} is not a baseline; expected all, none, or some of: {', '.join(BASELINE_IDS)}"
            )
    if not items:
        raise ConfigError(name, f"empty; expected all, none, or some of: {', '.join(BASELINE_IDS)}")
    chosen = {known[i.lower()] for i in items}
    return tuple(b for b in BASELINE_IDS if b in chosen)


SETTING_PREFIX = "REMEDIATION_"


def check_unknown_settings(env: Mapping[str, str]) -> None:
    """Raise :class:`ConfigError` for a ``REMEDIATION_*`` variable we do not know (a misspelling
    would otherwise be ignored silently, e.g. widening the scope to every subscription)."""
    known = set(ALL_SETTING_NAMES)
    for name in sorted(env):
        if not name.upper().startswith(SETTING_PREFIX) or name in known:
            continue
        # Compared without the shared prefix, which would make every name look alike.
        suffixes = {k.removeprefix(SETTING_PREFIX): k for k in known if k.startswith(SETTING_PREFIX)}
        close = difflib.get_close_matches(name.upper().removeprefix(SETTING_PREFIX), sorted(suffixes), n=1, cutoff=0.6)
        hint = f"; did you mean {suffixes[close[0]]}?" if close else f"; known settings: {', '.join(sorted(known))}"
        raise ConfigError(name, f"unknown setting{hint}")


def _parse_bool(env: Mapping[str, str], name: str) -> bool:
    raw = _get(env, name).lower()
    if raw in ("true", "1", "yes"):
        return True
    if raw in ("false", "0", "no"):
        return False
    raise ConfigError(name, f"{raw!r} is not true or false")


def load_config(env: Mapping[str, str]) -> Config:
    """Parse and validate every setting; raise :class:`ConfigError` on the first bad one."""
    check_unknown_settings(env)
    workspace_raw = _get(env, "REMEDIATION_WORKSPACE_ID")
    workspace_id: WorkspaceId | None = None
    if workspace_raw:
        try:
            workspace_id = parse_workspace_id(workspace_raw)
        except ResourceIdError as exc:
            raise ConfigError("REMEDIATION_WORKSPACE_ID", str(exc)) from None

    setting_name = _get(env, "REMEDIATION_SETTING_NAME")
    if not _SETTING_NAME.match(setting_name):
        raise ConfigError(
            "REMEDIATION_SETTING_NAME",
            f"{setting_name!r} is not a valid diagnostic setting name (letters, digits, '-', '_', '.')",
        )
    resource_group = _get(env, "REMEDIATION_WORKSPACE_RESOURCE_GROUP")
    if not _RESOURCE_GROUP.match(resource_group) or resource_group.endswith("."):
        raise ConfigError(
            "REMEDIATION_WORKSPACE_RESOURCE_GROUP", f"{resource_group!r} is not a valid resource group name"
        )
    prefix = _get(env, "REMEDIATION_WORKSPACE_NAME_PREFIX")
    if not _WORKSPACE_PREFIX.match(prefix):
        raise ConfigError(
            "REMEDIATION_WORKSPACE_NAME_PREFIX",
            f"{prefix!r} must start with a letter or digit and hold only letters, digits and '-' (at most 41)",
        )

    management_group = _get(env, "REMEDIATION_MANAGEMENT_GROUP")
    if management_group and (not _MANAGEMENT_GROUP.match(management_group) or management_group.endswith(".")):
        raise ConfigError(
            "REMEDIATION_MANAGEMENT_GROUP",
            f"{management_group!r} is not a management group ID (its name: letters, digits, '-', '_', '(', ')', '.')",
        )
    workspace_subscription = parse_subscription_ids(
        _get(env, "REMEDIATION_WORKSPACE_SUBSCRIPTION_ID"), "REMEDIATION_WORKSPACE_SUBSCRIPTION_ID"
    )
    if len(workspace_subscription) > 1:
        raise ConfigError("REMEDIATION_WORKSPACE_SUBSCRIPTION_ID", "one subscription GUID, not a list")

    cloud_raw = _get(env, "REMEDIATION_CLOUD")
    cloud = next((c for name, c in CLOUDS.items() if name.lower() == cloud_raw.lower()), None)
    if cloud is None:
        raise ConfigError("REMEDIATION_CLOUD", f"{cloud_raw!r} is not one of: {', '.join(CLOUDS)}")

    return Config(
        subscription_ids=parse_subscription_ids(_get(env, "REMEDIATION_SUBSCRIPTION_IDS")),
        categories=_parse_categories(_get(env, "REMEDIATION_CATEGORIES")),
        setting_name=setting_name,
        workspace_id=workspace_id,
        workspace_resource_group=resource_group,
        workspace_name_prefix=prefix,
        workspace_retention_days=_parse_int(env, "REMEDIATION_WORKSPACE_RETENTION_DAYS", 30, 730),
        destination_tables=_parse_choice(env, "REMEDIATION_DESTINATION_TABLES", DestinationTables),
        accepted_destinations=_parse_choice(env, "REMEDIATION_ACCEPTED_DESTINATIONS", AcceptedDestinations),
        exclude_tag=_parse_exclude_tag(_get(env, "REMEDIATION_EXCLUDE_TAG")),
        mode=_parse_choice(env, "REMEDIATION_MODE", Mode),
        max_concurrency=_parse_concurrency(env),
        cloud=cloud,
        deadline_seconds=_parse_deadline(_get(env, "REMEDIATION_DEADLINE_SECONDS")),
        arm_endpoint=_parse_endpoint(_get(env, "REMEDIATION_ARM_ENDPOINT"), cloud.arm_endpoint),
        verify_flow=_parse_bool(env, "REMEDIATION_VERIFY_FLOW"),
        logs_endpoint=_parse_endpoint(
            _get(env, "REMEDIATION_LOGS_ENDPOINT"),
            cloud.logs_endpoint,
            "REMEDIATION_LOGS_ENDPOINT",
            "https://api.loganalytics.io",
        ),
        flow_lookback_hours=_parse_int(env, "REMEDIATION_FLOW_LOOKBACK_HOURS", 1, 168),
        flow_grace_minutes=_parse_int(env, "REMEDIATION_FLOW_GRACE_MINUTES", 0, 1440),
        audit_table_plan=_parse_choice(env, "REMEDIATION_AUDIT_TABLE_PLAN", AuditTablePlan),
        baselines=parse_baselines(_get(env, "REMEDIATION_BASELINES")),
        management_group=management_group or None,
        workspace_subscription_id=workspace_subscription[0] if workspace_subscription else None,
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

ALL_SETTING_NAMES: tuple[str, ...] = SETTING_NAMES + tuple(s.name for s in FUNCTION_APP_SETTINGS)


def parse_sweep_spread(env: Mapping[str, str]) -> int:
    """``REMEDIATION_SWEEP_SPREAD_SECONDS``: seconds (0..3600) to spread the timer's sweep messages over."""
    name = "REMEDIATION_SWEEP_SPREAD_SECONDS"
    raw = (env.get(name) or "").strip() or "0"
    if not raw.isdigit() or int(raw) > SWEEP_SPREAD_MAX_SECONDS:
        raise ConfigError(name, f"{raw!r} is not a whole number of seconds (0..{SWEEP_SPREAD_MAX_SECONDS})")
    return int(raw)


@dataclass(frozen=True)
class ReportLimits:
    """What bounds ``GET /api/report`` (``remediation.app.report_runs``)."""

    cache_seconds: int = 300
    max_clusters: int = 50


def parse_report_limits(env: Mapping[str, str]) -> ReportLimits:
    """``REMEDIATION_REPORT_CACHE_SECONDS`` (0..3600) and ``REMEDIATION_REPORT_MAX_CLUSTERS`` (1..1000)."""
    return ReportLimits(
        cache_seconds=parse_app_int(env, "REMEDIATION_REPORT_CACHE_SECONDS", 0, 3600),
        max_clusters=parse_app_int(env, "REMEDIATION_REPORT_MAX_CLUSTERS", 1, 1000),
    )


def parse_app_int(env: Mapping[str, str], name: str, low: int, high: int) -> int:
    """A whole-number setting of :data:`FUNCTION_APP_SETTINGS` (empty or unset: its default)."""
    raw = (env.get(name) or "").strip() or next(s.default for s in FUNCTION_APP_SETTINGS if s.name == name)
    if not re.fullmatch(r"\d{1,9}", raw) or not low <= int(raw) <= high:
        raise ConfigError(name, f"{raw!r} is not a whole number {low}..{high}")
    return int(raw)
