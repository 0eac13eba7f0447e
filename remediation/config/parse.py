"""Configuration parsing: every setting parsed and validated in one typed place.

Settings are environment variables (Function app settings). ``load_config`` either
returns a complete, valid :class:`Config` or raises :class:`ConfigError` naming the
variable that was wrong and what would be accepted.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping

from remediation.config.settings import ALL_SETTING_NAMES, BY_NAME, DEFAULTS, SETTING_PREFIX, Setting
from remediation.config.values import (
    BASELINE_IDS,
    CLOUDS,
    AcceptedDestinations,
    AuditTablePlan,
    Config,
    DestinationTables,
    ExcludeTag,
    Mode,
    ReportLimits,
)
from remediation.errors import ConfigError, ResourceIdError
from remediation.ids import WorkspaceId, parse_workspace_id

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_CATEGORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _get(env: Mapping[str, str], name: str) -> str:
    value = env.get(name)
    if value is None:
        return DEFAULTS[name]
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


def parse_number(setting: Setting, raw: str) -> float:
    """The number ``raw`` spells, within the range ``setting`` declares; :class:`ConfigError` otherwise.

    Whole-number settings read ``raw`` as :func:`int` does, the others as :func:`float` (finite only).
    """
    if setting.low is None or setting.high is None:
        raise ValueError(f"{setting.name} declares no numeric range")  # a catalogue mistake, not bad input
    try:
        value: float = int(raw) if setting.whole else float(raw)
    except ValueError:
        number = "a whole number" if setting.whole else "a number"
        spelled = f"neither {' nor '.join(setting.words)} nor {number}" if setting.words else f"not {number}"
        raise ConfigError(setting.name, f"{raw!r} is {spelled} ({setting.low}..{setting.high})") from None
    if not math.isfinite(value) or not setting.low <= value <= setting.high:
        raise ConfigError(setting.name, f"{raw} is out of range ({setting.allowed})")
    return value


def _parse_int(env: Mapping[str, str], name: str) -> int:
    return int(parse_number(BY_NAME[name], _get(env, name)))


def _parse_concurrency(env: Mapping[str, str]) -> int | None:
    name = "REMEDIATION_MAX_CONCURRENCY"
    raw = _get(env, name)
    if raw.lower() in BY_NAME[name].words:  # auto
        return None
    return _parse_int(env, name)


def _parse_name(env: Mapping[str, str], name: str, *, optional: bool = False) -> str:
    """A name of the form the setting's pattern declares (empty allowed when ``optional``)."""
    setting = BY_NAME[name]
    raw = _get(env, name)
    if (raw or not optional) and not setting.matches(raw):
        raise ConfigError(name, f"{raw!r} is not {setting.form}")
    return raw


def _parse_choice(env: Mapping[str, str], name: str) -> str:
    """The choice the setting names (compared case-insensitively), as the catalogue spells it."""
    setting = BY_NAME[name]
    raw = _get(env, name)
    for choice in setting.choices:
        if choice.lower() == raw.lower():
            return choice
    raise ConfigError(name, f"{raw!r} is not one of: {', '.join(setting.choices)}")


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


def _parse_deadline(env: Mapping[str, str]) -> float | None:
    name = "REMEDIATION_DEADLINE_SECONDS"
    raw = _get(env, name)
    return parse_number(BY_NAME[name], raw) if raw else None


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
    raise ConfigError(name, f"{raw!r} is not {BY_NAME[name].allowed}")


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

    setting_name = _parse_name(env, "REMEDIATION_SETTING_NAME")
    resource_group = _parse_name(env, "REMEDIATION_WORKSPACE_RESOURCE_GROUP")
    prefix = _parse_name(env, "REMEDIATION_WORKSPACE_NAME_PREFIX")
    management_group = _parse_name(env, "REMEDIATION_MANAGEMENT_GROUP", optional=True)
    workspace_subscription = parse_subscription_ids(
        _get(env, "REMEDIATION_WORKSPACE_SUBSCRIPTION_ID"), "REMEDIATION_WORKSPACE_SUBSCRIPTION_ID"
    )
    if len(workspace_subscription) > 1:
        raise ConfigError("REMEDIATION_WORKSPACE_SUBSCRIPTION_ID", "one subscription GUID, not a list")

    cloud = CLOUDS[_parse_choice(env, "REMEDIATION_CLOUD")]

    return Config(
        subscription_ids=parse_subscription_ids(_get(env, "REMEDIATION_SUBSCRIPTION_IDS")),
        categories=_parse_categories(_get(env, "REMEDIATION_CATEGORIES")),
        setting_name=setting_name,
        workspace_id=workspace_id,
        workspace_resource_group=resource_group,
        workspace_name_prefix=prefix,
        workspace_retention_days=_parse_int(env, "REMEDIATION_WORKSPACE_RETENTION_DAYS"),
        destination_tables=DestinationTables(_parse_choice(env, "REMEDIATION_DESTINATION_TABLES")),
        accepted_destinations=AcceptedDestinations(_parse_choice(env, "REMEDIATION_ACCEPTED_DESTINATIONS")),
        exclude_tag=_parse_exclude_tag(_get(env, "REMEDIATION_EXCLUDE_TAG")),
        mode=Mode(_parse_choice(env, "REMEDIATION_MODE")),
        max_concurrency=_parse_concurrency(env),
        cloud=cloud,
        deadline_seconds=_parse_deadline(env),
        arm_endpoint=_parse_endpoint(_get(env, "REMEDIATION_ARM_ENDPOINT"), cloud.arm_endpoint),
        verify_flow=_parse_bool(env, "REMEDIATION_VERIFY_FLOW"),
        logs_endpoint=_parse_endpoint(
            _get(env, "REMEDIATION_LOGS_ENDPOINT"),
            cloud.logs_endpoint,
            "REMEDIATION_LOGS_ENDPOINT",
            "https://api.loganalytics.io",
        ),
        flow_lookback_hours=_parse_int(env, "REMEDIATION_FLOW_LOOKBACK_HOURS"),
        flow_grace_minutes=_parse_int(env, "REMEDIATION_FLOW_GRACE_MINUTES"),
        audit_table_plan=AuditTablePlan(_parse_choice(env, "REMEDIATION_AUDIT_TABLE_PLAN")),
        baselines=parse_baselines(_get(env, "REMEDIATION_BASELINES")),
        management_group=management_group or None,
        workspace_subscription_id=workspace_subscription[0] if workspace_subscription else None,
    )


def parse_sweep_spread(env: Mapping[str, str]) -> int:
    """``REMEDIATION_SWEEP_SPREAD_SECONDS``: seconds to spread the timer's sweep messages over."""
    return parse_app_int(env, "REMEDIATION_SWEEP_SPREAD_SECONDS")


def parse_report_limits(env: Mapping[str, str]) -> ReportLimits:
    """``REMEDIATION_REPORT_CACHE_SECONDS`` and ``REMEDIATION_REPORT_MAX_CLUSTERS``."""
    return ReportLimits(
        cache_seconds=parse_app_int(env, "REMEDIATION_REPORT_CACHE_SECONDS"),
        max_clusters=parse_app_int(env, "REMEDIATION_REPORT_MAX_CLUSTERS"),
    )


def parse_app_int(env: Mapping[str, str], name: str) -> int:
    """A whole-number setting of :data:`~remediation.config.settings.FUNCTION_APP_SETTINGS`, within its
    declared range (empty or unset: its default)."""
    setting = BY_NAME[name]
    return int(parse_number(setting, (env.get(name) or "").strip() or setting.default))
