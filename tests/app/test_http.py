"""report and changes: the HTTP endpoints, through the real SDK against armsim and the ledger on Azurite."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from remediation.azure.ledger import TableLedger
from remediation.core.changes import ChangeEvent, ChangeRecord
from tests.support import consumers
from tests.support.chromium import run_chromium
from tests.support.constants import SUB_A, SUB_B
from tests.support.host import CLUSTER_WRITE, cluster_id, grid_event, http_get
from tests.support.html_text import HtmlCollector

Functions = dict[str, Callable[..., Any]]


def call(functions: Functions, route: str, *query: tuple[str, str]) -> tuple[int, str, str]:
    response = functions[route](http_get(route, list(query)))
    return response.status_code, response.get_body().decode("utf-8"), response.headers["Content-Type"]


def error_of(body: str) -> dict[str, str]:
    payload = json.loads(body)
    assert set(payload) == {"error"}
    error: dict[str, str] = payload["error"]
    assert {"code", "message"} <= set(error)
    return error


@pytest.fixture
def estate(app_env: Any) -> Any:
    sim = app_env
    sim.add_cluster(SUB_A, "rg-apps", "aks-open", "westeurope")
    sim.add_cluster(SUB_A, "rg-apps", "aks-busy", "westeurope", provisioning_state="Upgrading")
    return sim


def test_report_json_is_a_dry_run_even_in_apply_mode(estate: Any, functions: Functions) -> None:
    status, body, content_type = call(functions, "report")
    assert status == 200
    assert content_type == "application/json"
    document = json.loads(body)
    assert document["schema_version"] == 1
    assert document["mode"] == "report"
    statuses = {c["name"]: c["status"] for c in document["clusters"]}
    assert statuses == {"aks-open": "non_compliant", "aks-busy": "deferred"}
    assert estate.write_requests() == [], "REMEDIATION_MODE=apply, and still nothing written"


@pytest.mark.parametrize(
    ("fmt", "content_type", "check"),
    [
        ("markdown", "text/markdown; charset=utf-8", lambda body: body.startswith("# AKS audit-log report")),
        ("html", "text/html; charset=utf-8", lambda body: body.count('<tr class="cluster"') == 2),
        ("csv", "text/csv; charset=utf-8", lambda body: len(list(csv.DictReader(io.StringIO(body)))) == 2),
        ("JSON", "application/json", lambda body: json.loads(body)["summary"]["clusters"] == 2),
        ("table", "text/plain; charset=utf-8", lambda body: "aks-open" in body and "aks-busy" in body),
        ("sarif", "application/sarif+json", lambda body: len(consumers.sarif(body)["runs"][0]["results"]) >= 2),
        ("junit", "application/xml; charset=utf-8", lambda body: sum(s.tests for s in consumers.junit(body)) == 2),
        ("ocsf", "application/x-ndjson", lambda body: len(consumers.ocsf(body)) == 2),
    ],
)
def test_report_formats(estate: Any, functions: Functions, fmt: str, content_type: str, check: Any) -> None:
    status, body, got_type = call(functions, "report", ("format", fmt))
    assert status == 200
    assert got_type == content_type
    assert check(body)
    assert estate.write_requests() == []


def test_report_for_named_clusters_and_subscriptions(estate: Any, functions: Functions, monkeypatch: Any) -> None:
    monkeypatch.setenv("REMEDIATION_SUBSCRIPTION_IDS", f"{SUB_A},{SUB_B}")
    estate.add_subscription(SUB_B, "dev")
    estate.add_cluster(SUB_B, "rg-dev", "aks-dev", "eastus")
    status, body, _ = call(functions, "report", ("cluster", cluster_id("aks-open").upper()))
    assert status == 200
    assert [c["name"] for c in json.loads(body)["clusters"]] == ["aks-open"]

    for query in ([("subscription", SUB_A), ("subscription", SUB_B)], [("subscription", f"{SUB_A},{SUB_B}")]):
        status, body, _ = call(functions, "report", *query)
        assert status == 200
        assert sorted(c["name"] for c in json.loads(body)["clusters"]) == ["aks-busy", "aks-dev", "aks-open"]
    status, body, _ = call(functions, "report", ("subscription", SUB_B))
    assert [c["name"] for c in json.loads(body)["clusters"]] == ["aks-dev"]
    assert estate.write_requests() == []


def test_report_for_a_bare_cluster_name(estate: Any, functions: Functions, monkeypatch: Any) -> None:
    monkeypatch.setenv("REMEDIATION_SUBSCRIPTION_IDS", f"{SUB_A},{SUB_B}")
    estate.add_subscription(SUB_B, "dev")
    twin = estate.add_cluster(SUB_B, "rg-dev", "aks-open", "eastus")

    status, body, _ = call(functions, "report", ("cluster", "AKS-BUSY"), ("format", "json"))
    assert status == 200
    assert [c["name"] for c in json.loads(body)["clusters"]] == ["aks-busy"]

    status, body, _ = call(functions, "report", ("cluster", "aks-open"))
    assert status == 400
    error = error_of(body)
    assert error["code"] == "AmbiguousCluster"
    matches = str(error["matches"]).lower()  # ARM's spelling: "resourcegroups"
    assert twin.lower() in matches and cluster_id("aks-open").lower() in matches

    status, body, _ = call(functions, "report", ("cluster", "aks-nowhere"))
    assert status == 404 and error_of(body)["code"] == "ClusterNotFound"
    assert estate.write_requests() == []


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ([("format", "xml")], "InvalidFormat"),
        ([("format", "html"), ("format", "csv")], "InvalidParameter"),
        ([("subscription", "not-a-guid")], "InvalidSubscription"),
        ([("subscription", f"{SUB_A},12345")], "InvalidSubscription"),
        ([("cluster", "/subscriptions/x/resourceGroups/rg")], "InvalidCluster"),
        (
            [("cluster", f"/subscriptions/{SUB_A}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/s")],
            "InvalidCluster",
        ),
        ([("clusters", cluster_id("aks-open"))], "UnknownParameter"),
    ],
)
def test_report_bad_parameters_are_400(app_env: Any, functions: Functions, query: Any, code: str) -> None:
    status, body, content_type = call(functions, "report", *query, ("code", "function-key"))
    assert (status, content_type) == (400, "application/json")
    assert error_of(body)["code"] == code
    assert app_env.requests == []


@pytest.mark.parametrize(
    "query",
    [
        [("subscription", SUB_B)],
        [("subscription", SUB_A), ("subscription", SUB_B.upper())],
        [("cluster", cluster_id("x", sub=SUB_B))],
    ],
)
def test_report_outside_the_scope_is_403(app_env: Any, functions: Functions, query: Any) -> None:
    status, body, _ = call(functions, "report", *query)
    assert status == 403
    error = error_of(body)
    assert error["code"] == "SubscriptionOutOfScope"
    assert SUB_B in error["message"].lower()
    assert app_env.requests == []


@pytest.mark.browser
def test_report_html_renders_in_headless_chromium(estate: Any, functions: Functions, tmp_path: Path) -> None:
    status, body, _ = call(functions, "report", ("format", "html"))
    assert status == 200
    page = tmp_path / "report.html"
    page.write_text(body, encoding="utf-8")
    dom = run_chromium(tmp_path, "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    parser = HtmlCollector()
    parser.feed(dom.stdout)
    text = "".join(parser.text)
    assert dom.stdout.count('<tr class="cluster"') == 2
    assert "aks-open" in text and "aks-busy" in text
    assert "would create" in text
    assert "kube-audit-admin is its write-only subset" in text


def test_invalid_configuration_is_500_naming_the_variable(
    app_env: Any, functions: Functions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDIATION_MAX_CONCURRENCY", "lots")
    for route in ("report", "changes"):
        status, body, _ = call(functions, route)
        assert status == 500
        error = error_of(body)
        assert error["code"] == "InvalidConfiguration"
        assert "REMEDIATION_MAX_CONCURRENCY" in error["message"]
        assert error["target"] == "REMEDIATION_MAX_CONCURRENCY"


def test_a_category_arm_does_not_know_is_500_naming_the_variable_and_the_valid_ones(
    app_env: Any, functions: Functions, monkeypatch: pytest.MonkeyPatch
) -> None:
    app_env.add_cluster(SUB_A, "rg-apps", "aks-1", "westeurope")
    monkeypatch.setenv("REMEDIATION_CATEGORIES", "kube-audt")
    status, body, _ = call(functions, "report")
    assert status == 500
    error = error_of(body)
    assert (error["code"], error["target"]) == ("InvalidConfiguration", "REMEDIATION_CATEGORIES")
    assert "kube-audt is not a log category" in error["message"]
    assert "kube-audit-admin" in error["message"].split("valid: ", 1)[1]


# --- changes ---------------------------------------------------------------------------------


def seed(
    ledger: TableLedger, cluster: str, at: datetime, event: ChangeEvent = ChangeEvent.SETTING_CREATED
) -> ChangeRecord:
    record = ChangeRecord(
        event=event,
        run_id="run-x",
        trigger="timer",
        resource_id=f"{cluster}/providers/Microsoft.Insights/diagnosticSettings/aks-audit-remediation",
        cluster_id=cluster,
        setting_name="aks-audit-remediation",
        categories_after=("kube-audit",),
        timestamp=at.isoformat(timespec="milliseconds"),
    )
    ledger.append(record)
    return record


def test_changes_newest_first_with_filters_and_limits(app_env: Any, functions: Functions, ledger: TableLedger) -> None:
    base = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    a, b = cluster_id("aks-a"), cluster_id("aks-b")
    records = [seed(ledger, a if i % 3 else b, base + timedelta(minutes=i)) for i in range(7)]
    newest = [r.to_dict() for r in reversed(records)]

    status, body, content_type = call(functions, "changes")
    assert (status, content_type) == (200, "application/json")
    payload = json.loads(body)
    assert payload["changes"] == newest
    assert payload["count"] == 7 and payload["limit"] == 100

    _, body, _ = call(functions, "changes", ("limit", "2"))
    assert json.loads(body)["changes"] == newest[:2]

    _, body, _ = call(functions, "changes", ("cluster", a.upper()))
    assert json.loads(body)["changes"] == [r for r in newest if r["cluster_id"] == a]

    _, body, _ = call(functions, "changes", ("since", "2025-06-01T14:04:00+02:00"), ("cluster", b))
    assert [r["timestamp"] for r in json.loads(body)["changes"]] == [
        r["timestamp"] for r in newest if r["cluster_id"] == b and r["timestamp"] >= "2025-06-01T12:04"
    ]
    _, body, _ = call(functions, "changes", ("since", "2025-06-01T12:05:00Z"))
    assert len(json.loads(body)["changes"]) == 2


def test_changes_after_an_event_show_the_remediation(app_env: Any, functions: Functions) -> None:
    cid = app_env.add_cluster(SUB_A, "rg-apps", "aks-evt", "westeurope")
    functions["on_resource_event"](grid_event(CLUSTER_WRITE, cid))
    _, body, _ = call(functions, "changes", ("cluster", cid))
    (change,) = json.loads(body)["changes"]
    assert change["event"] == "diagnostic_setting.created"
    assert change["trigger"] == "event_grid"


def test_changes_serve_only_the_configured_scope(app_env: Any, functions: Functions, ledger: TableLedger) -> None:
    base = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    ours, theirs = cluster_id("aks-a"), cluster_id("aks-x", sub=SUB_B)
    mine = seed(ledger, ours, base)
    for minute in range(1, 6):  # newer records of a subscription outside the scope
        seed(ledger, theirs, base + timedelta(minutes=minute))
    workspace = ChangeRecord(
        event=ChangeEvent.WORKSPACE_CREATED,
        run_id="run-x",
        trigger="timer",
        resource_id=f"/subscriptions/{SUB_B}/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w",
        timestamp=(base + timedelta(minutes=9)).isoformat(timespec="milliseconds"),
    )
    ledger.append(workspace)

    status, body, _ = call(functions, "changes", ("limit", "1"))
    assert status == 200
    assert json.loads(body)["changes"] == [mine.to_dict()], "the scan goes past the records outside the scope"
    _, body, _ = call(functions, "changes")
    assert json.loads(body)["count"] == 1

    status, body, _ = call(functions, "changes", ("cluster", theirs))
    assert status == 403
    error = error_of(body)
    assert error["code"] == "SubscriptionOutOfScope"
    assert SUB_B in error["message"]
    assert app_env.requests == []


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ([("since", "yesterday")], "InvalidSince"),
        ([("since", "2025-06-01")], "InvalidSince"),
        ([("since", "2025-06-01T12:00:00")], "InvalidSince"),
        ([("since", "0001-01-01T00:00:00+01:00")], "InvalidSince"),  # was an OverflowError (500)
        ([("since", "1969-12-31T23:59:59Z")], "InvalidSince"),
        ([("limit", "0")], "InvalidLimit"),
        ([("limit", "1001")], "InvalidLimit"),
        ([("limit", "ten")], "InvalidLimit"),
        ([("limit", "-5")], "InvalidLimit"),
        ([("cluster", "aks-a")], "InvalidCluster"),
        ([("cluster", cluster_id("a")), ("cluster", cluster_id("b"))], "InvalidParameter"),
        ([("order", "asc")], "UnknownParameter"),
    ],
)
def test_changes_bad_parameters_are_400(app_env: Any, functions: Functions, query: Any, code: str) -> None:
    status, body, _ = call(functions, "changes", *query)
    assert status == 400
    assert error_of(body)["code"] == code


def test_changes_without_a_ledger_is_503(app_env: Any, functions: Functions, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AzureWebJobsStorage")
    status, body, _ = call(functions, "changes")
    assert status == 503
    error = error_of(body)
    assert error["code"] == "LedgerNotConfigured"
    assert "AzureWebJobsStorage" in error["message"]
