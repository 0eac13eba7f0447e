"""Microsoft.ContainerService: managed clusters (list by subscription or resource group, paged; get).

Answers as real ARM's (``../shared/azure-recordings``): the ID spells ``resourcegroups`` in lower case,
there is no ``tags`` key when the cluster has none, and no ``eTag`` or ``systemData``.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Mapping
from typing import Any

from armsim.errors import bad_request, not_found, rg_not_found
from armsim.providers.resources import ResourcesSeeding, find_resource_group
from armsim.routing import Request, Response, Route
from armsim.state import key

API_VERSIONS: dict[str, tuple[str, ...]] = {
    "managedClusters": ("2026-08-01",),  # azure-mgmt-containerservice 41.8.0
}
CLUSTERS = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters"


class ClusterSeeding(ResourcesSeeding):
    """Mixin of :class:`armsim.ArmSimulator`: managed clusters."""

    def _init_state(self) -> None:
        super()._init_state()
        self.clusters: dict[str, dict[str, Any]] = {}
        self.pending_settles: dict[str, list[Any]] = {}  # cluster key -> [reads left, state]
        self.register_resources(self.clusters)

    def add_cluster(
        self,
        subscription_id: str,
        resource_group: str,
        name: str,
        location: str,
        provisioning_state: str = "Succeeded",
        tags: Mapping[str, str] | None = None,
    ) -> str:
        with self.lock:
            self.add_resource_group(subscription_id, resource_group, location)
            rid = (
                f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
                f"/providers/Microsoft.ContainerService/managedClusters/{name}"
            )
            dns = f"{name[:30]}-dns"
            suffix = uuid.uuid5(uuid.NAMESPACE_URL, key(rid)).hex[:8]
            self.clusters[key(rid)] = {
                "id": rid,
                "location": location,
                "name": name,
                "tags": dict(tags or {}),
                "type": "Microsoft.ContainerService/ManagedClusters",
                "identity": {"type": "SystemAssigned", "principalId": str(uuid.uuid5(uuid.NAMESPACE_URL, rid))},
                "sku": {"name": "Base", "tier": "Standard"},
                "properties": {
                    "provisioningState": provisioning_state,
                    "powerState": {"code": "Running"},
                    "kubernetesVersion": "1.33.2",
                    "currentKubernetesVersion": "1.33.2",
                    "dnsPrefix": dns,
                    "fqdn": f"{dns}-{suffix}.hcp.{location}.azmk8s.io",
                    "azurePortalFQDN": f"{dns}-{suffix}.portal.hcp.{location}.azmk8s.io",
                    "agentPoolProfiles": [
                        {
                            "name": "nodepool1",
                            "count": 3,
                            "vmSize": "Standard_D4ds_v5",
                            "maxPods": 110,
                            "osType": "Linux",
                            "mode": "System",
                            "orchestratorVersion": "1.33.2",
                            "provisioningState": provisioning_state,
                        }
                    ],
                    "enableRBAC": True,
                    "nodeResourceGroup": f"MC_{resource_group}_{name}_{location}",
                    "maxAgentPools": 100,
                },
            }
            return rid

    def set_cluster_state(self, cluster_id: str, state: str) -> None:
        with self.lock:
            cluster = self.clusters[key(cluster_id)]
            cluster["properties"]["provisioningState"] = state

    def settle_after_reads(self, cluster_id: str, reads: int = 1, state: str = "Succeeded") -> None:
        """After ``reads`` more GETs of the cluster have been answered, its provisioningState becomes ``state``.

        Lets a test model a cluster that finishes provisioning while the product waits, deterministically.
        """
        with self.lock:
            self.pending_settles[key(cluster_id)] = [reads, state]

    def cluster_read(self, cluster_key: str) -> None:
        """Called by the handler after answering a GET of a cluster."""
        with self.lock:
            pending = self.pending_settles.get(cluster_key)
            if pending is None:
                return
            pending[0] -= 1
            if pending[0] <= 0:
                self.clusters[cluster_key]["properties"]["provisioningState"] = pending[1]
                del self.pending_settles[cluster_key]

    def get_cluster(self, cluster_id: str) -> dict[str, Any] | None:
        with self.lock:
            cluster = self.clusters.get(key(cluster_id))
            return copy.deepcopy(cluster) if cluster else None

    def delete_cluster(self, cluster_id: str) -> None:
        with self.lock:
            self.clusters.pop(key(cluster_id), None)
            self._forget(key(cluster_id))


def cluster_answer(cluster: dict[str, Any]) -> dict[str, Any]:
    """A stored cluster as ARM answers it: ``resourcegroups`` in its ID, no empty ``tags``."""
    answer = dict(cluster)
    parts = str(answer["id"]).split("/")
    if len(parts) > 3 and parts[3].lower() == "resourcegroups":
        parts[3] = "resourcegroups"
        answer["id"] = "/".join(parts)
    if not answer.get("tags"):
        answer.pop("tags", None)
    return answer


def list_clusters(req: Request, sub: str, rg: str = "") -> Response:
    sim = req.sim
    if rg and find_resource_group(sim, sub, rg) is None:
        raise rg_not_found(rg)
    prefix = key(f"/subscriptions/{sub}/resourceGroups/{rg}" if rg else f"/subscriptions/{sub}") + "/"
    clusters = [c for k, c in sim.clusters.items() if k.startswith(prefix)]
    try:
        skip = int(req.query.get("$skipToken") or 0)
    except ValueError:
        raise bad_request("The $skipToken is invalid.", "InvalidSkipToken") from None
    size = max(1, sim.page_size)
    page = clusters[skip : skip + size]
    body: dict[str, Any] = {"value": [cluster_answer(c) for c in page]}
    if skip + size < len(clusters):
        body["nextLink"] = f"{sim.base_url}{req.path}?api-version={req.api_version}&$skipToken={skip + size}"
    return Response(200, body)


def get_cluster(req: Request, sub: str, rg: str, name: str) -> Response:
    if find_resource_group(req.sim, sub, rg) is None:
        raise rg_not_found(rg)
    found = req.sim.clusters.get(key(req.path))
    if found is None:
        raise not_found("Microsoft.ContainerService/managedClusters", name, rg)
    response = Response(200, copy.deepcopy(cluster_answer(found)))
    req.sim.cluster_read(key(req.path))
    return response


ROUTES = (
    Route(
        "GET",
        "/subscriptions/{sub}/providers/Microsoft.ContainerService/managedClusters",
        "managedClusters",
        list_clusters,
    ),
    Route("GET", CLUSTERS, "managedClusters", list_clusters),
    Route("GET", CLUSTERS + "/{name}", "managedClusters", get_cluster),
)
