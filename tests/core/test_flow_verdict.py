"""The pure flow logic: verdicts, the KQL per table mode, gb/day and cost arithmetic, exit codes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from remediation.config.parse import load_config
from remediation.core.flow_verdict import (
    FlowRow,
    FlowSink,
    FlowVerdict,
    QueryFailure,
    TableMode,
    cost_summary,
    decide_flow,
    flow_query,
    flow_sinks,
    table_mode,
)
from remediation.core.model import CategoryMetadata, Cluster, ClusterState, DiagnosticSetting, LogEntry
from remediation.core.report import exit_code, summarize
from remediation.ids import ClusterId

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
GRACE = timedelta(minutes=90)
CATEGORIES = ("kube-audit", "kube-audit-admin", "kube-apiserver")
CLUSTER = "/subscriptions/S/resourceGroups/RG/providers/Microsoft.ContainerService/managedClusters/AKS-1"
WS = "/subscriptions/S/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law"
WS2 = "/subscriptions/S/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law2"


def sink(ws: str = WS, categories=CATEGORIES, modified: datetime | None = NOW - timedelta(days=2)) -> FlowSink:
    return FlowSink(ws, TableMode.RESOURCE_SPECIFIC, frozenset(categories), modified)


def row(category: str, minutes_ago: int = 5, billed: int = 0, resource: str = CLUSTER.lower()) -> FlowRow:
    return FlowRow(resource, category, NOW - timedelta(minutes=minutes_ago), billed)


def decide(sinks, results, **kw):
    return decide_flow(CLUSTER, CATEGORIES, sinks, results, now=NOW, grace=GRACE, lookback_hours=kw.get("lookback", 24))


def test_flowing_when_every_required_category_has_a_record_ids_matched_case_insensitively():
    flow = decide([sink()], {WS.lower(): tuple(row(c) for c in CATEGORIES)})
    assert flow.verdict is FlowVerdict.FLOWING
    assert flow.last_seen["kube-audit"] == NOW - timedelta(minutes=5)
    assert flow.reason is None


def test_partial_silent_and_the_latest_record_wins():
    partial = decide([sink()], {WS.lower(): (row("kube-apiserver", 50), row("KUBE-APISERVER", 3))})
    assert partial.verdict is FlowVerdict.PARTIAL
    assert partial.last_seen == {
        "kube-audit": None,
        "kube-audit-admin": None,
        "kube-apiserver": NOW - timedelta(minutes=3),
    }
    assert partial.silent_categories == ("kube-audit", "kube-audit-admin")
    other_cluster = row("kube-audit", resource=CLUSTER.lower() + "-2")
    assert decide([sink()], {WS.lower(): (other_cluster,)}).verdict is FlowVerdict.SILENT


def test_pending_only_while_a_setting_covering_a_missing_category_is_younger_than_grace():
    young = sink(modified=NOW - timedelta(minutes=89))
    assert decide([young], {WS.lower(): ()}).verdict is FlowVerdict.PENDING
    exactly = sink(modified=NOW - GRACE)
    assert decide([exactly], {WS.lower(): ()}).verdict is FlowVerdict.SILENT
    # no systemData and nothing else read: it may be young, so no finding on that account alone
    unknown_age = decide([sink(modified=None)], {WS.lower(): ()})
    assert (unknown_age.verdict, unknown_age.reason) == (FlowVerdict.UNKNOWN, "last-write-unknown")
    # the young setting covers only kube-apiserver, which already flows: the others are partial, not pending
    old_rest = sink(categories=CATEGORIES[:2])
    young_flowing = sink(WS2, categories=("kube-apiserver",), modified=NOW - timedelta(minutes=1))
    results = {WS.lower(): (), WS2.lower(): (row("kube-apiserver"),)}
    assert decide([old_rest, young_flowing], results).verdict is FlowVerdict.PARTIAL


def test_unknown_reasons():
    assert decide([], {}).reason == "not-log-analytics"
    failed = decide([sink()], {WS.lower(): QueryFailure("InsufficientAccessError", "no")})
    assert (failed.verdict, failed.reason, failed.gb_per_day) == (FlowVerdict.UNKNOWN, "InsufficientAccessError", None)
    assert decide([sink()], {}).reason == "query-timeout"
    # one of two workspaces failing makes the verdict unknown: half an answer proves nothing
    both = decide(
        [sink(), sink(WS2)], {WS.lower(): tuple(row(c) for c in CATEGORIES), WS2.lower(): QueryFailure("X", "")}
    )
    assert both.verdict is FlowVerdict.UNKNOWN


@pytest.mark.parametrize(
    ("lookback", "billed", "expected"), [(24, 2_000_000_000, 2.0), (12, 1_500_000_000, 3.0), (48, 500_000_000, 0.25)]
)
def test_gb_per_day_is_the_billed_volume_scaled_to_a_day(lookback, billed, expected):
    rows = (row("kube-audit", billed=billed - 1000), row("kube-apiserver", billed=1000))
    flow = decide([sink()], {WS.lower(): rows}, lookback=lookback)
    assert flow.gb_per_day == pytest.approx(expected)


def test_flow_sinks_follow_compliance_rules_and_a_written_setting_counts_as_new():
    cluster = Cluster(ClusterId(CLUSTER), "AKS-1", "S", "RG", "eastus", "Succeeded")
    metadata = CategoryMetadata(groups={"audit": frozenset({"kube-audit", "kube-audit-admin", "guard"})})
    config = load_config({"REMEDIATION_CATEGORIES": ",".join(CATEGORIES)})
    settings = (
        DiagnosticSetting(
            "grp",
            (LogEntry(True, category_group="audit"),),
            workspace_id=WS,
            log_analytics_destination_type="Dedicated",
        ),
        DiagnosticSetting("gone", (LogEntry(True, "kube-apiserver"),), workspace_id=WS2),
        DiagnosticSetting("off", (LogEntry(False, "kube-apiserver"),), workspace_id=WS),
        DiagnosticSetting("storage", (LogEntry(True, "kube-apiserver"),), storage_account_id="/s/st"),
    )
    state = ClusterState(cluster, settings, metadata, missing_workspaces=frozenset({WS2.lower()}))
    (only,) = flow_sinks(state, config)
    assert (only.categories, only.mode) == (frozenset({"kube-audit", "kube-audit-admin"}), TableMode.RESOURCE_SPECIFIC)

    written = DiagnosticSetting("ours", (LogEntry(True, "kube-apiserver"),), workspace_id=WS, last_modified_at=NOW)
    assert [s.last_modified_at for s in flow_sinks(state, config, written=written)][-1] == NOW


def test_table_mode_and_query_per_mode():
    assert table_mode(DiagnosticSetting("a", log_analytics_destination_type="dedicated")) is TableMode.RESOURCE_SPECIFIC
    assert table_mode(DiagnosticSetting("a")) is TableMode.AZURE_DIAGNOSTICS
    dedicated = flow_query([TableMode.RESOURCE_SPECIFIC])
    assert "AKSAudit |" in dedicated and "AKSAuditAdmin |" in dedicated and "AKSControlPlane |" in dedicated
    assert "AzureDiagnostics" not in dedicated
    legacy = flow_query([TableMode.AZURE_DIAGNOSTICS])
    assert 'ResourceProvider == "MICROSOFT.CONTAINERSERVICE"' in legacy and "AKSAudit" not in legacy
    both = flow_query([TableMode.AZURE_DIAGNOSTICS, TableMode.RESOURCE_SPECIFIC])
    assert both.startswith("union isfuzzy=true") and both.endswith(
        "| project _ResourceId, Category, LastSeen, BilledBytes"
    )
    assert "AzureDiagnostics" in both and "AKSControlPlane" in both


def test_cost_summary_by_category_per_workspace_and_kube_audit_share():
    results = {
        WS.lower(): (row("kube-audit", billed=3_000_000_000), row("kube-apiserver", billed=1_000_000_000)),
        WS2.lower(): (
            row("kube-audit-admin", billed=1_000_000_000),
            row("kube-audit", billed=7_000_000_000, resource="/other"),
        ),
        "/failed": QueryFailure("X", "y"),
    }
    cost = cost_summary(results, {WS.lower(): WS, WS2.lower(): WS2}, [CLUSTER], lookback_hours=12)
    assert cost.gb_per_day == {"kube-apiserver": 2.0, "kube-audit": 6.0, "kube-audit-admin": 2.0}
    assert cost.total == 10.0
    assert cost.kube_audit_share == 0.6
    assert [(w.workspace_id, w.total) for w in cost.workspaces] == [(WS, 8.0), (WS2, 2.0)]
    assert cost_summary({}, {}, [], lookback_hours=24).kube_audit_share is None


def _document(verdicts, errors=()):
    clusters = [
        {
            "id": f"/c{i}",
            "name": f"c{i}",
            "subscription_id": "s",
            "resource_group": "r",
            "location": "l",
            "status": "compliant",
            "missing_categories": [],
            "reason": None,
            "action": None,
            "flow": {"verdict": v, "last_seen": {}, "gb_per_day": None, "reason": None},
        }
        for i, v in enumerate(verdicts)
    ]
    return {"summary": summarize(clusters), "errors": list(errors), "clusters": clusters}


def test_exit_code_counts_partial_and_silent_but_not_flow_query_errors():
    assert exit_code(_document(["flowing", "pending", "unknown"])) == 0
    assert exit_code(_document(["flowing", "partial"])) == 1
    assert exit_code(_document(["silent"])) == 1
    flow_error = {"scope": WS, "code": "InsufficientAccessError", "message": "m", "step": "flow"}
    assert exit_code(_document(["unknown"], [flow_error])) == 0
    assert (
        exit_code(
            _document(["flowing"], [{"scope": "/subscriptions/x", "code": "AuthorizationFailed", "message": "m"}])
        )
        == 3
    )
    assert _document(["partial", "silent", "silent"])["summary"]["flow"] == {
        "flowing": 0,
        "partial": 1,
        "silent": 2,
        "pending": 0,
        "unknown": 0,
    }


class _Logs:
    """A LogsGateway that answers from a script (the engine step's own contract, no Azure)."""

    def __init__(self, answer):
        self.answer = answer
        self.calls: list[str] = []

    def query_flow(self, workspace_id, query, *, lookback_hours, server_timeout, deadline):
        self.calls.append(workspace_id)
        return self.answer(workspace_id, deadline)


def _checks():
    from remediation.engine.flow_check import FlowCheck

    return [FlowCheck(CLUSTER, (sink(),)), FlowCheck(CLUSTER + "-2", (sink(WS2),))]


def test_no_query_is_started_when_the_budget_is_spent():
    from remediation.engine.flow_check import verify_flow
    from remediation.kit.deadline import Deadline

    logs = _Logs(lambda w, d: ())
    results = verify_flow(load_config({}), logs, _checks(), run_id="r", deadline=Deadline(0))
    assert logs.calls == []
    assert {f.reason for f in results.flows.values()} == {"query-timeout"}
    assert [e["step"] for e in results.errors] == ["flow", "flow"]


def test_unexpected_and_late_transient_failures_never_escape():
    from remediation.engine.flow_check import verify_flow
    from remediation.errors import TransientArmError
    from remediation.kit.deadline import Deadline

    def answer(workspace_id, deadline):
        if workspace_id == WS:
            raise RuntimeError("boom")
        raise TransientArmError("ConnectionError", "read timed out", transient=True)

    def clock() -> float:
        # the query threads see the budget nearly spent (their socket timeout is its end); the run does not
        return 29.5 if threading.current_thread().name.startswith("flow") else 0.0

    deadline = Deadline(30, clock=clock)
    results = verify_flow(load_config({}), _Logs(answer), _checks(), run_id="r", deadline=deadline)
    reasons = {cluster: f.reason for cluster, f in results.flows.items()}
    assert reasons == {CLUSTER.lower(): "InternalError", (CLUSTER + "-2").lower(): "query-timeout"}
    assert results.queries == 2
