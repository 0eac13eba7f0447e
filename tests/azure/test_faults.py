"""Issue 8, row by row: bounded runs, a complete audit trail, right classifications.

Every case runs the real engine and SDK clients against armsim with a fault injected between
them. Budgets (REMEDIATION_DEADLINE_SECONDS) run on a fake clock that moves when the product
waits (tests/support/clock.py), so a run reaches its deadline without real seconds passing and
whatever the machine's load; only a hung socket is real time, with a short budget and a hang the
test releases should the product wait past it. No sleeps, no timed assertions: each test asserts the
statuses, the change records (exactly one per change that happened, none for changes that did
not), that other settings are untouched, and that the run ends.
"""

from __future__ import annotations

import functools
import logging
import threading

import pytest

from remediation.azure import clients
from remediation.azure.calls import OUTER_WAITS
from remediation.azure.policies import RETRY_AFTER_CAP, RETRY_TOTAL
from remediation.engine.changelog import CHANGES_LOGGER
from remediation.kit.clock import SYSTEM_CLOCK
from tests.support.builders import by_name, entries, region_ws, ws_id
from tests.support.clock import FakeClock
from tests.support.constants import REQUIRED, SUB_A, SUB_B, USER_RG

USER_WS = ws_id(SUB_A, USER_RG, "law-user")
OURS = "aks-audit-remediation"


@pytest.fixture
def clock() -> FakeClock:
    """The runs' clock, and the process's model of ARM's limits' (a 429's Retry-After is waited there)."""
    clock = FakeClock()
    clients.forget_pacer(clock)
    return clock


@pytest.fixture
def sweep(sweep, clock):
    """Runs whose deadlines (and so every wait) are on ``clock``."""
    return functools.partial(sweep, clock=clock)


def changes(caplog) -> list[dict]:
    return [r.change for r in caplog.records if r.name == CHANGES_LOGGER]


def events(caplog) -> list[str]:
    return [c["event"] for c in changes(caplog)]


def puts(sim, contains: str) -> list:
    return [r for r in sim.write_requests() if r.method == "PUT" and contains.lower() in r.path.lower()]


def with_team_setting(sim, cid: str) -> dict:
    sim.put_setting(cid, "team-logs", {"workspaceId": USER_WS, "logs": entries("kube-apiserver")})
    return sim.get_setting(cid, "team-logs")


# --- hangs and unbounded waits -------------------------------------------------------------------


def test_workspace_creation_that_never_completes_ends_at_the_deadline_and_is_recorded_once(
    estate, sweep, clock, caplog
):
    estate.lro_outcome = "never"
    estate.lro_retry_after_ms = None  # as ARM: polled at the product's own interval
    cid = estate.add_cluster(SUB_A, "rg-app", "aks-new", "eastus")
    team = with_team_setting(estate, cid)
    caplog.set_level(logging.INFO, logger=CHANGES_LOGGER)
    doc = sweep("apply", REMEDIATION_DEADLINE_SECONDS="3")

    cluster = by_name(doc)["aks-new"]
    assert (cluster["status"], cluster["reason"]) == ("deferred", "deadline")
    assert estate.get_setting(cid, OURS) is None  # never written to a workspace that is not Succeeded
    assert estate.get_workspace(region_ws(SUB_A, "eastus"))["properties"]["provisioningState"] == "Creating"
    assert events(caplog) == ["resource_group.created", "workspace.created"]  # it exists: recorded
    assert len(puts(estate, "workspaces/")) == 1

    # The next run finds it still Creating: no second PUT, nothing recorded, still not written.
    assert clock.waits  # it polled until the deadline
    estate.clear_requests()
    caplog.clear()
    doc = sweep("apply", REMEDIATION_DEADLINE_SECONDS="3")

    cluster = by_name(doc)["aks-new"]
    assert (cluster["status"], cluster["reason"]) == ("deferred", "deadline")
    assert estate.write_requests() == []
    assert events(caplog) == []
    assert estate.get_setting(cid, "team-logs") == team

    # Once it has finished, the cluster is remediated and only the setting is recorded.
    estate.lro_outcome = "Succeeded"
    caplog.clear()
    doc = sweep("apply", REMEDIATION_DEADLINE_SECONDS="20")
    assert by_name(doc)["aks-new"]["status"] == "remediated"
    assert events(caplog) == ["diagnostic_setting.created"]
    assert len(puts(estate, "workspaces/")) == 0


def test_retry_after_is_capped_and_never_waited_past_the_budget(estate, sweep, clock):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    # ARM asks for an hour: the wait is capped (10 s) and, as that does not fit in 5 s, not waited at all.
    estate.inject_fault(method="GET", path_contains="managedClusters", status=429, retry_after=3600, times=None)

    doc = sweep("report", REMEDIATION_DEADLINE_SECONDS="5")

    assert clock.waits == []
    assert doc["clusters"] == []
    assert doc["summary"]["unreadable_subscriptions"] == 1
    # a 429 whose wait outlasts the budget is reported as throttling (issue 7), not as a generic deadline
    assert [(e["scope"], e["code"]) for e in doc["errors"]] == [(f"/subscriptions/{SUB_A}", "throttled")]
    assert len([r for r in estate.arm_requests() if r.path.endswith("managedClusters")]) == 1


def test_retry_after_beyond_the_cap_is_waited_for_the_cap_when_the_budget_allows(estate, sweep, clock):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    # Retry-After 12 s with a 12 s budget: uncapped it would not fit (the read would give up);
    # capped at 10 s it fits, and the second try succeeds.
    estate.inject_fault(method="GET", path_contains="managedClusters", status=429, retry_after=12, times=1)

    doc = sweep("report", REMEDIATION_DEADLINE_SECONDS="12")

    assert by_name(doc)["aks-1"]["status"] == "non_compliant"
    statuses = [r.status for r in estate.arm_requests() if r.path.endswith("managedClusters")]
    assert statuses == [429, 200]
    assert clock.waits == [RETRY_AFTER_CAP]


def test_a_hung_endpoint_costs_the_budget_not_minutes_per_call(estate, sweep):
    hung = estate.add_cluster(SUB_A, "rg-app", "aks-hung", "eastus")
    # Real time (a socket's timeout): the request hangs until released, which happens only if the run
    # is still waiting for it well past its 1.5 s budget (then the cluster would be read, and remediated).
    release = threading.Event()
    estate.inject_fault(
        method="GET", path_contains="aks-hung/providers/Microsoft.Insights/diagnosticSettings", hang=True, times=None,
        release=release,
    )  # fmt: skip
    watchdog = threading.Timer(10.0, release.set)
    watchdog.start()
    try:
        doc = sweep("apply", clock=SYSTEM_CLOCK, REMEDIATION_DEADLINE_SECONDS="1.5")
    finally:
        watchdog.cancel()

    cluster = by_name(doc)["aks-hung"]
    assert (cluster["status"], cluster["reason"]) == ("deferred", "deadline")
    assert estate.write_requests() == []
    assert estate.get_setting(hung, OURS) is None
    assert not release.is_set()


def test_a_failing_category_lookup_is_retried_by_one_caller_not_by_every_cluster(estate, sweep, clock):
    ids = [estate.add_cluster(SUB_A, "rg-app", f"aks-{i}", "eastus") for i in range(10)]
    estate.inject_fault(
        method="GET", path_contains="diagnosticSettingsCategories", status=503, retry_after=0, times=None
    )

    doc = sweep("apply", REMEDIATION_DEADLINE_SECONDS="4")

    assert {(c["status"], c["reason"]) for c in doc["clusters"]} == {("deferred", "deadline")}
    assert len(doc["clusters"]) == len(ids)
    lookups = [r for r in estate.arm_requests() if "diagnosticSettingsCategories" in r.path]
    # One caller's tries: the SDK's, then again after the first outer wait (the second does not fit in 4 s).
    assert len(lookups) == (RETRY_TOTAL + 1) * 2
    assert clock.waits == [OUTER_WAITS[0]]
    assert estate.write_requests() == []


# --- lost or false audit records -------------------------------------------------------------------


def test_setting_put_applied_but_every_response_lost_is_recorded_once(estate, sweep, caplog):
    estate.add_workspace(SUB_A, "rg-aks-audit-logs", "law-aks-audit-eastus", "eastus")
    cid = estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    team = with_team_setting(estate, cid)
    estate.inject_fault(
        method="PUT", path_contains=f"diagnosticSettings/{OURS}", status=None, drop_connection=True,
        apply_first=True, times=None,
    )  # fmt: skip
    caplog.set_level(logging.INFO, logger=CHANGES_LOGGER)

    doc = sweep("apply")

    assert by_name(doc)["aks-1"]["status"] == "remediated"
    assert len(puts(estate, f"diagnosticSettings/{OURS}")) == RETRY_TOTAL + 1  # every answer was lost
    assert estate.get_setting(cid, OURS) is not None
    assert events(caplog) == ["diagnostic_setting.created"]
    assert estate.get_setting(cid, "team-logs") == team


def test_setting_put_that_did_not_take_effect_is_failed_and_not_recorded(estate, sweep, caplog):
    estate.add_workspace(SUB_A, "rg-aks-audit-logs", "law-aks-audit-eastus", "eastus")
    cid = estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    estate.inject_fault(method="PUT", path_contains="diagnosticSettings", status=None, drop_connection=True, times=None)
    caplog.set_level(logging.INFO, logger=CHANGES_LOGGER)

    doc = sweep("apply")

    assert (by_name(doc)["aks-1"]["status"], by_name(doc)["aks-1"]["reason"]) == ("failed", "ConnectionError")
    assert estate.get_setting(cid, OURS) is None
    assert events(caplog) == []


def test_workspace_put_applied_but_response_lost_is_read_back_and_recorded_once(estate, sweep, caplog):
    cid = estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    estate.inject_fault(
        method="PUT", path_contains="workspaces/law-aks-audit-eastus", status=None, drop_connection=True,
        apply_first=True,
    )  # fmt: skip
    caplog.set_level(logging.INFO, logger=CHANGES_LOGGER)

    doc = sweep("apply")

    assert by_name(doc)["aks-1"]["status"] == "remediated"
    assert len(puts(estate, "workspaces/")) == 1  # read back, never PUT again
    assert estate.get_workspace(region_ws(SUB_A, "eastus"))["properties"]["provisioningState"] == "Succeeded"
    assert events(caplog) == ["resource_group.created", "workspace.created", "diagnostic_setting.created"]
    assert doc["workspaces"] == [{"id": region_ws(SUB_A, "eastus"), "location": "eastus", "action": "created"}]
    assert estate.get_setting(cid, OURS) is not None


def test_workspace_whose_creation_ends_failed_is_recorded_and_blocks_without_a_write(estate, sweep, caplog):
    estate.lro_outcome = "Failed"
    cid = estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    caplog.set_level(logging.INFO, logger=CHANGES_LOGGER)

    doc = sweep("apply")

    cluster = by_name(doc)["aks-1"]
    assert (cluster["status"], cluster["reason"]) == ("blocked", "workspace-failed")
    assert cluster["missing_categories"] == REQUIRED
    assert events(caplog) == ["resource_group.created", "workspace.created"]
    assert estate.get_setting(cid, OURS) is None

    # The next run finds it Failed: reported, not used, not PUT again, nothing recorded.
    estate.clear_requests()
    caplog.clear()
    doc = sweep("apply")
    assert (by_name(doc)["aks-1"]["status"], by_name(doc)["aks-1"]["reason"]) == ("blocked", "workspace-failed")
    assert estate.write_requests() == []
    assert events(caplog) == []


def test_conflict_on_workspace_put_reuses_the_rivals_workspace_untouched_and_records_nothing(estate, sweep, caplog):
    cid = estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    estate.add_resource_group(SUB_A, "rg-aks-audit-logs", "eastus")

    def rival_creates_it() -> None:
        estate.add_workspace(
            SUB_A, "rg-aks-audit-logs", "law-aks-audit-eastus", "eastus", retention_in_days=45, tags={"owner": "team-x"}
        )

    estate.inject_fault(method="PUT", path_contains="workspaces/", status=409, code="Conflict", before=rival_creates_it)
    caplog.set_level(logging.INFO, logger=CHANGES_LOGGER)

    doc = sweep("apply")

    assert by_name(doc)["aks-1"]["status"] == "remediated"
    workspace = estate.get_workspace(region_ws(SUB_A, "eastus"))
    assert workspace["tags"] == {"owner": "team-x"}
    assert workspace["properties"]["retentionInDays"] == 45
    assert len(puts(estate, "workspaces/")) == 1
    assert events(caplog) == ["diagnostic_setting.created"]
    assert doc["workspaces"] == [{"id": region_ws(SUB_A, "eastus"), "location": "eastus", "action": "reused"}]
    assert estate.get_setting(cid, OURS)["properties"]["workspaceId"].lower() == region_ws(SUB_A, "eastus").lower()


def test_two_concurrent_applies_record_each_workspace_once(estate, sweep, caplog):
    regions = ("eastus", "westeurope", "northeurope")
    for i, region in enumerate(regions * 2):
        estate.add_cluster(SUB_A, "rg-app", f"aks-{i}", region)
    caplog.set_level(logging.INFO, logger=CHANGES_LOGGER)
    docs: list = []

    def apply() -> None:
        docs.append(sweep("apply"))

    threads = [threading.Thread(target=apply) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(docs) == 2
    recorded = events(caplog)
    assert recorded.count("workspace.created") == len(regions)
    assert recorded.count("resource_group.created") == 1
    created = [c["resource_id"].lower() for c in changes(caplog) if c["event"] == "workspace.created"]
    assert sorted(created) == sorted(region_ws(SUB_A, r).lower() for r in regions)


# --- classifications ----------------------------------------------------------------------------------


def test_a_burst_of_503_when_listing_clusters_is_retried_within_the_budget(estate, sweep):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    burst = (RETRY_TOTAL + 1) + 2  # more than the SDK's own tries
    estate.inject_fault(method="GET", path_contains="managedClusters", status=503, retry_after=0, times=burst)

    doc = sweep("report")

    assert by_name(doc)["aks-1"]["status"] == "non_compliant"
    assert doc["errors"] == []
    listing = [r.status for r in estate.arm_requests() if r.path.endswith("managedClusters")]
    assert listing == [503] * burst + [200]
    assert OUTER_WAITS[0] < 5  # the first outer wait is short


def test_a_workspace_found_failed_is_reported_not_used(estate, sweep, caplog):
    cid = estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    wid = estate.add_workspace(SUB_A, "rg-aks-audit-logs", "law-aks-audit-eastus", "eastus")
    estate.workspaces[wid.lower()]["properties"]["provisioningState"] = "Failed"
    caplog.set_level(logging.INFO, logger=CHANGES_LOGGER)

    doc = sweep("apply")

    assert (by_name(doc)["aks-1"]["status"], by_name(doc)["aks-1"]["reason"]) == ("blocked", "workspace-failed")
    assert estate.write_requests() == []
    assert events(caplog) == []
    assert estate.get_setting(cid, OURS) is None


def test_an_unreadable_subscription_keeps_its_place_in_the_summary(estate, sweep):
    estate.add_cluster(SUB_A, "rg-app", "aks-a", "eastus")
    estate.add_subscription(SUB_B, "locked")
    estate.add_cluster(SUB_B, "rg-app", "aks-b", "eastus")
    estate.forbid_subscription(SUB_B)

    doc = sweep("report", REMEDIATION_SUBSCRIPTION_IDS=f"{SUB_A},{SUB_B}")

    assert doc["summary"]["clusters"] == 1
    assert doc["summary"]["unreadable_subscriptions"] == 1
    assert [(e["scope"], e["code"]) for e in doc["errors"]] == [(f"/subscriptions/{SUB_B}", "AuthorizationFailed")]


def test_resource_group_put_applied_but_response_lost_is_read_back_and_recorded_once(estate, sweep, caplog):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    estate.inject_fault(
        method="PUT", path_contains="resourceGroups/rg-aks-audit-logs", status=504, apply_first=True, times=1
    )
    caplog.set_level(logging.INFO, logger=CHANGES_LOGGER)

    doc = sweep("apply")

    assert by_name(doc)["aks-1"]["status"] == "remediated"
    group_puts = [r for r in estate.write_requests() if r.path.lower().endswith("/resourcegroups/rg-aks-audit-logs")]
    assert [(r.status, r.applied) for r in group_puts] == [(504, 201)]  # applied, answer lost, not sent again
    assert events(caplog) == ["resource_group.created", "workspace.created", "diagnostic_setting.created"]


def test_workspace_put_that_failed_before_taking_effect_is_sent_again_and_recorded_once(estate, sweep, caplog):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")
    estate.inject_fault(method="PUT", path_contains="workspaces/", status=503, retry_after=0, times=1)
    caplog.set_level(logging.INFO, logger=CHANGES_LOGGER)

    doc = sweep("apply")

    assert by_name(doc)["aks-1"]["status"] == "remediated"
    assert [r.status for r in puts(estate, "workspaces/")] == [503, 201]
    assert events(caplog) == ["resource_group.created", "workspace.created", "diagnostic_setting.created"]
