"""The reason catalogue: every code a report can carry, what it means and what to do about it. Pure.

Like a Prowler check's metadata file, each :class:`ReasonInfo` is one record that every output
reads: the renderers show its ``meaning`` (table, markdown, html, and the rule metadata of the
machine formats), :func:`remediation.core.evidence.explain` takes its ``next_step``, and
``baselines`` names the baselines (``remediation.core.baselines``) whose verdict the reason
bears on. Nothing outside this module writes a reason's text.

Three kinds of code live here:

* a cluster's ``reason`` (``kind="cluster"``): our own codes (:class:`~remediation.core.model.Reason`)
  and the ARM error codes we explain (others pass through as ARM wrote them);
* why a diagnostic setting did not count (``kind="setting"``, a setting's ``not_counted_reason``);
* why a flow verdict is ``unknown`` (``kind="flow"``);
* why a cluster passes, fails or is unknown against a baseline (``kind="baseline"``); ``baselines``
  names the baselines whose verdict can carry the code;
* the state of a cluster's exemption, its exclude tag (``kind="exemption"``).

A ``next_step`` may hold ``str.format`` fields filled by the caller: ``{tag}`` (the exclude tag,
``key=value``), ``{tag_key}``, ``{missing}`` (the missing categories) and ``{who}`` (the
settings concerned).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from remediation.config.values import BASELINE_IDS
from remediation.core.model import MAX_SETTINGS_PER_RESOURCE, Reason

ReasonKind = Literal["cluster", "setting", "flow", "baseline", "exemption"]

# Why a setting did not count towards compliance (SettingDoc.not_counted_reason).
WORKSPACE_DELETED = "workspace-deleted"
DESTINATION_NOT_ACCEPTED = "destination-not-accepted"
NO_DESTINATION = "no-destination"
LOGS_DISABLED = "logs-disabled"

# ARM error codes with a meaning and a next step of their own.
AUTHORIZATION_FAILED = "AuthorizationFailed"
LINKED_AUTHORIZATION_FAILED = "LinkedAuthorizationFailed"
SCOPE_LOCKED = "ScopeLocked"
DISALLOWED_BY_POLICY = "RequestDisallowedByPolicy"
INTERNAL_ERROR = "InternalError"

# The next step for an ARM code the catalogue does not hold.
OTHER_ARM_ERROR_STEP = "fix the cause and run apply again; a temporary failure is retried by the next sweep"


@dataclass(frozen=True, kw_only=True)
class ReasonInfo:
    """One reason code: what it means, what the user can do, the baselines it bears on."""

    code: str
    kind: ReasonKind
    meaning: str
    next_step: str | None = None  # a str.format template (see the module docstring); None: nothing to do
    baselines: tuple[str, ...] = ()  # ids of remediation.core.baselines whose verdict this reason bears on

    def step(self, **fields: str) -> str | None:
        """The next step with its fields filled in."""
        return self.next_step.format(**fields) if self.next_step is not None else None


_GRANT = (
    "grant the identity the role infra/ deploys (remediation/permissions.py lists its actions) on this subscription"
)

ENTRIES: tuple[ReasonInfo, ...] = (
    ReasonInfo(
        code=Reason.EXCLUDED_BY_TAG.value,
        kind="cluster",
        meaning="the cluster carries the exclude tag (REMEDIATION_EXCLUDE_TAG); it is never touched",
        next_step="remove the tag {tag_key} to have it checked and remediated",
    ),
    ReasonInfo(
        code=Reason.CLUSTER_BUSY.value,
        kind="cluster",
        meaning="the cluster is provisioning (creating, upgrading, ...); a setting written now "
        "could be lost, so it waits for the next sweep or event",
        next_step="nothing: the next sweep or event remediates it once provisioning finishes (or run apply again then)",
    ),
    ReasonInfo(
        code=Reason.SETTING_LIMIT_REACHED.value,
        kind="cluster",
        meaning=f"the cluster already has {MAX_SETTINGS_PER_RESOURCE} diagnostic settings, "
        "ARM's limit, and none of them is ours",
        next_step="delete a setting you no longer need, or enable {missing} in one of them that sends to Log Analytics",
    ),
    ReasonInfo(
        code=Reason.SINK_CONFLICT.value,
        kind="cluster",
        meaning="another setting already sends these categories to the target workspace; ARM lets a workspace "
        "receive a category from only one setting of a resource",
        next_step="enable {missing} in {who}, or set REMEDIATION_WORKSPACE_ID to another workspace",
    ),
    ReasonInfo(
        code=Reason.CLUSTER_NOT_FOUND.value,
        kind="cluster",
        meaning="the cluster does not exist (deleted, or a wrong ID or name)",
        next_step="check the resource ID or cluster name and scope",
    ),
    ReasonInfo(
        code=AUTHORIZATION_FAILED,
        kind="cluster",
        meaning="the identity lacks a permission the run needs",
        next_step=_GRANT,
    ),
    ReasonInfo(
        code=SCOPE_LOCKED,
        kind="cluster",
        meaning="a resource lock forbids the write",
        next_step="remove the lock, or exclude the cluster with the tag {tag}",
    ),
    ReasonInfo(
        code=DISALLOWED_BY_POLICY,
        kind="cluster",
        meaning="an Azure Policy assignment denies the write",
        next_step="exempt the setting from the policy, or exclude the cluster with the tag",
    ),
    ReasonInfo(
        code=INTERNAL_ERROR,
        kind="cluster",
        meaning="the tool failed unexpectedly",
        next_step="report it with the log of this run",
    ),
    ReasonInfo(
        code=Reason.DEADLINE.value,
        kind="cluster",
        meaning="the run's time budget ran out before this cluster was finished; the next run continues",
        next_step="nothing: the next sweep continues (raise REMEDIATION_DEADLINE_SECONDS if this recurs)",
    ),
    ReasonInfo(
        code=Reason.WORKSPACE_FAILED.value,
        kind="cluster",
        meaning="the target Log Analytics workspace is in a failed or deleting state",
        next_step="repair or delete that workspace (it is re-created when missing), or set REMEDIATION_WORKSPACE_ID",
    ),
    ReasonInfo(
        code=Reason.THROTTLED.value,
        kind="cluster",
        meaning="ARM kept throttling the requests (its request limits) until the run's time budget ran out",
        next_step="nothing: the next sweep retries (a lower REMEDIATION_MAX_CONCURRENCY spreads the requests)",
    ),
    ReasonInfo(
        code=Reason.INVALID_RESOURCE_ID.value,
        kind="cluster",
        meaning="ARM listed an entry whose resource ID is not of the kind expected (not an AKS cluster's, or a "
        "diagnostic setting that is not this cluster's); it is shown escaped and nothing is written to it",
        next_step="look the entry up with az resource show; the other clusters of the listing are checked as usual",
    ),
    ReasonInfo(
        code=LINKED_AUTHORIZATION_FAILED,
        kind="cluster",
        meaning="the identity may not link a diagnostic setting to that workspace "
        "(workspaces/sharedKeys/action on the workspace)",
        next_step=_GRANT,
    ),
    ReasonInfo(
        code=WORKSPACE_DELETED,
        kind="setting",
        meaning="its Log Analytics workspace no longer exists, so its logs go nowhere",
    ),
    ReasonInfo(
        code=DESTINATION_NOT_ACCEPTED,
        kind="setting",
        meaning="it sends only to a storage account, event hub or partner, and "
        "REMEDIATION_ACCEPTED_DESTINATIONS=log-analytics",
    ),
    ReasonInfo(code=NO_DESTINATION, kind="setting", meaning="it has no destination"),
    ReasonInfo(code=LOGS_DISABLED, kind="setting", meaning="every log category in it is disabled"),
    ReasonInfo(
        code="verification-off",
        kind="flow",
        meaning="flow verification is off (REMEDIATION_VERIFY_FLOW=false)",
    ),
    ReasonInfo(
        code="not-log-analytics",
        kind="flow",
        meaning="no Log Analytics setting covers a required category (storage only, or no setting yet)",
    ),
    ReasonInfo(
        code="query-timeout",
        kind="flow",
        meaning="the workspace's query did not answer within the run's time budget",
    ),
)

_CIS, _AUDIT, _DEPLOY, _AUDIT_LOGS, _AUDIT_ADMIN, _PLATFORM = BASELINE_IDS
_ALL = BASELINE_IDS

BASELINE_ENTRIES: tuple[ReasonInfo, ...] = (
    ReasonInfo(
        code="excluded",
        kind="baseline",
        meaning="the cluster is excluded by its tag: its settings were not read, so no baseline is judged",
        next_step="remove the exclude tag (or let its exemption expire) to have the cluster judged",
        baselines=_ALL,
    ),
    ReasonInfo(
        code="not-read",
        kind="baseline",
        meaning="the cluster's diagnostic settings could not be read in this run (see the cluster's own reason)",
        next_step="fix the cluster's own reason; the next run judges it",
        baselines=_ALL,
    ),
    ReasonInfo(
        code="no-diagnostic-setting",
        kind="baseline",
        meaning="the cluster has no diagnostic setting at all",
        next_step="run apply to create one, or create a setting that meets the baseline",
        baselines=(_CIS, _AUDIT, _DEPLOY, _AUDIT_LOGS, _PLATFORM),
    ),
    ReasonInfo(
        code="cis-audit-logs-kept",
        kind="baseline",
        meaning="kube-audit and kube-audit-admin are sent to a live Log Analytics workspace (by name or group)",
        baselines=(_CIS,),
    ),
    ReasonInfo(
        code="cis-audit-logs-not-kept",
        kind="baseline",
        meaning="kube-audit or kube-audit-admin does not reach a live Log Analytics workspace, the persistent "
        "central store CIS 2.1.1's remediation names",
        next_step="send kube-audit and kube-audit-admin to a Log Analytics workspace (both in REMEDIATION_CATEGORIES, "
        "then run apply)",
        baselines=(_CIS,),
    ),
    ReasonInfo(
        code="245fc9df-setting-found",
        kind="baseline",
        meaning="a setting meets the policy's existence condition: its log entries are all enabled and none keeps "
        "logs in storage for less than the required retention",
        baselines=(_AUDIT,),
    ),
    ReasonInfo(
        code="245fc9df-disabled-entry",
        kind="baseline",
        meaning="every setting has a disabled log entry (or none): the policy reads logs.enabled across all of a "
        "setting's entries, so one disabled category fails the setting",
        next_step="remove the disabled entries from one setting (or enable them)",
        baselines=(_AUDIT,),
    ),
    ReasonInfo(
        code="245fc9df-retention",
        kind="baseline",
        meaning="the settings whose entries are all enabled keep logs in a storage account for fewer days than the "
        "policy requires (365 by default)",
        next_step="set the entries' retention to 0 (forever) or at least 365 days, or turn retention off",
        baselines=(_AUDIT,),
    ),
    ReasonInfo(
        code="6c66c325-setting-found",
        kind="baseline",
        meaning="a setting sends the policy's eleven categories (by name) and AllMetrics to the target workspace",
        baselines=(_DEPLOY,),
    ),
    ReasonInfo(
        code="6c66c325-other-workspace",
        kind="baseline",
        meaning="no setting sends to the workspace this tool targets (the policy's logAnalytics parameter)",
        next_step="assign the policy with logAnalytics = that workspace and remediate, or point a setting there",
        baselines=(_DEPLOY,),
    ),
    ReasonInfo(
        code="6c66c325-categories-missing",
        kind="baseline",
        meaning="the setting to the target workspace does not enable each of the policy's eleven categories by name "
        "(a category group does not count)",
        next_step="enable the missing categories by name in that setting (the policy's remediation writes all eleven)",
        baselines=(_DEPLOY,),
    ),
    ReasonInfo(
        code="6c66c325-allmetrics-missing",
        kind="baseline",
        meaning="the setting to the target workspace does not enable the AllMetrics metric",
        next_step="enable AllMetrics in that setting",
        baselines=(_DEPLOY,),
    ),
    ReasonInfo(
        code="auditlogs-every-setting",
        kind="baseline",
        meaning="every setting enables kube-audit or kube-audit-admin, and guard, by name",
        baselines=(_AUDIT_LOGS,),
    ),
    ReasonInfo(
        code="auditlogs-setting-incomplete",
        kind="baseline",
        meaning="a setting does not enable kube-audit or kube-audit-admin and guard by name (the rule judges every "
        "setting; category groups do not count)",
        next_step="enable kube-audit-admin and guard by name in every diagnostic setting of the cluster",
        baselines=(_AUDIT_LOGS,),
    ),
    ReasonInfo(
        code="auditadmin-no-kube-audit",
        kind="baseline",
        meaning="no setting enables kube-audit by name",
        baselines=(_AUDIT_ADMIN,),
    ),
    ReasonInfo(
        code="auditadmin-kube-audit",
        kind="baseline",
        meaning="a setting enables kube-audit, whose reads make it the costliest category; the rule asks for "
        "kube-audit-admin instead",
        next_step="drop kube-audit from REMEDIATION_CATEGORIES and from the named settings, keep kube-audit-admin",
        baselines=(_AUDIT_ADMIN,),
    ),
    ReasonInfo(
        code="platformlogs-every-setting",
        kind="baseline",
        meaning="every setting enables cluster-autoscaler, kube-apiserver, kube-controller-manager, kube-scheduler "
        "and AllMetrics by name",
        baselines=(_PLATFORM,),
    ),
    ReasonInfo(
        code="platformlogs-setting-incomplete",
        kind="baseline",
        meaning="a setting does not enable each of cluster-autoscaler, kube-apiserver, kube-controller-manager, "
        "kube-scheduler and AllMetrics by name (the rule judges every setting)",
        next_step="enable the missing categories and AllMetrics in every diagnostic setting of the cluster",
        baselines=(_PLATFORM,),
    ),
)

EXEMPTION_ENTRIES: tuple[ReasonInfo, ...] = (
    ReasonInfo(
        code="active",
        kind="exemption",
        meaning="the exclude tag exempts the cluster: nothing beyond the cluster list is read, nothing is written",
        next_step="remove the tag {tag_key} to have it checked and remediated",
    ),
    ReasonInfo(
        code="expiring_soon",
        kind="exemption",
        meaning="the exemption ends within 14 days; after its last day the cluster is checked and remediated",
        next_step="renew it ({tag_key}={value}-until:YYYY-MM-DD, with {tag_key}-reason) or let it expire",
    ),
    ReasonInfo(
        code="expired",
        kind="exemption",
        meaning="the exemption's last day has passed: the cluster is checked and remediated like any other",
        next_step="remove the tag, or renew it with a new date if the exemption still holds",
    ),
    ReasonInfo(
        code="malformed",
        kind="exemption",
        meaning="the exclude tag's value is neither its exclude value nor that value followed by "
        "-until:YYYY-MM-DD (a real day): it excludes nothing",
        next_step="correct the tag to {tag_key}={value} or {tag_key}={value}-until:YYYY-MM-DD",
    ),
)

CATALOGUE: Mapping[str, ReasonInfo] = {entry.code: entry for entry in (*ENTRIES, *BASELINE_ENTRIES, *EXEMPTION_ENTRIES)}


def lookup(code: str | None, kind: ReasonKind = "cluster") -> ReasonInfo | None:
    """The catalogue's record of ``code`` as a ``kind`` of reason; None for codes it does not hold."""
    entry = CATALOGUE.get(code) if code else None
    return entry if entry is not None and entry.kind == kind else None


def meaning(code: str | None, kind: ReasonKind = "cluster") -> str | None:
    """What a reason code means (None for codes the catalogue does not hold, e.g. most ARM codes)."""
    entry = lookup(code, kind)
    return entry.meaning if entry is not None else None


def next_step(code: str | None, **fields: str) -> str:
    """What the user can do about a cluster's ``code``; a generic step for ARM codes we do not hold."""
    entry = lookup(code)
    step = entry.step(**fields) if entry is not None else None
    return step if step is not None else OTHER_ARM_ERROR_STEP
