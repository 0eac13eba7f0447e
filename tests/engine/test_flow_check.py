"""Flow verification through the real azure-monitor-query LogsQueryClient against armsim's query API."""

from __future__ import annotations

import io
import json
import logging
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from remediation.azure.gateway import ArmGateway
from remediation.azure.logs import LogsAdapter
from remediation.cli.main import main
from remediation.config.values import Mode
from remediation.core.model import Trigger
from remediation.core.report import exit_code
from remediation.engine.event import reconcile_cluster
from remediation.engine.sweep import run
from remediation.kit.clock import SYSTEM_CLOCK, Clock
from remediation.kit.deadline import Deadline
from tests.support.builders import by_name, entries, ws_id
from tests.support.clock import FakeClock
from tests.support.constants import REQUIRED, SUB_A, SUB_B, USER_RG

USER_WS = ws_id(SUB_A, USER_RG, "law-user")


@pytest.fixture
def flow_run(configure):
    """A CLI run with flow verification, its deadline on a fake clock unless ``clock=`` says otherwise."""
    fake = FakeClock()

    def go(mode: str = "report", *, budget: float = 60.0, clock: Clock = fake, **settings: str) -> dict[str, Any]:
        config = configure(**settings)
        return run(
            config,
            ArmGateway.from_config(config),
            mode=Mode(mode),
            trigger=Trigger.CLI,
            logs=LogsAdapter.from_config(config),
            flow_budget=budget,
            deadline=Deadline.for_trigger(Trigger.CLI.value, config.deadline_seconds, clock=clock),
        )

    return go


def dedicated(workspace: str, *categories: str) -> dict[str, Any]:
    return {"workspaceId": workspace, "logAnalyticsDestinationType": "Dedicated", "logs": entries(*categories)}


def ingest_all(sim, workspace: str, cluster: str, categories=REQUIRED, **kwargs: Any) -> None:
    for category in categories:
        sim.ingest(workspace, cluster, category, **kwargs)


def test_each_verdict_with_one_query_per_distinct_workspace(estate, flow_run):
    old = datetime.now(UTC) - timedelta(days=3)
    flowing = estate.add_cluster(SUB_A, "rg-a", "aks-flowing", "eastus")
    partial = estate.add_cluster(SUB_A, "rg-a", "aks-partial", "eastus")
    silent = estate.add_cluster(SUB_A, "rg-a", "aks-silent", "eastus")
    pending = estate.add_cluster(SUB_A, "rg-a", "aks-pending", "eastus")
    storage_only = estate.add_cluster(SUB_A, "rg-a", "aks-storage", "eastus")
    for cid in (flowing, partial, silent):
        estate.put_setting(cid, "audit", dedicated(USER_WS, *REQUIRED), last_modified_at=old)
    estate.put_setting(
        pending, "audit", dedicated(USER_WS, *REQUIRED), last_modified_at=datetime.now(UTC) - timedelta(minutes=10)
    )
    estate.put_setting(
        storage_only,
        "archive",
        {
            "storageAccountId": f"/subscriptions/{SUB_A}/resourceGroups/rg-a/providers/Microsoft.Storage/storageAccounts/st1",
            "logs": entries(*REQUIRED),
        },
    )
    ingest_all(estate, USER_WS, flowing)
    ingest_all(estate, USER_WS, partial, REQUIRED[2:])
    estate.clear_requests()

    document = flow_run()

    clusters = by_name(document)
    verdicts = {name: c["flow"]["verdict"] for name, c in clusters.items()}
    assert verdicts == {
        "aks-flowing": "flowing",
        "aks-partial": "partial",
        "aks-silent": "silent",
        "aks-pending": "pending",
        "aks-storage": "unknown",
    }
    assert clusters["aks-storage"]["flow"]["reason"] == "not-log-analytics"
    assert clusters["aks-partial"]["flow"]["last_seen"]["kube-audit"] is None
    assert clusters["aks-partial"]["flow"]["last_seen"]["kube-apiserver"].endswith("Z")
    assert document["summary"]["flow"] == {"flowing": 1, "partial": 1, "silent": 1, "pending": 1, "unknown": 1}
    # four clusters send to one workspace: exactly one query, and it is a read (no ARM write)
    (query,) = estate.query_requests()
    assert query.method == "POST" and query.status == 200
    assert query.path.lower().endswith("/workspaces/law-user/query")
    assert query.body["timespan"] == "PT86400.0S"
    assert document["cost"]["queries"] == 1
    assert estate.write_requests() == []
    # compliance status is about the settings, not the flow; the findings make the exit code 1
    assert clusters["aks-silent"]["status"] == "compliant"
    assert exit_code(document) == 1
    assert document["errors"] == []


def test_workspaces_are_queried_once_each_whatever_the_number_of_clusters(estate, flow_run):
    other = estate.add_workspace(SUB_A, USER_RG, "law-other", "westeurope")
    for i in range(6):
        cid = estate.add_cluster(SUB_A, "rg-a", f"aks-{i}", "eastus")
        estate.put_setting(cid, "audit", dedicated(USER_WS if i % 2 else other, *REQUIRED))
    estate.clear_requests()

    document = flow_run()

    paths = sorted(r.path.lower().rsplit("/", 2)[-2] for r in estate.query_requests())
    assert paths == ["law-other", "law-user"]
    assert document["cost"]["queries"] == 2


def test_both_table_modes_in_one_workspace(estate, flow_run):
    rs = estate.add_cluster(SUB_A, "rg-a", "aks-dedicated", "eastus")
    ad = estate.add_cluster(SUB_A, "rg-a", "aks-azdiag", "eastus")
    wrong = estate.add_cluster(SUB_A, "rg-a", "aks-wrong-table", "eastus")
    estate.put_setting(rs, "audit", dedicated(USER_WS, *REQUIRED))
    estate.put_setting(ad, "audit", {"workspaceId": USER_WS, "logs": entries(*REQUIRED)})
    estate.put_setting(wrong, "audit", {"workspaceId": USER_WS, "logs": entries(*REQUIRED)})
    ingest_all(estate, USER_WS, rs)
    ingest_all(estate, USER_WS, ad, mode="azure-diagnostics")
    ingest_all(estate, USER_WS, wrong)  # resource-specific records of a cluster whose setting is AzureDiagnostics
    estate.clear_requests()

    document = flow_run()

    verdicts = {n: c["flow"]["verdict"] for n, c in by_name(document).items()}
    assert verdicts["aks-dedicated"] == "flowing"
    assert verdicts["aks-azdiag"] == "flowing"
    (query,) = estate.query_requests()
    for table in ("AKSAudit", "AKSAuditAdmin", "AKSControlPlane", "AzureDiagnostics"):
        assert table in query.body["query"]
    # the query asks both modes, so the wrongly-tabled records are seen too: the table mode is per workspace
    assert verdicts["aks-wrong-table"] == "flowing"


def test_azure_diagnostics_only_workspace_does_not_read_resource_specific_tables(estate, flow_run):
    cid = estate.add_cluster(SUB_A, "rg-a", "aks-1", "eastus")
    estate.put_setting(cid, "audit", {"workspaceId": USER_WS, "logs": entries(*REQUIRED)})
    ingest_all(estate, USER_WS, cid)  # resource-specific records only
    estate.clear_requests()

    document = flow_run()

    (query,) = estate.query_requests()
    assert "AzureDiagnostics" in query.body["query"]
    assert "AKSAudit" not in query.body["query"]
    assert by_name(document)["aks-1"]["flow"]["verdict"] == "silent"


def test_forbidden_workspace_is_unknown_and_reported_but_never_fails_the_run(estate, flow_run):
    secret = estate.add_workspace(SUB_A, "rg-sec", "law-secops", "eastus")
    estate.forbid_resource(secret)
    hidden = estate.add_cluster(SUB_A, "rg-a", "aks-hidden", "eastus")
    fine = estate.add_cluster(SUB_A, "rg-a", "aks-fine", "eastus")
    estate.put_setting(hidden, "audit", dedicated(secret, *REQUIRED))
    estate.put_setting(fine, "audit", dedicated(USER_WS, *REQUIRED))
    ingest_all(estate, USER_WS, fine)

    document = flow_run()

    clusters = by_name(document)
    assert clusters["aks-hidden"]["flow"] == {
        "verdict": "unknown",
        "last_seen": dict.fromkeys(REQUIRED),
        "gb_per_day": None,
        "reason": "InsufficientAccessError",
    }
    assert clusters["aks-hidden"]["status"] == "compliant"
    assert clusters["aks-fine"]["flow"]["verdict"] == "flowing"
    (error,) = document["errors"]
    assert (error["scope"], error["code"], error["step"]) == (secret, "InsufficientAccessError", "flow")
    assert exit_code(document) == 0  # a query failure is not a failure of the run


def test_failing_query_leaves_its_clusters_unknown_and_the_others_verified(estate, flow_run):
    broken = estate.add_workspace(SUB_A, USER_RG, "law-broken", "eastus")
    a = estate.add_cluster(SUB_A, "rg-a", "aks-a", "eastus")
    b = estate.add_cluster(SUB_A, "rg-a", "aks-b", "eastus")
    estate.put_setting(a, "audit", dedicated(broken, *REQUIRED))
    estate.put_setting(b, "audit", dedicated(USER_WS, *REQUIRED))
    ingest_all(estate, USER_WS, b)
    estate.inject_fault(method="POST", path_contains="law-broken/query", status=400, code="SemanticError", times=None)

    document = flow_run()

    clusters = by_name(document)
    assert clusters["aks-a"]["flow"]["verdict"] == "unknown"
    assert clusters["aks-a"]["flow"]["reason"] == "SemanticError"
    assert clusters["aks-b"]["flow"]["verdict"] == "flowing"
    assert [e["code"] for e in document["errors"]] == ["SemanticError"]


def test_a_slow_workspace_does_not_delay_the_others(estate, flow_run):
    slow = estate.add_workspace(SUB_A, USER_RG, "law-slow", "eastus")
    a = estate.add_cluster(SUB_A, "rg-a", "aks-a", "eastus")
    b = estate.add_cluster(SUB_A, "rg-a", "aks-b", "eastus")
    estate.put_setting(a, "audit", dedicated(slow, *REQUIRED))
    estate.put_setting(b, "audit", dedicated(USER_WS, *REQUIRED))
    ingest_all(estate, slow, a)
    ingest_all(estate, USER_WS, b)
    estate.inject_fault(method="POST", path_contains="law-slow/query", status=None, latency=12, times=1)

    document = flow_run(budget=2, clock=SYSTEM_CLOCK)  # real time: the slow query's socket times out

    clusters = by_name(document)
    assert clusters["aks-b"]["flow"]["verdict"] == "flowing"
    assert clusters["aks-a"]["flow"]["verdict"] == "unknown"
    assert clusters["aks-a"]["flow"]["reason"] == "query-timeout"
    assert [(e["scope"], e["code"]) for e in document["errors"]] == [(slow, "query-timeout")]


@pytest.mark.parametrize(
    ("minutes_ago", "grace", "verdict"),
    [
        (10, "90", "pending"),
        (45, "90", "pending"),
        (89, "90", "pending"),
        (120, "90", "silent"),
        (30, "0", "silent"),
        (30, "20", "silent"),
    ],
)
def test_grace_period_comes_from_the_activity_log(estate, flow_run, minutes_ago, grace, verdict):
    """Issue 15 B. Real ARM sends no systemData on a setting: a setting someone wrote 10-90 minutes ago was
    silent (the CLI exited 1, the alert fired); its write in the Activity Log now makes it pending."""
    cid = estate.add_cluster(SUB_A, "rg-a", "aks-1", "eastus")
    estate.put_setting(
        cid,
        "audit",
        dedicated(USER_WS, *REQUIRED),
        last_modified_at=datetime.now(UTC) - timedelta(minutes=minutes_ago),
    )
    estate.clear_requests()

    document = flow_run(REMEDIATION_FLOW_GRACE_MINUTES=grace)

    (listed,) = [r for r in estate.arm_requests() if r.path.lower().endswith("/diagnosticsettings")]
    assert [("systemData" in s) for s in listed.response["value"]] == [False]  # as real ARM
    flow = by_name(document)["aks-1"]["flow"]
    assert (flow["verdict"], flow["reason"]) == (verdict, None)
    assert document["errors"] == []
    (listing,) = [r for r in estate.arm_requests() if r.path.lower().endswith("/eventtypes/management/values")]
    assert "resourceProvider eq 'Microsoft.Insights'" in listing.query["$filter"]


def test_system_data_when_arm_sends_it_needs_no_activity_log(estate, flow_run):
    estate.setting_system_data = True  # armsim's switch: ARM's older answers carried systemData
    cid = estate.add_cluster(SUB_A, "rg-a", "aks-1", "eastus")
    estate.put_setting(
        cid, "audit", dedicated(USER_WS, *REQUIRED), last_modified_at=datetime.now(UTC) - timedelta(minutes=30)
    )
    estate.clear_requests()

    assert by_name(flow_run())["aks-1"]["flow"]["verdict"] == "pending"
    assert not [r for r in estate.arm_requests() if "eventtypes" in r.path.lower()]


def test_one_activity_log_listing_per_subscription_every_page(estate, flow_run):
    estate.activity_page_size = 3  # many pages
    for i in range(6):
        cid = estate.add_cluster(SUB_A, "rg-a", f"aks-{i}", "eastus")
        estate.put_setting(
            cid, "audit", dedicated(USER_WS, *REQUIRED), last_modified_at=datetime.now(UTC) - timedelta(minutes=5 + i)
        )
    other = estate.add_cluster(SUB_B, "rg-b", "aks-b", "eastus")
    estate.put_setting(other, "audit", dedicated(USER_WS, *REQUIRED))  # 30 days ago: silent
    estate.clear_requests()

    document = flow_run(REMEDIATION_SUBSCRIPTION_IDS=f"{SUB_A},{SUB_B}")

    verdicts = {c["name"]: c["flow"]["verdict"] for c in document["clusters"]}
    assert verdicts == {**{f"aks-{i}": "pending" for i in range(6)}, "aks-b": "silent"}
    listings = [r for r in estate.arm_requests() if r.path.lower().endswith("/eventtypes/management/values")]
    first_pages = [r for r in listings if "$skipToken" not in r.query]
    assert sorted(r.path.split("/")[2] for r in first_pages) == sorted([SUB_A, SUB_B])
    assert len(listings) >= 5  # A's 12 events (Started and Succeeded each) on pages of 3


def test_an_unreadable_activity_log_makes_would_be_findings_unknown(estate, flow_run):
    """Without Microsoft.Insights/eventtypes/values/read nothing tells when a setting last changed: a cluster
    with no record is unknown (last-write-unknown), never silent on that account alone; the run says why."""
    cid = estate.add_cluster(SUB_A, "rg-a", "aks-1", "eastus")
    estate.put_setting(
        cid, "audit", dedicated(USER_WS, *REQUIRED), last_modified_at=datetime.now(UTC) - timedelta(days=9)
    )
    flowing = estate.add_cluster(SUB_A, "rg-a", "aks-2", "eastus")
    estate.put_setting(flowing, "audit", dedicated(USER_WS, *REQUIRED))
    ingest_all(estate, USER_WS, flowing)
    estate.forbid_action("Microsoft.Insights/eventtypes/values/read", f"/subscriptions/{SUB_A}")

    document = flow_run()

    clusters = by_name(document)
    assert (clusters["aks-1"]["flow"]["verdict"], clusters["aks-1"]["flow"]["reason"]) == (
        "unknown",
        "last-write-unknown",
    )
    assert clusters["aks-2"]["flow"]["verdict"] == "flowing"  # records arrive: no age needed
    ((scope, code, step),) = [(e["scope"], e["code"], e.get("step")) for e in document["errors"]]
    assert scope.endswith("/providers/Microsoft.Insights/eventtypes/management/values")
    assert (code, step) == ("AuthorizationFailed", "flow")


def test_a_setting_we_just_wrote_is_pending_and_the_next_run_finds_our_write(estate, flow_run):
    cid = estate.add_cluster(SUB_A, "rg-a", "aks-1", "eastus")
    estate.put_setting(
        cid, "old", dedicated(USER_WS, "kube-apiserver"), last_modified_at=datetime.now(UTC) - timedelta(days=9)
    )
    estate.ingest(USER_WS, cid, "kube-apiserver")

    applied = flow_run("apply")
    again = flow_run("report")

    assert by_name(applied)["aks-1"]["status"] == "remediated"
    assert by_name(applied)["aks-1"]["flow"]["verdict"] == "pending"
    # the next run finds our PUT in the Activity Log: still within the grace period
    assert by_name(again)["aks-1"]["flow"]["verdict"] == "pending"


def test_gb_per_day_and_the_cost_header(estate, flow_run):
    other = estate.add_workspace(SUB_A, USER_RG, "law-other", "eastus")
    a = estate.add_cluster(SUB_A, "rg-a", "aks-a", "eastus")
    b = estate.add_cluster(SUB_A, "rg-a", "aks-b", "eastus")
    estate.put_setting(a, "audit", dedicated(USER_WS, *REQUIRED))
    estate.put_setting(b, "audit", dedicated(other, *REQUIRED))
    estate.ingest(USER_WS, a, "kube-audit", billed_bytes=3_000_000_000)
    estate.ingest(USER_WS, a, "kube-audit-admin", billed_bytes=500_000_000)
    estate.ingest(other, b, "kube-audit", billed_bytes=1_000_000_000)
    estate.ingest(other, b, "kube-apiserver", billed_bytes=500_000_000)
    # records of a cluster outside the scope of this run (another subscription) do not count
    estate.ingest(
        other,
        "/subscriptions/cccccccc-0000-4000-8000-000000000003/resourceGroups/x/providers/Microsoft.ContainerService/managedClusters/elsewhere",
        "kube-audit",
        billed_bytes=9_000_000_000,
    )

    document = flow_run(REMEDIATION_FLOW_LOOKBACK_HOURS="12")

    clusters = by_name(document)
    assert clusters["aks-a"]["flow"]["gb_per_day"] == pytest.approx(7.0)  # 3.5 GB in 12 h
    assert clusters["aks-b"]["flow"]["gb_per_day"] == pytest.approx(3.0)
    cost = document["cost"]
    assert cost["lookback_hours"] == 12
    assert cost["gb_per_day"] == {"kube-apiserver": 1.0, "kube-audit": 8.0, "kube-audit-admin": 1.0}
    assert cost["total_gb_per_day"] == pytest.approx(10.0)
    assert cost["kube_audit_share"] == pytest.approx(0.8)
    per_workspace = {w["id"]: w for w in cost["workspaces"]}
    assert per_workspace[USER_WS]["total_gb_per_day"] == pytest.approx(7.0)
    assert per_workspace[other]["gb_per_day"] == {"kube-apiserver": 1.0, "kube-audit": 2.0}


def test_lookback_excludes_older_records(estate, flow_run):
    cid = estate.add_cluster(SUB_A, "rg-a", "aks-1", "eastus")
    estate.put_setting(cid, "audit", dedicated(USER_WS, *REQUIRED))
    ingest_all(estate, USER_WS, cid, last_seen=datetime.now(UTC) - timedelta(hours=30))

    assert by_name(flow_run())["aks-1"]["flow"]["verdict"] == "silent"
    assert by_name(flow_run(REMEDIATION_FLOW_LOOKBACK_HOURS="48"))["aks-1"]["flow"]["verdict"] == "flowing"


def test_verification_off_queries_nothing(estate, flow_run):
    cid = estate.add_cluster(SUB_A, "rg-a", "aks-1", "eastus")
    estate.put_setting(cid, "audit", dedicated(USER_WS, *REQUIRED))
    estate.clear_requests()

    document = flow_run(REMEDIATION_VERIFY_FLOW="false")

    assert estate.query_requests() == []
    assert by_name(document)["aks-1"]["flow"]["verdict"] == "unknown"
    assert by_name(document)["aks-1"]["flow"]["reason"] == "verification-off"
    assert document["cost"] is None


def test_findings_are_logged_at_warning_with_structured_fields(estate, flow_run, caplog):
    cid = estate.add_cluster(SUB_A, "rg-a", "aks-1", "eastus")
    estate.put_setting(cid, "audit", dedicated(USER_WS, *REQUIRED))
    estate.ingest(USER_WS, cid, "kube-apiserver")

    with caplog.at_level(logging.WARNING, logger="remediation.engine.flow_check"):
        flow_run()

    (record,) = [r for r in caplog.records if getattr(r, "flow_verdict", None)]
    assert record.levelno == logging.WARNING
    assert (
        record.cluster_id.lower() == cid.lower()
    )  # ARM spells cluster IDs with "resourcegroups" (recorded): compare as ARM IDs compare, without case
    assert record.flow_verdict == "partial"
    assert record.categories == ["kube-audit", "kube-audit-admin", "kube-controller-manager", "kube-scheduler"]
    assert record.workspace_ids == [USER_WS]


def test_cli_exits_1_for_a_silent_cluster_and_shows_flow_in_json(estate):
    cid = estate.add_cluster(SUB_A, "rg-a", "aks-1", "eastus")
    estate.put_setting(cid, "audit", dedicated(USER_WS, *REQUIRED))
    stdout, stderr = io.StringIO(), io.StringIO()

    code = main(
        ["report", "--format", "json"],
        env={**os.environ, "REMEDIATION_SUBSCRIPTION_IDS": SUB_A},
        stdout=stdout,
        stderr=stderr,
    )

    doc = json.loads(stdout.getvalue())
    assert doc["clusters"][0]["status"] == "compliant"
    assert doc["clusters"][0]["flow"]["verdict"] == "silent"
    assert code == 1


def test_event_path_verifies_the_one_cluster(estate, configure):
    cid = estate.add_cluster(SUB_A, "rg-a", "aks-1", "eastus")
    config = configure()
    estate.clear_requests()

    document = reconcile_cluster(
        config,
        ArmGateway.from_config(config),
        cid,
        mode=Mode.APPLY,
        trigger=Trigger.EVENT_GRID,
        logs=LogsAdapter.from_config(config),
    ).document

    (cluster,) = document["clusters"]
    assert cluster["status"] == "remediated"
    assert cluster["flow"]["verdict"] == "pending"
    assert len(estate.query_requests()) == 1


def test_the_workspace_role_lets_us_query_our_workspaces_and_no_others(estate, flow_run):
    from remediation.permissions import Scope, actions

    ours = estate.add_workspace(SUB_A, "rg-aks-audit-logs", "law-aks-audit-eastus", "eastus")
    estate.grant(actions(Scope.SUBSCRIPTION), f"/subscriptions/{SUB_A}")
    estate.grant(actions(Scope.WORKSPACE_RESOURCE_GROUP), f"/subscriptions/{SUB_A}/resourceGroups/rg-aks-audit-logs")
    mine = estate.add_cluster(SUB_A, "rg-a", "aks-ours", "eastus")
    theirs = estate.add_cluster(SUB_A, "rg-a", "aks-theirs", "eastus")
    estate.put_setting(mine, "aks-audit-remediation", dedicated(ours, *REQUIRED))
    estate.put_setting(theirs, "team", dedicated(USER_WS, *REQUIRED))
    ingest_all(estate, ours, mine)
    ingest_all(estate, USER_WS, theirs)

    document = flow_run()

    clusters = by_name(document)
    assert clusters["aks-ours"]["flow"]["verdict"] == "flowing"
    # a team's own workspace outside the audit-workspace group: our role may not query it
    assert clusters["aks-theirs"]["flow"]["verdict"] == "unknown"
    assert clusters["aks-theirs"]["flow"]["reason"] == "InsufficientAccessError"
    assert exit_code(document) == 0


def test_without_query_read_the_audit_workspace_is_unknown(estate, flow_run):
    from remediation.permissions import Scope, actions

    ours = estate.add_workspace(SUB_A, "rg-aks-audit-logs", "law-aks-audit-eastus", "eastus")
    estate.grant(actions(Scope.SUBSCRIPTION), f"/subscriptions/{SUB_A}")
    estate.grant(
        [
            a
            for a in actions(Scope.WORKSPACE_RESOURCE_GROUP)
            if a != "Microsoft.OperationalInsights/workspaces/query/read"
        ],
        f"/subscriptions/{SUB_A}/resourceGroups/rg-aks-audit-logs",
    )
    mine = estate.add_cluster(SUB_A, "rg-a", "aks-ours", "eastus")
    estate.put_setting(mine, "aks-audit-remediation", dedicated(ours, *REQUIRED))
    ingest_all(estate, ours, mine)

    assert by_name(flow_run())["aks-ours"]["flow"]["reason"] == "InsufficientAccessError"


def test_a_partial_answer_is_not_trusted(estate, flow_run):
    cid = estate.add_cluster(SUB_A, "rg-a", "aks-1", "eastus")
    estate.put_setting(cid, "audit", dedicated(USER_WS, *REQUIRED))
    ingest_all(estate, USER_WS, cid, REQUIRED[:2])
    estate.answer_partially(USER_WS)

    document = flow_run()

    flow = by_name(document)["aks-1"]["flow"]
    assert (flow["verdict"], flow["reason"]) == ("unknown", "PartialError")
    assert [(e["code"], e["step"]) for e in document["errors"]] == [("PartialError", "flow")]
