"""The run report: schema version 1, shared by the CLI, the HTTP report and the triggers."""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict

from remediation.config.values import BASELINE_IDS

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
    categories: list[str]  # ours after the change
    added: list[str]  # what the change adds to ours


class DestinationDoc(TypedDict):
    kind: Literal["log_analytics", "storage", "event_hub", "partner"]
    target: str


class SettingDoc(TypedDict):
    """One diagnostic setting found on the cluster: the evidence behind its status."""

    name: str
    ours: bool
    destinations: list[DestinationDoc]
    categories: list[str]  # every category its enabled entries cover (groups expanded)
    disabled_categories: list[str]
    counted: bool
    not_counted_reason: str | None  # workspace-deleted | destination-not-accepted | no-destination | logs-disabled


FlowVerdictName = Literal["flowing", "partial", "silent", "pending", "unknown"]
FLOW_VERDICTS: tuple[FlowVerdictName, ...] = ("flowing", "partial", "silent", "pending", "unknown")
FLOW_FINDINGS: tuple[FlowVerdictName, ...] = ("partial", "silent")


class FlowDoc(TypedDict):
    verdict: FlowVerdictName
    last_seen: dict[str, str | None]  # required category -> RFC 3339 time of the last record, or null
    gb_per_day: float | None
    reason: str | None


BaselineVerdictName = Literal["pass", "fail", "unknown"]


class BaselineDoc(TypedDict):
    """A cluster's verdict against one baseline (remediation/core/baselines.py)."""

    verdict: BaselineVerdictName
    reason: str  # a code of the reason catalogue (kind "baseline"): excluded, not-read, no-diagnostic-setting, ...
    detail: str | None  # the settings concerned, in words


# "pass" is a Python keyword: the functional form.
BaselineCountsDoc = TypedDict("BaselineCountsDoc", {"pass": int, "fail": int, "unknown": int})


ExemptionStateName = Literal["active", "expiring_soon", "expired", "malformed"]
EXEMPTION_STATES: tuple[ExemptionStateName, ...] = ("active", "expiring_soon", "expired", "malformed")


class ExemptionDoc(TypedDict):
    """The cluster's exclude tag (remediation/core/exemptions.py): what it says and whether it still excludes."""

    state: ExemptionStateName
    tag: str  # as found on the cluster, key=value
    until: str | None  # the last excluded day (YYYY-MM-DD); null: until the tag is removed
    reason: str | None  # the reason tag's value
    expired_on: NotRequired[str]  # expired only: the day it ran out (its last excluded day)


class ClusterDoc(TypedDict):
    # Every report run fills the NotRequired fields but flow; a status document (stored
    # observations, GET /api/status) may lack them.
    id: str
    name: str
    subscription_id: str
    resource_group: str
    location: str
    status: StatusName
    missing_categories: list[str] | None  # None: could not be determined (excluded, or failed before reading)
    reason: str | None
    action: ActionDoc | None
    subscription_name: NotRequired[str | None]
    portal_url: NotRequired[str]
    settings: NotRequired[list[SettingDoc] | None]  # None: not read (excluded, or failed before reading)
    explanation: NotRequired[str | None]
    next_step: NotRequired[str | None]
    flow: NotRequired[FlowDoc | None]  # null when the cluster was not assessed (excluded, failed)
    baselines: NotRequired[dict[str, BaselineDoc]]  # baseline id -> verdict (REMEDIATION_BASELINES chooses)
    exemption: NotRequired[ExemptionDoc]  # only when the cluster carries the exclude tag
    # Only in a status document (``mode: "status"``): when, and by which run, the outcome was observed.
    observed_at: NotRequired[str]
    observed_run_id: NotRequired[str]


class WorkspaceDoc(TypedDict):
    id: str
    location: str
    action: Literal["reused", "created", "would_create"]


class ErrorDoc(TypedDict):
    scope: str
    code: str
    message: str
    step: NotRequired[Literal["flow"]]  # "flow": a flow query failed (the clusters are unknown; not a failure)


class FlowSummaryDoc(TypedDict):
    flowing: int
    partial: int
    silent: int
    pending: int
    unknown: int


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
    flow: NotRequired[FlowSummaryDoc]
    baselines: NotRequired[dict[str, BaselineCountsDoc]]  # baseline id -> clusters by verdict
    exemptions: NotRequired[dict[str, int]]  # exemption state -> clusters (when any cluster carries the tag)


class WorkspaceCostDoc(TypedDict):
    id: str
    gb_per_day: dict[str, float]  # category -> billed GB/day
    total_gb_per_day: float


class CostDoc(TypedDict):
    lookback_hours: int
    queries: int  # Log Analytics queries made (one per distinct destination workspace)
    gb_per_day: dict[str, float]  # category -> billed GB/day across the estate
    total_gb_per_day: float
    kube_audit_share: float | None  # fraction of the total that kube-audit alone takes
    workspaces: list[WorkspaceCostDoc]


class SubscriptionSweepDoc(TypedDict):
    """A subscription's last sweep (status documents only)."""

    subscription_id: str
    run_id: str
    mode: Literal["report", "apply"]
    trigger: str
    started_at: str
    finished_at: str
    summary: SummaryDoc
    errors: int


class TablePlanDoc(TypedDict):
    workspace_id: str
    table: str
    plan_before: str | None
    plan_after: str | None
    action: Literal["updated", "would_update", "unchanged", "refused", "unreadable"]
    reason: str | None  # ARM's code when refused or unreadable


class ScopeDoc(TypedDict):
    subscriptions: list[str]  # empty: every subscription the identity can list (or REMEDIATION_SUBSCRIPTION_IDS)
    clusters: list[str]  # empty: every cluster of those subscriptions


class ConfigurationDoc(TypedDict):
    """The settings that decide what the run did."""

    mode: str  # REMEDIATION_MODE (what unattended triggers do)
    categories: list[str]
    destination_tables: str
    accepted_destinations: str
    setting_name: str
    workspace: str  # the configured workspace ID, or how per-region workspaces are named
    exclude_tag: str
    cloud: str
    portal: str


class ReportDocument(TypedDict):
    schema_version: int
    # "status": the estate as last observed (GET /api/status), assembled from stored outcomes, no ARM request.
    mode: Literal["report", "apply", "status"]
    run_id: str
    started_at: str
    finished_at: str
    required_categories: list[str]
    summary: SummaryDoc
    clusters: list[ClusterDoc]
    workspaces: list[WorkspaceDoc]
    errors: list[ErrorDoc]
    cost: NotRequired[CostDoc | None]  # null when flow verification is off
    subscriptions: NotRequired[list[SubscriptionSweepDoc]]  # status documents only
    table_plans: NotRequired[list[TablePlanDoc]]  # REMEDIATION_AUDIT_TABLE_PLAN=basic: our workspaces' AKSAudit
    tool_version: NotRequired[str]
    scope: NotRequired[ScopeDoc]
    configuration: NotRequired[ConfigurationDoc]
    # GET /api/report: when the run that made this answer finished (served again while younger than
    # REMEDIATION_REPORT_CACHE_SECONDS; the Age header says how old it is).
    generated_at: NotRequired[str]


def summarize(clusters: list[ClusterDoc], *, unreadable_subscriptions: int = 0) -> SummaryDoc:
    counts = dict.fromkeys(STATUS_ORDER, 0)
    flows = dict.fromkeys(FLOW_VERDICTS, 0)
    baselines: dict[str, BaselineCountsDoc] = {}
    exemptions: dict[str, int] = dict.fromkeys(EXEMPTION_STATES, 0)
    exempt = False
    for cluster in clusters:
        counts[cluster["status"]] += 1
        flow = cluster.get("flow")
        if flow is not None:
            flows[flow["verdict"]] += 1
        for baseline, judged in (cluster.get("baselines") or {}).items():
            if baseline not in baselines:
                baselines[baseline] = {"pass": 0, "fail": 0, "unknown": 0}
            baselines[baseline][judged["verdict"]] += 1
        exemption = cluster.get("exemption")
        if exemption is not None:
            exemptions[exemption["state"]] += 1
            exempt = True
    summary = SummaryDoc(
        clusters=len(clusters),
        compliant=counts["compliant"],
        non_compliant=counts["non_compliant"],
        remediated=counts["remediated"],
        excluded=counts["excluded"],
        deferred=counts["deferred"],
        blocked=counts["blocked"],
        failed=counts["failed"],
        unreadable_subscriptions=unreadable_subscriptions,
        flow=FlowSummaryDoc(
            flowing=flows["flowing"],
            partial=flows["partial"],
            silent=flows["silent"],
            pending=flows["pending"],
            unknown=flows["unknown"],
        ),
    )
    if baselines:
        summary["baselines"] = {b: baselines[b] for b in sorted(baselines, key=_baseline_rank)}
    if exempt:
        summary["exemptions"] = exemptions
    return summary


def _baseline_rank(baseline: str) -> tuple[int, str]:
    """Configuration order (REMEDIATION_BASELINES' ids), unknown ids last."""
    return (BASELINE_IDS.index(baseline) if baseline in BASELINE_IDS else len(BASELINE_IDS), baseline)


def flow_findings(document: ReportDocument) -> int:
    """How many clusters' audit records do not (all) arrive: partial + silent."""
    flow = document["summary"].get("flow")
    return sum(flow[v] for v in FLOW_FINDINGS) if flow else 0


def exit_code(document: ReportDocument) -> int:
    """3 if anything failed, a subscription could not be read or the ledger missed a record;
    1 if work remains or records do not arrive (flow partial or silent); else 0. A failed flow
    query is not a failure: its clusters are unknown."""
    summary = document["summary"]
    errors = [e for e in document["errors"] if e.get("step") != "flow"]
    if summary["failed"] or summary.get("unreadable_subscriptions") or errors:
        return 3
    if summary["non_compliant"] or summary["deferred"] or summary["blocked"] or flow_findings(document):
        return 1
    return 0
