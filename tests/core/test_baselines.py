"""Baselines (remediation/core/baselines.py): each judged as its own engine judges.

For every baseline: settings that pass it, settings that fail it, and settings that fail it by
the rule's letter (a category group only, a second setting without guard, kube-audit beside
kube-audit-admin, ...). The two Azure Policy judgements are also checked against the vendored
definitions' existenceConditions, evaluated literally (tests/support/policy_language.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remediation.config.values import BASELINE_IDS, DEFAULT_CATEGORIES
from remediation.core import baselines as b
from remediation.core.model import DiagnosticSetting, LogEntry, MetricEntry
from remediation.core.reasons import CATALOGUE, lookup
from remediation.ids import id_key
from tests.support import policy_language
from tests.support.model import ALL_LOGS, DEAD_WS, METADATA, STORAGE, TARGET, USER_WS, cats, group

SPECS = Path(__file__).resolve().parents[2] / "specs" / "azure-policy"
AUDIT_POLICY = json.loads((SPECS / "AuditDiagnosticLog_Audit.json").read_text())
DEPLOY_POLICY = json.loads((SPECS / "DataConnectorsAzureKubernetes_DINE.json").read_text())
ALL_METRICS = (MetricEntry(category="AllMetrics", enabled=True),)
PLATFORM = ("cluster-autoscaler", "kube-apiserver", "kube-controller-manager", "kube-scheduler")


def setting(
    name: str,
    logs: tuple[LogEntry, ...] = (),
    *,
    metrics: tuple[MetricEntry, ...] = (),
    workspace: str | None = USER_WS,
    storage: str | None = None,
) -> DiagnosticSetting:
    return DiagnosticSetting(name=name, logs=logs, metrics=metrics, workspace_id=workspace, storage_account_id=storage)


def observed(*found: DiagnosticSetting, missing: tuple[str, ...] = ()) -> b.Observed:
    return b.Observed(
        settings=found,
        metadata=METADATA,
        missing_workspaces=frozenset(id_key(m) for m in missing),
        target_workspace=TARGET,
    )


def verdicts(*found: DiagnosticSetting, missing: tuple[str, ...] = ()) -> dict[str, tuple[str, str]]:
    return {k: (v["verdict"], v["reason"]) for k, v in b.judge(observed(*found, missing=missing)).items()}


POLICY_ELEVEN = cats(*b.POLICY_DEPLOY_LOG_CATEGORIES)
# (baseline, case, settings, verdict, reason)
GRID: list[tuple[str, str, tuple[DiagnosticSetting, ...], str, str]] = [
    # CIS 2.1.1: kube-audit and kube-audit-admin kept in a Log Analytics workspace
    (b.CIS, "pass", (setting("ops", cats("kube-audit", "kube-audit-admin")),), "pass", "cis-audit-logs-kept"),
    (b.CIS, "pass: the audit group", (setting("ops", (group("audit"),)),), "pass", "cis-audit-logs-kept"),
    (b.CIS, "fail: none", (), "fail", "no-diagnostic-setting"),
    (
        b.CIS,
        "fail: storage",
        (setting("s", cats(*DEFAULT_CATEGORIES), workspace=None, storage=STORAGE),),
        "fail",
        "cis-audit-logs-not-kept",
    ),
    (b.CIS, "letter: admin only", (setting("ops", cats("kube-audit-admin")),), "fail", "cis-audit-logs-not-kept"),
    # Azure Policy 245fc9df: a setting whose log entries are all enabled
    (b.POLICY_AUDIT, "pass", (setting("ops", cats("kube-audit-admin")),), "pass", "245fc9df-setting-found"),
    (b.POLICY_AUDIT, "pass: a group", (setting("ops", (group("audit"),)),), "pass", "245fc9df-setting-found"),
    (b.POLICY_AUDIT, "fail: none", (), "fail", "no-diagnostic-setting"),
    (b.POLICY_AUDIT, "fail: no logs", (setting("m", metrics=ALL_METRICS),), "fail", "245fc9df-disabled-entry"),
    (
        b.POLICY_AUDIT,
        "letter: a disabled entry beside enabled ones",
        (setting("ops", cats(*DEFAULT_CATEGORIES) + cats("guard", enabled=False)),),
        "fail",
        "245fc9df-disabled-entry",
    ),
    (
        b.POLICY_AUDIT,
        "letter: 1000 days compare below 365 as text",
        (setting("s", (LogEntry(True, "kube-audit", None, True, 1000),), workspace=None, storage=STORAGE),),
        "fail",
        "245fc9df-retention",
    ),
    # Azure Policy 6c66c325: eleven categories by name and AllMetrics to the target workspace
    (
        b.POLICY_DEPLOY,
        "pass",
        (setting("any-name", POLICY_ELEVEN, metrics=ALL_METRICS, workspace=TARGET),),
        "pass",
        "6c66c325-setting-found",
    ),
    (b.POLICY_DEPLOY, "fail: none", (), "fail", "no-diagnostic-setting"),
    (
        b.POLICY_DEPLOY,
        "fail: our five",
        (setting("ours", cats(*DEFAULT_CATEGORIES), workspace=TARGET),),
        "fail",
        "6c66c325-categories-missing",
    ),
    (
        b.POLICY_DEPLOY,
        "fail: elsewhere",
        (setting("x", POLICY_ELEVEN, metrics=ALL_METRICS, workspace=USER_WS),),
        "fail",
        "6c66c325-other-workspace",
    ),
    (
        b.POLICY_DEPLOY,
        "letter: allLogs group",
        (setting("x", (group("allLogs"),), metrics=ALL_METRICS, workspace=TARGET),),
        "fail",
        "6c66c325-categories-missing",
    ),
    (
        b.POLICY_DEPLOY,
        "letter: no metrics",
        (setting("x", POLICY_ELEVEN, workspace=TARGET),),
        "fail",
        "6c66c325-allmetrics-missing",
    ),
    # PSRule Azure.AKS.AuditLogs: every setting, audit and guard by name
    (
        b.PSRULE_AUDIT_LOGS,
        "pass",
        (setting("ops", cats("kube-audit-admin", "guard")),),
        "pass",
        "auditlogs-every-setting",
    ),
    (b.PSRULE_AUDIT_LOGS, "fail: none", (), "fail", "no-diagnostic-setting"),
    (
        b.PSRULE_AUDIT_LOGS,
        "fail: our five",
        (setting("ours", cats(*DEFAULT_CATEGORIES)),),
        "fail",
        "auditlogs-setting-incomplete",
    ),
    (
        b.PSRULE_AUDIT_LOGS,
        "letter: the audit group",
        (setting("ops", (group("audit"),)),),
        "fail",
        "auditlogs-setting-incomplete",
    ),
    (
        b.PSRULE_AUDIT_LOGS,
        "letter: a second setting without guard",
        (setting("ops", cats("kube-audit-admin", "guard")), setting("metrics", cats("kube-apiserver"))),
        "fail",
        "auditlogs-setting-incomplete",
    ),
    # PSRule Azure.AKS.AuditAdmin: no setting enables kube-audit
    (b.PSRULE_AUDIT_ADMIN, "pass", (setting("ops", cats("kube-audit-admin")),), "pass", "auditadmin-no-kube-audit"),
    (b.PSRULE_AUDIT_ADMIN, "pass: none", (), "pass", "auditadmin-no-kube-audit"),
    (b.PSRULE_AUDIT_ADMIN, "fail", (setting("ops", cats("kube-audit")),), "fail", "auditadmin-kube-audit"),
    (
        b.PSRULE_AUDIT_ADMIN,
        "letter: kube-audit beside kube-audit-admin",
        (setting("ops", cats("kube-audit-admin", "kube-audit")),),
        "fail",
        "auditadmin-kube-audit",
    ),
    (
        b.PSRULE_AUDIT_ADMIN,
        "pass: kube-audit disabled",
        (setting("ops", cats("kube-audit", enabled=False)),),
        "pass",
        "auditadmin-no-kube-audit",
    ),
    # PSRule Azure.AKS.PlatformLogs: every setting, four categories and AllMetrics
    (
        b.PSRULE_PLATFORM_LOGS,
        "pass",
        (setting("p", cats(*PLATFORM), metrics=ALL_METRICS),),
        "pass",
        "platformlogs-every-setting",
    ),
    (b.PSRULE_PLATFORM_LOGS, "fail: none", (), "fail", "no-diagnostic-setting"),
    (
        b.PSRULE_PLATFORM_LOGS,
        "fail: our five",
        (setting("ours", cats(*DEFAULT_CATEGORIES)),),
        "fail",
        "platformlogs-setting-incomplete",
    ),
    (
        b.PSRULE_PLATFORM_LOGS,
        "letter: allLogs group",
        (setting("p", (group("allLogs"),), metrics=ALL_METRICS),),
        "fail",
        "platformlogs-setting-incomplete",
    ),
    (
        b.PSRULE_PLATFORM_LOGS,
        "letter: a second setting without them",
        (setting("p", cats(*PLATFORM), metrics=ALL_METRICS), setting("audit", cats("kube-audit-admin"))),
        "fail",
        "platformlogs-setting-incomplete",
    ),
]


@pytest.mark.parametrize(
    ("baseline", "case", "found", "verdict", "reason"), GRID, ids=[f"{g[0]}: {g[1]}" for g in GRID]
)
def test_each_baseline_passes_fails_and_fails_by_its_letter(baseline, case, found, verdict, reason):
    judged = b.judge(observed(*found))[baseline]
    assert (judged["verdict"], judged["reason"]) == (verdict, reason)
    entry = lookup(reason, "baseline")
    assert entry is not None and baseline in entry.baselines, "the catalogue maps the reason to its baseline"
    assert judged["detail"]


def test_a_deleted_workspace_keeps_nothing_for_cis_but_the_policies_do_not_look():
    dead = setting("old", cats(*ALL_LOGS), workspace=DEAD_WS)
    judged = verdicts(dead, missing=(DEAD_WS,))
    assert judged[b.CIS] == ("fail", "cis-audit-logs-not-kept")
    assert judged[b.POLICY_AUDIT] == ("pass", "245fc9df-setting-found"), "the policy reads no destination"


def test_details_name_the_settings():
    judged = b.judge(observed(setting("a", cats("kube-audit")), setting("b", cats("guard"))))
    assert judged[b.PSRULE_AUDIT_LOGS]["detail"] == "'a' lacks guard; 'b' lacks kube-audit or kube-audit-admin"
    assert judged[b.PSRULE_AUDIT_ADMIN]["detail"] == "'a' enable kube-audit"
    assert "'b' lacks cluster-autoscaler" in (judged[b.PSRULE_PLATFORM_LOGS]["detail"] or "")


def test_choice_and_unknown_keep_the_configured_order():
    chosen = (b.PSRULE_AUDIT_ADMIN, b.CIS)
    assert list(b.judge(observed(), chosen)) == [b.CIS, b.PSRULE_AUDIT_ADMIN]
    assert b.unknown("excluded") == {
        i: {"verdict": "unknown", "reason": "excluded", "detail": None} for i in BASELINE_IDS
    }
    assert b.judge(observed(), ()) == {}


def test_every_baseline_has_a_judge_metadata_and_reasons():
    assert tuple(b.JUDGES) == BASELINE_IDS == tuple(b.BY_ID)
    reasons = {e.code: e for e in CATALOGUE.values() if e.kind == "baseline"}
    for baseline in BASELINE_IDS:
        assert any(baseline in e.baselines for e in reasons.values())
    judged = {(verdict, reason) for _, _, _, verdict, reason in GRID}
    assert {r for _, r in judged} | {"excluded", "not-read"} == set(reasons), "the grid reaches every reason"
    for verdict, reason in judged:
        assert (reasons[reason].next_step is None) == (verdict == "pass"), reason


# The vendored definitions: our constants are their defaults, our judgement is their existenceCondition.


def test_the_constants_are_the_definitions_defaults():
    audit = policy_language.defaults(AUDIT_POLICY)
    assert audit["requiredRetentionDays"] == b.POLICY_AUDIT_REQUIRED_RETENTION_DAYS
    assert audit["effect"] == "AuditIfNotExists"
    deploy = policy_language.defaults(DEPLOY_POLICY)
    listed = DEPLOY_POLICY["properties"]["policyRule"]["then"]["details"]["existenceCondition"]["allOf"][0]
    assert tuple(item["category"] for item in listed["count"]["value"]) == b.POLICY_DEPLOY_LOG_CATEGORIES
    assert all(deploy[c] == b.POLICY_DEPLOY_ENABLED for c in (*b.POLICY_DEPLOY_LOG_CATEGORIES, "AllMetrics"))
    assert deploy["effect"] == "DeployIfNotExists" and deploy["logAnalytics"] is None, "no default: we pass ours"
    details = DEPLOY_POLICY["properties"]["policyRule"]["then"]["details"]
    assert "name" not in details, "the existence condition does not look at the setting's name"
    assert AUDIT_POLICY["name"] == "245fc9df-fa96-4414-9a0b-3738c2f7341c"
    assert DEPLOY_POLICY["name"] == "6c66c325-74c8-42fd-a286-a74b0e2939d8"


def arm(s: DiagnosticSetting) -> dict[str, Any]:
    """The setting as ARM returns it (the shape the policy's aliases read)."""

    def entry(e: LogEntry) -> dict[str, Any]:
        out: dict[str, Any] = {"category": e.category, "categoryGroup": e.category_group, "enabled": e.enabled}
        if e.retention_enabled is not None:
            out["retentionPolicy"] = {"enabled": e.retention_enabled, "days": e.retention_days}
        return out

    return {
        "name": s.name,
        "properties": {
            "workspaceId": s.workspace_id,
            "storageAccountId": s.storage_account_id,
            "logs": [entry(e) for e in s.logs],
            "metrics": [{"category": m.category, "enabled": m.enabled} for m in s.metrics],
        },
    }


# ARM's RetentionPolicy requires both enabled and days (specs/azure-specs/Microsoft.Insights): both or neither.
_retention = st.one_of(st.just((None, None)), st.tuples(st.booleans(), st.sampled_from((0, 7, 90, 365, 400, 1000))))
_entries = st.builds(
    lambda enabled, category, category_group, retention: LogEntry(enabled, category, category_group, *retention),
    enabled=st.booleans(),
    category=st.sampled_from((*ALL_LOGS, *b.POLICY_DEPLOY_LOG_CATEGORIES, "KUBE-AUDIT", None)),
    category_group=st.sampled_from((None, None, "audit", "allLogs")),
    retention=_retention,
)
_settings = st.builds(
    setting,
    name=st.sampled_from(("a", "b")),
    logs=st.lists(_entries, max_size=12).map(tuple),
    metrics=st.lists(
        st.builds(MetricEntry, category=st.sampled_from(("AllMetrics", "allmetrics", "Other")), enabled=st.booleans()),
        max_size=2,
    ).map(tuple),
    workspace=st.sampled_from((TARGET, TARGET.upper(), USER_WS, None)),
    storage=st.sampled_from((None, STORAGE)),
)


@settings(max_examples=400, deadline=None)
@given(_settings)
def test_the_audit_policy_judgement_is_its_existence_condition(found):
    assert b.policy_audit_matches(found) == policy_language.exists(AUDIT_POLICY, arm(found))


def _full(found: DiagnosticSetting) -> DiagnosticSetting:
    """Most random settings miss one of eleven categories; half the examples get all of them."""
    return setting(found.name, found.logs + POLICY_ELEVEN, metrics=found.metrics, workspace=found.workspace_id)


@settings(max_examples=400, deadline=None)
@given(_settings, st.booleans())
def test_the_deploy_policy_judgement_is_its_existence_condition(found, complete):
    found = _full(found) if complete else found
    expected = policy_language.exists(DEPLOY_POLICY, arm(found), logAnalytics=TARGET)
    assert b.policy_deploy_matches(found, TARGET) == expected


@pytest.mark.parametrize(
    ("case", "found", "expected"),
    [
        ("retention off", setting("a", (LogEntry(True, "kube-audit", None, False, 30),), storage=STORAGE), True),
        (
            "retention 30 to storage",
            setting("a", (LogEntry(True, "kube-audit", None, True, 30),), storage=STORAGE),
            False,
        ),
        ("retention 30, no storage", setting("a", (LogEntry(True, "kube-audit", None, True, 30),)), True),
        ("retention forever", setting("a", (LogEntry(True, "kube-audit", None, True, 0),), storage=STORAGE), True),
        ("retention 400", setting("a", (LogEntry(True, "kube-audit", None, True, 400),), storage=STORAGE), True),
        ("retention 1000", setting("a", (LogEntry(True, "kube-audit", None, True, 1000),), storage=STORAGE), False),
        ("one disabled", setting("a", cats("kube-audit") + cats("guard", enabled=False)), False),
        ("no entries", setting("a"), False),
    ],
)
def test_the_audit_policy_by_example(case, found, expected):
    assert b.policy_audit_matches(found) is expected
    assert policy_language.exists(AUDIT_POLICY, arm(found)) is expected
