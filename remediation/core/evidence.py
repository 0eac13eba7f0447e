"""Why a cluster got its status, in words a person can act on. Pure.

:func:`setting_evidence` says, for each diagnostic setting found on a cluster, where it sends,
which categories it covers and whether it counted (and if not, why). :func:`explain` turns a
cluster's outcome into one sentence of explanation and, where there is something to do, one
of what the user can do about it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from remediation.config.values import Config
from remediation.core.compliance import setting_counts, setting_covers, workspace_is_live
from remediation.core.exemptions import Exemption
from remediation.core.model import (
    MAX_SETTINGS_PER_RESOURCE,
    Cluster,
    ClusterState,
    DiagnosticSetting,
    Reason,
    SettingChange,
    Status,
)
from remediation.core.reasons import (
    AUTHORIZATION_FAILED,
    DESTINATION_NOT_ACCEPTED,
    DISALLOWED_BY_POLICY,
    INTERNAL_ERROR,
    LINKED_AUTHORIZATION_FAILED,
    LOGS_DISABLED,
    NO_DESTINATION,
    SCOPE_LOCKED,
    WORKSPACE_DELETED,
    meaning,
    next_step,
)
from remediation.ids import same_id


@dataclass(frozen=True)
class Destination:
    kind: str  # log_analytics | storage | event_hub | partner
    target: str


@dataclass(frozen=True)
class SettingEvidence:
    name: str
    ours: bool
    destinations: tuple[Destination, ...]
    categories: tuple[str, ...]  # every category its enabled entries cover (groups expanded), sorted
    disabled_categories: tuple[str, ...]  # categories it names but has switched off
    counted: bool
    not_counted_reason: str | None


def _destinations(setting: DiagnosticSetting) -> tuple[Destination, ...]:
    found = (
        ("log_analytics", setting.workspace_id),
        ("storage", setting.storage_account_id),
        ("event_hub", setting.event_hub_authorization_rule_id),
        ("partner", setting.marketplace_partner_id),
    )
    return tuple(Destination(kind, target) for kind, target in found if target)


def setting_evidence(state: ClusterState, config: Config) -> tuple[SettingEvidence, ...]:
    """One entry per setting on the cluster, in ARM's order."""
    out = []
    for setting in state.settings:
        covers = setting_covers(setting, state.metadata)
        counts = setting_counts(setting, config, state.missing_workspaces)
        reason: str | None = None
        if setting.workspace_id and not workspace_is_live(setting, state.missing_workspaces) and not counts:
            reason = WORKSPACE_DELETED
        elif not counts and _destinations(setting):
            reason = DESTINATION_NOT_ACCEPTED
        elif not counts:
            reason = NO_DESTINATION
        elif not covers:
            reason = LOGS_DISABLED
        disabled = sorted({e.category for e in setting.logs if e.category and not e.enabled} - covers)
        out.append(
            SettingEvidence(
                name=setting.name,
                ours=setting.name.lower() == config.setting_name.lower(),
                destinations=_destinations(setting),
                categories=tuple(sorted(covers)),
                disabled_categories=tuple(disabled),
                counted=reason is None,
                not_counted_reason=reason,
            )
        )
    return tuple(out)


@dataclass(frozen=True)
class Explanation:
    text: str | None
    next_step: str | None


def _names(items: Sequence[str]) -> str:
    return ", ".join(items) if items else "none"


def _quoted(items: Sequence[str]) -> str:
    return ", ".join(f"'{i}'" for i in items)


def _not_counted(settings: Sequence[SettingEvidence]) -> str:
    parts = [
        f"'{s.name}' does not count: {meaning(s.not_counted_reason, 'setting')}"
        for s in settings
        if s.not_counted_reason is not None
    ]
    return ("; " + "; ".join(parts)) if parts else ""


def explain(
    *,
    cluster: Cluster,
    status: Status,
    reason: str | None,
    missing: Sequence[str] | None,
    settings: Sequence[SettingEvidence] | None,
    change: SettingChange | None,
    config: Config,
    error_message: str | None = None,
    target_workspace: str | None = None,
    exemption: Exemption | None = None,
) -> Explanation:
    """One sentence on why the cluster has its status and, when the user can act, what to do."""
    missing = tuple(missing or ())
    settings = tuple(settings or ())
    added = tuple(c for c in change.categories if c not in change.categories_before) if change else ()
    if status is Status.COMPLIANT:
        counted = [s.name for s in settings if s.counted]
        return Explanation(f"every required category is sent to Log Analytics by {_quoted(counted)}", None)
    if status is Status.REMEDIATED and change is not None:
        verb = "created" if change.kind.value == "create" else "updated"
        return Explanation(f"{verb} '{change.setting_name}', adding {_names(added)}", None)
    if status is Status.NON_COMPLIANT:
        text = f"not sent to Log Analytics: {_names(missing)}" + _not_counted(settings)
        step = None
        if change is not None:
            step = f"run apply: it will {change.kind.value} '{change.setting_name}', adding {_names(added)}"
        return Explanation(text, step)
    if status is Status.EXCLUDED:
        tag = exemption.tag if exemption is not None else str(config.exclude_tag)
        terms = []
        if exemption is not None and exemption.until is not None:
            terms.append(f"exempt through {exemption.until.isoformat()}")
        if exemption is not None and exemption.reason:
            terms.append(f"reason: {exemption.reason}")
        told = f" ({'; '.join(terms)})" if terms else ""
        return Explanation(
            f"tagged {tag}{told}: nothing beyond the cluster list was read and nothing is written",
            next_step(Reason.EXCLUDED_BY_TAG.value, tag_key=config.exclude_tag.key),
        )
    if status is Status.DEFERRED and reason == Reason.DEADLINE.value:
        return Explanation(
            "the run's time budget ran out before this cluster was finished",
            next_step(Reason.DEADLINE.value),
        )
    if status is Status.DEFERRED:
        return Explanation(
            f"the cluster is '{cluster.provisioning_state}'; AKS may lose a diagnostic setting written while it "
            f"provisions (missing: {_names(missing)})",
            next_step(Reason.CLUSTER_BUSY.value),
        )
    if status is Status.BLOCKED and reason == Reason.SETTING_LIMIT_REACHED.value:
        return Explanation(
            f"it already has {len(settings)} diagnostic settings ({_quoted([s.name for s in settings])}), "
            f"ARM's limit of {MAX_SETTINGS_PER_RESOURCE}, and none is ours (missing: {_names(missing)})",
            next_step(Reason.SETTING_LIMIT_REACHED.value, missing=_names(missing)),
        )
    if status is Status.BLOCKED and reason == Reason.WORKSPACE_FAILED.value:
        return Explanation(
            f"the target workspace {target_workspace or ''} is in a failed or deleting state",
            next_step(Reason.WORKSPACE_FAILED.value),
        )
    if status is Status.BLOCKED and reason == Reason.SINK_CONFLICT.value:
        feeding = [
            s.name for s in settings if not s.ours and any(same_id(d.target, target_workspace) for d in s.destinations)
        ]
        who = f"setting {_quoted(feeding)}" if feeding else "another setting"
        return Explanation(
            f"{who} already sends to the target workspace, and ARM lets a workspace receive a category from only "
            f"one setting of a resource (missing: {_names(missing)})",
            next_step(Reason.SINK_CONFLICT.value, missing=_names(missing), who=who),
        )
    # failed, or blocked by ARM (a permission, a lock, a policy)
    return _failed(reason, error_message, config)


def _failed(reason: str | None, message: str | None, config: Config) -> Explanation:
    detail = f": {message}" if message else ""
    if reason == Reason.CLUSTER_NOT_FOUND.value:
        text = "the cluster does not exist (deleted, or a wrong ID)"
    elif reason in (AUTHORIZATION_FAILED, LINKED_AUTHORIZATION_FAILED):
        text = f"the identity lacks a permission{detail}"
    elif reason == SCOPE_LOCKED:
        text = f"a resource lock forbids the write{detail}"
    elif reason == DISALLOWED_BY_POLICY:
        text = f"an Azure Policy assignment denies the write{detail}"
    elif reason == Reason.THROTTLED.value:
        text = f"ARM kept throttling the requests until the run's time budget ran out{detail}"
    elif reason == INTERNAL_ERROR:
        text = f"the tool failed unexpectedly{detail}"
    else:
        text = f"ARM answered {reason or 'an error'}{detail}"
    return Explanation(text, next_step(reason, tag=str(config.exclude_tag)))
