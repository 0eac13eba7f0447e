"""The event path on a warm worker: few sequential round trips, stale knowledge corrected, our own writes dropped."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests

from armsim import sequential_rounds
from tests.support.constants import SUB_A, WORKSPACE
from tests.support.host import CLUSTER_WRITE, envelope_event, grid_event

OURS = "aks-audit-remediation"
SOMEONE_ELSE = "0be1e5e0-0000-4000-8000-0000000000ee"
# Long enough that two requests sent together always overlap in armsim's log, whatever the load.
LATENCY = 0.25

Functions = dict[str, Any]


def setting_puts(sim: Any) -> list[Any]:
    return [r for r in sim.write_requests() if r.path.lower().endswith(f"/diagnosticsettings/{OURS}")]


def new_cluster_event(sim: Any, functions: Functions, name: str) -> str:
    cid = sim.add_cluster(SUB_A, "rg-apps", name, "westeurope")
    sim.clear_requests()
    functions["on_resource_event"](grid_event(CLUSTER_WRITE, cid))
    assert sim.get_setting(cid, OURS) is not None
    return cid


def test_a_settled_new_cluster_takes_three_rounds_cold_and_two_warm(app_env: Any, functions: Functions) -> None:
    sim = app_env
    sim.latency = LATENCY

    new_cluster_event(sim, functions, "aks-first")  # a cold worker
    cold = sim.arm_requests()
    assert sequential_rounds(cold) == 3  # cluster | settings | categories, then the workspace, then the PUT
    assert len(cold) == 5

    new_cluster_event(sim, functions, "aks-second")  # warm: categories and the workspace are known
    warm = sim.arm_requests()
    assert sequential_rounds(warm) == 2  # cluster | settings, then the PUT
    assert sorted(r.method for r in warm) == ["GET", "GET", "PUT"]


def test_a_workspace_deleted_since_it_was_confirmed_is_created_again(app_env: Any, functions: Functions) -> None:
    sim = app_env
    new_cluster_event(sim, functions, "aks-first")  # the worker now knows the workspace exists
    sim.delete_workspace(WORKSPACE)

    cid = new_cluster_event(sim, functions, "aks-second")

    puts = setting_puts(sim)
    assert [p.status for p in puts] == [400, 200]  # rejected (LinkedResourceNotFound), decided again, written
    assert puts[0].response["error"]["code"] == "LinkedResourceNotFound"
    assert sim.workspace_exists(WORKSPACE)
    assert sim.get_setting(cid, OURS)["properties"]["workspaceId"].lower() == WORKSPACE.lower()


def test_our_own_write_is_not_news_but_a_foreign_write_is_repaired(
    app_env: Any, functions: Functions, caplog: pytest.LogCaptureFixture
) -> None:
    sim = app_env
    cid = new_cluster_event(sim, functions, "aks-one")
    (put,) = setting_puts(sim)

    # Event Grid delivers the diagnosticSettings/write our PUT caused: dropped, no ARM request at all
    ours = sim.event_for(put)
    assert ours["data"]["operationName"] == "Microsoft.Insights/diagnosticSettings/write"
    sim.clear_requests()
    with caplog.at_level(logging.DEBUG, logger="remediation.app.event_handler"):
        functions["on_resource_event"](envelope_event(ours))
    assert sim.arm_requests() == []
    dropped = [r for r in caplog.records if "caused by our own identity" in r.getMessage()]
    assert len(dropped) == 1 and dropped[0].levelno == logging.DEBUG

    # someone else deletes our setting: that event is reconciled and the setting comes back
    token, _ = sim.issue_token(sim.base_url, principal_id=SOMEONE_ELSE)
    url = f"{sim.base_url}{cid}/providers/Microsoft.Insights/diagnosticSettings/{OURS}?api-version=2021-05-01-preview"
    assert requests.delete(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
    assert sim.get_setting(cid, OURS) is None
    foreign = sim.event_for(sim.write_requests()[-1])
    assert foreign["data"]["claims"]["http://schemas.microsoft.com/identity/claims/objectidentifier"] == SOMEONE_ELSE
    sim.clear_requests()

    functions["on_resource_event"](envelope_event(foreign))

    assert sim.get_setting(cid, OURS) is not None
    assert [p.status for p in setting_puts(sim)] == [200]

    # and a foreign write by the same route (someone weakens it) is repaired too
    weakened = {"workspaceId": WORKSPACE, "logs": [{"category": "kube-audit", "enabled": True}]}
    assert (
        requests.put(
            url, json={"properties": weakened}, headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).status_code
        == 200
    )
    foreign_write = sim.event_for(sim.write_requests()[-1])
    sim.clear_requests()
    functions["on_resource_event"](envelope_event(foreign_write))
    enabled = {e["category"] for e in sim.get_setting(cid, OURS)["properties"]["logs"] if e["enabled"]}
    assert len(enabled) == 5
