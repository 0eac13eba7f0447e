"""The product's gateway (``remediation.azure``, through the real SDK clients and pollers) against real ARM
answers, replayed from ``specs/azure-recordings`` by :class:`tests.conformance.replay.ReplayServer`.

Each test scripts the recorded exchanges the product's calls make and checks that the product reads the
real answers right: null-filled settings without ``systemData``, bare error bodies, long-running operations
without ``Retry-After`` (polled through ``Azure-AsyncOperation`` or, before 2025, ``Location``), IDs in
ARM's casing. The api-versions the SDK sends are newer than the recorded clients' (the replay does not
compare them), and the product's poll interval is scaled down (``LRO_POLL_INTERVAL``: real ARM sends
no ``Retry-After``, so the product waits its own interval). Recorded calls the product never makes (a
resource group HEAD, a table PUT, a setting DELETE) are covered by ``test_armsim_conformance.py`` only.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import RequestsTransport

from remediation.azure.gateway import ArmGateway
from remediation.azure.policies import LRO_POLL_INTERVAL, BoundedPolling
from remediation.config.parse import load_config
from remediation.core.model import ActionKind, Cluster, SettingChange
from remediation.errors import ArmError, ClusterNotFoundError
from remediation.ids import ClusterId, WorkspaceId
from tests.conformance.recordings import VENDORED, load
from tests.conformance.replay import ReplayServer

RECORDED_SUB = "00000000-0000-0000-0000-000000000000"  # the subscription the recordings were scrubbed to


class StaticCredential:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("replayed", int(time.time()) + 3600)


def exchanges(recording: str, *indexes: int) -> list[dict[str, Any]]:
    found = load(VENDORED / f"{recording}.json").exchanges
    return [found[i] for i in indexes]


@pytest.fixture(autouse=True)
def quick_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    """Timings scaled down: the product polls every LRO_POLL_INTERVAL s (BoundedPolling's default interval)
    when ARM sends no Retry-After; here every 10 ms."""
    assert BoundedPolling.__init__.__defaults__ == (LRO_POLL_INTERVAL,)
    monkeypatch.setattr(BoundedPolling.__init__, "__defaults__", (0.01,))


@pytest.fixture
def replay() -> Iterator[Any]:
    servers: list[ReplayServer] = []

    def start(script: Sequence[dict[str, Any]]) -> tuple[ReplayServer, ArmGateway]:
        server = ReplayServer(script).__enter__()
        servers.append(server)
        config = load_config(
            {"REMEDIATION_SUBSCRIPTION_IDS": RECORDED_SUB, "REMEDIATION_ARM_ENDPOINT": server.base_url}
        )
        transport = RequestsTransport(connection_verify=str(server.cert_path))
        return server, ArmGateway(config, StaticCredential(), transport=transport)

    yield start
    for server in servers:
        server.__exit__()


def nsg(recording: str) -> Cluster:
    """The recordings' network security group, as the Cluster whose settings the gateway reads and writes."""
    ids = load(VENDORED / f"{recording}.json").data["ids"]
    return Cluster(
        id=ClusterId(ids["resource"]),
        name=ids["resource"].rsplit("/", 1)[-1],
        subscription_id=RECORDED_SUB,
        resource_group=ids["resource_group"],
        location="southcentralus",
        provisioning_state="Succeeded",
    )


def change(workspace_id: str, *categories: str) -> SettingChange:
    return SettingChange(
        kind=ActionKind.CREATE,
        setting_name="test01",
        workspace_id=WorkspaceId(workspace_id),
        categories=categories,
        categories_before=(),
        log_analytics_destination_type="Dedicated",
    )


def served_all(server: ReplayServer) -> None:
    assert server.unexpected == []
    assert [(e["method"], e["path"]) for e in server.served] == [(e["method"], e["path"]) for e in server.script]


def test_categories_a_setting_put_and_the_list_as_ARM_answers_them(replay) -> None:
    rec = "diagnostic_settings_2025-05"
    server, gateway = replay(exchanges(rec, 0, 2, 3))
    cluster = nsg(rec)
    workspace = load(VENDORED / f"{rec}.json").data["ids"]["workspace"]

    metadata = gateway.get_category_metadata(cluster)
    gateway.write_setting(cluster, change(workspace, "NetworkSecurityGroupEvent"), None)  # 200, no systemData
    (setting,) = gateway.list_settings(cluster)

    served_all(server)
    assert metadata.categories == {"NetworkSecurityGroupEvent", "NetworkSecurityGroupRuleCounter"}
    assert metadata.groups == {}  # the 2017-05-01-preview answer has no categoryGroups
    assert setting.name == "test01"
    assert [(e.category, e.category_group, e.enabled) for e in setting.logs] == [
        ("NetworkSecurityGroupEvent", None, True),
        ("NetworkSecurityGroupRuleCounter", None, True),
    ]
    assert setting.storage_account_id and setting.workspace_id is None
    # real ARM sends no systemData on diagnostic settings: the product cannot tell when one last changed
    assert setting.last_modified_at is None


def test_a_refused_setting_put_with_a_bare_error_body_is_a_permanent_arm_error(replay) -> None:
    rec = "diagnostic_settings_error_2025-09"
    server, gateway = replay(exchanges(rec, 0))
    workspace = f"/subscriptions/{RECORDED_SUB}/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/ws"

    with pytest.raises(ArmError) as caught:
        gateway.write_setting(nsg(rec), change(workspace, "NetworkSecurityGroupEvent"), None)

    served_all(server)
    assert (caught.value.status, caught.value.code, caught.value.transient) == (400, "BadRequest", False)
    assert "is not a marketplace resource" in caught.value.message


def test_a_workspace_creation_polled_through_azure_async_operation_without_retry_after(replay) -> None:
    rec = "ws_create_2025-02-01"
    server, gateway = replay(exchanges(rec, 0, 1, 2, 3))
    workspace = f"/subscriptions/{RECORDED_SUB}/resourceGroups/clitest.rg000001/providers/Microsoft.OperationalInsights/workspaces/ws000004"

    creation = gateway.create_workspace(WorkspaceId(workspace), location="southcentralus", retention_days=30, tags={})

    served_all(server)  # PUT 201, InProgress, Succeeded, then the workspace itself
    assert (creation.created, creation.state) == (True, "Succeeded")


@pytest.mark.parametrize(
    ("rec", "script", "resource_group_first"),
    [
        ("ws_create_update_delete_2023-09-01", (0, 1, 2), True),
        ("ws_create_2021-12-01-preview_and_diag_put_2023-02", (0, 1), False),
    ],
)
def test_a_workspace_creation_polled_through_location_only(replay, rec, script, resource_group_first) -> None:
    server, gateway = replay(exchanges(rec, *script))
    ids = load(VENDORED / f"{rec}.json").data["ids"]
    name = ids["workspace"].rsplit("/", 1)[-1]
    workspace = f"/subscriptions/{RECORDED_SUB}/resourceGroups/{ids['resource_group']}/providers/Microsoft.OperationalInsights/workspaces/{name}"

    if resource_group_first:
        assert gateway.resource_group_exists(RECORDED_SUB, ids["resource_group"]) is True
    location = exchanges(rec, script[-1])[0]["body"]["location"]
    creation = gateway.create_workspace(WorkspaceId(workspace), location=location, retention_days=30, tags={})

    served_all(server)  # 201 + Location (the workspace itself), then one GET of it: Succeeded
    assert (creation.created, creation.state) == (True, "Succeeded")


@pytest.mark.parametrize(
    ("rec", "script"),
    [
        ("tables_patch_inprogress_2021-12-01-preview_2022", (0, 1, 2, 3)),
        ("tables_put_patch_get_2021-12-01-preview", (3, 4, 5)),
    ],
)
def test_a_table_patch_is_long_running_even_without_a_plan_change(replay, rec, script) -> None:
    server, gateway = replay(exchanges(rec, *script))
    ids = load(VENDORED / f"{rec}.json").data["ids"]
    workspace = f"/subscriptions/{RECORDED_SUB}/resourceGroups/{ids['resource_group']}/providers/Microsoft.OperationalInsights/workspaces/{ids['workspace']}"

    plan = gateway.set_table_plan(workspace, ids["table"], "Analytics")

    served_all(server)  # 202 + Azure-AsyncOperation, (InProgress,) Succeeded, the table
    assert plan == "Analytics"


def test_cluster_resource_group_and_workspace_reads(replay) -> None:
    rec = "aks_cluster_rg_workspace_2024-02"
    server, gateway = replay(exchanges(rec, 0, 1, 3, 3, 4))
    ids = load(VENDORED / f"{rec}.json").data["ids"]
    workspace = (
        f"/subscriptions/{RECORDED_SUB}/resourceGroups/DefaultResourceGroup-EUS/providers/Microsoft.OperationalInsights"
        "/workspaces/DefaultWorkspace-8ecadfc9-d1a3-4ea4-b844-0d9f87e4d7c8-EUS"
    )

    with pytest.raises(ClusterNotFoundError):
        gateway.get_cluster(ids["cluster"])
    assert gateway.resource_group_exists(RECORDED_SUB, ids["resource_group"]) is True
    assert gateway.workspace_state(workspace) == "Succeeded"
    assert gateway.workspace_tags(workspace) == {}  # no "tags" key at all
    cluster = gateway.get_cluster(ids["cluster"])

    served_all(server)
    # ARM's spelling is kept ("resourcegroups"); the product compares IDs without regard to case
    assert cluster.id == ids["cluster"].replace("/resourceGroups/", "/resourcegroups/")
    assert (cluster.name, cluster.resource_group, cluster.location) == ("cliakstest000001", "clitest000001", "eastus")
    assert (cluster.provisioning_state, dict(cluster.tags)) == ("Succeeded", {})


def test_a_resource_group_creation(replay) -> None:
    rec = "resource_group_head_put_2020"
    server, gateway = replay(exchanges(rec, 1))

    creation = gateway.create_resource_group(RECORDED_SUB, "cli_test_rg_scenario000001", "westus", {"a": "b", "c": ""})

    served_all(server)
    assert creation.created is True
    assert creation.id.endswith("/resourceGroups/cli_test_rg_scenario000001")
