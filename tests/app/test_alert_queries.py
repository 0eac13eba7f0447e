"""infra's alert rules and workbook query the log records the code really emits.

Each query (``infra/app/queries/*.kql`` for the scheduled query rules, ``infra/app/workbook.json``
for the workbook) is read for the custom dimensions it uses (``customDimensions.<name>``) and the
record kinds it selects (``customDimensions.event == "..."``). A real timer sweep (the fan-out, then each
subscription's queue message, through the host's queue semantics on Azurite) runs through the
function app against armsim and its log records are captured as Application Insights would get
them (``DimensionsFilter``): every record kind a query selects must be emitted, with every field
the query reads. Renaming a field or an event in the code breaks this test, not the alert.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pycep import BicepParser

from remediation.app import telemetry
from remediation.core.changes import ChangeEvent
from remediation.core.signals import ATTENTION_STATUSES, EVENT_FIELD, FLOW_FINDINGS, FLOW_VERDICT_FIELD, Signal
from tests.support.constants import LOCATION, SUB_A, SUB_B
from tests.support.host import QueueHost, timer

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "infra" / "app"
Functions = dict[str, Callable[..., Any]]

DIMENSION = re.compile(r"customDimensions\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*[\"']([^\"']+)[\"']\s*\])")
EVENT_EQ = re.compile(r"tostring\(customDimensions\.event\)\s*==\s*\"([^\"]+)\"")
EVENT_IN = re.compile(r"tostring\(customDimensions\.event\)\s+in\s*\(([^)]*)\)")
FLOW_IN = re.compile(r"tostring\(customDimensions\.flow_verdict\)\s+in\s*\(([^)]*)\)")
# Records other issues' code emits (flow verification): the name is the contract.
NOT_EMITTED_BY_THE_SWEEP: set[str] = set()


@cache
def alert_queries() -> dict[str, str]:
    """Rule name -> query text as deployed (placeholders substituted as alerts.bicep does)."""
    parsed = BicepParser().parse(file_path=APP / "alerts.bicep")
    queries: dict[str, str] = {}
    for rule in parsed["variables"]["rules"]["value"]:
        query = rule["query"]["function"]
        if query["type"] == "replace":
            params = query["parameters"]
            assert params["new_string"] == "overdue"
            path = params["original_string"]["function"]["parameters"]["file_path"]
            text = (APP / path).read_text()
            assert params["old_string"] in text, f"{path}: placeholder {params['old_string']} unused"
            text = text.replace(params["old_string"], "150")
        else:
            assert query["type"] == "load_text_content"
            text = (APP / query["parameters"]["file_path"]).read_text()
        assert "__" not in text, f"{rule['name']}: unsubstituted placeholder"
        queries[rule["name"]] = text
    return queries


@cache
def workbook_queries() -> dict[str, str]:
    workbook = json.loads((APP / "workbook.json").read_text())
    return {item["name"]: item["content"]["query"] for item in workbook["items"] if item["type"] == 3}


def all_queries() -> dict[str, str]:
    return {
        **{f"alert:{k}": v for k, v in alert_queries().items()},
        **{f"workbook:{k}": v for k, v in workbook_queries().items()},
    }


def literals(group: str) -> list[str]:
    return re.findall(r"\"([^\"]+)\"", group)


def events_of(query: str) -> set[str]:
    found = set(EVENT_EQ.findall(query))
    for group in EVENT_IN.findall(query):
        found.update(literals(group))
    return found


def dimensions_of(query: str) -> set[str]:
    return {a or b for a, b in DIMENSION.findall(query)}


@pytest.fixture
def emitted(
    app_env: Any,
    functions: Functions,
    azurite: str,
    sweep_queue: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> list[dict[str, Any]]:
    """Custom dimensions of every record a sweep emits: remediated, failed, blocked, a new resource
    group and workspaces, and a subscription that cannot be read (retried, then poisoned)."""
    sim = app_env
    sim.add_subscription(SUB_B, "forbidden")
    sim.forbid_subscription(SUB_B)
    monkeypatch.setenv("REMEDIATION_SUBSCRIPTION_IDS", f"{SUB_A},{SUB_B}")
    monkeypatch.setenv("REMEDIATION_WORKSPACE_RESOURCE_GROUP", "rg-audit-new")  # created by the sweep
    monkeypatch.setenv("REMEDIATION_AUDIT_TABLE_PLAN", "basic")  # the workspace it creates: table_plan.updated
    sim.add_cluster(SUB_A, "rg-apps", "aks-open", "westeurope")
    sim.add_cluster(SUB_A, "rg-apps", "aks-new-region", "northeurope")
    forbidden = sim.add_cluster(SUB_A, "rg-apps", "aks-forbidden", "westeurope")
    sim.forbid_resource(forbidden)
    full = sim.add_cluster(SUB_A, "rg-apps", "aks-full", "westeurope")
    for i in range(5):
        sim.put_setting(full, f"other-{i}", {"logs": [], "metrics": [{"category": "AllMetrics", "enabled": True}]})
    partial = sim.add_cluster(SUB_A, "rg-apps", "aks-partial", LOCATION)
    workspace = f"/subscriptions/{SUB_A}/resourceGroups/rg-aks-audit-logs/providers/Microsoft.OperationalInsights/workspaces/law-aks-audit-{LOCATION}"
    ours = {"workspaceId": workspace, "logs": [{"category": "kube-audit", "enabled": True}], "metrics": []}
    sim.put_setting(partial, "aks-audit-remediation", ours)
    host = QueueHost(azurite, sweep_queue, functions)
    with caplog.at_level(logging.INFO, logger="remediation"):
        functions["sweep"](timer())
        assert sorted(host.drain()) == ["completed", "poisoned", "retry", "retry"]
        assert host.deliver_poison() == "completed"
    records = []
    for original in caplog.records:
        record = logging.makeLogRecord(dict(original.__dict__))
        assert telemetry.DimensionsFilter().filter(record)
        records.append({**telemetry.structured_fields(record), "_level": original.levelname})
    return records


def test_the_sweep_emits_every_record_kind_the_queries_select(emitted: list[dict[str, Any]]) -> None:
    by_event: dict[str, list[dict[str, Any]]] = {}
    for record in emitted:
        if EVENT_FIELD in record:
            by_event.setdefault(str(record[EVENT_FIELD]), []).append(record)
    for name, query in all_queries().items():
        events = events_of(query)
        fields = dimensions_of(query) - {EVENT_FIELD}
        if FLOW_VERDICT_FIELD in fields:
            continue  # flow findings: test_flow_findings_query_uses_the_agreed_dimension
        assert events, f"{name}: selects no record kind"
        for event in events - NOT_EMITTED_BY_THE_SWEEP:
            assert event in by_event, f"{name}: the code emits no record with event == {event!r}"
        selected = [r for e in events for r in by_event.get(e, [])]
        if events <= NOT_EMITTED_BY_THE_SWEEP:
            continue
        missing = {f for f in fields if not any(f in r for r in selected)}
        assert not missing, f"{name}: no emitted {sorted(events)} record has {sorted(missing)}"


def test_sweep_records_carry_the_counts_the_alerts_compare(emitted: list[dict[str, Any]], sweep_queue: str) -> None:
    subscriptions = {r["subscription_id"]: r for r in emitted if r.get(EVENT_FIELD) == Signal.SWEEP_SUBSCRIPTION}
    assert set(subscriptions) == {SUB_A, SUB_B}
    mine = subscriptions[SUB_A]
    assert (mine["clusters"], mine["remediated"], mine["failed"], mine["blocked"], mine["errors"]) == (5, 3, 1, 1, 1)
    other = subscriptions[SUB_B]
    assert (other["clusters"], other["errors"]) == (0, 1), "an unreadable subscription: no cluster, errors"
    completed = [r for r in emitted if r.get(EVENT_FIELD) == Signal.SWEEP_COMPLETED]
    assert {r["subscription_id"] for r in completed} == {SUB_A, SUB_B}, "one per subscription's sweep"
    assert {r["run_id"] for r in completed} == {mine["run_id"]} == {other["run_id"]}, "one fan-out run"
    (poisoned,) = [r for r in emitted if r.get(EVENT_FIELD) == Signal.SWEEP_POISONED]
    assert (poisoned["subscription_id"], poisoned["queue"], poisoned["_level"]) == (
        SUB_B,
        f"{sweep_queue}-poison",
        "ERROR",
    )
    attention = {
        r["cluster_id"].rsplit("/", 1)[1]: r for r in emitted if r.get(EVENT_FIELD) == Signal.CLUSTER_ATTENTION
    }
    assert set(attention) == {"aks-forbidden", "aks-full"}
    assert (
        attention["aks-forbidden"]["status"] == "failed"
        and attention["aks-forbidden"]["reason"] == "AuthorizationFailed"
    )
    assert attention["aks-full"]["status"] == "blocked" and attention["aks-full"]["reason"] == "setting-limit-reached"
    assert all(r["_level"] == "WARNING" and r["subscription_id"] == SUB_A for r in attention.values())
    assert set(ATTENTION_STATUSES) >= {"failed", "blocked"}
    changes = {r[EVENT_FIELD] for r in emitted if "change" in r}
    assert changes == {
        ChangeEvent.RESOURCE_GROUP_CREATED.value,
        ChangeEvent.WORKSPACE_CREATED.value,
        ChangeEvent.SETTING_CREATED.value,
        ChangeEvent.SETTING_UPDATED.value,
        ChangeEvent.TABLE_PLAN_UPDATED.value,
    }


def test_alert_rules_select_what_they_say() -> None:
    queries = alert_queries()
    assert set(queries) == {
        "clusters-failed-or-blocked",
        "sweep-overdue",
        "subscription-overdue",
        "poison-messages",
        "flow-silent-or-partial",
    }
    assert events_of(queries["clusters-failed-or-blocked"]) == {Signal.SWEEP_SUBSCRIPTION.value}
    assert {"failed", "blocked", "subscription_id"} <= dimensions_of(queries["clusters-failed-or-blocked"])
    assert events_of(queries["sweep-overdue"]) == {Signal.SWEEP_COMPLETED.value}
    assert "ago(150m)" in queries["sweep-overdue"]
    assert events_of(queries["subscription-overdue"]) == {Signal.SWEEP_SUBSCRIPTION.value}
    assert {"clusters", "errors", "subscription_id"} <= dimensions_of(queries["subscription-overdue"])
    assert events_of(queries["poison-messages"]) == {Signal.SWEEP_POISONED.value}
    assert {"subscription_id"} <= dimensions_of(queries["poison-messages"])


def test_workbook_change_table_lists_exactly_the_change_events() -> None:
    assert events_of(workbook_queries()["recent-changes"]) == {e.value for e in ChangeEvent}
    assert events_of(workbook_queries()["status-over-time"]) == {Signal.SWEEP_SUBSCRIPTION.value}
    assert events_of(workbook_queries()["clusters-needing-attention"]) == {
        Signal.SWEEP_SUBSCRIPTION.value,
        Signal.CLUSTER_ATTENTION.value,
    }


@pytest.mark.parametrize("name", ["alert:flow-silent-or-partial", "workbook:flow-findings"])
def test_flow_findings_query_uses_the_agreed_dimension(name: str) -> None:
    query = all_queries()[name]
    (group,) = FLOW_IN.findall(query)
    assert tuple(literals(group)) == FLOW_FINDINGS == ("silent", "partial")
    assert dimensions_of(query) == {FLOW_VERDICT_FIELD, "cluster_id", "run_id"}
