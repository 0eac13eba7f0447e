"""Microsoft.Insights: diagnostic settings (list, get, PUT, DELETE) and their categories, on any resource.

Served at ``{resourceUri}/providers/Microsoft.Insights/diagnosticSettings[/{name}]`` and
``.../diagnosticSettingsCategories[/{name}]``. A PUT is validated against the spec schema and the
rules ARM applies (one of category/categoryGroup, known categories, no retention, a destination,
at most 5 settings, a category sent to one sink once, a linkable workspace); the provider's own
refusals have a bare ``{code, message}`` body.

Settings come back as real ARM sends them (``../shared/azure-recordings``): no ``systemData``, every
property present (``null`` or ``[]`` when unset), each log entry with ``categoryGroup`` and
``retentionPolicy {enabled: false, days: 0}``, ``kind``/``tags``/``identity`` null, ``location`` null
in a PUT's answer and the resource's location in reads, and an ID whose resource part is lower case
(``.../resourcegroups/rg/providers/microsoft.containerservice/managedclusters/aks/providers/
microsoft.insights/diagnosticSettings/name``). ``sim.setting_system_data = True`` adds ``systemData``
(armsim's old behaviour, for tests that need a setting's last write without the Activity Log).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from armsim.access import AccessControl
from armsim.errors import NOT_FOUND_HINT, ArmError, not_found, provider_bad_request, rg_not_found
from armsim.providers.activitylog import ActivityLogSeeding
from armsim.providers.categories import MANAGED_CLUSTER_TYPE, CategoryTable
from armsim.providers.resources import find_resource_group
from armsim.providers.settingrules import (
    MARKETPLACE_PROVIDERS,
    MAX_SETTINGS,
    SINKS,
    check_retention,
    check_sink_reuse,
    check_workspace_link,
)
from armsim.routing import Request, Response, Route
from armsim.state import iso, key, resource_type_of

API_VERSIONS: dict[str, tuple[str, ...]] = {
    "diagnosticSettings": ("2021-05-01-preview",),  # azure-mgmt-monitor 6.0.2
    "diagnosticSettingsCategories": ("2021-05-01-preview",),
}
SETTINGS = "{resourceUri*}/providers/Microsoft.Insights/diagnosticSettings"
CATEGORIES = "{resourceUri*}/providers/Microsoft.Insights/diagnosticSettingsCategories"
NO_RETENTION = {"enabled": False, "days": 0}


def filled_properties(properties: Mapping[str, Any]) -> dict[str, Any]:
    """A setting's properties as ARM answers them: every property present, nulls and empty lists filled in."""
    props: dict[str, Any] = {
        "storageAccountId": None,
        "serviceBusRuleId": None,
        "workspaceId": None,
        "eventHubAuthorizationRuleId": None,
        "eventHubName": None,
        "metrics": [],
        "logs": [],
        "logAnalyticsDestinationType": None,
    }
    props.update(copy.deepcopy(dict(properties)))
    props["metrics"] = [
        {"timeGrain": None, "category": None, **entry, "retentionPolicy": entry.get("retentionPolicy") or NO_RETENTION}
        for entry in props["metrics"] or []
    ]
    props["logs"] = [
        {
            "category": None,
            "categoryGroup": None,
            **entry,
            "retentionPolicy": entry.get("retentionPolicy") or NO_RETENTION,
        }
        for entry in props["logs"] or []
    ]
    return props


class InsightsSeeding(ActivityLogSeeding, AccessControl):
    """Mixin of :class:`armsim.ArmSimulator`: diagnostic settings and category metadata."""

    def _init_state(self) -> None:
        super()._init_state()
        self.diagnostic_settings: dict[str, dict[str, dict[str, Any]]] = {}  # resource key -> name.lower() -> json
        self.setting_system_data = False  # True: answers carry systemData (armsim's old behaviour, not ARM's)
        self.category_tables: dict[str, CategoryTable] = {MANAGED_CLUSTER_TYPE: CategoryTable.aks()}

    def _forget(self, resource_key: str) -> None:
        super()._forget(resource_key)
        self.diagnostic_settings.pop(resource_key, None)

    def setting_json(
        self,
        resource_id: str,
        name: str,
        properties: Mapping[str, Any],
        *,
        modified_at: datetime | None = None,
        previous: Mapping[str, Any] | None = None,
        by: str | None = None,
    ) -> dict[str, Any]:
        """A setting as a read answers it, plus ``systemData`` (createdAt kept from ``previous``), which
        answers carry only when ``setting_system_data`` is set."""
        moment = iso(modified_at or datetime.now(UTC))
        who = by or self.principal_id
        kept = dict((previous or {}).get("systemData") or {})
        return {
            "id": f"{key(resource_id)}/providers/microsoft.insights/diagnosticSettings/{name}",
            "type": "Microsoft.Insights/diagnosticSettings",
            "name": name,
            "location": self.resource_location(resource_id),
            "kind": None,
            "tags": None,
            "properties": filled_properties(properties),
            "identity": None,
            "systemData": {
                "createdBy": kept.get("createdBy", who),
                "createdByType": kept.get("createdByType", "Application"),
                "createdAt": kept.get("createdAt", moment),
                "lastModifiedBy": who,
                "lastModifiedByType": "Application",
                "lastModifiedAt": moment,
            },
        }

    def setting_answer(self, stored: Mapping[str, Any], *, after_put: bool = False) -> dict[str, Any]:
        """``stored`` as the wire carries it: without systemData (unless switched on); ``location`` null after a PUT."""
        answer = dict(stored)
        if not self.setting_system_data:
            answer.pop("systemData", None)
        if after_put:
            answer["location"] = None
        return answer

    def put_setting(
        self, resource_id: str, name: str, properties: dict[str, Any], *, last_modified_at: datetime | None = None
    ) -> None:
        """Seed a diagnostic setting, with no validation at all (answers fill in nulls as ARM does).

        Its ``systemData.lastModifiedAt`` is ``last_modified_at``, by default 30 days ago (an old setting), and
        the Activity Log holds its write at that time by ``user@contoso.example``.
        """
        modified_at = last_modified_at or datetime.now(UTC) - timedelta(days=30)
        with self.lock:
            per_resource = self.diagnostic_settings.setdefault(key(resource_id), {})
            existing = per_resource.get(name.lower())
            stored_name = existing["name"] if existing else name
            per_resource[name.lower()] = self.setting_json(
                resource_id, stored_name, properties, modified_at=modified_at, by="user@contoso.example"
            )
            setting_id = (
                "/" + resource_id.strip("/") + f"/providers/Microsoft.Insights/diagnosticSettings/{stored_name}"
            )
            self.add_activity(setting_id, at=modified_at)

    def get_setting(self, resource_id: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            setting = self.diagnostic_settings.get(key(resource_id), {}).get(name.lower())
            return copy.deepcopy(setting) if setting else None

    def settings(self, resource_id: str) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {s["name"]: copy.deepcopy(s) for s in self.diagnostic_settings.get(key(resource_id), {}).values()}

    def delete_setting(self, resource_id: str, name: str) -> None:
        with self.lock:
            self.diagnostic_settings.get(key(resource_id), {}).pop(name.lower(), None)

    def category_table(self, resource_type: str = MANAGED_CLUSTER_TYPE) -> CategoryTable:
        with self.lock:
            return self.category_tables.setdefault(resource_type.lower(), CategoryTable([], [], {}))

    def set_category_groups(
        self, groups: Mapping[str, Iterable[str]], resource_type: str = MANAGED_CLUSTER_TYPE
    ) -> None:
        """Replace the category groups (e.g. ``{"audit": [...], "allLogs": [...]}``); new members become categories."""
        with self.lock:
            self.category_table(resource_type).set_groups(groups)

    def set_categories(
        self,
        logs: Iterable[str],
        metrics: Iterable[str] = ("AllMetrics",),
        groups: Mapping[str, Iterable[str]] | None = None,
        resource_type: str = MANAGED_CLUSTER_TYPE,
    ) -> None:
        """Replace the whole category table of a resource type."""
        with self.lock:
            table = CategoryTable(list(logs), list(metrics), {})
            if groups is not None:
                table.set_groups(groups)
            self.category_tables[resource_type.lower()] = table


def _parent(req: Request, resource: str) -> str:
    """The resource's ID as created, or 404 (its resource group's, or its own)."""
    spelling = req.sim.resource_spelling(resource)
    if spelling is None or not key(resource).count("/providers/"):
        parts = [p for p in resource.split("/") if p]
        type_name = "/".join(parts[5:7]) if len(parts) >= 7 else resource_type_of(resource)
        rg = parts[3] if len(parts) > 3 else ""
        if len(parts) > 3 and find_resource_group(req.sim, parts[1], rg) is None:
            raise rg_not_found(rg)
        raise not_found(type_name, parts[-1] if parts else "", rg)
    return str(spelling)


def list_settings(req: Request, resource: str) -> Response:
    _parent(req, resource)
    values = req.sim.diagnostic_settings.get(key(resource), {}).values()
    return Response(200, {"value": [req.sim.setting_answer(v) for v in values]})


def get_setting(req: Request, resource: str, name: str) -> Response:
    _parent(req, resource)
    found = req.sim.diagnostic_settings.get(key(resource), {}).get(name.lower())
    if found is None:
        raise ArmError(404, "ResourceNotFound", f"The diagnostic setting '{name}' doesn't exist. {NOT_FOUND_HINT}")
    return Response(200, req.sim.setting_answer(found))


def delete_setting(req: Request, resource: str, name: str) -> Response:
    _parent(req, resource)
    found = req.sim.diagnostic_settings.get(key(resource), {}).pop(name.lower(), None)
    return Response(200 if found else 204)


def _categories(req: Request, parent: str) -> list[dict[str, Any]]:
    table = req.sim.category_table(resource_type_of(parent))
    base = f"{key(parent)}/providers/microsoft.insights/diagnosticSettingsCategories/"

    def item(name: str, properties: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": base + name,
            "type": "microsoft.insights/diagnosticSettingsCategories",
            "name": name,
            "location": None,
            "kind": None,
            "tags": None,
            "properties": properties,
            "identity": None,
        }

    items = [item(c, {"categoryType": "Logs", "categoryGroups": table.groups_of(c)}) for c in table.logs]
    return items + [item(m, {"categoryType": "Metrics"}) for m in table.metrics]


def list_categories(req: Request, resource: str) -> Response:
    return Response(200, {"value": _categories(req, _parent(req, resource))})


def get_category(req: Request, resource: str, name: str) -> Response:
    for item in _categories(req, _parent(req, resource)):
        if item["name"].lower() == name.lower():
            return Response(200, item)
    raise ArmError(404, "ResourceNotFound", f"The diagnostic settings category '{name}' doesn't exist.")


def put_setting(req: Request, resource: str, name: str) -> Response:
    sim = req.sim
    parent = _parent(req, resource)
    body = req.json_body()
    req.validate("diagnosticSettings", body)
    props = body.get("properties") or {}
    resource_type = resource_type_of(parent)
    table = sim.category_table(resource_type)
    for entry in props.get("logs") or []:
        category, group = entry.get("category"), entry.get("categoryGroup")
        if bool(category) == bool(group):
            raise provider_bad_request(
                "Each log setting must specify exactly one of 'category' or 'categoryGroup'; got "
                f"{json.dumps({k: entry.get(k) for k in ('category', 'categoryGroup')})}."
            )
        if category and table.find_log(category) is None:
            raise provider_bad_request(f"Category '{category}' is not supported for resource type '{resource_type}'.")
        if group and table.find_group(group) is None:
            raise provider_bad_request(
                f"Category group '{group}' is not supported for resource type '{resource_type}'."
            )
        check_retention(entry)
    for entry in props.get("metrics") or []:
        category = entry.get("category")
        if category and table.find_metric(category) is None:
            raise provider_bad_request(
                f"Metric category '{category}' is not supported for resource type '{resource_type}'."
            )
        check_retention(entry)
    if not any(props.get(sink) for sink in SINKS):
        raise provider_bad_request(
            "A diagnostic setting needs at least one destination: workspaceId, storageAccountId, "
            "eventHubAuthorizationRuleId or marketplacePartnerId."
        )
    partner = props.get("marketplacePartnerId")
    if partner and not resource_type_of(str(partner)).startswith(MARKETPLACE_PROVIDERS):
        # recorded: "The resource type 'microsoft.storage/storageaccounts' is not a marketplace resource."
        raise provider_bad_request(
            f"The resource type '{resource_type_of(str(partner))}' is not a marketplace resource."
        )
    existing = sim.diagnostic_settings.setdefault(key(resource), {})
    if name.lower() not in existing and len(existing) >= MAX_SETTINGS:
        raise provider_bad_request(
            f"The resource '{parent}' already has {len(existing)} diagnostic settings; at most {MAX_SETTINGS} "
            "are allowed per resource."
        )
    check_workspace_link(req, props.get("workspaceId"))
    check_sink_reuse(existing, name, props, table)
    previous = existing.get(name.lower())
    stored_name = previous["name"] if previous else name
    stored = sim.setting_json(resource, stored_name, props, previous=previous)
    existing[name.lower()] = stored
    return Response(200, sim.setting_answer(stored, after_put=True))


ROUTES = (
    Route("GET", SETTINGS, "diagnosticSettings", list_settings),
    Route("GET", SETTINGS + "/{name}", "diagnosticSettings", get_setting),
    Route("PUT", SETTINGS + "/{name}", "diagnosticSettings", put_setting),
    Route("DELETE", SETTINGS + "/{name}", "diagnosticSettings", delete_setting),
    Route("GET", CATEGORIES, "diagnosticSettingsCategories", list_categories),
    Route("GET", CATEGORIES + "/{name}", "diagnosticSettingsCategories", get_category),
)
