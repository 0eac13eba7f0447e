"""The run report: schema version 1, shared by the CLI, the HTTP report and the triggers."""

from __future__ import annotations

from typing import Literal, TypedDict

SCHEMA_VERSION = 1

StatusName = Literal["compliant", "non_compliant", "remediated", "excluded", "deferred", "blocked", "failed"]
STATUS_ORDER: tuple[StatusName, ...] = (
    "compliant",
    "non_compliant",
    "remediated",
    "excluded",
    "deferred",
    "blocked",
    "failed",
)


class ActionDoc(TypedDict):
    kind: Literal["create", "update"]
    setting_name: str
    workspace_id: str
    categories: list[str]


class ClusterDoc(TypedDict):
    id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str
    status: StatusName
    missing_categories: list[str]
    reason: str | None
    action: ActionDoc | None


class WorkspaceDoc(TypedDict):
    id: str
    location: str
    action: Literal["reused", "created", "would_create"]


class ErrorDoc(TypedDict):
    scope: str
    code: str
    message: str


class SummaryDoc(TypedDict):
    clusters: int
    compliant: int
    non_compliant: int
    remediated: int
    excluded: int
    deferred: int
    blocked: int
    failed: int
    unreadable_subscriptions: int  # subscriptions whose clusters could not be listed (see errors)


class ReportDocument(TypedDict):
    schema_version: int
    mode: Literal["report", "apply"]
    run_id: str
    started_at: str
    finished_at: str
    required_categories: list[str]
    summary: SummaryDoc
    clusters: list[ClusterDoc]
    workspaces: list[WorkspaceDoc]
    errors: list[ErrorDoc]


def summarize(clusters: list[ClusterDoc], *, unreadable_subscriptions: int = 0) -> SummaryDoc:
    counts = dict.fromkeys(STATUS_ORDER, 0)
    for cluster in clusters:
        counts[cluster["status"]] += 1
    return SummaryDoc(
        clusters=len(clusters),
        compliant=counts["compliant"],
        non_compliant=counts["non_compliant"],
        remediated=counts["remediated"],
        excluded=counts["excluded"],
        deferred=counts["deferred"],
        blocked=counts["blocked"],
        failed=counts["failed"],
        unreadable_subscriptions=unreadable_subscriptions,
    )


def exit_code(document: ReportDocument) -> int:
    """3 if anything failed, a subscription could not be read or the ledger missed a record;
    1 if work remains; else 0."""
    summary = document["summary"]
    if summary["failed"] or summary.get("unreadable_subscriptions") or document["errors"]:
        return 3
    if summary["non_compliant"] or summary["deferred"] or summary["blocked"]:
        return 1
    return 0
