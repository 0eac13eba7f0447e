"""Evidence and explanations: pure functions of the observed state (remediation/core/evidence.py)."""

from __future__ import annotations

import pytest

from remediation.config.parse import load_config
from remediation.config.values import DEFAULT_CATEGORIES
from remediation.core.evidence import explain, setting_evidence
from remediation.core.model import Reason, Status
from remediation.core.planner import plan_setting
from remediation.core.reasons import CATALOGUE
from tests.support.model import (
    CONFIG,
    DEAD_WS,
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


def test_each_setting_says_where_it_sends_what_it_covers_and_why_it_does_not_count():
    state = state_of(
        setting("live", cats("kube-audit") + cats("kube-scheduler", enabled=False), workspace_id=USER_WS),
        setting("dead", (group("audit"),), workspace_id=DEAD_WS),
        setting("blob", cats(*DEFAULT_CATEGORIES), storage_account_id=STORAGE),
        setting("off", cats("kube-apiserver", enabled=False), workspace_id=USER_WS),
        setting("nowhere", cats("kube-apiserver")),
        missing=(DEAD_WS,),
    )

    found = {e.name: e for e in setting_evidence(state, CONFIG)}

    assert found["live"].counted and found["live"].not_counted_reason is None
    assert found["live"].categories == ("kube-audit",)
    assert found["live"].disabled_categories == ("kube-scheduler",)
    assert [(d.kind, d.target) for d in found["live"].destinations] == [("log_analytics", USER_WS)]
    assert found["dead"].not_counted_reason == "workspace-deleted"
    assert found["dead"].categories == ("guard", "kube-audit", "kube-audit-admin"), "groups expanded"
    assert found["blob"].not_counted_reason == "destination-not-accepted"
    assert found["off"].not_counted_reason == "logs-disabled"
    assert found["nowhere"].not_counted_reason == "no-destination"
    any_sink = {e.name: e for e in setting_evidence(state, load_config({"REMEDIATION_ACCEPTED_DESTINATIONS": "any"}))}
    assert any_sink["blob"].counted


def _why(state, config=CONFIG, **overrides):
    decided = plan_setting(state, config, today=TODAY)
    fields = {
        "cluster": state.cluster,
        "status": decided.status,
        "reason": decided.reason,
        "missing": decided.missing,
        "settings": setting_evidence(state, config),
        "change": decided.change,
        "config": config,
        "target_workspace": TARGET,
    }
    fields.update(overrides)
    return explain(**fields)


def test_non_compliant_names_the_setting_that_does_not_count_and_what_apply_adds():
    why = _why(state_of(setting("ops", cats(*DEFAULT_CATEGORIES), workspace_id=DEAD_WS), missing=(DEAD_WS,)))
    assert "'ops' does not count: its Log Analytics workspace no longer exists" in why.text
    assert why.next_step == (
        "run apply: it will create 'aks-audit-remediation', adding " + ", ".join(DEFAULT_CATEGORIES)
    )


def test_setting_limit_lists_the_settings_and_sink_conflict_names_the_feeding_setting():
    full = state_of(*(setting(f"s{i}", cats("guard"), workspace_id=USER_WS) for i in range(5)))
    why = _why(full)
    assert all(f"'s{i}'" in why.text for i in range(5)) and "ARM's limit of 5" in why.text
    assert "delete a setting you no longer need" in why.next_step

    conflict = state_of(setting("theirs", cats("guard"), workspace_id=TARGET), setting("x", cats("kube-audit")))
    decided = plan_setting(conflict, CONFIG, today=TODAY)
    why = _why(conflict, status=Status.BLOCKED, reason="sink-conflict", change=None, missing=decided.missing)
    assert "setting 'theirs' already sends to the target workspace" in why.text
    assert "REMEDIATION_WORKSPACE_ID" in why.next_step


@pytest.mark.parametrize(
    ("status", "reason", "text", "step"),
    [
        (Status.EXCLUDED, Reason.EXCLUDED_BY_TAG.value, "tagged aks-audit-remediation=exclude", "remove the tag"),
        (Status.DEFERRED, Reason.CLUSTER_BUSY.value, "the cluster is 'Updating'", "next sweep or event"),
        (Status.DEFERRED, Reason.DEADLINE.value, "time budget ran out", "REMEDIATION_DEADLINE_SECONDS"),
        (Status.BLOCKED, Reason.WORKSPACE_FAILED.value, "failed or deleting state", "repair or delete"),
        (Status.FAILED, Reason.CLUSTER_NOT_FOUND.value, "does not exist", "check the resource ID"),
        (Status.FAILED, "AuthorizationFailed", "lacks a permission: denied", "grant the identity"),
        (Status.BLOCKED, "LinkedAuthorizationFailed", "lacks a permission: denied", "grant the identity"),
        (Status.FAILED, "ScopeLocked", "resource lock", "remove the lock"),
        (Status.FAILED, "RequestDisallowedByPolicy", "Azure Policy", "exempt"),
        (Status.FAILED, "InternalError", "failed unexpectedly", "report it"),
        (Status.FAILED, Reason.THROTTLED.value, "kept throttling", "next sweep retries"),
        (Status.FAILED, "Conflict", "ARM answered Conflict: denied", "run apply again"),
    ],
)
def test_every_problem_status_has_an_explanation_and_a_next_step(status, reason, text, step):
    why = explain(
        cluster=cluster("Updating"),
        status=status,
        reason=reason,
        missing=None,
        settings=None,
        change=None,
        config=CONFIG,
        error_message="denied",
        target_workspace=TARGET,
    )
    assert text in why.text
    assert step in why.next_step


def test_compliant_and_remediated_say_why_without_a_next_step():
    good = state_of(setting("ops", cats(*DEFAULT_CATEGORIES), workspace_id=USER_WS))
    why = _why(good)
    assert why.text == "every required category is sent to Log Analytics by 'ops'" and why.next_step is None
    bad = state_of()
    change = plan_setting(bad, CONFIG, today=TODAY).change
    done = _why(bad, status=Status.REMEDIATED)
    assert (
        done.text == "created 'aks-audit-remediation', adding " + ", ".join(DEFAULT_CATEGORIES) and change is not None
    )
    assert done.next_step is None


def test_our_reason_codes_are_all_explained():
    for reason in Reason:
        assert reason.value in CATALOGUE
    assert "sink-conflict" in CATALOGUE
