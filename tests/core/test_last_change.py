"""When a setting last changed without systemData: the Activity Log, then our ledger, and the verdicts that follow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from remediation.core.flow_verdict import FlowRow, FlowSink, FlowVerdict, TableMode, decide_flow
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
CATEGORIES = ("kube-audit", "kube-apiserver")
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


def sink(modified: datetime | None = None, name: str = "audit", categories=CATEGORIES) -> FlowSink:
    return FlowSink(WS, TableMode.RESOURCE_SPECIFIC, frozenset(categories), modified, name)


def decide(sinks, rows=(), changes=None):
    return decide_flow(
        CLUSTER, CATEGORIES, sinks, {WS.lower(): tuple(rows)}, now=NOW, grace=GRACE, lookback_hours=24, changes=changes
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
    assert decide([sink()], [seen(c) for c in CATEGORIES], UNREADABLE).verdict is FlowVerdict.FLOWING
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


# -- the flow stage reads the Activity Log only where a verdict needs it ------------------------------------------


class _Logs:
    def __init__(self, rows=()):
        self.rows = tuple(rows)

    def query_flow(self, workspace_id, query, *, lookback_hours, server_timeout, deadline):
        return self.rows


class _History:
    """The gateway's Activity Log reader, scripted (the engine step's own contract, no Azure)."""

    def __init__(self, answer):
        self.answer = answer
        self.calls: list[tuple[str, datetime, datetime]] = []

    def list_setting_changes(self, subscription_id, *, since, until):
        self.calls.append((subscription_id, since, until))
        return self.answer(subscription_id)


class _Ledger:
    def __init__(self, records, fail=False):
        self.records, self.fail = records, fail
        self.calls = []

    def list_changes(self, cluster_id=None, since=None, limit=100, *, subscriptions=()):
        from remediation.errors import LedgerError

        self.calls.append((since, limit, tuple(subscriptions)))
        if self.fail:
            raise LedgerError("table unreachable")
        return self.records


def _verify(checks, history, *, rows=(), ledger=None, deadline=None):
    from remediation.config.parse import load_config
    from remediation.engine.flow_check import verify_flow
    from remediation.kit.deadline import Deadline

    config = load_config({"REMEDIATION_CATEGORIES": ",".join(CATEGORIES)})
    return verify_flow(
        config,
        _Logs(rows),
        checks,
        run_id="r",
        now=NOW,
        deadline=deadline or Deadline(60),
        history=history,
        ledger=ledger,
    )


def _check(cluster: str, modified: datetime | None = None, name: str = "audit"):
    from remediation.engine.flow_check import FlowCheck

    return FlowCheck(cluster, (sink(modified, name),))


CLUSTER_ELSEWHERE = "/subscriptions/T/resourceGroups/RG/providers/Microsoft.ContainerService/managedClusters/AKS-9"


def test_one_listing_per_subscription_that_needs_it_over_a_window_covering_the_grace_period():
    history = _History(lambda sub: {KEY: ago(25)} if sub == "s" else {})
    checks = [
        _check(CLUSTER),
        _check(CLUSTER.replace("AKS-1", "AKS-2")),
        _check(CLUSTER_ELSEWHERE, modified=ago(2000)),  # systemData says: nothing to read for subscription T
    ]
    results = _verify(checks, history)
    assert [c[0] for c in history.calls] == ["s"]
    (_, since, until) = history.calls[0]
    assert until == NOW and since <= NOW - GRACE
    verdicts = {k: f.verdict for k, f in results.flows.items()}
    assert verdicts == {
        CLUSTER.lower(): FlowVerdict.PENDING,  # its setting was written 25 minutes ago
        CLUSTER.lower().replace("aks-1", "aks-2"): FlowVerdict.SILENT,  # no event: older than the window
        CLUSTER_ELSEWHERE.lower(): FlowVerdict.SILENT,
    }
    assert results.activity_log_reads == 1 and results.errors == []
    # every category flowing: nothing to read at all
    history.calls.clear()
    _verify([_check(CLUSTER)], history, rows=[seen(c) for c in CATEGORIES])
    assert history.calls == []


def test_an_unreadable_activity_log_is_an_error_of_the_flow_step_and_the_ledger_fills_in():
    from remediation.errors import ArmError

    def refuse(sub):
        raise ArmError("AuthorizationFailed", "no eventtypes/values/read", status=403)

    ours = "aks-audit-remediation"
    theirs = _check(CLUSTER)
    mine = _check(CLUSTER.replace("AKS-1", "AKS-2"), name=ours)
    old_mine = _check(CLUSTER.replace("AKS-1", "AKS-3"), name=ours)
    records = [
        {"cluster_id": mine.cluster_id, "setting_name": ours, "timestamp": ago(20).isoformat()},
        {"cluster_id": None, "setting_name": None, "timestamp": ago(21).isoformat()},  # a workspace record
        {"cluster_id": mine.cluster_id, "setting_name": ours, "timestamp": "not a time"},
    ]
    ledger = _Ledger(records)
    results = _verify([theirs, mine, old_mine], _History(refuse), ledger=ledger)
    flows = {k: (f.verdict, f.reason) for k, f in results.flows.items()}
    assert flows == {
        theirs.cluster_id.lower(): (FlowVerdict.UNKNOWN, "last-write-unknown"),  # nothing tells of others' settings
        mine.cluster_id.lower(): (FlowVerdict.PENDING, "last-write-from-ledger"),
        old_mine.cluster_id.lower(): (FlowVerdict.SILENT, "last-write-from-ledger"),  # no write of ours in the window
    }
    assert [(e["scope"], e["code"], e["step"]) for e in results.errors] == [
        ("/subscriptions/s/providers/Microsoft.Insights/eventtypes/management/values", "AuthorizationFailed", "flow")
    ]
    # without a ledger (or with one that cannot be read) only what systemData says is known
    for ledger in (None, _Ledger([], fail=True)):
        results = _verify([mine], _History(refuse), ledger=ledger)
        assert results.flows[mine.cluster_id.lower()].reason == "last-write-unknown"


def test_a_full_ledger_page_covers_only_from_its_oldest_record():
    from remediation.config.values import LEDGER_MAX_LIMIT
    from remediation.engine.setting_history import read_setting_changes
    from remediation.errors import TransientArmError
    from remediation.kit.deadline import Deadline

    def refuse(sub):
        raise TransientArmError("ConnectionError", "reset", transient=True)

    records = [{"cluster_id": CLUSTER, "setting_name": "x", "timestamp": ago(10).isoformat()}] * LEDGER_MAX_LIMIT
    changes, errors = read_setting_changes(
        _History(refuse), ["S"], now=NOW, grace=GRACE, deadline=Deadline(60), ledger=_Ledger(records), our_setting="x"
    )
    assert changes["s"].ledger_since == ago(10) and changes["s"].failure == "ConnectionError"
    assert [e["code"] for e in errors] == ["ConnectionError"]


def test_a_listing_past_the_budget_or_failing_unexpectedly_never_fails_the_run():
    import threading

    from remediation.engine.setting_history import read_setting_changes
    from remediation.kit.deadline import Deadline

    def boom(sub):
        raise RuntimeError("boom")

    changes, errors = read_setting_changes(_History(boom), ["S"], now=NOW, grace=GRACE, deadline=Deadline(60))
    assert [e["code"] for e in errors] == ["InternalError"] and not changes["s"].readable

    # the budget is spent before a listing starts
    _, errors = read_setting_changes(_History(boom), ["S"], now=NOW, grace=GRACE, deadline=Deadline(0))
    assert [e["code"] for e in errors] == ["query-timeout"]

    # a listing still running when the budget ends: the run goes on without it
    release = threading.Event()

    def hang(sub):
        release.wait(10)
        return {}

    now = [0.0]

    def clock() -> float:
        # the listing's thread has time left; the run's own thread sees the budget spent
        return 0.0 if threading.current_thread().name.startswith("activity-log") else now[0]

    deadline = Deadline(30, clock=clock)
    now[0] = 30.0
    try:
        changes, errors = read_setting_changes(_History(hang), ["S"], now=NOW, grace=GRACE, deadline=deadline)
    finally:
        release.set()
    assert [e["code"] for e in errors] == ["query-timeout"] and "no answer" in errors[0]["message"]
