"""Long-running operations as slow as real ones (issue 15 D): armsim's workspace creation takes its time
(on a clock the test moves) and sends no Retry-After, so the product polls at its own interval until its
deadline; the next run finishes the job without a second workspace or a duplicate record. armsim and the
run's deadline share one fake clock: the product's polls move it, no real second passes."""

from __future__ import annotations

import logging
from typing import Any

from remediation.engine.changelog import CHANGES_LOGGER
from tests.support.builders import region_ws
from tests.support.clock import FakeClock
from tests.support.constants import SUB_A


def workspace_puts(sim: Any) -> list[Any]:
    return [r for r in sim.write_requests() if r.method == "PUT" and "/workspaces/" in r.path.lower()]


def test_a_workspace_slower_than_the_run_is_deferred_and_the_next_run_finishes_the_job(
    sim_factory: Any, sweep: Any, caplog: Any
) -> None:
    sim = sim_factory(workspace_creation_seconds=40.0, lro_polls=0, lro_retry_after_ms=None)
    sim.clock = clock = FakeClock()  # armsim's operations and the run's deadline: the creation ends when the test says
    sim.add_subscription(SUB_A, "prod")
    cid = sim.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    caplog.set_level(logging.INFO, logger=CHANGES_LOGGER)

    first = sweep("apply", clock=clock, REMEDIATION_DEADLINE_SECONDS="4")

    (cluster,) = first["clusters"]
    assert (cluster["status"], cluster["reason"]) == ("deferred", "deadline")
    assert sim.get_setting(cid, "aks-audit-remediation") is None
    assert len(workspace_puts(sim)) == 1
    polls = [r for r in sim.arm_requests() if "/operationstatuses/" in r.path.lower()]
    assert polls and all(r.response["status"] == "InProgress" for r in polls)
    assert not any("retry-after" in h.lower() for r in polls for h in (r.headers or {}))

    assert 0 < sum(clock.waits) <= 4.0  # polled at its own interval, within the budget
    clock.advance(40.0)  # the creation is done
    second = sweep("apply", clock=clock)

    (cluster,) = second["clusters"]
    assert cluster["status"] == "remediated"
    assert sim.get_setting(cid, "aks-audit-remediation") is not None
    assert len(workspace_puts(sim)) == 1, "no second workspace"
    events = [r.change["event"] for r in caplog.records if r.name == CHANGES_LOGGER]
    assert events.count("workspace.created") == 1, events
    assert sim.get_workspace(region_ws(SUB_A, "eastus"))["properties"]["provisioningState"] == "Succeeded"
