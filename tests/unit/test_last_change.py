"""When a setting last changed without systemData: the Activity Log, then our ledger, and the verdicts that follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from remediation.core.flow import FlowRow, FlowSink, FlowVerdict, TableMode, decide_flow
from remediation.core.last_change import (
    ANY_SETTING,
    ChangeSource,
    LastChange,
    SettingChanges,
    event_key,
    is_young,
    last_change,
    newest,
    setting_key,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
GRACE = timedelta(minutes=90)
SINCE = NOW - GRACE
CLUSTER = "/subscriptions/S/resourceGroups/RG/providers/Microsoft.ContainerService/managedClusters/AKS-1"
WS = "/subscriptions/S/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law"
REQUIRED = ("kube-audit", "kube-apiserver")
KEY = setting_key(CLUSTER, "Audit")
READ = SettingChanges(covered_since=SINCE - timedelta(minutes=5))  # the window reaches back over the grace
UNREADABLE = SettingChanges(covered_since=None, failure="AuthorizationFailed")


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def test_keys_of_settings_and_of_activity_log_events_match_whatever_the_casing():
    real = (
        "/subscriptions/S/resourcegroups/rg/providers/microsoft.containerservice/managedclusters/aks-1"
        "/providers/microsoft.insights/diagnosticSettings/AUDIT"
    )
    assert event_key(real) == KEY
    # an event naming only the cluster counts for every setting on it
    assert event_key(CLUSTER.upper()) == (CLUSTER.lower(), ANY_SETTING)
    assert newest({KEY: ago(50)}, [(KEY, ago(80)), (KEY, ago(20)), (("x", "y"), ago(1))]) == {
        KEY: ago(20),
        ("x", "y"): ago(1),
    }


@pytest.mark.parametrize(
    ("system_data", "changes", "expected"),
    [
        # systemData (or this run's write) wins
        (ago(3), SettingChanges(None), LastChange(ago(3), ChangeSource.SYSTEM_DATA)),
        # nothing read at all: unknown
        (None, None, LastChange(None, None)),
        # the Activity Log lists a write (or a delete) of this setting, or of "a setting" on the cluster
        (None, SettingChanges(SINCE, {KEY: ago(30)}), LastChange(ago(30), ChangeSource.ACTIVITY_LOG)),
        (None, SettingChanges(SINCE, {(KEY[0], ANY_SETTING): ago(40)}), LastChange(ago(40), ChangeSource.ACTIVITY_LOG)),
        # no event in a window covering the grace period: older than the window
        (None, READ, LastChange(None, ChangeSource.ACTIVITY_LOG, older_than=READ.covered_since)),
        # a window that does not reach back over the grace period proves nothing
        (None, SettingChanges(ago(30)), LastChange(None, None)),
        # a write of ours the Activity Log does not list yet (it lags a few minutes) still counts
        (None, SettingChanges(SINCE, {}, {KEY: ago(2)}), LastChange(ago(2), ChangeSource.ACTIVITY_LOG)),
        # the Activity Log unreadable: our ledger fills in, else unknown
        (
            None,
            SettingChanges(None, {}, {KEY: ago(200)}, "AuthorizationFailed"),
            LastChange(ago(200), ChangeSource.LEDGER),
        ),
        (None, UNREADABLE, LastChange(None, None)),
    ],
)
def test_last_change_sources_in_order(system_data, changes, expected):
    assert last_change(CLUSTER, "audit", system_data, changes, since=SINCE) == expected


def test_young_only_when_known_and_inside_the_grace_period():
    assert is_young(LastChange(ago(89), ChangeSource.ACTIVITY_LOG), now=NOW, grace=GRACE)
    assert not is_young(LastChange(ago(90), ChangeSource.ACTIVITY_LOG), now=NOW, grace=GRACE)
    assert not is_young(LastChange(None, ChangeSource.ACTIVITY_LOG, older_than=SINCE), now=NOW, grace=GRACE)
    assert LastChange(None, ChangeSource.ACTIVITY_LOG, older_than=SINCE).known
    assert not LastChange(None, None).known


def sink(modified: datetime | None = None, name: str = "audit", categories=REQUIRED) -> FlowSink:
    return FlowSink(WS, TableMode.RESOURCE_SPECIFIC, frozenset(categories), modified, name)


def decide(sinks, rows=(), changes=None):
    return decide_flow(
        CLUSTER, REQUIRED, sinks, {WS.lower(): tuple(rows)}, now=NOW, grace=GRACE, lookback_hours=24, changes=changes
    )


def seen(category: str) -> FlowRow:
    return FlowRow(CLUSTER.lower(), category, ago(5), 10)


@pytest.mark.parametrize("minutes", [10, 30, 60, 89])
def test_a_setting_written_10_to_90_minutes_ago_without_system_data_is_pending(minutes):
    """Issue 15 B: before, such a setting was silent (systemData absent); now the Activity Log tells."""
    changes = SettingChanges(SINCE, {KEY: ago(minutes)})
    assert decide([sink()], changes=changes).verdict is FlowVerdict.PENDING
    assert decide([sink()], [seen("kube-apiserver")], changes).verdict is FlowVerdict.PENDING
    # the same setting before its write reached the Activity Log window: its verdict can be a finding
    assert decide([sink()], changes=READ).verdict is FlowVerdict.SILENT
    assert decide([sink()], [seen("kube-apiserver")], READ).verdict is FlowVerdict.PARTIAL


def test_findings_only_when_every_covering_setting_is_known_to_be_old():
    old, unknown_age = sink(name="old", categories=("kube-audit",)), sink(name="audit", categories=("kube-audit",))
    changes = SettingChanges(None, {}, {setting_key(CLUSTER, "old"): ago(500)}, "AuthorizationFailed")
    flow = decide([old, unknown_age], changes=changes)
    assert (flow.verdict, flow.reason) == (FlowVerdict.UNKNOWN, "last-write-unknown")
    # the query answered: what it saw is kept
    assert flow.gb_per_day == 0.0 and flow.last_seen == {"kube-audit": None, "kube-apiserver": None}
    # every flowing category needs no age: flowing whatever the Activity Log says
    assert decide([sink()], [seen(c) for c in REQUIRED], UNREADABLE).verdict is FlowVerdict.FLOWING
    # a setting covering only flowing categories does not matter
    flowing_only = sink(name="x", categories=("kube-apiserver",))
    partial = decide([flowing_only, old], [seen("kube-apiserver")], changes)
    assert (partial.verdict, partial.reason) == (FlowVerdict.PARTIAL, "last-write-from-ledger")


def test_ledger_fills_in_when_the_activity_log_cannot_be_read_and_says_so():
    young = SettingChanges(None, {}, {KEY: ago(20)}, "AuthorizationFailed")
    flow = decide([sink()], changes=young)
    assert (flow.verdict, flow.reason) == (FlowVerdict.PENDING, "last-write-from-ledger")
    old = SettingChanges(None, {}, {KEY: ago(200)}, "AuthorizationFailed")
    assert decide([sink()], changes=old).verdict is FlowVerdict.SILENT
    # with the Activity Log read, the ledger is no caveat
    assert decide([sink()], changes=SettingChanges(SINCE, {}, {KEY: ago(20)})).reason is None
