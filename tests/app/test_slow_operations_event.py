"""The event path against a workspace creation as slow as real ones (issue 15 D): no Retry-After, seconds of
work (on a clock the test moves, which the event's deadline shares: the product's polls move it). The
event's budget runs out, the function fails so that Event Grid redelivers, and the redelivery finishes the
job: one workspace, one record of each change."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from remediation.app.event_handler import handle_event
from remediation.app.runtime import get_runtime, reset_runtime
from remediation.azure.ledger import TableLedger
from remediation.kit.deadline import DeadlineExceeded
from tests.support.clock import FakeClock
from tests.support.constants import SUB_A, WORKSPACE
from tests.support.host import CLUSTER_WRITE, WRITE

OURS = "aks-audit-remediation"


def test_a_workspace_slower_than_the_events_budget_is_finished_by_the_redelivery(
    app_env: Any, ledger: TableLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = app_env
    sim.delete_workspace(WORKSPACE)  # the regional workspace must be created
    sim.lro_retry_after_ms = None  # as ARM: the product polls at its own interval
    sim.lro_polls = 0
    sim.workspace_creation_seconds = 40.0
    sim.clock = clock = FakeClock()
    cid = sim.add_cluster(SUB_A, "rg-apps", "aks-new", "westeurope")
    monkeypatch.setenv("REMEDIATION_DEADLINE_SECONDS", "3")
    reset_runtime()
    runtime = replace(get_runtime(), clock=clock)
    event = {
        "event_id": "e1",
        "event_type": WRITE,
        "subject": cid,
        "data": {"operationName": CLUSTER_WRITE, "resourceUri": cid},
    }

    with pytest.raises(DeadlineExceeded):  # the function fails: Event Grid redelivers
        handle_event(runtime, **event)

    assert sim.get_setting(cid, OURS) is None
    polls = [r for r in sim.arm_requests() if "/operationstatuses/" in r.path.lower()]
    assert polls and {r.response["status"] for r in polls} == {"InProgress"}
    assert [c["event"] for c in ledger.list_changes()] == ["workspace.created"]

    assert 0 < sum(clock.waits) <= 3.0  # polled at its own interval, within the budget
    clock.advance(40.0)  # the creation ends; Event Grid's redelivery completes the work
    handle_event(runtime, **event)

    assert sim.get_setting(cid, OURS) is not None
    assert [c["event"] for c in ledger.list_changes()] == ["diagnostic_setting.created", "workspace.created"]
    assert len([r for r in sim.write_requests() if r.method == "PUT" and "/workspaces/" in r.path]) == 1
