"""When is a cluster compliant: a pure function of observed state and configuration.

A log entry covers a category when it is enabled and names the category, or names a
category group that contains it (group membership comes from ARM's category metadata,
never from a hard-coded list). A setting counts only if its destination is accepted and,
for Log Analytics, its workspace still exists.
"""

from __future__ import annotations

from collections.abc import Iterable

from remediation.config.values import AcceptedDestinations, Config
from remediation.core.model import CategoryMetadata, ClusterState, DiagnosticSetting, LogEntry, Verdict
from remediation.ids import id_key


def entry_covers(entry: LogEntry, metadata: CategoryMetadata) -> frozenset[str]:
    """The categories one log entry covers (nothing when disabled)."""
    if not entry.enabled:
        return frozenset()
    if entry.category:
        return frozenset({entry.category})
    if entry.category_group:
        return metadata.members(entry.category_group)
    return frozenset()


def setting_covers(setting: DiagnosticSetting, metadata: CategoryMetadata) -> frozenset[str]:
    """Every category the setting's enabled log entries cover."""
    covered: set[str] = set()
    for entry in setting.logs:
        covered |= entry_covers(entry, metadata)
    return frozenset(covered)


def workspace_is_live(setting: DiagnosticSetting, missing_workspaces: frozenset[str]) -> bool:
    return bool(setting.workspace_id) and id_key(setting.workspace_id or "") not in missing_workspaces


def setting_counts(setting: DiagnosticSetting, config: Config, missing_workspaces: frozenset[str]) -> bool:
    """True when the setting's destination is accepted (and, for Log Analytics, still exists)."""
    if workspace_is_live(setting, missing_workspaces):
        return True
    if config.accepted_destinations is AcceptedDestinations.ANY:
        return bool(
            setting.storage_account_id or setting.event_hub_authorization_rule_id or setting.marketplace_partner_id
        )
    return False


def covered_by(
    settings: Iterable[DiagnosticSetting],
    *,
    config: Config,
    metadata: CategoryMetadata,
    missing_workspaces: frozenset[str],
) -> frozenset[str]:
    covered: set[str] = set()
    for setting in settings:
        if setting_counts(setting, config, missing_workspaces):
            covered |= setting_covers(setting, metadata)
    return frozenset(covered)


def evaluate(state: ClusterState, config: Config) -> Verdict:
    """Which required categories are covered by counted settings and which are missing."""
    counted = tuple(s.name for s in state.settings if setting_counts(s, config, state.missing_workspaces))
    covered = covered_by(
        state.settings, config=config, metadata=state.metadata, missing_workspaces=state.missing_workspaces
    )
    missing = tuple(c for c in config.categories if c not in covered)
    return Verdict(covered=covered, missing=missing, counted_settings=counted)
