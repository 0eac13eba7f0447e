"""on_resource_event: the Event Grid path, through the real SDK against armsim and the ledger on Azurite."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from remediation.app.event_handler import EVENT_GRID_RESPONSE_TIMEOUT, SETTLE_TIMEOUT, handle_event
from remediation.app.runtime import get_runtime
from remediation.azure.ledger import TableLedger
from remediation.errors import ClusterBusyError, TransientArmError
from tests.support.clock import FakeClock
from tests.support.constants import REQUIRED, SUB_A, SUB_B, WORKSPACE
from tests.support.host import (
    CLUSTER_WRITE,
    DELETE,
    SETTING_DELETE,
    SETTING_WRITE,
    WRITE,
    cluster_id,
    example_event,
    grid_event,
    mixed_case,
    setting_id,
)

Functions = dict[str, Callable[..., Any]]
OURS = "aks-audit-remediation"


def setting_puts(sim: Any) -> list[Any]:
    return [r for r in sim.write_requests() if "/diagnosticsettings/" in r.path.lower()]


def describe(request: Any) -> str:
    """'GET managedClusters/aks-new' style: method and the resource path after the subscription."""
    path = request.path
    if request.kind == "identity":
        return f"{request.method} identity token"
    tail = path.split("/providers/", 1)[-1] if "/providers/" in path else path
    return f"{request.method} {tail.replace(f'/subscriptions/{SUB_A}', '')}"


def test_new_cluster_still_creating_is_remediated_once_it_has_settled(
    app_env: Any, functions: Functions, ledger: TableLedger
) -> None:
    sim = app_env
    cid = sim.add_cluster(SUB_A, "rg-apps", "aks-new", "westeurope", provisioning_state="Creating")
    sim.settle_after_reads(cid, reads=1)  # still Creating at the first read, Succeeded from the second
    assert sim.get_cluster(cid)["properties"]["provisioningState"] == "Creating"

    functions["on_resource_event"](grid_event(CLUSTER_WRITE, mixed_case(cid)))

    cluster_reads = [
        i for i, r in enumerate(sim.arm_requests()) if r.method == "GET" and r.path.lower().endswith("/aks-new")
    ]
    assert len(cluster_reads) == 2, "read once while Creating, once more after the settle wait"
    puts = setting_puts(sim)
    assert len(puts) == 1
    assert sim.arm_requests().index(puts[0]) > cluster_reads[1], (
        "nothing was written while the cluster was provisioning"
    )
    assert puts[0].body["properties"]["workspaceId"].lower() == WORKSPACE.lower()
    assert sorted(log["category"] for log in puts[0].body["properties"]["logs"]) == sorted(REQUIRED)
    assert sim.get_setting(cid, OURS) is not None

    changes = ledger.list_changes(cluster_id=cid)
    assert len(changes) == 1
    assert changes[0]["event"] == "diagnostic_setting.created"
    assert changes[0]["trigger"] == "event_grid"
    assert changes[0]["categories_after"] == REQUIRED

    # The ARM requests of the event path for a brand-new cluster, in order.
    arm = [describe(r) for r in sim.arm_requests()]
    aks = "Microsoft.ContainerService/managedClusters/aks-new"
    cluster = f"GET {aks}"
    settings = f"GET {aks}/providers/Microsoft.Insights/diagnosticSettings"
    # Creating: assessed as it is (nothing to wait for if it were already compliant); the cluster,
    # its settings and (in a cold worker) the category metadata are read at the same time
    # (read by the ID as the event spells it: ARM compares IDs case-insensitively)
    assert sorted(a.lower() for a in arm[:3]) == sorted(a.lower() for a in [cluster, f"{settings}Categories", settings])
    assert arm[3:] == [
        cluster,  # after the settle wait: Succeeded
        settings,  # read again: the state may have changed while it provisioned
        "GET Microsoft.OperationalInsights/workspaces/law-aks-audit-westeurope",
        f"PUT {aks}/providers/Microsoft.Insights/diagnosticSettings/aks-audit-remediation",
    ]
    print("\nARM requests on the event path for a new cluster:", *arm, sep="\n  ")


def test_busy_cluster_that_is_already_compliant_needs_no_wait(app_env: Any, functions: Functions) -> None:
    sim = app_env
    cid = sim.add_cluster(SUB_A, "rg-apps", "aks-upgrading", "westeurope", provisioning_state="Upgrading")
    sim.put_setting(cid, "team", {"workspaceId": WORKSPACE, "logs": [{"categoryGroup": "allLogs", "enabled": True}]})

    functions["on_resource_event"](grid_event(CLUSTER_WRITE, cid))

    requests = sim.arm_requests()
    # cluster, categories, settings, workspace; then, no record having arrived yet, the Activity Log
    # (real ARM sends no systemData: when was the setting written?)
    assert [r.method for r in requests] == ["GET"] * 5
    assert requests[4].path.lower().endswith("/providers/microsoft.insights/eventtypes/management/values")
    assert sim.write_requests() == []


def test_settled_new_cluster_takes_five_arm_requests(app_env: Any, functions: Functions) -> None:
    sim = app_env
    cid = sim.add_cluster(SUB_A, "rg-apps", "aks-ready", "westeurope")
    functions["on_resource_event"](grid_event(CLUSTER_WRITE, cid))
    assert [r.method for r in sim.arm_requests()] == ["GET", "GET", "GET", "GET", "PUT"]
    assert len(sim.identity_requests()) <= 1


def test_duplicate_delivery_writes_nothing(app_env: Any, functions: Functions, ledger: TableLedger) -> None:
    sim = app_env
    cid = sim.add_cluster(SUB_A, "rg-apps", "aks-dup", "westeurope")
    event = grid_event(CLUSTER_WRITE, cid, event_id="same-id")
    functions["on_resource_event"](event)
    assert len(setting_puts(sim)) == 1
    sim.clear_requests()
    functions["on_resource_event"](event)
    functions["on_resource_event"](grid_event(CLUSTER_WRITE, mixed_case(cid)))  # same cluster, another delivery
    assert sim.write_requests() == []
    assert len(ledger.list_changes(cluster_id=cid)) == 1


def test_our_own_write_event_causes_no_further_write(app_env: Any, functions: Functions) -> None:
    """Our PUT produces a setting write event; handling it finds the cluster compliant."""
    sim = app_env
    cid = sim.add_cluster(SUB_A, "rg-apps", "aks-echo", "westeurope")
    functions["on_resource_event"](grid_event(CLUSTER_WRITE, cid))
    sim.clear_requests()
    functions["on_resource_event"](grid_event(SETTING_WRITE, setting_id(cid)))
    assert sim.write_requests() == []


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(lambda: example_event("resource_write_success.json"), id="official write example (storage)"),
        pytest.param(lambda: example_event("resource_delete_success.json"), id="official delete example (storage)"),
        pytest.param(
            lambda: grid_event(
                "Microsoft.ContainerService/managedClusters/agentPools/write", cluster_id("a") + "/agentPools/np"
            ),
            id="agent pool write",
        ),
        pytest.param(
            lambda: grid_event(
                SETTING_WRITE,
                f"/subscriptions/{SUB_A}/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv/providers/"
                "Microsoft.Insights/diagnosticSettings/x",
            ),
            id="setting on a key vault",
        ),
        pytest.param(lambda: grid_event(CLUSTER_WRITE, cluster_id("a", sub=SUB_B)), id="out-of-scope subscription"),
        pytest.param(
            lambda: grid_event("Microsoft.ContainerService/managedClusters/delete", cluster_id("a"), event_type=DELETE),
            id="cluster delete",
        ),
    ],
)
def test_unrelated_events_make_no_request(app_env: Any, functions: Functions, event: Callable[[], Any]) -> None:
    functions["on_resource_event"](event())
    assert app_env.requests == [], "no ARM request, not even a token"


def test_our_setting_deleted_is_recreated_by_the_delete_event(
    app_env: Any, functions: Functions, ledger: TableLedger
) -> None:
    sim = app_env
    cid = sim.add_cluster(SUB_A, "rg-apps", "aks-drift", "westeurope")
    functions["on_resource_event"](grid_event(CLUSTER_WRITE, cid))
    assert sim.get_setting(cid, OURS) is not None
    sim.delete_setting(cid, OURS)
    sim.clear_requests()

    functions["on_resource_event"](grid_event(SETTING_DELETE, mixed_case(setting_id(cid)), event_type=DELETE))

    assert len(setting_puts(sim)) == 1
    restored = sim.get_setting(cid, OURS)
    assert restored is not None
    assert sorted(log["category"] for log in restored["properties"]["logs"]) == sorted(REQUIRED)
    assert [c["event"] for c in ledger.list_changes(cluster_id=cid)] == ["diagnostic_setting.created"] * 2


def test_weakened_setting_of_ours_gets_its_categories_back(app_env: Any, functions: Functions) -> None:
    sim = app_env
    cid = sim.add_cluster(SUB_A, "rg-apps", "aks-weak", "westeurope")
    sim.put_setting(
        cid,
        OURS,
        {"workspaceId": WORKSPACE, "logs": [{"category": "kube-apiserver", "enabled": True}]},
    )
    functions["on_resource_event"](grid_event(SETTING_WRITE, setting_id(cid)))
    restored = sim.get_setting(cid, OURS)
    assert restored is not None
    assert sorted(log["category"] for log in restored["properties"]["logs"] if log["enabled"]) == sorted(REQUIRED)


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(lambda: grid_event(CLUSTER_WRITE, None), id="no resourceUri"),
        pytest.param(
            lambda: grid_event(CLUSTER_WRITE, "/subscriptions/not-a-guid/resourceGroups/x"), id="bad resourceUri"
        ),
        pytest.param(
            lambda: grid_event(SETTING_DELETE, cluster_id("a"), event_type=DELETE), id="setting event, no setting ID"
        ),
    ],
)
def test_malformed_event_is_logged_and_returns(
    app_env: Any, functions: Functions, event: Callable[[], Any], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        functions["on_resource_event"](event())
    assert app_env.requests == []
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "malformed event" in errors[0].getMessage()


def test_wrong_data_shape_is_malformed(app_env: Any, functions: Functions, caplog: pytest.LogCaptureFixture) -> None:
    event = grid_event(CLUSTER_WRITE, cluster_id("a"))
    event._EventGridEvent__data = ["not", "an", "object"]  # type: ignore[attr-defined]
    with caplog.at_level(logging.ERROR):
        functions["on_resource_event"](event)
    assert app_env.requests == []
    assert any("malformed event" in r.getMessage() for r in caplog.records)


def test_report_mode_event_writes_nothing(
    app_env: Any, functions: Functions, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("REMEDIATION_MODE", "report")
    sim = app_env
    cid = sim.add_cluster(SUB_A, "rg-apps", "aks-watch", "westeurope")
    with caplog.at_level(logging.INFO):
        functions["on_resource_event"](grid_event(CLUSTER_WRITE, cid))
    assert sim.write_requests() == []
    assert sim.get_setting(cid, OURS) is None
    findings = [r for r in caplog.records if "report mode" in r.getMessage()]
    assert len(findings) == 1
    assert findings[0].levelno == logging.WARNING
    assert findings[0].cluster_id == cid  # type: ignore[attr-defined]
    assert "kube-audit" in findings[0].getMessage()


def test_cluster_deleted_meanwhile_returns_normally(
    app_env: Any, functions: Functions, caplog: pytest.LogCaptureFixture
) -> None:
    gone = cluster_id("aks-gone")
    with caplog.at_level(logging.INFO):
        functions["on_resource_event"](grid_event(CLUSTER_WRITE, gone))
    assert app_env.write_requests() == []
    assert any("no longer exists" in r.getMessage() for r in caplog.records)


def test_transient_failure_that_outlasts_retries_raises(app_env: Any, functions: Functions) -> None:
    sim = app_env
    cid = sim.add_cluster(SUB_A, "rg-apps", "aks-flaky", "westeurope")
    sim.inject_fault(method="GET", path_contains="aks-flaky", status=503, retry_after=0, times=None)
    clock = FakeClock()  # the event's 25 s, waited between tries on a fake clock
    with pytest.raises(TransientArmError):
        handle_event(
            replace(get_runtime(), clock=clock),
            event_id="e1",
            event_type=WRITE,
            subject=cid,
            data={"operationName": CLUSTER_WRITE, "resourceUri": cid},
        )
    assert clock.waits == [2.0, 4.0, 8.0]  # tried again 2, 4, 8 s later, then no time was left for 10 s
    assert sim.write_requests() == []
    sim.clear_faults()
    functions["on_resource_event"](grid_event(CLUSTER_WRITE, cid))  # Event Grid redelivers
    assert len(setting_puts(sim)) == 1


def test_transient_failure_that_retries_absorb_is_invisible(app_env: Any, functions: Functions) -> None:
    sim = app_env
    cid = sim.add_cluster(SUB_A, "rg-apps", "aks-blip", "westeurope")
    sim.inject_fault(method="PUT", path_contains="diagnosticSettings", status=429, retry_after=0, times=1)
    functions["on_resource_event"](grid_event(CLUSTER_WRITE, cid))
    assert sim.get_setting(cid, OURS) is not None


def test_cluster_that_does_not_settle_in_the_budget_raises(app_env: Any) -> None:
    sim = app_env
    cid = sim.add_cluster(SUB_A, "rg-apps", "aks-slow", "westeurope", provisioning_state="Creating")
    with pytest.raises(ClusterBusyError):
        handle_event(
            get_runtime(),
            event_id="e1",
            event_type=WRITE,
            subject=cid,
            data={"operationName": CLUSTER_WRITE, "resourceUri": cid},
            settle_timeout=0.3,
            settle_wait=(0.05, 0.1),
        )
    assert sim.write_requests() == []
    assert len([r for r in sim.arm_requests() if r.path.endswith("aks-slow")]) >= 2


def test_settle_budget_fits_event_grid_and_the_function_timeout() -> None:
    import json
    from pathlib import Path

    host = json.loads((Path(__file__).resolve().parents[2] / "host.json").read_text())
    hours, minutes, seconds = (int(x) for x in host["functionTimeout"].split(":"))
    assert SETTLE_TIMEOUT < EVENT_GRID_RESPONSE_TIMEOUT < hours * 3600 + minutes * 60 + seconds


def test_ledger_outage_does_not_block_the_remediation(
    app_env: Any, functions: Functions, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(
        "AzureWebJobsStorage",
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=AAAA;"
        "TableEndpoint=http://127.0.0.1:9/devstoreaccount1;",
    )
    sim = app_env
    cid = sim.add_cluster(SUB_A, "rg-apps", "aks-nolog", "westeurope")
    with caplog.at_level(logging.INFO):
        functions["on_resource_event"](grid_event(CLUSTER_WRITE, cid))
    assert sim.get_setting(cid, OURS) is not None, "remediation done"
    lost = [r for r in caplog.records if r.levelno == logging.ERROR and getattr(r, "ledger_failed", False)]
    assert len(lost) == 1
    assert lost[0].change["cluster_id"].lower() == cid.lower()  # type: ignore[attr-defined]  # ARM's spelling
    assert lost[0].change["categories_after"] == REQUIRED  # type: ignore[attr-defined]


def test_template_deployment_with_several_write_events_writes_once(app_env: Any, functions: Functions) -> None:
    """A deployment sends several write events with one correlationId, possibly out of order."""
    sim = app_env
    cid = sim.add_cluster(SUB_A, "rg-apps", "aks-arm", "westeurope")
    for event in (
        grid_event(SETTING_WRITE, setting_id(cid, "user-setting"), correlation_id="deploy-1"),
        grid_event(CLUSTER_WRITE, cid, correlation_id="deploy-1"),
        grid_event(CLUSTER_WRITE, mixed_case(cid), correlation_id="deploy-1"),
    ):
        functions["on_resource_event"](event)
    assert len(setting_puts(sim)) == 1
