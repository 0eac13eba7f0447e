"""armsim through the real Azure SDK clients, built the way the product builds them."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests
from azure.core.credentials import AccessToken
from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ResourceNotFoundError
from azure.identity import DefaultAzureCredential, ManagedIdentityCredential
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.loganalytics.models import Workspace, WorkspaceSku
from azure.mgmt.monitor import MonitorManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient

from armsim import ArmSimulator
from armsim.estate import build_demo_estate
from tests.support.arm_clients import kwargs, loganalytics, raw, token_for
from tests.support.constants import SUB_A, SUB_B

CATEGORIES = ("kube-audit", "kube-audit-admin", "kube-apiserver", "kube-controller-manager", "kube-scheduler")


class StaticCredential:
    """A credential that hands out a fixed token (to prove ARM rejects bad ones)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)


def monitor(sim: ArmSimulator, credential: Any = None) -> MonitorManagementClient:
    return MonitorManagementClient(credential or DefaultAzureCredential(), SUB_A, **kwargs(sim))


def aks(sim: ArmSimulator, credential: Any = None, **extra: Any) -> ContainerServiceClient:
    return ContainerServiceClient(credential or DefaultAzureCredential(), SUB_A, **kwargs(sim, **extra))


@pytest.fixture
def cluster(sim: ArmSimulator) -> str:
    sim.add_subscription(SUB_A, "Production")
    return sim.add_cluster(SUB_A, "rg-apps", "aks-one", "eastus", tags={"team": "a"})


@pytest.fixture
def workspace(sim: ArmSimulator, cluster: str) -> str:
    return sim.add_workspace(SUB_A, "rg-logs", "law-one", "eastus")


def logs(*categories: str, enabled: bool = True) -> list[dict[str, Any]]:
    return [{"category": c, "enabled": enabled} for c in categories]


# ---------------------------------------------------------------------------- identity and authentication


def test_default_credential_gets_a_token_from_the_identity_endpoint(sim: ArmSimulator, cluster: str) -> None:
    subscriptions = list(SubscriptionClient(DefaultAzureCredential(), **kwargs(sim)).subscriptions.list())

    assert [s.subscription_id for s in subscriptions] == [SUB_A]
    identity = sim.identity_requests()
    assert len(identity) == 1
    assert identity[0].query == {"api-version": "2019-08-01", "resource": sim.base_url}
    assert identity[0].headers["X-IDENTITY-HEADER"] == sim.identity_header
    arm = sim.arm_requests()[0]
    token = arm.headers["Authorization"].removeprefix("Bearer ")
    assert token in sim.tokens
    assert arm.principal == sim.principal_id


def test_invalid_token_is_401_with_challenge(sim: ArmSimulator, cluster: str) -> None:
    with pytest.raises(ClientAuthenticationError) as caught:
        aks(sim, StaticCredential("not-a-token")).managed_clusters.get("rg-apps", "aks-one")
    assert caught.value.status_code == 401
    assert caught.value.error.code == "InvalidAuthenticationToken"

    missing = raw(sim, "GET", f"/subscriptions/{SUB_A}?api-version=2022-12-01")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer ")


def test_token_for_another_audience_is_401(sim: ArmSimulator, cluster: str) -> None:
    foreign = ManagedIdentityCredential().get_token("https://management.azure.com/.default").token
    with pytest.raises(ClientAuthenticationError) as caught:
        aks(sim, StaticCredential(foreign)).managed_clusters.get("rg-apps", "aks-one")
    assert caught.value.error.code == "InvalidAuthenticationToken"
    assert "audience" in caught.value.error.message


def test_identity_endpoint_requires_the_secret_header(sim: ArmSimulator) -> None:
    response = requests.get(
        sim.identity_endpoint, params={"api-version": "2019-08-01", "resource": sim.base_url}, timeout=5
    )
    assert response.status_code == 401


def test_api_version_missing_or_unsupported_is_400(sim: ArmSimulator, cluster: str) -> None:
    missing = raw(
        sim, "GET", f"/subscriptions/{SUB_A}/providers/Microsoft.ContainerService/managedClusters", token_for(sim)
    )
    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "MissingApiVersionParameter"

    with pytest.raises(HttpResponseError) as caught:
        list(aks(sim, api_version="2024-01-01").managed_clusters.list())
    assert caught.value.status_code == 400
    assert caught.value.error.code == "InvalidApiVersionParameter"
    assert "2026-08-01" in caught.value.error.message


# ---------------------------------------------------------------------------- subscriptions, clusters, resource groups


def test_subscriptions_list_with_states(sim: ArmSimulator) -> None:
    sim.add_subscription(SUB_A, "Production")
    sim.add_subscription(SUB_B, "Old", state="Disabled")

    found = {
        s.subscription_id: s for s in SubscriptionClient(DefaultAzureCredential(), **kwargs(sim)).subscriptions.list()
    }

    assert found[SUB_A].display_name == "Production"
    assert found[SUB_A].id == f"/subscriptions/{SUB_A}"
    assert found[SUB_B].state == "Disabled"


def test_cluster_list_is_paged_with_next_links(sim_factory: Any) -> None:
    sim = sim_factory(page_size=3)
    sim.add_subscription(SUB_A)
    ids = [sim.add_cluster(SUB_A, f"rg-{i % 2}", f"aks-{i}", "westeurope") for i in range(8)]
    sim.add_cluster(SUB_B, "rg", "elsewhere", "eastus")

    clusters = list(aks(sim).managed_clusters.list())

    # ARM spells "resourcegroups" in lower case in a cluster's ID (recorded answers)
    assert [c.id for c in clusters] == [i.replace("/resourceGroups/", "/resourcegroups/") for i in ids]
    pages = [r for r in sim.arm_requests() if r.path.endswith("managedClusters")]
    assert [r.query.get("$skipToken") for r in pages] == [None, "3", "6"]
    assert all(r.query["api-version"] == "2026-08-01" for r in pages)


def test_cluster_get_is_case_insensitive_and_keeps_spelling(sim: ArmSimulator, cluster: str) -> None:
    client = aks(sim)
    got = client.managed_clusters.get("RG-APPS", "AKS-ONE")
    assert got.id == cluster.replace("/resourceGroups/", "/resourcegroups/")
    assert got.provisioning_state == "Succeeded"
    assert got.tags == {"team": "a"}

    sim.set_cluster_state(cluster, "Updating")
    assert client.managed_clusters.get("rg-apps", "aks-one").provisioning_state == "Updating"


def test_missing_cluster_and_resource_group_are_404(sim: ArmSimulator, cluster: str) -> None:
    client = aks(sim)
    with pytest.raises(ResourceNotFoundError) as caught:
        client.managed_clusters.get("rg-apps", "nope")
    assert caught.value.error.code == "ResourceNotFound"
    with pytest.raises(ResourceNotFoundError) as caught:
        client.managed_clusters.get("rg-missing", "aks-one")
    assert caught.value.error.code == "ResourceGroupNotFound"


def test_resource_groups(sim: ArmSimulator, cluster: str) -> None:
    client = ResourceManagementClient(DefaultAzureCredential(), SUB_A, **kwargs(sim))
    assert client.resource_groups.check_existence("rg-apps") is True
    assert client.resource_groups.check_existence("rg-aks-audit-logs") is False
    with pytest.raises(ResourceNotFoundError) as caught:
        client.resource_groups.get("rg-aks-audit-logs")
    assert caught.value.error.code == "ResourceGroupNotFound"

    created = client.resource_groups.create_or_update("rg-aks-audit-logs", {"location": "eastus"})

    assert created.name == "rg-aks-audit-logs"
    assert sim.resource_group_exists(SUB_A, "RG-AKS-AUDIT-LOGS")
    assert client.resource_groups.get("rg-aks-audit-logs").location == "eastus"
    assert [r.status for r in sim.write_requests()] == [201]


# ---------------------------------------------------------------------------- diagnostic settings


@pytest.mark.parametrize("uri_form", ["leading-slash", "no-leading-slash"])
def test_setting_crud(sim: ArmSimulator, cluster: str, workspace: str, uri_form: str) -> None:
    client = monitor(sim)
    resource_uri = cluster if uri_form == "leading-slash" else cluster.lstrip("/")
    body = {"workspace_id": workspace, "logs": logs(*CATEGORIES), "log_analytics_destination_type": "Dedicated"}

    created = client.diagnostic_settings.create_or_update(resource_uri, "aks-audit-remediation", body)

    # as ARM answers: the resource part of the ID in lower case, no systemData, location null after a PUT
    assert created.id == f"{cluster.lower()}/providers/microsoft.insights/diagnosticSettings/aks-audit-remediation"
    assert put_answer(sim)["location"] is None and "systemData" not in put_answer(sim)
    assert created.workspace_id == workspace
    assert [entry.category for entry in created.logs] == list(CATEGORIES)
    put = sim.write_requests()[0]
    assert put.path == f"{cluster}/providers/Microsoft.Insights/diagnosticSettings/aks-audit-remediation"
    assert sim.get_setting(cluster, "aks-audit-remediation")["properties"]["logAnalyticsDestinationType"] == "Dedicated"

    client.diagnostic_settings.create_or_update(
        resource_uri, "aks-audit-remediation", {**body, "logs": logs("kube-audit")}
    )
    got = client.diagnostic_settings.get(resource_uri, "aks-audit-remediation")
    assert [entry.category for entry in got.logs] == ["kube-audit"]
    assert [s.name for s in client.diagnostic_settings.list(resource_uri)] == ["aks-audit-remediation"]

    client.diagnostic_settings.delete(resource_uri, "aks-audit-remediation")
    assert sim.settings(cluster) == {}
    with pytest.raises(ResourceNotFoundError):
        client.diagnostic_settings.get(resource_uri, "aks-audit-remediation")


def test_seeded_setting_is_answered_null_filled_as_arm_does(sim: ArmSimulator, cluster: str) -> None:
    odd = {
        "workspaceId": "/subscriptions/x/resourceGroups/gone/providers/Microsoft.OperationalInsights/workspaces/gone",
        "logs": [{"category": "kube-audit", "enabled": True, "extra": [1, 2]}],
        "metrics": [{"category": "AllMetrics", "enabled": False}],
    }
    sim.put_setting(cluster, "Foreign", odd)

    answer = raw(
        sim,
        "GET",
        f"{cluster.upper()}/providers/microsoft.insights/diagnosticSettings/foreign?api-version=2021-05-01-preview",
        token_for(sim),
    )

    stored = sim.get_setting(cluster, "foreign")
    assert "systemData" in stored and "systemData" not in answer.json()
    assert answer.json() == {k: v for k, v in stored.items() if k != "systemData"}
    assert answer.json() == {
        "id": f"{cluster.lower()}/providers/microsoft.insights/diagnosticSettings/Foreign",
        "type": "Microsoft.Insights/diagnosticSettings",
        "name": "Foreign",
        "location": "eastus",
        "kind": None,
        "tags": None,
        "properties": {
            "storageAccountId": None,
            "serviceBusRuleId": None,
            "workspaceId": odd["workspaceId"],
            "eventHubAuthorizationRuleId": None,
            "eventHubName": None,
            "metrics": [
                {
                    "timeGrain": None,
                    "category": "AllMetrics",
                    "enabled": False,
                    "retentionPolicy": {"enabled": False, "days": 0},
                }
            ],
            "logs": [
                {
                    "category": "kube-audit",
                    "categoryGroup": None,
                    "enabled": True,
                    "extra": [1, 2],
                    "retentionPolicy": {"enabled": False, "days": 0},
                }
            ],
            "logAnalyticsDestinationType": None,
        },
        "identity": None,
    }
    sim.setting_system_data = True  # armsim's old behaviour, for tests that need it
    again = raw(sim, "GET", answer.url.removeprefix(sim.base_url), token_for(sim)).json()
    assert again["systemData"]["lastModifiedBy"] == "user@contoso.example"
    listed = monitor(sim).diagnostic_settings.list(cluster)
    assert [s.name for s in listed] == ["Foreign"]


def test_settings_of_unknown_resource_is_404(sim: ArmSimulator, cluster: str) -> None:
    with pytest.raises(ResourceNotFoundError) as caught:
        list(monitor(sim).diagnostic_settings.list(cluster.replace("aks-one", "aks-none")))
    assert caught.value.error.code == "ResourceNotFound"


def test_categories_with_groups(sim: ArmSimulator, cluster: str) -> None:
    categories = {c.name: c for c in monitor(sim).diagnostic_settings_category.list(cluster)}

    assert categories["kube-audit"].category_type == "Logs"
    assert categories["kube-audit"].category_groups == ["audit", "allLogs"]
    assert categories["kube-apiserver"].category_groups == ["allLogs"]
    assert categories["AllMetrics"].category_type == "Metrics"
    assert len([c for c in categories.values() if c.category_type == "Logs"]) == 14

    sim.set_category_groups(
        {"audit": ["kube-audit", "kube-audit-admin"], "allLogs": ["kube-audit", "kube-audit-admin"]}
    )
    changed = {c.name: c for c in monitor(sim).diagnostic_settings_category.list(cluster)}
    assert changed["guard"].category_groups == []


def test_category_groups_are_accepted(sim: ArmSimulator, cluster: str, workspace: str) -> None:
    body = {"workspace_id": workspace, "logs": [{"category_group": "audit", "enabled": True}]}
    created = monitor(sim).diagnostic_settings.create_or_update(cluster, "grouped", body)
    assert created.logs[0].category_group == "audit"


def put_answer(sim: ArmSimulator) -> dict[str, Any]:
    """The answer of the last diagnostic-setting PUT, as the wire carried it."""
    return [r for r in sim.write_requests() if r.method == "PUT"][-1].response


def _put(sim: ArmSimulator, resource: str, name: str, properties: dict[str, Any]) -> requests.Response:
    path = f"{resource}/providers/Microsoft.Insights/diagnosticSettings/{name}?api-version=2021-05-01-preview"
    return raw(sim, "PUT", path, token_for(sim), json={"properties": properties})


@pytest.mark.parametrize(
    ("properties", "status", "code", "text"),
    [
        ({"logs": logs("kube-nonsense")}, 400, "BadRequest", "kube-nonsense"),
        ({"logs": [{"categoryGroup": "security", "enabled": True}]}, 400, "BadRequest", "security"),
        (
            {"logs": [{"category": "kube-audit", "categoryGroup": "audit", "enabled": True}]},
            400,
            "BadRequest",
            "exactly one",
        ),
        ({"logs": [{"enabled": True}]}, 400, "BadRequest", "exactly one"),
        ({"logs": [{"category": "kube-audit"}]}, 400, "InvalidRequestContent", "enabled"),
        (
            {"logs": [{"category": "kube-audit", "enabled": True, "retentionPolicy": {"enabled": True, "days": 0}}]},
            400,
            "BadRequest",
            "does not support retention",
        ),
        (
            {"logs": [{"category": "kube-audit", "enabled": True, "retentionPolicy": {"enabled": False, "days": 7}}]},
            400,
            "BadRequest",
            "does not support retention",
        ),
        ({"metrics": [{"category": "Bogus", "enabled": True}]}, 400, "BadRequest", "Bogus"),
    ],
    ids=[
        "unknown-category",
        "unknown-group",
        "both",
        "neither",
        "schema",
        "retention-enabled",
        "retention-days",
        "unknown-metric",
    ],
)
def test_invalid_settings_are_rejected(
    sim: ArmSimulator, cluster: str, workspace: str, properties: dict[str, Any], status: int, code: str, text: str
) -> None:
    answer = _put(sim, cluster, "bad", {"workspaceId": workspace, **properties})
    assert answer.status_code == status
    # Microsoft.Insights refuses with a bare {code, message} (recorded); ARM's own checks wrap it in "error"
    error = answer.json() if code == "BadRequest" else answer.json()["error"]
    assert set(error) == {"code", "message"}
    assert error["code"] == code
    assert text in error["message"]
    assert sim.settings(cluster) == {}


def test_setting_without_destination_is_rejected(sim: ArmSimulator, cluster: str) -> None:
    with pytest.raises(HttpResponseError) as caught:
        monitor(sim).diagnostic_settings.create_or_update(
            cluster, "nowhere", {"workspace_id": "", "logs": logs("kube-audit")}
        )
    assert caught.value.status_code == 400
    assert "destination" in caught.value.error.message


def test_sixth_setting_is_rejected(sim: ArmSimulator, cluster: str) -> None:
    for i in range(5):
        sim.put_setting(cluster, f"s{i}", {"storageAccountId": f"/subscriptions/{SUB_A}/sa{i}", "logs": logs("guard")})
    client = monitor(sim)
    body = {"storage_account_id": f"/subscriptions/{SUB_A}/sa9", "logs": logs("kube-audit")}
    with pytest.raises(HttpResponseError) as caught:
        client.diagnostic_settings.create_or_update(cluster, "sixth", body)
    assert caught.value.status_code == 400
    assert caught.value.error.code == "BadRequest"
    client.diagnostic_settings.create_or_update(cluster, "S4", body)  # updating one of the five is fine
    assert sim.get_setting(cluster, "s4")["name"] == "s4"


def test_same_category_to_same_sink_in_two_settings_is_rejected(
    sim: ArmSimulator, cluster: str, workspace: str
) -> None:
    sim.put_setting(
        cluster, "theirs", {"workspaceId": workspace.upper(), "logs": [{"categoryGroup": "audit", "enabled": True}]}
    )
    client = monitor(sim)
    with pytest.raises(HttpResponseError) as caught:
        client.diagnostic_settings.create_or_update(cluster, "ours", {"workspace_id": workspace, "logs": logs("guard")})
    assert caught.value.status_code == 400
    assert "is already used in diagnostic setting 'theirs' for category 'guard'" in caught.value.error.message

    # a category the other setting does not send, a disabled entry, or another sink are all fine
    client.diagnostic_settings.create_or_update(
        cluster, "ours", {"workspace_id": workspace, "logs": logs("kube-apiserver")}
    )
    client.diagnostic_settings.create_or_update(
        cluster, "ours", {"workspace_id": workspace, "logs": [*logs("kube-apiserver"), *logs("guard", enabled=False)]}
    )
    other = sim.add_workspace(SUB_A, "rg-logs", "law-two", "eastus")
    client.diagnostic_settings.create_or_update(cluster, "ours", {"workspace_id": other, "logs": logs("guard")})


def test_missing_and_forbidden_workspaces_are_rejected(sim: ArmSimulator, cluster: str, workspace: str) -> None:
    client = monitor(sim)
    body = {"workspace_id": workspace, "logs": logs("kube-audit")}
    sim.delete_workspace(workspace)
    with pytest.raises(HttpResponseError) as caught:
        client.diagnostic_settings.create_or_update(cluster, "ours", body)
    assert caught.value.status_code == 400
    assert caught.value.error.code == "LinkedResourceNotFound"

    forbidden = sim.add_workspace(SUB_B, "rg-sec", "law-secret", "eastus")
    sim.forbid_resource(forbidden)
    with pytest.raises(HttpResponseError) as caught:
        client.diagnostic_settings.create_or_update(cluster, "ours", {**body, "workspace_id": forbidden})
    assert caught.value.status_code == 403
    assert caught.value.error.code == "LinkedAuthorizationFailed"


def test_locked_cluster_refuses_writes(sim: ArmSimulator, cluster: str, workspace: str) -> None:
    sim.lock_resource(cluster.rsplit("/providers/", 1)[0])  # the resource group
    client = monitor(sim)
    with pytest.raises(HttpResponseError) as caught:
        client.diagnostic_settings.create_or_update(
            cluster, "ours", {"workspace_id": workspace, "logs": logs("kube-audit")}
        )
    assert caught.value.status_code == 409
    assert caught.value.error.code == "ScopeLocked"
    assert list(client.diagnostic_settings.list(cluster)) == []  # reads still work


# ---------------------------------------------------------------------------- workspaces (long-running PUT)


def test_workspace_create_is_long_running(sim_factory: Any) -> None:
    sim = sim_factory(lro_polls=2)
    sim.add_resource_group(SUB_A, "rg-aks-audit-logs", "eastus")
    client = loganalytics(sim)
    params = Workspace(location="eastus", sku=WorkspaceSku(name="PerGB2018"), retention_in_days=90, tags={"a": "b"})

    poller = client.workspaces.begin_create_or_update("rg-aks-audit-logs", "law-aks-audit-eastus", params)
    wid = f"/subscriptions/{SUB_A}/resourceGroups/rg-aks-audit-logs/providers/Microsoft.OperationalInsights/workspaces/law-aks-audit-eastus"
    created = poller.result()

    assert created.provisioning_state == "Succeeded"
    assert created.retention_in_days == 90
    assert created.id == wid
    assert sim.get_workspace(wid)["tags"] == {"a": "b"}
    put = sim.write_requests()[0]
    assert put.status == 201
    assert put.body["properties"]["sku"] == {"name": "PerGB2018"}
    polls = [r for r in sim.arm_requests() if "operationstatuses" in r.path.lower()]
    assert [p.response["status"] for p in polls] == ["InProgress", "InProgress", "Succeeded"]
    # ARM's protocol: 201 + Azure-AsyncOperation (api 2015-11-01-preview) + Location = the workspace itself
    assert put.response["properties"]["provisioningState"] == "Creating" and put.response["etag"]
    assert polls[0].query["api-version"] == "2015-11-01-preview"
    assert "endTime" not in polls[0].response and polls[-1].response["properties"] == {}
    assert client.workspaces.get("rg-aks-audit-logs", "law-aks-audit-eastus").provisioning_state == "Succeeded"


def test_workspace_get_while_creating(sim: ArmSimulator) -> None:
    sim.add_resource_group(SUB_A, "rg-logs", "eastus")
    client = loganalytics(sim)
    params = Workspace(location="eastus", sku=WorkspaceSku(name="PerGB2018"), retention_in_days=30)
    poller = client.workspaces.begin_create_or_update("rg-logs", "law-new", params, polling=False)
    assert poller.result().provisioning_state == "Creating"
    assert client.workspaces.get("rg-logs", "law-new").provisioning_state == "Creating"


def test_workspace_errors(sim: ArmSimulator) -> None:
    sim.add_subscription(SUB_A)
    client = loganalytics(sim)
    good = Workspace(location="eastus", sku=WorkspaceSku(name="PerGB2018"), retention_in_days=30)
    with pytest.raises(ResourceNotFoundError) as caught:
        client.workspaces.begin_create_or_update("rg-none", "law-x", good)
    assert caught.value.error.code == "ResourceGroupNotFound"
    with pytest.raises(ResourceNotFoundError) as caught:
        client.workspaces.get("rg-none", "law-x")
    assert caught.value.error.code == "ResourceGroupNotFound"

    sim.add_resource_group(SUB_A, "rg-logs", "eastus")
    with pytest.raises(ResourceNotFoundError) as caught:
        client.workspaces.get("rg-logs", "law-x")
    assert caught.value.error.code == "ResourceNotFound"
    with pytest.raises(HttpResponseError) as caught:
        client.workspaces.begin_create_or_update("rg-logs", "law-x", {"properties": {"sku": {"name": "PerGB2018"}}})
    assert caught.value.error.code == "InvalidRequestContent"
    assert "location" in caught.value.error.message


# ---------------------------------------------------------------------------- faults, RBAC, recording


def test_throttling_is_retried_after_retry_after(sim: ArmSimulator, cluster: str) -> None:
    sim.inject_fault(method="GET", path_contains="managedclusters/AKS-ONE", status=429, retry_after=0.2, times=2)
    start = time.monotonic()

    got = aks(sim).managed_clusters.get("rg-apps", "aks-one")

    assert got.name == "aks-one"
    assert time.monotonic() - start >= 0.4
    statuses = [r.status for r in sim.arm_requests() if r.path.endswith("aks-one")]
    assert statuses == [429, 429, 200]
    assert sim.arm_requests()[0].response["error"]["code"] == "TooManyRequests"


def test_server_errors_dropped_connections_and_latency(sim: ArmSimulator, cluster: str) -> None:
    sim.inject_fault(path_contains="aks-one", status=503, retry_after=None)
    sim.inject_fault(path_contains="aks-one", status=None, drop_connection=True)
    sim.inject_fault(path_contains="aks-one", status=None, latency=0.2)

    assert aks(sim, retry_backoff_factor=0.01).managed_clusters.get("rg-apps", "aks-one").name == "aks-one"
    assert [r.status for r in sim.arm_requests()] == [503, None, 200]

    sim.inject_fault(path_contains="aks-one", status=500, times=None, retry_after=0)
    with pytest.raises(HttpResponseError) as caught:
        aks(sim, retry_total=1).managed_clusters.get("rg-apps", "aks-one")
    assert caught.value.status_code == 500
    assert caught.value.error.code == "InternalServerError"


def test_forbidden_subscription_is_403(sim: ArmSimulator, cluster: str, workspace: str) -> None:
    sim.forbid_subscription(SUB_A)
    with pytest.raises(HttpResponseError) as caught:
        list(aks(sim).managed_clusters.list())
    assert caught.value.status_code == 403
    assert caught.value.error.code == "AuthorizationFailed"
    assert "Microsoft.ContainerService/managedClusters/read".lower() in caught.value.error.message.lower()


def test_forbidden_workspace_read_is_403(sim: ArmSimulator, workspace: str) -> None:
    sim.forbid_resource(workspace)
    with pytest.raises(HttpResponseError) as caught:
        loganalytics(sim).workspaces.get("rg-logs", "law-one")
    assert caught.value.status_code == 403
    assert caught.value.error.code == "AuthorizationFailed"


def test_unknown_subscription_is_404(sim: ArmSimulator) -> None:
    with pytest.raises(ResourceNotFoundError) as caught:
        list(aks(sim).managed_clusters.list())
    assert caught.value.error.code == "SubscriptionNotFound"


def test_recording_and_write_requests(sim: ArmSimulator, cluster: str, workspace: str) -> None:
    client = monitor(sim)
    list(client.diagnostic_settings.list(cluster))
    client.diagnostic_settings.create_or_update(
        cluster, "ours", {"workspace_id": workspace, "logs": logs("kube-audit")}
    )

    writes = sim.write_requests()
    assert [(w.method, w.status) for w in writes] == [("PUT", 200)]
    assert writes[0].body == {
        "properties": {"workspaceId": workspace, "logs": [{"category": "kube-audit", "enabled": True}]}
    }
    assert writes[0].query == {"api-version": "2021-05-01-preview"}
    assert {r.kind for r in sim.requests} == {"identity", "arm"}
    sim.clear_requests()
    assert sim.requests == []


def test_concurrent_clients(sim: ArmSimulator) -> None:
    sim.add_subscription(SUB_A)
    workspace = sim.add_workspace(SUB_A, "rg-logs", "law-one", "eastus")
    ids = [sim.add_cluster(SUB_A, "rg", f"aks-{i}", "eastus") for i in range(16)]
    client = monitor(sim)
    errors: list[BaseException] = []

    def work(cid: str) -> None:
        try:
            client.diagnostic_settings.create_or_update(
                cid, "ours", {"workspace_id": workspace, "logs": logs("kube-audit")}
            )
            assert client.diagnostic_settings.get(cid, "ours").name == "ours"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(cid,)) for cid in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert all(sim.get_setting(cid, "ours") for cid in ids)


def test_demo_estate(sim: ArmSimulator) -> None:
    estate = build_demo_estate(sim)
    credential = DefaultAzureCredential()
    names = []
    for sub in (estate.prod_subscription, estate.dev_subscription):
        names += [c.name for c in ContainerServiceClient(credential, sub, **kwargs(sim)).managed_clusters.list()]
    assert len(names) == len(estate.clusters) == 16
    assert sim.workspace_exists(estate.audit_workspace_eastus)
    assert not sim.workspace_exists(estate.deleted_workspace)
    assert len(sim.settings(estate.five_foreign)) == 5
    locations = {sim.get_cluster(c)["location"] for c in estate.clusters}
    assert locations == {"eastus", "westeurope", "southeastasia"}


def test_missing_specs_fail_loudly(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from armsim.specs import SpecsNotFoundError

    monkeypatch.setenv("ARMSIM_SPECS_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(SpecsNotFoundError, match="ARMSIM_SPECS_DIR"):
        ArmSimulator()


def test_workspace_create_with_no_in_progress_polls(sim_factory: Any) -> None:
    sim = sim_factory(lro_polls=0)
    sim.add_resource_group(SUB_A, "rg-logs", "westeurope")
    params = Workspace(location="westeurope", sku=WorkspaceSku(name="PerGB2018"), retention_in_days=30)
    created = loganalytics(sim).workspaces.begin_create_or_update("rg-logs", "law-we", params).result()
    assert created.provisioning_state == "Succeeded"
    assert [r.response["status"] for r in sim.arm_requests() if "operationstatuses" in r.path.lower()] == ["Succeeded"]


# ---------------------------------------------------------------------------- fault kinds of issue 8


@pytest.mark.parametrize(("outcome", "state"), [("Failed", "Failed"), ("never", "Creating")])
def test_workspace_creation_can_end_failed_or_never(sim: ArmSimulator, outcome: str, state: str) -> None:
    sim.lro_outcome = outcome
    sim.add_resource_group(SUB_A, "rg-logs", "eastus")
    client = loganalytics(sim)
    params = Workspace(location="eastus", sku=WorkspaceSku(name="PerGB2018"), retention_in_days=30)
    poller = client.workspaces.begin_create_or_update("rg-logs", "law-new", params, polling=False)
    assert sim.write_requests()[0].response["properties"]["provisioningState"] == "Creating"
    assert poller.result().provisioning_state == "Creating"
    for _ in range(3):  # reads advance the creation like polls
        found = client.workspaces.get("rg-logs", "law-new")
    assert found.provisioning_state == state


def test_workspace_creation_failed_fails_the_poller(sim: ArmSimulator) -> None:
    sim.lro_outcome = "Failed"
    sim.add_resource_group(SUB_A, "rg-logs", "eastus")
    client = loganalytics(sim)
    params = Workspace(location="eastus", sku=WorkspaceSku(name="PerGB2018"), retention_in_days=30)
    with pytest.raises(HttpResponseError):
        client.workspaces.begin_create_or_update("rg-logs", "law-new", params).result()
    polls = [r.response["status"] for r in sim.arm_requests() if "operationstatuses" in r.path.lower()]
    assert polls[-1] == "Failed"


def test_response_lost_after_the_write_took_effect(sim: ArmSimulator, cluster: str, workspace: str) -> None:
    sim.inject_fault(
        method="PUT", path_contains="diagnosticSettings", status=None, drop_connection=True, apply_first=True
    )
    body = {"properties": {"workspaceId": workspace, "logs": logs("kube-audit")}}
    with pytest.raises(requests.ConnectionError):
        raw(
            sim,
            "PUT",
            f"{cluster}/providers/Microsoft.Insights/diagnosticSettings/ours?api-version=2021-05-01-preview",
            token=token_for(sim),
            json=body,
        )
    (put,) = sim.write_requests()
    assert (put.status, put.applied) == (None, 200)
    assert sim.get_setting(cluster, "ours") is not None  # it took effect


def test_a_hung_endpoint_never_answers(sim: ArmSimulator, cluster: str) -> None:
    sim.inject_fault(method="GET", path_contains="aks-one", hang=True)
    with pytest.raises(requests.Timeout):
        requests.get(
            f"{sim.base_url}{cluster}?api-version=2026-08-01",
            headers={"Authorization": f"Bearer {token_for(sim)}"},
            timeout=0.5,
        )
    (hung,) = [r for r in sim.arm_requests() if r.path.endswith("aks-one")]
    assert hung.status is None


def test_identity_endpoint_faults_use_its_own_error_shape(sim: ArmSimulator) -> None:
    sim.inject_fault(identity=True, status=503, retry_after=None)
    answer = requests.get(
        sim.identity_endpoint,
        params={"api-version": "2019-08-01", "resource": sim.base_url},
        headers={"X-IDENTITY-HEADER": sim.identity_header},
        timeout=10,
    )
    assert answer.status_code == 503
    assert answer.json()["statusCode"] == 503
    assert sim.identity_requests()[0].status == 503
    assert sim.arm_requests() == []


def test_before_runs_when_the_fault_strikes(sim: ArmSimulator, cluster: str) -> None:
    struck: list[str] = []
    sim.inject_fault(
        method="GET", path_contains="aks-one", status=409, code="Conflict", before=lambda: struck.append("x")
    )
    assert raw(sim, "GET", f"{cluster}?api-version=2026-08-01", token=token_for(sim)).status_code == 409
    assert struck == ["x"]
