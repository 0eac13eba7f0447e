"""armsim's Log Analytics query API and workspace tables API, through the official SDK clients."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
from azure.mgmt.loganalytics.models import Table, TableProperties
from azure.monitor.query import LogsQueryClient, LogsQueryStatus

from armsim import ArmSimulator
from tests.support.arm_clients import loganalytics, raw, token_for
from tests.support.constants import SUB_A

QUERY = "union isfuzzy=true (AKSAudit | summarize by _ResourceId), (AzureDiagnostics | summarize by _ResourceId)"


@pytest.fixture
def workspace(sim: ArmSimulator) -> str:
    sim.add_subscription(SUB_A, "Production")
    return sim.add_workspace(SUB_A, "rg-logs", "law-one", "eastus")


def client(sim: ArmSimulator) -> LogsQueryClient:
    return LogsQueryClient(DefaultAzureCredential(), endpoint=sim.base_url)


def test_query_by_customer_id_and_by_resource_id_in_the_official_shape(sim: ArmSimulator, workspace: str) -> None:
    cid = sim.add_cluster(SUB_A, "rg-apps", "AKS-One", "eastus")
    seen = datetime.now(UTC) - timedelta(minutes=3)
    sim.ingest(workspace, cid, "kube-audit", last_seen=seen, billed_bytes=1234)
    sim.ingest(workspace, cid, "kube-apiserver", last_seen=seen, billed_bytes=10, mode="azure-diagnostics")
    sim.ingest(workspace, cid, "kube-scheduler", last_seen=seen)  # AKSControlPlane: not named by QUERY
    customer_id = sim.get_workspace(workspace)["properties"]["customerId"]

    by_customer = client(sim).query_workspace(customer_id, QUERY, timespan=timedelta(hours=1))
    by_resource = client(sim).query_resource(workspace, QUERY, timespan=timedelta(hours=1))

    for result in (by_customer, by_resource):
        assert result.status == LogsQueryStatus.SUCCESS
        (table,) = result.tables
        assert table.name == "PrimaryResult"
        assert table.columns == ["_ResourceId", "Category", "LastSeen", "BilledBytes"]
        assert table.columns_types == ["string", "string", "datetime", "long"]
        rows = sorted((r[0], r[1], r[3]) for r in table.rows)
        assert rows == [(cid.lower(), "kube-apiserver", 10), (cid.lower(), "kube-audit", 1234)]
        assert all(isinstance(r[2], datetime) for r in table.rows)
    paths = [r.path for r in sim.query_requests()]
    assert paths[0] == f"/v1/workspaces/{customer_id}/query"
    assert paths[1].lower().endswith("/workspaces/law-one/query")
    assert sim.write_requests() == []  # query POSTs are not ARM writes


def test_timespan_excludes_older_records(sim: ArmSimulator, workspace: str) -> None:
    cid = sim.add_cluster(SUB_A, "rg-apps", "aks-one", "eastus")
    sim.ingest(workspace, cid, "kube-audit", last_seen=datetime.now(UTC) - timedelta(hours=5))

    assert client(sim).query_resource(workspace, QUERY, timespan=timedelta(hours=1)).tables[0].rows == []
    assert len(client(sim).query_resource(workspace, QUERY, timespan=timedelta(hours=6)).tables[0].rows) == 1


def test_query_errors(sim: ArmSimulator, workspace: str) -> None:
    sim.forbid_resource(workspace)
    with pytest.raises(HttpResponseError) as forbidden:
        client(sim).query_resource(workspace, QUERY, timespan=timedelta(hours=1))
    assert forbidden.value.status_code == 403
    assert forbidden.value.error.code == "InsufficientAccessError"

    with pytest.raises(HttpResponseError) as missing:
        client(sim).query_workspace("00000000-0000-0000-0000-000000000000", QUERY, timespan=timedelta(hours=1))
    assert (missing.value.status_code, missing.value.error.code) == (404, "WorkspaceNotFoundError")

    token = token_for(sim)
    bad = raw(sim, "POST", "/v1" + workspace.replace("law-one", "law-two") + "/query", token, json={"query": "x"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (404, "ResourceNotFoundError")
    cluster = sim.add_cluster(SUB_A, "rg-apps", "aks-one", "eastus")
    not_ws = raw(sim, "POST", f"/v1{cluster}/query", token, json={"query": "AKSAudit"})
    assert (not_ws.status_code, not_ws.json()["error"]["code"]) == (400, "BadArgumentError")
    no_token = raw(sim, "POST", f"/v1{workspace}/query", None, json={"query": "AKSAudit"})
    assert no_token.status_code == 401


def test_table_plan_change_is_long_running_and_limited_to_once_a_week(sim: ArmSimulator, workspace: str) -> None:
    tables = loganalytics(sim).tables
    assert tables.get("rg-logs", "law-one", "AKSAudit").properties.plan == "Analytics"
    sim.clear_requests()

    poller = tables.begin_update(
        "rg-logs", "law-one", "AKSAudit", Table(properties=TableProperties(plan="Basic")), polling_interval=0
    )
    updated = poller.result()

    assert updated.properties.plan == "Basic"
    assert sim.table_plan(workspace, "AKSAudit") == "Basic"
    patch = next(r for r in sim.requests if r.method == "PATCH")
    assert patch.status == 202 and patch.query["api-version"] == "2025-07-01"
    assert any("/operationstatuses/" in r.path.lower() for r in sim.requests)

    # a second change within the week is refused; the plan stays as it is
    with pytest.raises(HttpResponseError) as refused:
        tables.begin_update(
            "rg-logs", "law-one", "AKSAudit", Table(properties=TableProperties(plan="Analytics")), polling_interval=0
        ).result()
    assert refused.value.status_code == 400 and "once a week" in str(refused.value.message)
    assert sim.table_plan(workspace, "AKSAudit") == "Basic"

    with pytest.raises(HttpResponseError) as unsupported:
        tables.begin_update(
            "rg-logs",
            "law-one",
            "AzureDiagnostics",
            Table(properties=TableProperties(plan="Basic")),
            polling_interval=0,
        ).result()
    assert unsupported.value.status_code == 400
    with pytest.raises(HttpResponseError) as unknown:
        tables.get("rg-logs", "law-one", "NoSuchTable")
    assert unknown.value.status_code == 404
