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
* why a flow verdict is ``unknown`` (``kind="flow"``).

A ``next_step`` may hold ``str.format`` fields filled by the caller: ``{tag}`` (the exclude tag,
``key=value``), ``{tag_key}``, ``{missing}`` (the missing categories) and ``{who}`` (the
settings concerned).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from remediation.core.model import MAX_SETTINGS_PER_RESOURCE, Reason

ReasonKind = Literal["cluster", "setting", "flow"]

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

CATALOGUE: Mapping[str, ReasonInfo] = {entry.code: entry for entry in ENTRIES}


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
