"""Microsoft.Management: management groups (the hierarchy, the descendants API, paged) and role
assignments on them.

The seeding API builds a hierarchy (:meth:`ManagementSeeding.add_management_group`) and moves
subscriptions in and out of it (:meth:`ManagementSeeding.move_subscription`); a subscription under no
group is under none (armsim has no tenant root group unless a test adds one). In grant mode
(:meth:`armsim.ArmSimulator.grant`), a grant on ``/providers/Microsoft.Management/managementGroups/{id}``
is inherited by every group and subscription below it, as an Azure role assignment on a management
group is, and follows a subscription's moves at once.

``GET /providers/Microsoft.Management/managementGroups/{id}/descendants`` answers every group and
subscription below the group, depth first, ``page_size`` per page with a ``nextLink`` carrying
``$skiptoken`` (ManagementGroups_GetDescendants, api-version 2023-04-01). It needs
``Microsoft.Management/managementGroups/descendants/read`` at the group or above (403
``AuthorizationFailed`` otherwise, and for a group that does not exist: ARM does not say which).
"""

from __future__ import annotations

from typing import Any

from armsim.errors import ArmError
from armsim.routing import Request, Response, Route
from armsim.state import State, key

API_VERSIONS: dict[str, tuple[str, ...]] = {
    "managementGroups": ("2023-04-01",),  # azure-mgmt-managementgroups 2.0.0
}
GROUPS_PREFIX = "/providers/Microsoft.Management/managementGroups/"
DESCENDANTS_ACTION = "Microsoft.Management/managementGroups/descendants/read"


def group_id(name: str) -> str:
    return f"{GROUPS_PREFIX}{name}"


class ManagementSeeding(State):
    """Mixin of :class:`armsim.ArmSimulator`: the management-group hierarchy."""

    def _init_state(self) -> None:
        super()._init_state()
        self.management_groups: dict[str, dict[str, Any]] = {}  # name (lower) -> {name, displayName, parent}
        self.subscription_parents: dict[str, str] = {}  # subscription GUID (lower) -> group name (lower)

    def add_management_group(self, name: str, parent: str | None = None, display_name: str = "") -> str:
        """Create group ``name`` under ``parent`` (a group added before), or at the top; its ID."""
        with self.lock:
            if parent is not None and parent.lower() not in self.management_groups:
                raise ValueError(f"unknown parent management group {parent!r}")
            self.management_groups[name.lower()] = {
                "name": name,
                "displayName": display_name or name,
                "parent": parent.lower() if parent is not None else None,
            }
            return group_id(name)

    def move_subscription(self, subscription_id: str, group: str | None) -> None:
        """Put the subscription under ``group`` (None: out of every group), creating it if needed."""
        with self.lock:
            if key(f"/subscriptions/{subscription_id}") not in self.subscriptions:
                self.add_subscription(subscription_id)
            if group is None:
                self.subscription_parents.pop(subscription_id.lower(), None)
                return
            if group.lower() not in self.management_groups:
                raise ValueError(f"unknown management group {group!r}")
            self.subscription_parents[subscription_id.lower()] = group.lower()

    def ancestors(self, name: str | None) -> list[str]:
        """``name`` and every group above it (lower case), nearest first."""
        chain: list[str] = []
        while name is not None and name not in chain:
            chain.append(name)
            name = self.management_groups.get(name, {}).get("parent")
        return chain

    def _within(self, target_key: str, scope_key: str) -> bool:
        """A grant on a management group covers the groups and subscriptions below it."""
        if super()._within(target_key, scope_key):
            return True
        prefix = key(GROUPS_PREFIX)
        if not scope_key.startswith(prefix + "/"):
            return False
        group = scope_key[len(prefix) + 1 :].split("/")[0]
        parts = target_key.split("/")
        if target_key.startswith(prefix + "/"):
            return group in self.ancestors(parts[4] if len(parts) > 4 else None)
        if len(parts) > 2 and parts[1] == "subscriptions":
            return group in self.ancestors(self.subscription_parents.get(parts[2]))
        return False

    def descendants(self, name: str) -> list[dict[str, Any]]:
        """Every group and subscription below group ``name``, depth first (as the API lists them)."""
        found: list[dict[str, Any]] = []
        parent_id = group_id(self.management_groups[name]["name"])
        for child_key, child in sorted(self.management_groups.items()):
            if child["parent"] == name:
                found.append(
                    {
                        "id": group_id(child["name"]),
                        "type": "Microsoft.Management/managementGroups",
                        "name": child["name"],
                        "properties": {"displayName": child["displayName"], "parent": {"id": parent_id}},
                    }
                )
                found.extend(self.descendants(child_key))
        for sub, parent in sorted(self.subscription_parents.items()):
            if parent == name:
                subscription = self.subscriptions[key(f"/subscriptions/{sub}")]
                found.append(
                    {
                        "id": f"/subscriptions/{subscription['subscriptionId']}",
                        "type": "Microsoft.Management/managementGroups/subscriptions",
                        "name": subscription["subscriptionId"],
                        "properties": {"displayName": subscription["displayName"], "parent": {"id": parent_id}},
                    }
                )
        return found


def get_descendants(req: Request, group: str) -> Response:
    sim = req.sim
    scope = group_id(group)
    name = group.lower()
    if name not in sim.management_groups and sim.role_grants is None:
        raise ArmError(404, "NotFound", f"Management group '{group}' was not found.")
    if name not in sim.management_groups or not sim.is_granted(DESCENDANTS_ACTION, key(scope)):
        raise ArmError(
            403,
            "AuthorizationFailed",
            f"The client '{sim.principal_id}' with object id '{sim.principal_id}' does not have authorization to "
            f"perform action '{DESCENDANTS_ACTION}' over scope '{scope}' or the scope is invalid. "
            "If access was recently granted, please refresh your credentials.",
        )
    everything = sim.descendants(name)
    raw = req.query.get("$skiptoken") or "0"
    if not raw.isdigit():
        raise ArmError(400, "InvalidSkipToken", f"The skip token '{raw}' is not valid.")
    skip = int(raw)
    size = max(1, sim.page_size)
    body: dict[str, Any] = {"value": everything[skip : skip + size], "nextLink": None}
    if skip + size < len(everything):
        body["nextLink"] = f"{sim.base_url}{req.path}?api-version={req.api_version}&$skiptoken={skip + size}"
    return Response(200, body)


ROUTES = (
    Route(
        "GET",
        "/providers/Microsoft.Management/managementGroups/{group}/descendants",
        "managementGroups",
        get_descendants,
        tenant=True,
    ),
)
