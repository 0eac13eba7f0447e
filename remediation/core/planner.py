"""What to do about one cluster: a pure function of its observed state and the configuration.

Rules (docs/compliance.md explains them to users):

* Only the setting named ``config.setting_name`` ("ours") is ever written.
* Ours after the change = categories ours already enables + required categories that no
  *other* counted setting covers. Ours never loses a category; an unchanged result is no write.
* A new setting of ours goes to the target workspace with the configured destination type.
  An existing one keeps its workspace and destination type, unless its workspace is gone
  (or it has none): then it is repointed to the target workspace.
* ARM allows five settings per resource and one sink may not receive a category from two
  settings of one resource: a category that another setting already sends to the target
  workspace is never added to ours, and a repoint that would collide is ``blocked``.
"""

from __future__ import annotations

from datetime import date

from remediation.config.values import Config
from remediation.core.compliance import covered_by, entry_covers, evaluate, setting_covers, workspace_is_live
from remediation.core.exemptions import exemption_of
from remediation.core.model import (
    MAX_SETTINGS_PER_RESOURCE,
    ActionKind,
    Cluster,
    ClusterState,
    DiagnosticSetting,
    LogEntry,
    Reason,
    SettingChange,
    SettingPlan,
    Status,
)
from remediation.ids import WorkspaceId, id_key, same_id, workspace_id_for


def target_workspace(cluster: Cluster, config: Config) -> WorkspaceId:
    """The workspace a new setting of ours sends to: the configured one, else the per-region one
    (in REMEDIATION_WORKSPACE_SUBSCRIPTION_ID, else in the cluster's subscription)."""
    if config.workspace_id:
        return config.workspace_id
    return workspace_id_for(
        config.workspace_subscription_id or cluster.subscription_id,
        config.workspace_resource_group,
        f"{config.workspace_name_prefix}{cluster.location.lower().replace(' ', '')}",
    )


def precheck(cluster: Cluster, config: Config, *, today: date) -> SettingPlan | None:
    """Decide what needs no further reads: a cluster exempt on ``today`` (UTC) is never read further
    (an expired or malformed exemption excludes nothing: remediation.core.exemptions)."""
    exemption = exemption_of(cluster.tags, config.exclude_tag, today=today)
    if exemption is not None and exemption.excludes:
        return SettingPlan(status=Status.EXCLUDED, missing=(), reason=Reason.EXCLUDED_BY_TAG.value)
    return None


def find_ours(settings: tuple[DiagnosticSetting, ...], config: Config) -> DiagnosticSetting | None:
    name = config.setting_name.lower()
    return next((s for s in settings if s.name.lower() == name), None)


def _sent_to(settings: tuple[DiagnosticSetting, ...], workspace: str, state: ClusterState) -> frozenset[str]:
    """Categories the given settings already send to ``workspace`` (ARM's sink-reuse rule)."""
    sent: set[str] = set()
    for setting in settings:
        if same_id(setting.workspace_id, workspace):
            for entry in setting.logs:
                sent |= entry_covers(entry, state.metadata)
    return frozenset(sent)


def plan_setting(state: ClusterState, config: Config, *, today: date) -> SettingPlan:
    """The plan for one cluster whose settings and category metadata have been read, on ``today`` (UTC)."""
    early = precheck(state.cluster, config, today=today)
    if early is not None:
        return early
    verdict = evaluate(state, config)
    if verdict.compliant:  # whatever the provisioning state: there is nothing to write
        return SettingPlan(status=Status.COMPLIANT, missing=())
    if not state.cluster.is_settled:
        return SettingPlan(status=Status.DEFERRED, missing=verdict.missing, reason=Reason.CLUSTER_BUSY.value)

    ours = find_ours(state.settings, config)
    others = tuple(s for s in state.settings if s is not ours)
    others_cover = covered_by(
        others, config=config, metadata=state.metadata, missing_workspaces=state.missing_workspaces
    )
    target = target_workspace(state.cluster, config)

    if ours is None:
        if len(state.settings) >= MAX_SETTINGS_PER_RESOURCE:
            return SettingPlan(
                status=Status.BLOCKED, missing=verdict.missing, reason=Reason.SETTING_LIMIT_REACHED.value
            )
        taken = _sent_to(others, target, state)
        needed = tuple(c for c in config.categories if c not in others_cover and c not in taken)
        if not needed:
            return SettingPlan(status=Status.BLOCKED, missing=verdict.missing, reason=Reason.SINK_CONFLICT.value)
        change = SettingChange(
            kind=ActionKind.CREATE,
            setting_name=config.setting_name,
            workspace_id=target,
            categories=needed,
            categories_before=(),
            log_analytics_destination_type=config.destination_tables.log_analytics_destination_type,
        )
        return SettingPlan(status=Status.NON_COMPLIANT, missing=verdict.missing, change=change)

    before = tuple(e.category for e in ours.logs if e.enabled and e.category)
    live = workspace_is_live(ours, state.missing_workspaces)
    workspace: WorkspaceId = WorkspaceId(ours.workspace_id or "") if live else target
    destination_type = (
        ours.log_analytics_destination_type if live else config.destination_tables.log_analytics_destination_type
    )
    taken = _sent_to(others, workspace, state)
    ours_cover = setting_covers(ours, state.metadata)
    if not live and taken & ours_cover:
        # Repointing ours would send a category to a sink another setting already feeds.
        return SettingPlan(status=Status.BLOCKED, missing=verdict.missing, reason=Reason.SINK_CONFLICT.value)
    added = tuple(c for c in config.categories if c not in others_cover and c not in taken and c not in ours_cover)
    after = _dedupe(before + added)
    if after == before and live:
        # Nothing ours can add: what is missing is sent to our workspace by someone else's setting.
        return SettingPlan(status=Status.BLOCKED, missing=verdict.missing, reason=Reason.SINK_CONFLICT.value)
    keep = tuple(e for e in ours.logs if not (e.category and e.category in after))
    change = SettingChange(
        kind=ActionKind.UPDATE,
        setting_name=ours.name,
        workspace_id=workspace,
        categories=after,
        categories_before=_dedupe(before),
        log_analytics_destination_type=destination_type,
        keep_logs=keep,
    )
    return SettingPlan(status=Status.NON_COMPLIANT, missing=verdict.missing, change=change)


def apply_change(state: ClusterState, change: SettingChange) -> ClusterState:
    """The state the cluster would be in once ``change`` is written (its workspace existing)."""
    logs = change.keep_logs + tuple(LogEntry(enabled=True, category=c) for c in change.categories)
    existing = next((s for s in state.settings if s.name.lower() == change.setting_name.lower()), None)
    written = DiagnosticSetting(
        name=change.setting_name,
        logs=logs,
        workspace_id=change.workspace_id,
        storage_account_id=existing.storage_account_id if existing else None,
        event_hub_authorization_rule_id=existing.event_hub_authorization_rule_id if existing else None,
        marketplace_partner_id=existing.marketplace_partner_id if existing else None,
        log_analytics_destination_type=change.log_analytics_destination_type,
        metrics=existing.metrics if existing else (),
    )
    settings = (*(s for s in state.settings if s is not existing), written)
    missing = frozenset(w for w in state.missing_workspaces if w != id_key(change.workspace_id or ""))
    return ClusterState(cluster=state.cluster, settings=settings, metadata=state.metadata, missing_workspaces=missing)


def _dedupe(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
