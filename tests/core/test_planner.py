"""The pure decision core: compliance verdicts and plans, table-driven and property-based."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remediation.config.parse import load_config
from remediation.config.values import DEFAULT_CATEGORIES
from remediation.core.compliance import evaluate
from remediation.core.model import (
    ActionKind,
    ClusterState,
    DiagnosticSetting,
    LogEntry,
    Status,
)
from remediation.core.planner import apply_change, plan_setting, target_workspace
from remediation.ids import id_key
from tests.support.constants import SUB_A
from tests.support.model import (
    ALL_LOGS,
    CONFIG,
    DEAD_WS,
    METADATA,
    STORAGE,
    TARGET,
    TODAY,
    USER_WS,
    cats,
    cluster,
    group,
    setting,
    state_of,
)


def test_target_workspace_is_per_subscription_and_region():
    assert (
        f"/subscriptions/{SUB_A}/resourceGroups/rg-aks-audit-logs/providers/Microsoft.OperationalInsights/workspaces/law-aks-audit-eastus"
    ) == TARGET
    fixed = load_config({"REMEDIATION_WORKSPACE_ID": USER_WS})
    assert target_workspace(cluster(), fixed) == USER_WS


@pytest.mark.parametrize(
    ("settings", "accepted", "missing"),
    [
        pytest.param((), "log-analytics", DEFAULT_CATEGORIES, id="no settings"),
        pytest.param(
            (setting("u", cats(*DEFAULT_CATEGORIES), workspace_id=USER_WS),), "log-analytics", (), id="all explicit"
        ),
        pytest.param(
            (setting("u", cats("kube-apiserver"), workspace_id=USER_WS),),
            "log-analytics",
            ("kube-audit", "kube-audit-admin", "kube-controller-manager", "kube-scheduler"),
            id="partial",
        ),
        pytest.param(
            (setting("u", (group("audit"),), workspace_id=USER_WS),),
            "log-analytics",
            ("kube-apiserver", "kube-controller-manager", "kube-scheduler"),
            id="audit group",
        ),
        pytest.param((setting("u", (group("allLogs"),), workspace_id=USER_WS),), "log-analytics", (), id="allLogs"),
        pytest.param(
            (setting("u", (group("allLogs", enabled=False),), workspace_id=USER_WS),),
            "log-analytics",
            DEFAULT_CATEGORIES,
            id="disabled group",
        ),
        pytest.param(
            (setting("u", cats(*DEFAULT_CATEGORIES, enabled=False), workspace_id=USER_WS),),
            "log-analytics",
            DEFAULT_CATEGORIES,
            id="disabled entries",
        ),
        pytest.param(
            (setting("u", cats(*DEFAULT_CATEGORIES), storage_account_id=STORAGE),),
            "log-analytics",
            DEFAULT_CATEGORIES,
            id="storage only",
        ),
        pytest.param(
            (setting("u", cats(*DEFAULT_CATEGORIES), storage_account_id=STORAGE),), "any", (), id="storage, any"
        ),
        pytest.param(
            (setting("u", cats(*DEFAULT_CATEGORIES), workspace_id=DEAD_WS),),
            "any",
            DEFAULT_CATEGORIES,
            id="deleted workspace",
        ),
        pytest.param(
            (setting("u", cats(*DEFAULT_CATEGORIES), workspace_id=""),),
            "log-analytics",
            DEFAULT_CATEGORIES,
            id="empty workspace id",
        ),
    ],
)
def test_verdict(settings, accepted, missing):
    config = load_config({"REMEDIATION_ACCEPTED_DESTINATIONS": accepted})
    verdict = evaluate(state_of(*settings, missing=(DEAD_WS,)), config)
    assert verdict.missing == missing
    assert verdict.compliant == (not missing)


def test_no_settings_creates_ours_on_the_target_workspace():
    result = plan_setting(state_of(), CONFIG, today=TODAY)
    assert result.status is Status.NON_COMPLIANT
    assert result.change is not None
    assert result.change.kind is ActionKind.CREATE
    assert result.change.workspace_id == TARGET
    assert result.change.categories == DEFAULT_CATEGORIES
    assert result.change.log_analytics_destination_type == "Dedicated"


def test_partial_user_setting_is_complemented_not_touched():
    user = setting("user", cats("kube-apiserver", "kube-audit"), workspace_id=USER_WS)
    result = plan_setting(state_of(user), CONFIG, today=TODAY)
    assert result.change is not None
    assert result.change.setting_name == CONFIG.setting_name
    assert result.change.categories == ("kube-audit-admin", "kube-controller-manager", "kube-scheduler")


def test_drifted_own_setting_gains_categories_keeping_workspace_and_type():
    ours = setting("aks-audit-remediation", cats("kube-audit", "guard"), workspace_id=USER_WS)
    result = plan_setting(state_of(ours), CONFIG, today=TODAY)
    assert result.change is not None
    assert result.change.kind is ActionKind.UPDATE
    assert result.change.workspace_id == USER_WS
    assert result.change.log_analytics_destination_type is None
    assert result.change.categories_before == ("kube-audit", "guard")
    assert result.change.categories == ("kube-audit", "guard", *DEFAULT_CATEGORIES[1:])


def test_own_setting_name_is_matched_case_insensitively():
    ours = setting("AKS-Audit-Remediation", cats("kube-audit"), workspace_id=USER_WS)
    result = plan_setting(state_of(ours), CONFIG, today=TODAY)
    assert result.change is not None
    assert result.change.kind is ActionKind.UPDATE
    assert result.change.setting_name == "AKS-Audit-Remediation"


def test_own_disabled_entry_is_enabled_and_other_entries_kept():
    ours = setting(
        "aks-audit-remediation",
        (*cats("kube-audit", enabled=False), *cats("cluster-autoscaler", enabled=False), group("audit", enabled=False)),
        workspace_id=USER_WS,
    )
    result = plan_setting(state_of(ours), CONFIG, today=TODAY)
    assert result.change is not None
    assert set(result.change.categories) == set(DEFAULT_CATEGORIES)
    assert LogEntry(enabled=False, category="cluster-autoscaler") in result.change.keep_logs
    assert LogEntry(enabled=False, category_group="audit") in result.change.keep_logs
    assert all(e.category != "kube-audit" for e in result.change.keep_logs)


def test_own_setting_on_deleted_workspace_is_repointed():
    ours = setting("aks-audit-remediation", cats(*DEFAULT_CATEGORIES), workspace_id=DEAD_WS)
    result = plan_setting(state_of(ours, missing=(DEAD_WS,)), CONFIG, today=TODAY)
    assert result.change is not None
    assert result.change.kind is ActionKind.UPDATE
    assert result.change.workspace_id == TARGET
    assert result.change.categories == DEFAULT_CATEGORIES
    assert result.change.log_analytics_destination_type == "Dedicated"


def test_five_foreign_settings_block():
    others = [setting(f"s{i}", cats("guard"), storage_account_id=STORAGE) for i in range(5)]
    result = plan_setting(state_of(*others), CONFIG, today=TODAY)
    assert result.status is Status.BLOCKED
    assert result.reason == "setting-limit-reached"
    assert result.change is None


def test_five_settings_including_ours_is_not_blocked():
    others = [setting(f"s{i}", cats("guard"), storage_account_id=STORAGE) for i in range(4)]
    ours = setting("aks-audit-remediation", cats("kube-audit"), workspace_id=TARGET)
    result = plan_setting(state_of(*others, ours), CONFIG, today=TODAY)
    assert result.status is Status.NON_COMPLIANT
    assert result.change is not None and result.change.kind is ActionKind.UPDATE


def test_category_another_setting_sends_to_the_target_is_never_added():
    # the other setting's target workspace was deleted: it does not count, but ARM forbids sink reuse
    other = setting("user", cats("kube-audit"), workspace_id=TARGET)
    result = plan_setting(state_of(other, missing=(TARGET,)), CONFIG, today=TODAY)
    assert result.change is not None
    assert "kube-audit" not in result.change.categories
    after = apply_change(state_of(other, missing=(TARGET,)), result.change)
    assert evaluate(after, CONFIG).compliant


@pytest.mark.parametrize("state", ["Creating", "Updating", "Upgrading", "Deleting", ""])
def test_busy_cluster_is_deferred_with_what_is_missing(state):
    result = plan_setting(state_of(cluster_state=state), CONFIG, today=TODAY)
    assert result.status is Status.DEFERRED
    assert result.reason == "cluster-busy"
    assert result.missing == DEFAULT_CATEGORIES
    assert result.change is None


def test_busy_but_compliant_cluster_is_compliant():
    covered = setting("user", (group("allLogs"),), workspace_id=USER_WS)
    assert plan_setting(state_of(covered, cluster_state="Upgrading"), CONFIG, today=TODAY).status is Status.COMPLIANT


@pytest.mark.parametrize("state", ["Succeeded", "Failed", "Canceled", "succeeded"])
def test_terminal_states_are_reconciled(state):
    assert plan_setting(state_of(cluster_state=state), CONFIG, today=TODAY).status is Status.NON_COMPLIANT


def test_excluded_cluster_is_left_alone():
    excluded = ClusterState(cluster(tags={"AKS-Audit-Remediation": "EXCLUDE"}), (), METADATA)
    result = plan_setting(excluded, CONFIG, today=TODAY)
    assert result.status is Status.EXCLUDED
    assert result.change is None


def test_compliant_cluster_needs_nothing():
    result = plan_setting(state_of(setting("user", (group("allLogs"),), workspace_id=USER_WS)), CONFIG, today=TODAY)
    assert result.status is Status.COMPLIANT
    assert result.change is None


# -- properties --------------------------------------------------------------------------------

workspaces = st.sampled_from([USER_WS, DEAD_WS, TARGET, None])
entries = st.one_of(
    st.builds(LogEntry, enabled=st.booleans(), category=st.sampled_from(ALL_LOGS)),
    st.builds(LogEntry, enabled=st.booleans(), category_group=st.sampled_from(["audit", "allLogs"])),
)
names = st.sampled_from(["aks-audit-remediation", "user-a", "user-b", "user-c", "user-d", "user-e", "user-f"])


@st.composite
def cluster_states(draw):
    chosen = draw(st.lists(names, unique=True, max_size=6))
    settings_ = []
    for name in chosen:
        ws = draw(workspaces)
        storage = draw(st.sampled_from([STORAGE, None]))
        if ws is None and storage is None:
            storage = STORAGE
        settings_.append(
            DiagnosticSetting(
                name=name,
                logs=tuple(draw(st.lists(entries, max_size=6))),
                workspace_id=ws,
                storage_account_id=storage,
            )
        )
    settings_ = _arm_valid(settings_)
    missing = draw(st.sets(st.sampled_from([DEAD_WS, TARGET]), max_size=2))
    return ClusterState(cluster(), tuple(settings_), METADATA, frozenset(id_key(w) for w in missing))


def _arm_valid(settings_):
    """Keep only states ARM could hold: no category sent to one workspace by two settings."""
    valid, seen = [], {}
    for s in settings_:
        covers = set()
        for e in s.logs:
            if not e.enabled:
                continue
            covers |= {e.category} if e.category else set(METADATA.members(e.category_group or ""))
        key = id_key(s.workspace_id) if s.workspace_id else None
        if key and covers & seen.get(key, set()):
            continue
        if key:
            seen.setdefault(key, set()).update(covers)
        valid.append(s)
    return valid


configs = st.sampled_from(
    [
        CONFIG,
        load_config({"REMEDIATION_ACCEPTED_DESTINATIONS": "any"}),
        load_config({"REMEDIATION_CATEGORIES": "kube-audit-admin,kube-apiserver"}),
        load_config({"REMEDIATION_WORKSPACE_ID": USER_WS}),
    ]
)


def _sends(state: ClusterState) -> dict[tuple[str, str], set[str]]:
    sent: dict[tuple[str, str], set[str]] = {}
    for s in state.settings:
        if not s.workspace_id:
            continue
        for e in s.logs:
            if not e.enabled:
                continue
            covered = {e.category} if e.category else set(METADATA.members(e.category_group or ""))
            for category in covered:
                sent.setdefault((id_key(s.workspace_id), category), set()).add(s.name)
    return sent


@settings(max_examples=400, deadline=None)
@given(cluster_states(), configs)
def test_plan_properties(state, config):
    result = plan_setting(state, config, today=TODAY)
    if result.change is None:
        assert result.status in {Status.COMPLIANT, Status.BLOCKED}
        return
    change = result.change
    # never touches a setting it does not own
    assert change.setting_name.lower() == config.setting_name.lower()
    ours = next((s for s in state.settings if s.name.lower() == change.setting_name.lower()), None)
    # never removes a category ours already enabled
    if ours is not None:
        assert ours.enabled_categories <= set(change.categories)
        assert change.kind is ActionKind.UPDATE
    else:
        assert change.kind is ActionKind.CREATE
    after = apply_change(state, change)
    # the other settings are exactly as they were
    assert [s for s in after.settings if s.name != change.setting_name] == [
        s for s in state.settings if s.name != change.setting_name
    ]
    # applied, the cluster is compliant ...
    assert evaluate(after, config).compliant
    # ... ARM's sink rule holds: no (workspace, category) fed by two settings
    assert all(len(owners) == 1 for owners in _sends(after).values())
    # ... and planning again changes nothing
    assert plan_setting(after, config, today=TODAY).change is None
