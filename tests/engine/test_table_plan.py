"""REMEDIATION_AUDIT_TABLE_PLAN=basic through the real azure-mgmt-loganalytics tables client against armsim."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from remediation.azure.gateway import ArmGateway
from remediation.azure.ledger import from_entity, to_entities
from remediation.config.values import Mode
from remediation.core.changes import ChangeRecord
from remediation.core.model import Trigger
from remediation.core.report import exit_code
from remediation.engine.sweep import run
from remediation.output.render import render
from tests.support.builders import by_name, entries, region_ws
from tests.support.constants import REQUIRED, SUB_A, USER_RG

OURS_TAG = {"managed-by": "aks-audit-remediation"}


@pytest.fixture
def plan_run(configure):
    def go(mode: str = "apply", sinks=(), **settings: str) -> dict[str, Any]:
        config = configure(REMEDIATION_AUDIT_TABLE_PLAN=settings.pop("plan", "basic"), **settings)
        return run(config, ArmGateway.from_config(config), mode=Mode(mode), trigger=Trigger.CLI, change_sinks=sinks)

    return go


def table_writes(sim) -> list[Any]:
    return [r for r in sim.write_requests() if "/tables/" in r.path.lower()]


def test_basic_plan_is_set_only_in_our_workspaces_and_recorded_once(estate, plan_run):
    ours = estate.add_workspace(SUB_A, "rg-aks-audit-logs", "law-aks-audit-eastus", "eastus", tags=OURS_TAG)
    user_ws = (
        f"/subscriptions/{SUB_A}/resourceGroups/{USER_RG}/providers/Microsoft.OperationalInsights/workspaces/law-user"
    )
    a = estate.add_cluster(SUB_A, "rg-a", "aks-a", "eastus")
    b = estate.add_cluster(SUB_A, "rg-a", "aks-b", "eastus")
    estate.put_setting(a, "aks-audit-remediation", {"workspaceId": ours, "logs": entries(*REQUIRED)})
    estate.put_setting(b, "team", {"workspaceId": user_ws, "logs": entries(*REQUIRED)})
    records: list[ChangeRecord] = []

    first = plan_run(sinks=(records.append,))

    assert estate.table_plan(ours, "AKSAudit") == "Basic"
    assert estate.table_plan(user_ws, "AKSAudit") == "Analytics"  # a workspace we did not create: untouched
    assert [(p["workspace_id"], p["action"], p["plan_before"], p["plan_after"]) for p in first["table_plans"]] == [
        (ours, "updated", "Analytics", "Basic")
    ]
    (record,) = [r for r in records if r.event.value == "table_plan.updated"]
    assert record.resource_id == f"{ours}/tables/AKSAudit"
    assert (record.workspace_id, record.plan_before, record.plan_after) == (ours, "Analytics", "Basic")
    # the ledger keeps the plans (and reads them back)
    entity, _ = to_entities(record)
    assert from_entity(entity)["plan_after"] == "Basic"
    # the PATCH was long-running: 202 + Azure-AsyncOperation, polled to completion
    (patch,) = table_writes(estate)
    assert (patch.method, patch.status, patch.body) == ("PATCH", 202, {"properties": {"plan": "Basic"}})
    assert patch.query["api-version"] == "2025-07-01"
    estate.clear_requests()
    records.clear()

    again = plan_run(sinks=(records.append,))

    assert [p["action"] for p in again["table_plans"]] == ["unchanged"]
    assert records == [] and table_writes(estate) == []


def test_report_mode_only_says_what_it_would_do(estate, plan_run):
    ours = estate.add_workspace(SUB_A, "rg-aks-audit-logs", "law-aks-audit-eastus", "eastus", tags=OURS_TAG)
    cid = estate.add_cluster(SUB_A, "rg-a", "aks-a", "eastus")
    estate.put_setting(cid, "aks-audit-remediation", {"workspaceId": ours, "logs": entries(*REQUIRED)})

    document = plan_run("report")

    assert [p["action"] for p in document["table_plans"]] == ["would_update"]
    assert estate.write_requests() == []
    assert estate.table_plan(ours, "AKSAudit") == "Analytics"


def test_analytics_leaves_every_table_alone(estate, plan_run):
    cid = estate.add_cluster(SUB_A, "rg-a", "aks-a", "eastus")
    estate.clear_requests()

    document = plan_run(plan="analytics")

    assert document["table_plans"] == []
    assert not [r for r in estate.arm_requests() if "/tables/" in r.path.lower()]
    assert by_name(document)["aks-a"]["status"] == "remediated"
    assert estate.table_plan(region_ws(SUB_A, "eastus"), "AKSAudit") == "Analytics"
    assert cid


def test_a_workspace_we_create_gets_the_basic_plan_in_the_same_run(estate, plan_run):
    estate.add_cluster(SUB_A, "rg-a", "aks-a", "westeurope")

    document = plan_run()

    created = region_ws(SUB_A, "westeurope")
    assert estate.table_plan(created, "AKSAudit") == "Basic"
    assert [(p["workspace_id"].lower(), p["action"]) for p in document["table_plans"]] == [(created.lower(), "updated")]


def test_weekly_limit_refusal_is_reported_and_retried_on_a_later_run(estate, plan_run, caplog):
    ours = estate.add_workspace(SUB_A, "rg-aks-audit-logs", "law-aks-audit-eastus", "eastus", tags=OURS_TAG)
    cid = estate.add_cluster(SUB_A, "rg-a", "aks-a", "eastus")
    estate.put_setting(cid, "aks-audit-remediation", {"workspaceId": ours, "logs": entries(*REQUIRED)})
    # someone switched it back to Analytics two days ago: ARM refuses another change this week
    estate.set_table_plan(ours, "AKSAudit", "Analytics", changed_at=datetime.now(UTC) - timedelta(days=2))

    with caplog.at_level(logging.WARNING, logger="remediation.engine.table_plans"):
        refused = plan_run()

    (plan,) = refused["table_plans"]
    assert (plan["action"], plan["reason"], plan["plan_after"]) == ("refused", "BadRequest", "Analytics")
    assert by_name(refused)["aks-a"]["status"] == "compliant"  # not a failure of the cluster
    assert refused["errors"] == [] and exit_code(refused) != 3
    assert any("once a week" in r.getMessage() for r in caplog.records)
    assert "AKSAudit: Analytics (refused: BadRequest; tried again next run)" in render(refused, "table")
    assert "AKSAudit: Analytics (refused: BadRequest; tried again next run)" in render(refused, "html")

    # a week later the next run tries again and succeeds
    estate.set_table_plan(ours, "AKSAudit", "Analytics", changed_at=datetime.now(UTC) - timedelta(days=8))
    later = plan_run()

    assert [p["action"] for p in later["table_plans"]] == ["updated"]
    assert "AKSAudit: Analytics -&gt; Basic (updated)" in render(later, "html")
    assert r"AKSAudit: Analytics -&gt; Basic \(updated\)" in render(later, "markdown")
    assert estate.table_plan(ours, "AKSAudit") == "Basic"


def test_the_workspace_role_is_enough_for_table_plans(estate, plan_run):
    from remediation.permissions import Scope, actions

    ours = estate.add_workspace(SUB_A, "rg-aks-audit-logs", "law-aks-audit-eastus", "eastus", tags=OURS_TAG)
    estate.grant(actions(Scope.SUBSCRIPTION), f"/subscriptions/{SUB_A}")
    estate.grant(actions(Scope.WORKSPACE_RESOURCE_GROUP), f"/subscriptions/{SUB_A}/resourceGroups/rg-aks-audit-logs")
    cid = estate.add_cluster(SUB_A, "rg-a", "aks-a", "eastus")
    estate.put_setting(cid, "aks-audit-remediation", {"workspaceId": ours, "logs": entries(*REQUIRED)})

    document = plan_run()

    assert [p["action"] for p in document["table_plans"]] == ["updated"]
    assert json.dumps(document["table_plans"])


def test_an_unreadable_table_is_reported_and_left_alone(estate, plan_run):
    ours = estate.add_workspace(SUB_A, "rg-aks-audit-logs", "law-aks-audit-eastus", "eastus", tags=OURS_TAG)
    cid = estate.add_cluster(SUB_A, "rg-a", "aks-a", "eastus")
    estate.put_setting(cid, "aks-audit-remediation", {"workspaceId": ours, "logs": entries(*REQUIRED)})
    estate.forbid_resource(f"{ours}/tables/AKSAudit")

    document = plan_run()

    (plan,) = document["table_plans"]
    assert (plan["action"], plan["reason"]) == ("unreadable", "AuthorizationFailed")
    assert table_writes(estate) == []
    assert by_name(document)["aks-a"]["status"] == "compliant"
