"""How a cluster stands against the baselines auditors measure it by, each judged as its own engine judges. Pure.

Six baselines, read from their own sources (docs/baselines.md cites each source, its commit,
and every interpretation we had to make):

* ``cis-aks-2.1.1``: CIS AKS Benchmark 1.7 control 2.1.1 "Enable audit Logs" (Kubescape C-0254,
  a manual control): its remediation sends kube-audit and kube-audit-admin to a Log Analytics
  workspace. Judged: both categories (by name or through a group) reach a live workspace.
* ``azure-policy-245fc9df``: the built-in AuditIfNotExists policy "Resource logs in Azure
  Kubernetes Service should be enabled", its ``existenceCondition`` with its default parameters
  (``specs/azure-policy/``), applied to each setting; one matching setting passes.
* ``azure-policy-6c66c325``: the built-in DeployIfNotExists policy (workspace flavour), its
  ``existenceCondition`` with its default parameters and ``logAnalytics`` = the workspace this
  tool targets for the cluster.
* ``psrule-Azure.AKS.AuditLogs``, ``psrule-Azure.AKS.AuditAdmin``, ``psrule-Azure.AKS.PlatformLogs``:
  PSRule for Azure's rules, as their PowerShell source reads (case-insensitive names, category
  groups do not count, every setting is judged).

A judgement names a reason code of the reason catalogue (``remediation.core.reasons``, kind
``baseline``) and a sentence of detail naming the settings concerned. Nothing here reads
anything beyond the settings the run already read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from remediation.config.values import BASELINE_IDS
from remediation.core.compliance import setting_covers, workspace_is_live
from remediation.core.model import CategoryMetadata, ClusterState, DiagnosticSetting
from remediation.core.report import BaselineDoc

Verdict = Literal["pass", "fail", "unknown"]
BASELINE_VERDICTS: tuple[Verdict, ...] = ("pass", "fail", "unknown")

CIS = "cis-aks-2.1.1"
POLICY_AUDIT = "azure-policy-245fc9df"
POLICY_DEPLOY = "azure-policy-6c66c325"
PSRULE_AUDIT_LOGS = "psrule-Azure.AKS.AuditLogs"
PSRULE_AUDIT_ADMIN = "psrule-Azure.AKS.AuditAdmin"
PSRULE_PLATFORM_LOGS = "psrule-Azure.AKS.PlatformLogs"

# The parameters' default values, as the vendored definitions declare them (tests compare).
POLICY_AUDIT_REQUIRED_RETENTION_DAYS = "365"
POLICY_DEPLOY_LOG_CATEGORIES: tuple[str, ...] = (
    "kube-apiserver",
    "kube-audit",
    "kube-controller-manager",
    "kube-scheduler",
    "cluster-autoscaler",
    "kube-audit-admin",
    "guard",
    "cloud-controller-manager",
    "csi-azuredisk-controller",
    "csi-azurefile-controller",
    "csi-snapshot-controller",
)
POLICY_DEPLOY_ENABLED = "True"  # every category parameter's and AllMetrics' default
ALL_METRICS = "AllMetrics"
CIS_AUDIT_CATEGORIES = ("kube-audit", "kube-audit-admin")
PSRULE_AUDIT_CATEGORIES = ("kube-audit", "kube-audit-admin")
PSRULE_GUARD = "guard"
# AZURE_AKS_ENABLED_PLATFORM_LOG_CATEGORIES_LIST's default, split as the rule splits it.
PSRULE_PLATFORM_CATEGORIES = ("cluster-autoscaler", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
PSRULE_PLATFORM_METRICS = (ALL_METRICS,)


@dataclass(frozen=True, kw_only=True)
class Baseline:
    """A baseline's metadata, for every output (SARIF rules, OCSF compliance, the docs)."""

    id: str
    short: str  # a column header
    title: str
    publisher: str
    control: str  # the control or rule as its publisher names it
    url: str
    severity: Literal["high", "medium", "low"]


BASELINES: tuple[Baseline, ...] = (
    Baseline(
        id=CIS,
        short="CIS 2.1.1",
        title="Enable audit Logs",
        publisher="CIS Azure Kubernetes Service (AKS) Benchmark 1.7",
        control="2.1.1 (Kubescape C-0254)",
        url="https://www.cisecurity.org/benchmark/kubernetes",
        severity="high",
    ),
    Baseline(
        id=POLICY_AUDIT,
        short="245fc9df",
        title="Resource logs in Azure Kubernetes Service should be enabled",
        publisher="Azure Policy (built-in, AuditIfNotExists; Microsoft cloud security benchmark LT-4)",
        control="245fc9df-fa96-4414-9a0b-3738c2f7341c",
        url="https://portal.azure.com/#blade/Microsoft_Azure_Policy/PolicyDetailBlade/definitionId/"
        "%2Fproviders%2FMicrosoft.Authorization%2FpolicyDefinitions%2F245fc9df-fa96-4414-9a0b-3738c2f7341c",
        severity="medium",
    ),
    Baseline(
        id=POLICY_DEPLOY,
        short="6c66c325",
        title="Deploy - Configure diagnostic settings for Azure Kubernetes Service to Log Analytics workspace",
        publisher="Azure Policy (built-in, DeployIfNotExists)",
        control="6c66c325-74c8-42fd-a286-a74b0e2939d8",
        url="https://portal.azure.com/#blade/Microsoft_Azure_Policy/PolicyDetailBlade/definitionId/"
        "%2Fproviders%2FMicrosoft.Authorization%2FpolicyDefinitions%2F6c66c325-74c8-42fd-a286-a74b0e2939d8",
        severity="medium",
    ),
    Baseline(
        id=PSRULE_AUDIT_LOGS,
        short="AuditLogs",
        title="AKS clusters should collect security-based audit logs",
        publisher="PSRule for Azure (Well-Architected Security)",
        control="Azure.AKS.AuditLogs (AZR-000022)",
        url="https://azure.github.io/PSRule.Rules.Azure/en/rules/Azure.AKS.AuditLogs/",
        severity="high",
    ),
    Baseline(
        id=PSRULE_AUDIT_ADMIN,
        short="AuditAdmin",
        title="Use kube-audit-admin instead of kube-audit",
        publisher="PSRule for Azure (Well-Architected Cost Optimization)",
        control="Azure.AKS.AuditAdmin (AZR-000445)",
        url="https://azure.github.io/PSRule.Rules.Azure/en/rules/Azure.AKS.AuditAdmin/",
        severity="low",
    ),
    Baseline(
        id=PSRULE_PLATFORM_LOGS,
        short="PlatformLogs",
        title="AKS clusters should collect platform diagnostic logs",
        publisher="PSRule for Azure (Well-Architected Operational Excellence)",
        control="Azure.AKS.PlatformLogs (AZR-000023)",
        url="https://azure.github.io/PSRule.Rules.Azure/en/rules/Azure.AKS.PlatformLogs/",
        severity="low",
    ),
)
BY_ID: Mapping[str, Baseline] = {b.id: b for b in BASELINES}


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reason: str  # a code of the reason catalogue, kind "baseline"
    detail: str | None = None


@dataclass(frozen=True, kw_only=True)
class Observed:
    """The settings a baseline judges (as they stand after the run's own change, if it made one)."""

    settings: tuple[DiagnosticSetting, ...]
    metadata: CategoryMetadata
    missing_workspaces: frozenset[str]
    target_workspace: str  # the policy 6c66c325's logAnalytics: the workspace this tool targets


def observed(state: ClusterState, target_workspace: str) -> Observed:
    return Observed(
        settings=state.settings,
        metadata=state.metadata,
        missing_workspaces=state.missing_workspaces,
        target_workspace=target_workspace,
    )


NO_SETTING = Judgement("fail", "no-diagnostic-setting", "the cluster has no diagnostic setting")


def _quoted(items: Iterable[str]) -> str:
    return ", ".join(f"'{i}'" for i in items)


def _ci(a: str | None, b: str | None) -> bool:
    """PowerShell's -eq and Azure Policy's equals on strings: case-insensitive."""
    return a is not None and b is not None and a.casefold() == b.casefold()


def _ci_in(value: str | None, items: Sequence[str]) -> bool:
    return any(_ci(value, item) for item in items)


def _enabled_named(setting: DiagnosticSetting, names: Sequence[str]) -> list[str]:
    """The entries of ``names`` the setting enables by category name (groups do not count)."""
    return [n for n in names if any(e.enabled and _ci(e.category, n) for e in setting.logs)]


def judge_cis(o: Observed) -> Judgement:
    if not o.settings:
        return NO_SETTING
    senders = [s for s in o.settings if workspace_is_live(s, o.missing_workspaces)]
    covered: set[str] = set()
    for setting in senders:
        covered |= setting_covers(setting, o.metadata)
    missing = [c for c in CIS_AUDIT_CATEGORIES if c not in covered]
    if missing:
        return Judgement(
            "fail", "cis-audit-logs-not-kept", f"not sent to a live Log Analytics workspace: {', '.join(missing)}"
        )
    names = [s.name for s in senders if set(CIS_AUDIT_CATEGORIES) & setting_covers(s, o.metadata)]
    return Judgement("pass", "cis-audit-logs-kept", f"sent to Log Analytics by {_quoted(names)}")


def _padded(days: int | str) -> str:
    """ARM's padLeft(value, 3, '0'): the policy compares the padded texts, not the numbers."""
    return str(days).rjust(3, "0")


def _policy_audit_where(setting: DiagnosticSetting, index: int) -> bool:
    """The count's where clause for the setting's ``index``-th log entry.

    ``logs[*].x`` is the current entry's; ``logs.enabled`` (no ``[*]``) is the legacy alias over
    the whole array, true only when every entry of the setting is enabled (docs/baselines.md).
    """
    entry = setting.logs[index]
    all_enabled = all(e.enabled for e in setting.logs)
    retention_on = entry.retention_enabled is True
    days = entry.retention_days
    long_enough = days is not None and (days == 0 or _padded(days) >= _padded(POLICY_AUDIT_REQUIRED_RETENTION_DAYS))
    kept_long = retention_on and long_enough and all_enabled
    not_kept = all_enabled and (not retention_on or not setting.storage_account_id)
    return kept_long or not_kept


def policy_audit_matches(setting: DiagnosticSetting) -> bool:
    """The existenceCondition of 245fc9df: at least one log entry satisfies its where clause."""
    return sum(1 for i in range(len(setting.logs)) if _policy_audit_where(setting, i)) >= 1


def judge_policy_audit(o: Observed) -> Judgement:
    if not o.settings:
        return NO_SETTING
    found = [s.name for s in o.settings if policy_audit_matches(s)]
    if found:
        return Judgement("pass", "245fc9df-setting-found", f"{_quoted(found)} meets the existence condition")
    disabled = [s for s in o.settings if not s.logs or not all(e.enabled for e in s.logs)]
    if len(disabled) == len(o.settings):
        parts = [f"'{s.name}' " + ("has no log entry" if not s.logs else "has a disabled log entry") for s in disabled]
        return Judgement("fail", "245fc9df-disabled-entry", "; ".join(parts))
    return Judgement(
        "fail",
        "245fc9df-retention",
        f"{_quoted(s.name for s in o.settings if s not in disabled)} keep logs in storage for fewer than "
        f"{POLICY_AUDIT_REQUIRED_RETENTION_DAYS} days",
    )


def _policy_deploy_missing(setting: DiagnosticSetting) -> list[str]:
    """The policy's categories the setting does not enable by name (its count over the parameter list)."""
    return [
        c
        for c in POLICY_DEPLOY_LOG_CATEGORIES
        if not any(_ci(str(e.enabled), POLICY_DEPLOY_ENABLED) and _ci(e.category, c) for e in setting.logs)
    ]


def _policy_deploy_metrics(setting: DiagnosticSetting) -> bool:
    return any(_ci(m.category, ALL_METRICS) and _ci(str(m.enabled), POLICY_DEPLOY_ENABLED) for m in setting.metrics)


def policy_deploy_matches(setting: DiagnosticSetting, workspace: str) -> bool:
    """The existenceCondition of 6c66c325 with ``logAnalytics`` = ``workspace``."""
    return (
        not _policy_deploy_missing(setting) and _policy_deploy_metrics(setting) and _ci(setting.workspace_id, workspace)
    )


def judge_policy_deploy(o: Observed) -> Judgement:
    if not o.settings:
        return NO_SETTING
    found = [s.name for s in o.settings if policy_deploy_matches(s, o.target_workspace)]
    if found:
        return Judgement("pass", "6c66c325-setting-found", f"{_quoted(found)} meets the existence condition")
    to_target = [s for s in o.settings if _ci(s.workspace_id, o.target_workspace)]
    if not to_target:
        return Judgement("fail", "6c66c325-other-workspace", f"no setting sends to {o.target_workspace}")
    closest = min(to_target, key=lambda s: len(_policy_deploy_missing(s)))
    missing = _policy_deploy_missing(closest)
    if missing:
        return Judgement("fail", "6c66c325-categories-missing", f"'{closest.name}' lacks {', '.join(missing)}")
    return Judgement("fail", "6c66c325-allmetrics-missing", f"'{closest.name}' does not enable {ALL_METRICS}")


def judge_audit_logs(o: Observed) -> Judgement:
    if not o.settings:
        return NO_SETTING
    lacking = []
    for s in o.settings:
        audit = _enabled_named(s, PSRULE_AUDIT_CATEGORIES)
        guard = _enabled_named(s, (PSRULE_GUARD,))
        gaps = ([] if audit else ["kube-audit or kube-audit-admin"]) + ([] if guard else [PSRULE_GUARD])
        if gaps:
            lacking.append(f"'{s.name}' lacks {' and '.join(gaps)}")
    if lacking:
        return Judgement("fail", "auditlogs-setting-incomplete", "; ".join(lacking))
    return Judgement("pass", "auditlogs-every-setting", f"{_quoted(s.name for s in o.settings)} enable audit and guard")


def judge_audit_admin(o: Observed) -> Judgement:
    verbose = [s.name for s in o.settings if _enabled_named(s, ("kube-audit",))]
    if verbose:
        return Judgement("fail", "auditadmin-kube-audit", f"{_quoted(verbose)} enable kube-audit")
    return Judgement("pass", "auditadmin-no-kube-audit", "no setting enables kube-audit")


def judge_platform_logs(o: Observed) -> Judgement:
    if not o.settings:
        return NO_SETTING
    lacking = []
    for s in o.settings:
        logs = [e for e in s.logs if e.enabled and _ci_in(e.category, PSRULE_PLATFORM_CATEGORIES)]
        metrics = [m for m in s.metrics if m.enabled and _ci_in(m.category, PSRULE_PLATFORM_METRICS)]
        if len(logs) != len(PSRULE_PLATFORM_CATEGORIES) or len(metrics) != len(PSRULE_PLATFORM_METRICS):
            gaps = [c for c in PSRULE_PLATFORM_CATEGORIES if not _enabled_named(s, (c,))]
            gaps += [m for m in PSRULE_PLATFORM_METRICS if not any(x.enabled and _ci(x.category, m) for x in metrics)]
            lacking.append(f"'{s.name}' lacks {', '.join(gaps) or 'exactly one entry per category'}")
    if lacking:
        return Judgement("fail", "platformlogs-setting-incomplete", "; ".join(lacking))
    return Judgement(
        "pass", "platformlogs-every-setting", f"{_quoted(s.name for s in o.settings)} enable the platform logs"
    )


JUDGES: Mapping[str, Callable[[Observed], Judgement]] = {
    CIS: judge_cis,
    POLICY_AUDIT: judge_policy_audit,
    POLICY_DEPLOY: judge_policy_deploy,
    PSRULE_AUDIT_LOGS: judge_audit_logs,
    PSRULE_AUDIT_ADMIN: judge_audit_admin,
    PSRULE_PLATFORM_LOGS: judge_platform_logs,
}

EXCLUDED = "excluded"
NOT_READ = "not-read"


def _doc(j: Judgement) -> BaselineDoc:
    return BaselineDoc(verdict=j.verdict, reason=j.reason, detail=j.detail)


def judge(observed: Observed, chosen: Sequence[str] = BASELINE_IDS) -> dict[str, BaselineDoc]:
    """Each chosen baseline's verdict on the observed settings, in ``BASELINE_IDS`` order."""
    return {b: _doc(JUDGES[b](observed)) for b in BASELINE_IDS if b in chosen}


def unknown(reason: str, chosen: Sequence[str] = BASELINE_IDS) -> dict[str, BaselineDoc]:
    """Every chosen baseline ``unknown`` for ``reason`` (``excluded``, ``not-read``)."""
    return {b: BaselineDoc(verdict="unknown", reason=reason, detail=None) for b in BASELINE_IDS if b in chosen}
