"""GET /api/status: the estate as last observed, from the state table on Azurite, with no ARM request."""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from remediation.app import http_api
from remediation.app.runtime import get_runtime, reset_runtime
from remediation.app.sweep import sweep_subscription as run_subscription_sweep
from tests.support import consumers
from tests.support.clock import FakeClock
from tests.support.constants import SUB_A, SUB_B
from tests.support.host import CLUSTER_WRITE, QueueHost, cluster_id, grid_event, http_get, timer

Functions = dict[str, Callable[..., Any]]


def call(functions: Functions, *query: tuple[str, str]) -> tuple[int, str, str]:
    response = functions["status"](http_get("status", list(query)))
    return response.status_code, response.get_body().decode("utf-8"), response.headers["Content-Type"]


def dead_table_endpoint(connection: str, port: int) -> str:
    """The same account with its table endpoint on a port that refuses connections (``dead_port``)."""
    return re.sub(r"TableEndpoint=http://127\.0\.0\.1:\d+/", f"TableEndpoint=http://127.0.0.1:{port}/", connection)


def error_of(body: str) -> dict[str, str]:
    payload = json.loads(body)
    assert set(payload) == {"error"}
    error: dict[str, str] = payload["error"]
    return error


@pytest.fixture
def host(app_env: Any, functions: Functions, azurite: str, sweep_queue: str) -> QueueHost:
    return QueueHost(azurite, sweep_queue, functions)


@pytest.fixture
def swept(app_env: Any, functions: Functions, host: QueueHost, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Two subscriptions swept in apply mode through the fan-out."""
    sim = app_env
    sim.add_subscription(SUB_B, "dev")
    monkeypatch.setenv("REMEDIATION_SUBSCRIPTION_IDS", f"{SUB_A},{SUB_B}")
    reset_runtime()
    sim.add_cluster(SUB_A, "rg-apps", "aks-open", "westeurope")
    sim.add_cluster(SUB_A, "rg-apps", "aks-busy", "westeurope", provisioning_state="Upgrading")
    sim.add_cluster(SUB_B, "rg-dev", "aks-dev", "westeurope", tags={"aks-audit-remediation": "exclude"})
    functions["sweep"](timer())
    assert host.drain() == ["completed", "completed"]
    sim.clear_requests()
    return sim


def test_status_is_the_last_observation_and_makes_no_arm_request(swept: Any, functions: Functions) -> None:
    status, body, content_type = call(functions)
    assert status == 200
    assert content_type == "application/json"
    assert swept.requests == [], "no ARM request, no token request"
    document = json.loads(body)
    assert document["schema_version"] == 1
    assert document["mode"] == "status"
    clusters = {c["name"]: c for c in document["clusters"]}
    assert {n: c["status"] for n, c in clusters.items()} == {
        "aks-open": "remediated",
        "aks-busy": "deferred",
        "aks-dev": "excluded",
    }
    assert clusters["aks-busy"]["reason"] == "cluster-busy"
    assert clusters["aks-open"]["missing_categories"] == document["required_categories"]
    assert clusters["aks-open"]["action"]["kind"] == "create"
    run_ids = {c["observed_run_id"] for c in document["clusters"]}
    assert len(run_ids) == 1, "one fan-out run"
    for cluster in document["clusters"]:
        assert cluster["observed_at"] <= document["finished_at"]
    assert document["summary"]["clusters"] == 3
    sweeps = {s["subscription_id"]: s for s in document["subscriptions"]}
    assert set(sweeps) == {SUB_A, SUB_B}
    assert sweeps[SUB_A]["summary"]["remediated"] == 1 and sweeps[SUB_A]["run_id"] in run_ids
    assert sweeps[SUB_B]["summary"]["excluded"] == 1
    assert document["errors"] == []


@pytest.mark.parametrize(
    ("fmt", "content_type", "check"),
    [
        ("markdown", "text/markdown; charset=utf-8", lambda body: "status" in body and "aks-open" in body),
        ("html", "text/html; charset=utf-8", lambda body: body.count('<tr class="cluster"') == 3),
        ("csv", "text/csv; charset=utf-8", lambda body: len(list(csv.DictReader(io.StringIO(body)))) == 3),
        ("JSON", "application/json", lambda body: json.loads(body)["mode"] == "status"),
        ("sarif", "application/sarif+json", lambda body: consumers.sarif(body)["runs"][0]["results"] is not None),
        ("junit", "application/xml; charset=utf-8", lambda body: sum(s.tests for s in consumers.junit(body)) == 3),
        ("ocsf", "application/x-ndjson", lambda body: len(consumers.ocsf(body)) == 3),
    ],
)
def test_status_formats(swept: Any, functions: Functions, fmt: str, content_type: str, check: Any) -> None:
    status, body, got_type = call(functions, ("format", fmt))
    assert status == 200
    assert got_type == content_type
    assert check(body)
    assert swept.requests == []


def test_status_csv_says_when_each_cluster_was_observed(swept: Any, functions: Functions) -> None:
    _, body, _ = call(functions, ("format", "csv"))
    rows = list(csv.DictReader(io.StringIO(body)))
    assert all(row["observed_at"].endswith("Z") and row["observed_run_id"] for row in rows)


def test_status_filters_like_the_report(swept: Any, functions: Functions) -> None:
    _, body, _ = call(functions, ("subscription", SUB_B))
    document = json.loads(body)
    assert [c["name"] for c in document["clusters"]] == ["aks-dev"]
    assert [s["subscription_id"] for s in document["subscriptions"]] == [SUB_B]

    _, body, _ = call(functions, ("cluster", cluster_id("aks-open").upper()))
    document = json.loads(body)
    assert [c["name"] for c in document["clusters"]] == ["aks-open"]
    assert document["errors"] == []


def test_status_resolves_bare_names_like_the_report(
    swept: Any, functions: Functions, host: QueueHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, body, _ = call(functions, ("cluster", "AKS-OPEN"))
    assert status == 200
    document = json.loads(body)
    # ARM spells cluster IDs with "resourcegroups" (recorded): compare as ARM IDs compare, without case
    assert [c["id"].lower() for c in document["clusters"]] == [cluster_id("aks-open").lower()]
    assert document["errors"] == []

    status, body, _ = call(functions, ("cluster", "aks-nowhere"))
    assert status == 404
    assert error_of(body)["code"] == "ClusterNotFound"
    assert "aks-nowhere" in error_of(body)["message"]

    twin = swept.add_cluster(SUB_B, "rg-dev", "aks-open", "westeurope")
    functions["sweep"](timer())
    assert host.drain() == ["completed", "completed"]
    swept.clear_requests()
    status, body, _ = call(functions, ("cluster", "aks-open"))
    assert status == 400
    error = error_of(body)
    assert error["code"] == "AmbiguousCluster"
    matches = str(error["matches"]).lower()
    assert twin.lower() in matches and cluster_id("aks-open").lower() in matches
    # Narrowed to one subscription, the name is one cluster again.
    status, body, _ = call(functions, ("cluster", "aks-open"), ("subscription", SUB_B))
    assert status == 200
    assert [c["id"].lower() for c in json.loads(body)["clusters"]] == [twin.lower()]

    # A cluster observed before the scope shrank is not found by name any more.
    monkeypatch.setenv("REMEDIATION_SUBSCRIPTION_IDS", SUB_A)
    reset_runtime()
    status, body, _ = call(functions, ("cluster", "aks-dev"))
    assert (status, error_of(body)["code"]) == (404, "ClusterNotFound")
    assert swept.requests == [], "names are resolved from the state table: no ARM request"


def test_status_names_what_was_never_observed(swept: Any, functions: Functions) -> None:
    never = cluster_id("aks-never")
    _, body, _ = call(functions, ("cluster", never))
    document = json.loads(body)
    assert document["clusters"] == []
    assert document["errors"] == [
        {"scope": never, "code": "NotObserved", "message": "no sweep or event has observed this cluster"}
    ]


def test_status_of_a_configured_subscription_never_swept(
    app_env: Any, functions: Functions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDIATION_SUBSCRIPTION_IDS", f"{SUB_A},{SUB_B}")
    status, body, _ = call(functions)
    assert status == 200
    document = json.loads(body)
    assert document["clusters"] == [] and document["subscriptions"] == []
    assert {e["scope"] for e in document["errors"]} == {f"/subscriptions/{SUB_A}", f"/subscriptions/{SUB_B}"}
    assert {e["code"] for e in document["errors"]} == {"NotObserved"}
    assert app_env.requests == []


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ([("format", "pdf")], 400, "InvalidFormat"),
        ([("subscription", "prod")], 400, "InvalidSubscription"),
        ([("cluster", "/subscriptions/x")], 400, "InvalidCluster"),
        ([("since", "2026-01-01T00:00:00Z")], 400, "UnknownParameter"),
        ([("subscription", SUB_B)], 403, "SubscriptionOutOfScope"),
        ([("cluster", cluster_id("aks-x", sub=SUB_B))], 403, "SubscriptionOutOfScope"),
    ],
)
def test_status_errors_are_the_reports(
    app_env: Any, functions: Functions, query: list[tuple[str, str]], status: int, code: str
) -> None:
    got, body, content_type = call(functions, *query)
    assert (got, error_of(body)["code"]) == (status, code)
    assert content_type == "application/json"
    report = functions["report"](http_get("report", query))
    assert report.status_code == status, "the same parameters and errors as /api/report"


def test_status_without_storage_is_503(app_env: Any, functions: Functions, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AzureWebJobsStorage")
    status, body, _ = call(functions)
    assert (status, error_of(body)["code"]) == (503, "StateNotConfigured")


def test_status_with_unreachable_storage_is_503(
    app_env: Any, azurite: str, dead_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AzureWebJobsStorage", dead_table_endpoint(azurite, dead_port))
    clock = FakeClock()  # the Tables SDK's backoff between its 4 tries (0, 1, 2 s) waits on the request's deadline
    result = http_api.status(replace(get_runtime(), clock=clock), "http://localhost/api/status", {})
    assert (result.status, error_of(result.body)["code"]) == (503, "StateUnavailable")
    assert clock.waits == [1.0, 2.0], "retried, on the deadline's clock"


def test_invalid_state_table_name_is_a_configuration_error(
    app_env: Any, functions: Functions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDIATION_STATE_TABLE", "state-table")
    status, body, _ = call(functions)
    assert status == 500
    assert error_of(body)["target"] == "REMEDIATION_STATE_TABLE"


# --- what keeps the table current -------------------------------------------------------------------------


def test_a_deleted_cluster_leaves_the_table_when_a_sweep_no_longer_sees_it(
    swept: Any, functions: Functions, host: QueueHost
) -> None:
    swept.delete_cluster(cluster_id("aks-busy"))
    functions["sweep"](timer())
    assert host.drain() == ["completed", "completed"]
    _, body, _ = call(functions)
    assert sorted(c["name"] for c in json.loads(body)["clusters"]) == ["aks-dev", "aks-open"]


def test_a_sweep_that_cannot_list_keeps_the_last_observation(swept: Any, functions: Functions, host: QueueHost) -> None:
    swept.forbid_subscription(SUB_B)
    functions["sweep"](timer())
    outcomes = host.drain()
    assert sorted(outcomes) == ["completed", "poisoned", "retry", "retry"]
    _, body, _ = call(functions)
    document = json.loads(body)
    assert "aks-dev" in {c["name"] for c in document["clusters"]}, "an unreadable subscription is not an empty one"
    other = next(s for s in document["subscriptions"] if s["subscription_id"] == SUB_B)
    assert other["errors"] == 1
    assert any(e["scope"] == f"/subscriptions/{SUB_B}" for e in document["errors"])


def test_events_record_their_outcome_and_a_deleted_cluster_leaves(swept: Any, functions: Functions) -> None:
    sim = swept
    new = sim.add_cluster(SUB_A, "rg-apps", "aks-new", "westeurope")
    functions["on_resource_event"](grid_event(CLUSTER_WRITE, new))
    _, body, _ = call(functions, ("cluster", new))
    (cluster,) = json.loads(body)["clusters"]
    assert cluster["status"] == "remediated"

    busy = cluster_id("aks-busy")
    sim.delete_cluster(busy)
    functions["on_resource_event"](grid_event(CLUSTER_WRITE, busy))
    _, body, _ = call(functions, ("cluster", busy))
    assert json.loads(body)["clusters"] == []


def test_a_table_service_outage_never_fails_the_sweep(
    app_env: Any,
    functions: Functions,
    sweep_queue: str,
    azurite: str,
    dead_port: int,
    monkeypatch: pytest.MonkeyPatch,
    caplog: Any,
) -> None:
    sim = app_env
    open_id = sim.add_cluster(SUB_A, "rg-apps", "aks-open", "westeurope")
    monkeypatch.setenv("AzureWebJobsStorage", dead_table_endpoint(azurite, dead_port))  # the queue still works
    reset_runtime()
    functions["sweep"](timer())
    clock = FakeClock()
    runtime = replace(get_runtime(), clock=clock)  # the table's retries wait on the sweep's deadline
    on_fake_time = {**functions, "sweep_subscription": lambda msg: run_subscription_sweep(runtime, msg.get_body())}
    with caplog.at_level(logging.WARNING):
        assert QueueHost(azurite, sweep_queue, on_fake_time).drain() == ["completed"]
    assert sim.get_setting(open_id, "aks-audit-remediation") is not None
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("could not record sweep" in m for m in errors), errors
    # the superseded check's read, then the recording's first read: each retried (1, 2 s) on the deadline's clock
    assert clock.waits == [1.0, 2.0, 1.0, 2.0]


# --- the recording rules, on the real table ---------------------------------------------------------------


def _doc(run_id: str, started: str, clusters: list[dict[str, Any]]) -> Any:
    from remediation.core.report import summarize

    return {
        "schema_version": 1,
        "mode": "apply",
        "run_id": run_id,
        "started_at": started,
        "finished_at": started,
        "required_categories": ["kube-audit"],
        "summary": summarize(clusters),  # type: ignore[arg-type]
        "clusters": clusters,
        "workspaces": [],
        "errors": [],
    }


def _cluster(name: str, status: str) -> dict[str, Any]:
    return {
        "id": cluster_id(name),
        "name": name,
        "subscription_id": SUB_A,
        "resource_group": "rg-apps",
        "location": "westeurope",
        "status": status,
        "missing_categories": [],
        "reason": None,
        "action": None,
    }


def test_a_long_sweep_never_replaces_a_newer_event_observation(app_env: Any) -> None:
    import os

    from remediation.azure.state import StateTable
    from remediation.engine.observations import record_outcomes, record_sweep

    table = StateTable.from_environment(dict(os.environ))
    assert table is not None
    # An event at 10:05 saw aks-a remediated and aks-new (created after the sweep listed) compliant.
    event = _doc("event", "2026-11-27T10:05:00Z", [_cluster("aks-a", "remediated"), _cluster("aks-new", "compliant")])
    assert record_outcomes(table, event, trigger="event_grid")
    # A sweep that started at 10:00 (before the event) read aks-a when it was still non-compliant.
    sweep = _doc("sweep", "2026-11-27T10:00:00Z", [_cluster("aks-a", "failed"), _cluster("aks-b", "compliant")])
    (recorded,) = record_sweep(table, sweep, [SUB_A], trigger="timer")
    assert recorded.run_id == "sweep"
    stored = {o.cluster["name"]: (o.cluster["status"], o.run_id) for o in table.observations([SUB_A])}
    assert stored == {
        "aks-a": ("remediated", "event"),  # the newer observation stays
        "aks-b": ("compliant", "sweep"),
        "aks-new": ("compliant", "event"),  # observed after the sweep started: not taken for deleted
    }
    # The next sweep, at 11:00, no longer sees aks-new: now it is gone.
    later = _doc("sweep-2", "2026-11-27T11:00:00Z", [_cluster("aks-a", "compliant"), _cluster("aks-b", "compliant")])
    record_sweep(table, later, [SUB_A], trigger="timer")
    assert sorted(o.cluster["name"] for o in table.observations([SUB_A])) == ["aks-a", "aks-b"]


def test_a_cli_sweep_is_recorded_too(app_env: Any, functions: Functions) -> None:
    import io

    from remediation.cli.main import main

    sim = app_env
    open_id = sim.add_cluster(SUB_A, "rg-apps", "aks-open", "westeurope")
    stdout, stderr = io.StringIO(), io.StringIO()
    assert main(["apply", "--format", "json", "--no-progress"], stdout=stdout, stderr=stderr) == 0, stderr.getvalue()
    run_id = json.loads(stdout.getvalue())["run_id"]
    _, body, _ = call(functions)
    document = json.loads(body)
    assert [(c["name"], c["status"], c["observed_run_id"]) for c in document["clusters"]] == [
        ("aks-open", "remediated", run_id)
    ]
    (sweep,) = document["subscriptions"]
    assert (sweep["trigger"], sweep["run_id"]) == ("cli", run_id)

    stdout = io.StringIO()
    assert main(["report", "--format", "json", "--cluster", open_id], stdout=stdout, stderr=stderr) == 0
    _, body, _ = call(functions)
    document = json.loads(body)
    assert document["clusters"][0]["status"] == "compliant"
    assert document["subscriptions"][0]["run_id"] == run_id, "naming a cluster sweeps no subscription"


def test_a_hung_state_table_never_holds_the_event_past_its_budget(
    app_env: Any, azurite: str, state_table: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from remediation.app.event_handler import handle_event
    from tests.support.host import WRITE
    from tests.support.table_proxy import table_proxy

    sim = app_env
    cid = sim.add_cluster(SUB_A, "rg-apps", "aks-new", "westeurope")

    def state_writes(method: str, path: str) -> Any:
        """Every write of the state table hangs (its rows go in entity-group transactions, $batch)."""
        return "hang" if method != "GET" and (f"/{state_table}" in path or "$batch" in path) else "pass"

    with table_proxy(azurite, state_writes) as (proxied, _):
        monkeypatch.setenv("AzureWebJobsStorage", proxied)
        monkeypatch.setenv("REMEDIATION_DEADLINE_SECONDS", "3")
        reset_runtime()
        with caplog.at_level(logging.INFO):
            outcome = handle_event(
                get_runtime(),
                event_id="e1",
                event_type=WRITE,
                subject=cid,
                data={"operationName": CLUSTER_WRITE, "resourceUri": cid},
            )
    assert outcome.document is not None and outcome.document["clusters"][0]["status"] == "remediated"
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    # the table call's own retries and socket timeouts end within the deadline (else its watchdog would)
    assert any("could not record run" in m for m in errors), errors
    assert not any("ledger" in m for m in errors), "the ledger was not held up"
