"""Issue 8 on the Function app: the ledger (Azurite behind a faulty front), the event path's budget,
identity-endpoint failures and bad input."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

import pytest

from armsim.routing import Response
from remediation.app.event_handler import handle_event
from remediation.app.runtime import Runtime, get_runtime, reset_runtime
from remediation.azure.ledger import TableLedger
from remediation.errors import ClusterBusyError, CredentialError
from remediation.kit.deadline import DeadlineExceeded
from tests.support.clock import FakeClock
from tests.support.constants import SUB_A, WORKSPACE
from tests.support.host import CLUSTER_WRITE, WRITE, cluster_id, grid_event
from tests.support.table_proxy import table_proxy

OURS = "aks-audit-remediation"


def event(cid: str) -> dict[str, Any]:
    return {
        "event_id": "e1",
        "event_type": WRITE,
        "subject": cid,
        "data": {"operationName": CLUSTER_WRITE, "resourceUri": cid},
    }


def on_fake_time(clock: FakeClock) -> Runtime:
    """The app's runtime with its invocations' deadlines (and so every wait) on ``clock``."""
    return replace(get_runtime(), clock=clock)


def direct_ledger(azurite: str, table: str) -> TableLedger:
    built = TableLedger.from_environment({"AzureWebJobsStorage": azurite, "REMEDIATION_LEDGER_TABLE": table})
    assert built is not None
    return built


def test_a_hung_table_service_never_holds_the_event_past_its_budget(
    app_env: Any, azurite: str, ledger_table: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sim = app_env
    cid = sim.add_cluster(SUB_A, "rg-apps", "aks-new", "westeurope")
    with table_proxy(azurite, lambda method, path: "hang") as (proxied, _):
        monkeypatch.setenv("AzureWebJobsStorage", proxied)
        monkeypatch.setenv("REMEDIATION_DEADLINE_SECONDS", "3")
        reset_runtime()
        with caplog.at_level(logging.INFO):
            outcome = handle_event(get_runtime(), **event(cid))

    assert outcome.document is not None
    assert [c["status"] for c in outcome.document["clusters"]] == ["remediated"]
    assert sim.get_setting(cid, OURS) is not None
    errors = [(e["scope"], e["code"]) for e in outcome.document["errors"] if e.get("step") != "flow"]
    assert errors == [("ledger", "LedgerWriteFailed")]
    lost = [r for r in caplog.records if getattr(r, "ledger_failed", False)]
    assert len(lost) == 1 and lost[0].levelno == logging.ERROR
    assert lost[0].change["cluster_id"].lower() == cid.lower()  # type: ignore[attr-defined]  # the full record is logged
    # the hung ledger spent the budget: flow verification starts no query and says why
    (cluster,) = outcome.document["clusters"]
    assert cluster["flow"]["verdict"] in ("unknown", "pending")


@pytest.mark.parametrize(
    ("failing", "kept"),
    [("PartitionKey='estate-", "resource"), ("PartitionKey='r|", "estate")],
    ids=["estate-row-fails", "resource-row-fails"],
)
def test_ledger_rows_are_written_independently_and_a_failure_is_reported(
    app_env: Any,
    azurite: str,
    ledger_table: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    failing: str,
    kept: str,
) -> None:
    sim = app_env
    cid = sim.add_cluster(SUB_A, "rg-apps", "aks-1", "westeurope")

    def rule(method: str, path: str) -> str:
        return "fail" if method in ("PUT", "PATCH", "MERGE") and failing in path else "pass"

    with table_proxy(azurite, rule) as (proxied, proxy):
        monkeypatch.setenv("AzureWebJobsStorage", proxied)
        reset_runtime()
        with caplog.at_level(logging.INFO):
            outcome = handle_event(get_runtime(), **event(cid))

    assert outcome.document is not None
    assert outcome.document["clusters"][0]["status"] == "remediated"
    (error,) = [e for e in outcome.document["errors"] if e["scope"] == "ledger"]
    assert error["code"] == "LedgerWriteFailed"
    assert "estate row" in error["message"] if kept == "resource" else "resource row" in error["message"]
    assert any(v == "fail" for _, _, v in proxy.seen)
    ledger = direct_ledger(azurite, ledger_table)
    by_cluster = ledger.list_changes(cid)
    estate = ledger.list_changes()
    assert (len(by_cluster), len(estate)) == ((1, 0) if kept == "resource" else (0, 1))
    assert len([r for r in caplog.records if getattr(r, "ledger_failed", False)]) == 1


def test_identity_endpoint_failure_on_the_event_path_is_transient(
    app_env: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sim = app_env
    cid = sim.add_cluster(SUB_A, "rg-apps", "aks-1", "westeurope")
    sim.inject_fault(identity=True, status=503, retry_after=0, times=None)
    monkeypatch.setenv("REMEDIATION_DEADLINE_SECONDS", "3")
    reset_runtime()
    clock = FakeClock()

    with pytest.raises(CredentialError) as caught:
        handle_event(on_fake_time(clock), **event(cid))

    assert caught.value.transient  # the function fails, so Event Grid redelivers
    assert "check the managed identity" in caught.value.message
    assert sim.arm_requests() == []
    # asked again 1 s later within the event's 3 s, then no time was left for the next wait (5 s)
    assert {r.getMessage().rsplit("; ", 1)[-1] for r in caplog.records if "asking again" in r.getMessage()} == {
        "asking again in 1 s"
    }
    assert clock.waits == [1.0]

    sim.clear_faults()
    handle_event(get_runtime(), **event(cid))  # the redelivery
    assert sim.get_setting(cid, OURS) is not None


@pytest.mark.parametrize("imds_shape", [False, True])
def test_an_identity_endpoint_failing_for_a_moment_costs_the_event_a_retry_not_a_redelivery(
    app_env: Any, imds_shape: bool
) -> None:
    sim = app_env
    cid = sim.add_cluster(SUB_A, "rg-apps", "aks-1", "westeurope")
    if imds_shape:  # IMDS's error body: {"error", "error_description"}, the status only on the wire
        body = {"error": "unknown_error", "error_description": "retry later"}
        sim.inject_fault(
            identity=True, status=None, times=2, rewrite=lambda r, url: Response(503, body, {"Retry-After": "0"})
        )
    else:
        sim.inject_fault(identity=True, status=503, retry_after=0, times=2)

    handle_event(get_runtime(), **event(cid))

    assert sim.get_setting(cid, OURS) is not None
    assert [r.status for r in sim.identity_requests()] == [503, 503, 200]


def test_the_settle_wait_starts_only_when_it_fits_in_the_events_budget(
    app_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = app_env
    cid = sim.add_cluster(SUB_A, "rg-apps", "aks-slow", "westeurope", provisioning_state="Creating")
    monkeypatch.setenv("REMEDIATION_DEADLINE_SECONDS", "3")
    reset_runtime()
    clock = FakeClock()

    with pytest.raises(ClusterBusyError):
        handle_event(on_fake_time(clock), **event(cid))

    # 3 s leave no room for a 2 s wait plus the work after it: no wait, one read.
    assert len([r for r in sim.arm_requests() if r.path.endswith("aks-slow")]) == 1
    assert clock.waits == []
    assert sim.write_requests() == []


@pytest.mark.parametrize("name", [".", ".."])
def test_a_dot_cluster_name_is_malformed_not_an_exception(
    app_env: Any, functions: dict[str, Any], caplog: pytest.LogCaptureFixture, name: str
) -> None:
    uri = cluster_id("x").rsplit("/", 1)[0] + "/" + name
    with caplog.at_level(logging.INFO):
        functions["on_resource_event"](grid_event(CLUSTER_WRITE, uri))
    assert app_env.requests == []
    assert any(r.levelno == logging.ERROR and "malformed event" in r.getMessage() for r in caplog.records)


def test_workspace_still_creating_at_the_events_deadline_is_recorded_once_and_redelivered(
    app_env: Any, ledger: TableLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = app_env
    sim.delete_workspace(WORKSPACE)  # the regional workspace must be created
    sim.lro_outcome = "never"
    sim.lro_retry_after_ms = None  # as ARM: polled at the product's own interval
    cid = sim.add_cluster(SUB_A, "rg-apps", "aks-new", "westeurope")
    monkeypatch.setenv("REMEDIATION_DEADLINE_SECONDS", "3")
    reset_runtime()
    clock = FakeClock()

    with pytest.raises(DeadlineExceeded):  # the function fails: Event Grid redelivers
        handle_event(on_fake_time(clock), **event(cid))

    assert sim.get_setting(cid, OURS) is None
    assert [c["event"] for c in ledger.list_changes()] == ["workspace.created"]

    assert clock.waits  # it polled until the deadline
    sim.lro_outcome = "Succeeded"  # the creation finishes; the redelivery completes the work
    handle_event(on_fake_time(clock), **event(cid))
    assert sim.get_setting(cid, OURS) is not None
    assert [c["event"] for c in ledger.list_changes()] == ["diagnostic_setting.created", "workspace.created"]
    assert len([r for r in sim.write_requests() if "/workspaces/" in r.path]) == 1


def test_an_unknown_category_on_the_event_path_is_logged_and_writes_nothing(
    app_env: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sim = app_env
    cid = sim.add_cluster(SUB_A, "rg-apps", "aks-1", "westeurope")
    monkeypatch.setenv("REMEDIATION_CATEGORIES", "kube-audt")
    reset_runtime()

    with caplog.at_level(logging.INFO):
        outcome = handle_event(get_runtime(), **event(cid))

    assert outcome.note == "unknown-categories"
    assert sim.write_requests() == []
    assert any(
        r.levelno == logging.ERROR and "kube-audt is not a log category" in r.getMessage() for r in caplog.records
    )
