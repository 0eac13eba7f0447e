"""The change ledger on Azure Table Storage (Azurite): keys, ordering, filters, configuration."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from remediation.azure.ledger import (
    TableLedger,
    estate_partition,
    from_entity,
    inverted_ticks,
    resource_partition,
    to_entities,
)
from remediation.core.changes import ChangeEvent, ChangeRecord
from remediation.engine.changelog import ChangeLog
from remediation.errors import ConfigError
from tests.support.constants import SUB_A

C1 = f"/subscriptions/{SUB_A}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks-1"
C2 = f"/subscriptions/{SUB_A}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks-2"
T0 = datetime(2025, 3, 31, 23, 59, 0, tzinfo=UTC)


def record(
    cluster: str | None, at: datetime, event: ChangeEvent = ChangeEvent.SETTING_CREATED, **kw: Any
) -> ChangeRecord:
    return ChangeRecord(
        event=event,
        run_id=kw.get("run_id", "run-1"),
        trigger="event_grid",
        resource_id=kw.get("resource_id", f"{cluster}/providers/Microsoft.Insights/diagnosticSettings/ours"),
        cluster_id=cluster,
        setting_name="ours",
        workspace_id="/subscriptions/x/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/law",
        categories_before=("kube-audit",),
        categories_after=("kube-audit", "kube-audit-admin"),
        timestamp=at.isoformat(timespec="milliseconds"),
    )


@pytest.fixture
def ledger(azurite: str, ledger_table: str) -> TableLedger:
    built = TableLedger.from_environment({"AzureWebJobsStorage": azurite, "REMEDIATION_LEDGER_TABLE": ledger_table})
    assert built is not None
    return built


def test_keys_sort_newest_first() -> None:
    assert inverted_ticks(T0 + timedelta(microseconds=1)) < inverted_ticks(T0)
    assert len(inverted_ticks(T0)) == 19
    assert estate_partition(datetime(2025, 4, 1, tzinfo=UTC)) < estate_partition(T0)
    assert resource_partition(C1.upper()) == resource_partition(C1 + "/")
    assert "/" not in resource_partition(C1)
    cluster_entity, estate_entity = to_entities(record(C1, T0))
    assert cluster_entity["RowKey"] == estate_entity["RowKey"]
    assert cluster_entity["categories_after"] == '["kube-audit", "kube-audit-admin"]'
    assert from_entity(cluster_entity) == record(C1, T0).to_dict()


def test_not_configured_is_none() -> None:
    assert TableLedger.from_environment({}) is None
    assert TableLedger.from_environment({"AzureWebJobsStorage": "  "}) is None


def test_development_storage_and_identity_settings() -> None:
    dev = TableLedger.from_environment({"AzureWebJobsStorage": "UseDevelopmentStorage=true"})
    assert dev is not None and dev.table_name == "remediationchanges"
    by_name = TableLedger.from_environment({"AzureWebJobsStorage__accountName": "stfunc123"})
    assert by_name is not None
    assert by_name._service.url.startswith("https://stfunc123.table.core.windows.net")
    by_uri = TableLedger.from_environment(
        {
            "AzureWebJobsStorage__tableServiceUri": "https://stx.table.core.windows.net",
            "REMEDIATION_LEDGER_TABLE": "t1x",
        }
    )
    assert by_uri is not None and by_uri.table_name == "t1x"
    gov = TableLedger.from_environment(
        {"AzureWebJobsStorage__accountName": "stgov", "REMEDIATION_CLOUD": "AzureUSGovernment"}
    )
    assert gov is not None and "stgov.table.core.usgovcloudapi.net" in gov._service.url


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"AzureWebJobsStorage": "x", "REMEDIATION_LEDGER_TABLE": "bad-name"}, "REMEDIATION_LEDGER_TABLE"),
        ({"AzureWebJobsStorage": "not a connection string"}, "AzureWebJobsStorage"),
        ({"AzureWebJobsStorage__accountName": "Bad_Name"}, "AzureWebJobsStorage__accountName"),
        ({"AzureWebJobsStorage__tableServiceUri": "ftp://x"}, "AzureWebJobsStorage__tableServiceUri"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as info:
        TableLedger.from_environment(env)
    assert info.value.variable == variable


def test_append_creates_the_table_and_reads_back_newest_first(ledger: TableLedger) -> None:
    assert ledger.list_changes() == []  # table not there yet: empty, no error
    records = [record(C1 if i % 2 else C2, T0 + timedelta(seconds=i * 30)) for i in range(6)]
    for r in records:
        ledger.append(r)
    newest_first = [r.to_dict() for r in reversed(records)]
    assert ledger.list_changes(limit=100) == newest_first, "estate-wide, across the month boundary"
    assert ledger.list_changes(limit=2) == newest_first[:2]
    assert ledger.list_changes(cluster_id=C1.upper(), limit=100) == [r for r in newest_first if r["cluster_id"] == C1]
    since = T0 + timedelta(seconds=60)
    assert ledger.list_changes(since=since) == [
        r for r in newest_first if r["timestamp"] >= since.isoformat(timespec="milliseconds")
    ]
    assert len(ledger.list_changes(since=since)) == 4
    assert ledger.list_changes(cluster_id=C2, since=since, limit=1) == [newest_first[1]]


def test_append_is_idempotent(ledger: TableLedger) -> None:
    r = record(C1, T0)
    ledger.append(r)
    ledger.append(r)
    assert ledger.list_changes() == [r.to_dict()]


def test_records_without_a_cluster_are_kept_under_their_resource(ledger: TableLedger) -> None:
    rg = f"/subscriptions/{SUB_A}/resourceGroups/rg-aks-audit-logs"
    r = record(None, T0, ChangeEvent.RESOURCE_GROUP_CREATED, resource_id=rg)
    ledger.append(r)
    assert ledger.list_changes(cluster_id=rg) == [r.to_dict()]
    assert ledger.list_changes() == [r.to_dict()]


def test_limit_bounds(ledger: TableLedger) -> None:
    for bad in (0, 1001):
        with pytest.raises(ValueError, match="limit"):
            ledger.list_changes(limit=bad)


def test_outage_raises_and_changelog_logs_the_full_record(caplog: pytest.LogCaptureFixture) -> None:
    down = TableLedger.from_environment(
        {"AzureWebJobsStorage": "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=AAAA;"
         "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;"}
    )  # fmt: skip
    assert down is not None
    r = record(C1, T0)
    with pytest.raises(Exception):  # noqa: B017 - whatever the SDK raises after its retries
        down.append(r)
    log = ChangeLog(sinks=(down.append,))
    with caplog.at_level(logging.INFO, logger="remediation.changes"):
        log.record(r)
    assert log.records == (r,)
    errors = [rec for rec in caplog.records if rec.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].change == r.to_dict()  # type: ignore[attr-defined]
    assert errors[0].ledger_failed is True  # type: ignore[attr-defined]
