"""Microsoft.Resources: subscriptions (list, get) and resource groups (get, HEAD, PUT).

Subscriptions and resource groups are the shared estate (:class:`armsim.state.State` keeps them);
this module serves them and seeds them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from armsim.errors import bad_request, rg_not_found
from armsim.routing import Request, Response, Route
from armsim.state import State, key

API_VERSIONS: dict[str, tuple[str, ...]] = {
    "subscriptions": ("2022-12-01",),  # azure-mgmt-resource-subscriptions 1.0.0
    "resourceGroups": ("2025-04-01",),  # azure-mgmt-resource 26.0.0
}
_RG_NAME = re.compile(r"^[-\w._()]{1,90}$")


class ResourcesSeeding(State):
    """Mixin of :class:`armsim.ArmSimulator`: subscriptions and resource groups."""

    def add_subscription(self, subscription_id: str, display_name: str = "", state: str = "Enabled") -> str:
        with self.lock:
            sid = f"/subscriptions/{subscription_id}"
            self.subscriptions[key(sid)] = {
                "id": sid,
                "authorizationSource": "RoleBased",
                "managedByTenants": [],
                "subscriptionId": subscription_id,
                "tenantId": self.tenant_id,
                "displayName": display_name or f"Subscription {subscription_id[:8]}",
                "state": state,
                "subscriptionPolicies": {
                    "locationPlacementId": "Public_2014-09-01",
                    "quotaId": "EnterpriseAgreement_2014-09-01",
                    "spendingLimit": "Off",
                },
            }
            return sid

    def _ensure_subscription(self, subscription_id: str) -> None:
        if key(f"/subscriptions/{subscription_id}") not in self.subscriptions:
            self.add_subscription(subscription_id)

    def add_resource_group(
        self, subscription_id: str, name: str, location: str, tags: Mapping[str, str] | None = None
    ) -> str:
        with self.lock:
            self._ensure_subscription(subscription_id)
            rid = f"/subscriptions/{subscription_id}/resourceGroups/{name}"
            existing = self.resource_groups.get(key(rid))
            if existing is None:
                self.resource_groups[key(rid)] = {
                    "id": rid,
                    "name": name,
                    "type": "Microsoft.Resources/resourceGroups",
                    "location": location,
                    "tags": dict(tags or {}),
                    "properties": {"provisioningState": "Succeeded"},
                }
                return rid
            return str(existing["id"])

    def resource_group_exists(self, subscription_id: str, name: str) -> bool:
        with self.lock:
            return key(f"/subscriptions/{subscription_id}/resourceGroups/{name}") in self.resource_groups


def find_resource_group(sim: State, sub: str, rg: str) -> dict[str, Any] | None:
    return sim.resource_groups.get(key(f"/subscriptions/{sub}/resourceGroups/{rg}"))


def list_subscriptions(req: Request) -> Response:
    visible = [
        v for k, v in req.sim.subscriptions.items() if req.sim.is_granted("Microsoft.Resources/subscriptions/read", k)
    ]
    return Response(200, {"value": visible})


def get_subscription(req: Request, sub: str) -> Response:
    return Response(200, req.sim.subscriptions[key(f"/subscriptions/{sub}")])


def get_rg(req: Request, sub: str, rg: str) -> Response:
    found = find_resource_group(req.sim, sub, rg)
    if found is None:
        raise rg_not_found(rg)
    return Response(200, found)


def head_rg(req: Request, sub: str, rg: str) -> Response:
    return Response(204 if find_resource_group(req.sim, sub, rg) is not None else 404)


def put_rg(req: Request, sub: str, rg: str) -> Response:
    body = req.json_body()
    if not _RG_NAME.match(rg) or rg.endswith("."):
        raise bad_request(f"Resource group name '{rg}' is invalid.", "InvalidResourceGroup")
    if not body.get("location"):
        raise bad_request("The location property is required for this definition.", "LocationRequired")
    existing = find_resource_group(req.sim, sub, rg)
    if existing is not None:
        if "tags" in body:
            existing["tags"] = dict(body.get("tags") or {})
        return Response(200, existing)
    rid = req.sim.add_resource_group(sub, rg, str(body["location"]), body.get("tags"))
    created = req.sim.resource_groups[key(rid)]
    if body.get("managedBy"):
        created["managedBy"] = str(body["managedBy"])
    return Response(201, created)


ROUTES = (
    Route("GET", "/subscriptions", "subscriptions", list_subscriptions, tenant=True),
    Route("GET", "/subscriptions/{sub}", "subscriptions", get_subscription),
    Route("GET", "/subscriptions/{sub}/resourceGroups/{rg}", "resourceGroups", get_rg),
    Route("HEAD", "/subscriptions/{sub}/resourceGroups/{rg}", "resourceGroups", head_rg),
    Route("PUT", "/subscriptions/{sub}/resourceGroups/{rg}", "resourceGroups", put_rg),
)
