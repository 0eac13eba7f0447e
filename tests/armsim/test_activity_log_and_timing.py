"""armsim's Activity Log, its long-running operations that take time, and ARM's throttling as reported."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
from azure.mgmt.monitor import MonitorManagementClient

from armsim import ArmSimulator
from armsim.throttle import READS, Limit
from tests.support.constants import SUB_A, SUB_B


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def monitor(sim: ArmSimulator, sub: str = SUB_A) -> MonitorManagementClient:
    return MonitorManagementClient(
        DefaultAzureCredential(),
        sub,
        base_url=sim.base_url,
        credential_scopes=[sim.base_url + "/.default"],
        retry_total=0,
    )


def since(delta: timedelta) -> str:
    return (datetime.now(UTC) - delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def raw(sim: ArmSimulator, method: str, path: str, **kw: Any) -> requests.Response:
    token, _ = sim.issue_token(sim.base_url)
    return requests.request(
        method,
        sim.base_url + path,
        headers={"Authorization": f"Bearer {token}"},
        verify=sim.cert_path,
        timeout=30,
        **kw,
    )


@pytest.fixture
def estate(sim: ArmSimulator) -> dict[str, str]:
    sim.add_subscription(SUB_A)
    cluster = sim.add_cluster(SUB_A, "rg-apps", "aks-one", "eastus")
    workspace = sim.add_workspace(SUB_A, "rg-logs", "law-one", "eastus")
    return {"cluster": cluster, "workspace": workspace}


# ---------------------------------------------------------------------------- the Activity Log


def test_setting_writes_and_deletes_are_in_the_activity_log_with_their_caller(sim, estate) -> None:
    cluster, workspace = estate["cluster"], estate["workspace"]
    sim.put_setting(
        cluster,
        "theirs",
        {"workspaceId": workspace, "logs": []},
        last_modified_at=datetime.now(UTC) - timedelta(hours=2),
    )
    client = monitor(sim)
    client.diagnostic_settings.create_or_update(
        cluster, "ours", {"workspace_id": workspace, "logs": [{"category": "guard", "enabled": True}]}
    )
    client.diagnostic_settings.delete(cluster, "ours")
    sim.add_workspace(SUB_B, "rg", "law-elsewhere", "eastus")
    sim.put_setting(
        cluster.replace(SUB_A, SUB_B), "other-sub", {"workspaceId": workspace}, last_modified_at=datetime.now(UTC)
    )

    events = list(
        client.activity_logs.list(
            filter=f"eventTimestamp ge '{since(timedelta(hours=3))}' and resourceProvider eq 'Microsoft.Insights'"
        )
    )

    assert [(e.operation_name.value, e.status.value) for e in events] == [
        ("microsoft.insights/diagnosticSettings/delete", "Started"),
        ("microsoft.insights/diagnosticSettings/delete", "Succeeded"),
        ("microsoft.insights/diagnosticSettings/write", "Started"),
        ("microsoft.insights/diagnosticSettings/write", "Succeeded"),
        ("microsoft.insights/diagnosticSettings/write", "Started"),
        ("microsoft.insights/diagnosticSettings/write", "Succeeded"),
    ]  # newest first, this subscription only
    ours, theirs = events[3], events[5]
    assert ours.caller == sim.principal_id and ours.claims["appid"] == sim.client_id
    assert ours.resource_id.endswith("/managedClusters/aks-one/providers/Microsoft.Insights/diagnosticSettings/ours")
    assert ours.sub_status.value == "OK (HTTP Status Code: 200)" and ours.resource_group_name == "rg-apps"
    assert ours.correlation_id == events[2].correlation_id
    assert theirs.caller == "user@contoso.example"
    assert theirs.event_timestamp < datetime.now(UTC) - timedelta(minutes=119)


def test_the_filter_patterns_of_the_spec_and_nothing_else(sim, estate) -> None:
    cluster, workspace = estate["cluster"], estate["workspace"]
    old = datetime.now(UTC) - timedelta(days=3)
    setting = sim.add_activity(cluster + "/providers/Microsoft.Insights/diagnosticSettings/x", at=old)
    sim.add_activity(workspace, at=old + timedelta(minutes=1))
    client = monitor(sim)
    window = f"eventTimestamp ge '{since(timedelta(days=4))}' and eventTimestamp le '{since(timedelta(days=2))}'"

    assert len(list(client.activity_logs.list(filter=window))) == 4
    assert len(list(client.activity_logs.list(filter=f"{window} and resourceGroupName eq 'RG-APPS'"))) == 2
    assert len(list(client.activity_logs.list(filter=f"{window} and resourceUri eq '{workspace.upper()}'"))) == 2
    assert len(list(client.activity_logs.list(filter=f"{window} and correlationId eq '{setting.correlation_id}'"))) == 2
    assert list(client.activity_logs.list(filter=f"eventTimestamp ge '{since(timedelta(days=1))}'")) == []
    selected = list(client.activity_logs.list(filter=window, select="eventTimestamp,operationName"))
    assert selected[0].operation_name.value == "microsoft.operationalinsights/workspaces/write"
    assert selected[0].caller is None and selected[0].event_timestamp is not None

    for bad in (
        "",
        "resourceProvider eq 'Microsoft.Insights'",
        f"{window} and status eq 'Succeeded'",
        f"{window} or x",
    ):
        answer = raw(
            sim,
            "GET",
            f"/subscriptions/{SUB_A}/providers/Microsoft.Insights/eventtypes/management/values",
            params={"api-version": "2015-04-01", "$filter": bad},
        )
        assert answer.status_code == 400 and answer.json()["code"] == "BadRequest", bad
    with pytest.raises(HttpResponseError) as caught:
        list(client.activity_logs.list(filter=window, select="nonsense"))
    assert caught.value.status_code == 400


def test_pages_with_next_links_and_90_days_kept(sim, estate) -> None:
    sim.activity_page_size = 3
    now = datetime.now(UTC)
    for minutes in range(5):
        sim.add_activity(
            estate["cluster"] + f"/providers/Microsoft.Insights/diagnosticSettings/s{minutes}",
            at=now - timedelta(minutes=minutes + 1),
        )
    sim.add_activity(
        estate["cluster"] + "/providers/Microsoft.Insights/diagnosticSettings/ancient", at=now - timedelta(days=91)
    )

    events = list(monitor(sim).activity_logs.list(filter=f"eventTimestamp ge '{since(timedelta(days=120))}'"))

    assert len(events) == 10
    pages = [r for r in sim.arm_requests() if r.path.endswith("/management/values")]
    assert [r.query.get("$skipToken") for r in pages] == [None, "3", "6", "9"]
    assert all(r.status == 200 for r in pages)


def test_a_delayed_activity_log_holds_events_back(sim, estate) -> None:
    sim.activity_delay = timedelta(minutes=5)
    sim.add_activity(estate["cluster"] + "/providers/Microsoft.Insights/diagnosticSettings/new", at=datetime.now(UTC))
    sim.add_activity(
        estate["cluster"] + "/providers/Microsoft.Insights/diagnosticSettings/old",
        at=datetime.now(UTC) - timedelta(minutes=6),
    )

    events = list(monitor(sim).activity_logs.list(filter=f"eventTimestamp ge '{since(timedelta(hours=1))}'"))

    assert {e.resource_id.rsplit("/", 1)[-1] for e in events} == {"old"}


def test_a_refused_write_is_logged_failed(sim, estate) -> None:
    body = {"properties": {"workspaceId": estate["workspace"], "logs": [{"category": "nonsense", "enabled": True}]}}
    path = estate["cluster"] + "/providers/Microsoft.Insights/diagnosticSettings/bad"
    assert raw(sim, "PUT", path, params={"api-version": "2021-05-01-preview"}, json=body).status_code == 400

    (started, failed) = sorted(sim.activity, key=lambda e: e.status != "Started")
    assert (started.status, failed.status, failed.http_status) == ("Started", "Failed", 400)


# ---------------------------------------------------------------------------- long-running operations take time


def test_a_workspace_creation_takes_its_time_without_retry_after(sim_factory) -> None:
    sim = sim_factory(workspace_creation_seconds=13.0, lro_polls=0, lro_retry_after_ms=None)
    sim.clock = clock = Clock()
    sim.add_resource_group(SUB_A, "rg-logs", "eastus")
    path = f"/subscriptions/{SUB_A}/resourceGroups/rg-logs/providers/Microsoft.OperationalInsights/workspaces/law-new"
    body = {"location": "eastus", "properties": {"sku": {"name": "PerGB2018"}}}

    created = raw(sim, "PUT", path, params={"api-version": "2025-07-01"}, json=body)
    status_url = created.headers["Azure-AsyncOperation"]
    polls = []
    for advance in (0.0, 6.0, 6.9, 0.2):
        clock.now += advance
        polls.append(
            raw(
                sim,
                "GET",
                status_url.removeprefix(sim.base_url).split("?")[0],
                params={"api-version": "2015-11-01-preview"},
            )
        )

    assert created.status_code == 201 and created.json()["properties"]["provisioningState"] == "Creating"
    assert created.headers["Location"].startswith(sim.base_url + path)
    assert [p.json()["status"] for p in polls] == ["InProgress", "InProgress", "InProgress", "Succeeded"]
    assert not any("retry-after" in h.lower() for r in (created, *polls) for h in r.headers)
    assert sim.get_workspace(path)["properties"]["provisioningState"] == "Succeeded"


def test_a_table_change_takes_its_time(sim_factory) -> None:
    sim = sim_factory(table_change_seconds=2.0, lro_polls=0, lro_retry_after_ms=None)
    sim.clock = clock = Clock()
    workspace = sim.add_workspace(SUB_A, "rg-logs", "law-one", "eastus")
    answer = raw(
        sim,
        "PATCH",
        f"{workspace}/tables/AKSAudit",
        params={"api-version": "2025-07-01"},
        json={"properties": {"plan": "Basic"}},
    )
    status = answer.headers["Azure-AsyncOperation"].removeprefix(sim.base_url).split("?")[0]

    first = raw(sim, "GET", status, params={"api-version": "2025-07-01"}).json()["status"]
    clock.now += 2.0
    second = raw(sim, "GET", status, params={"api-version": "2025-07-01"}).json()["status"]

    assert (answer.status_code, first, second) == (202, "InProgress", "Succeeded")
    assert sim.table_plan(workspace, "AKSAudit") == "Basic"


# ---------------------------------------------------------------------------- throttling, over HTTPS


def test_a_setting_put_draws_on_microsoft_insights_budget(sim_factory) -> None:
    sim = sim_factory(throttle=True)
    sim.throttle.clock = clock = Clock()
    sim.throttle.provider_limits["microsoft.insights"] = Limit(2, 1.0)
    cluster = sim.add_cluster(SUB_A, "rg-apps", "aks-one", "eastus")
    workspace = sim.add_workspace(SUB_A, "rg-logs", "law-one", "eastus")
    path = cluster + "/providers/Microsoft.Insights/diagnosticSettings/s"
    body = {"properties": {"workspaceId": workspace, "logs": [{"category": "guard", "enabled": True}]}}

    answers = [raw(sim, "PUT", path, params={"api-version": "2021-05-01-preview"}, json=body) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert [a.headers["x-ms-ratelimit-remaining-subscription-resource-requests"] for a in answers] == ["1", "0", "0"]
    assert answers[2].headers["Retry-After"] == "1"
    assert "x-ms-ratelimit-remaining-subscription-writes" not in answers[0].headers
    assert sim.throttle.refused_by == {"provider": 1}
    clock.now += 1.0
    assert raw(sim, "PUT", path, params={"api-version": "2021-05-01-preview"}, json=body).status_code == 200


def test_a_noisy_neighbour_drains_the_global_read_bucket(sim_factory) -> None:
    sim = sim_factory(throttle=True)
    sim.throttle.clock = clock = Clock()
    sim.throttle.global_limits[READS] = Limit(30, 10.0)
    cluster = sim.add_cluster(SUB_A, "rg-apps", "aks-one", "eastus")
    sim.throttle.add_neighbour(SUB_A, READS, 9.0)  # other principals leave 1 read/s
    sim.throttle.drain(SUB_A, READS, 29)

    first = raw(sim, "GET", cluster, params={"api-version": "2026-08-01"})
    second = raw(sim, "GET", cluster, params={"api-version": "2026-08-01"})
    clock.now += 1.0
    third = raw(sim, "GET", cluster, params={"api-version": "2026-08-01"})

    assert [r.status_code for r in (first, second, third)] == [200, 429, 200]
    assert second.headers["x-ms-ratelimit-remaining-subscription-global-reads"] == "0"
    assert "global limit" in second.json()["error"]["message"]
