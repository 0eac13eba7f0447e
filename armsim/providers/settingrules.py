"""Microsoft.Insights' rules for a diagnostic setting PUT, beyond the spec's schema (what real ARM refuses).

Microsoft.Insights' own refusals are ``BadRequest`` with a bare ``{code, message}`` body (recorded); the
linked-access checks of the workspace are ARM's and keep its ``{"error": {...}}`` shape.
"""

from __future__ import annotations

from typing import Any

from armsim.errors import ArmError, bad_request, provider_bad_request
from armsim.providers.categories import CategoryTable
from armsim.routing import Request
from armsim.state import key

MAX_SETTINGS = 5
RETENTION_MESSAGE = "Diagnostic settings does not support retention for new diagnostic settings."
SINKS = ("workspaceId", "storageAccountId", "eventHubAuthorizationRuleId", "marketplacePartnerId")
# Resource providers of Azure Native ISV (marketplace) services a setting may send to (marketplacePartnerId).
MARKETPLACE_PROVIDERS = (
    "microsoft.datadog",
    "microsoft.elastic",
    "microsoft.logz",
    "dynatrace.observability",
    "newrelic.observability",
)


def check_retention(entry: dict[str, Any]) -> None:
    policy = entry.get("retentionPolicy")
    if policy and (policy.get("enabled") or (policy.get("days") or 0) > 0):
        raise provider_bad_request(RETENTION_MESSAGE)


def check_workspace_link(req: Request, workspace_id: Any) -> None:
    if not workspace_id:
        return
    sim = req.sim
    if not str(workspace_id).lower().startswith("/subscriptions/"):
        raise bad_request(
            f"Property id '{workspace_id}' at path 'properties.workspaceId' is invalid. Expect fully qualified "
            "resource Id that start with '/subscriptions/{subscriptionId}' or '/providers/{resourceProviderNamespace}/'.",
            "LinkedInvalidPropertyId",
        )
    wk = key(str(workspace_id))
    if sim.is_denied(wk) or not sim.is_granted("Microsoft.OperationalInsights/workspaces/sharedKeys/action", wk):
        raise ArmError(
            403,
            "LinkedAuthorizationFailed",
            f"The client '{sim.principal_id}' with object id '{sim.principal_id}' has permission to perform action "
            f"'Microsoft.Insights/diagnosticSettings/write' on scope '{req.path}'; however, it does not have "
            "permission to perform action(s) 'Microsoft.OperationalInsights/workspaces/sharedKeys/action' on the "
            f"linked scope(s) '{workspace_id}' (respectively) or the linked scope(s) are invalid.",
        )
    if wk not in sim.workspaces:
        raise bad_request(
            f"The linked resource '{workspace_id}' (properties.workspaceId) was not found.",
            "LinkedResourceNotFound",
        )


def _enabled_categories(props: dict[str, Any], table: CategoryTable) -> dict[str, str]:
    out: dict[str, str] = {}
    for entry in props.get("logs") or []:
        if not entry.get("enabled"):
            continue
        if entry.get("categoryGroup"):
            for member in table.expand_group(entry["categoryGroup"]):
                out.setdefault(member.lower(), member)
        elif entry.get("category"):
            out.setdefault(str(entry["category"]).lower(), str(entry["category"]))
    for entry in props.get("metrics") or []:
        if entry.get("enabled") and entry.get("category"):
            out.setdefault(str(entry["category"]).lower(), str(entry["category"]))
    return out


def _sinks(props: dict[str, Any]) -> dict[str, str]:
    sinks = {}
    for sink in SINKS:
        value = props.get(sink)
        if value:
            sinks[sink] = key(str(value))
            if sink == "eventHubAuthorizationRuleId":
                sinks[sink] += "|" + str(props.get("eventHubName") or "").lower()
    return sinks


def check_sink_reuse(
    existing: dict[str, dict[str, Any]], name: str, props: dict[str, Any], table: CategoryTable
) -> None:
    mine = _enabled_categories(props, table)
    my_sinks = _sinks(props)
    for other_key, other in existing.items():
        if other_key == name.lower():
            continue
        other_props = other.get("properties") or {}
        other_sinks = _sinks(other_props)
        theirs = _enabled_categories(other_props, table)
        for sink, value in my_sinks.items():
            if other_sinks.get(sink) != value:
                continue
            shared = [mine[c] for c in mine if c in theirs]
            if shared:
                raise provider_bad_request(
                    f"Data sink '{props[sink]}' is already used in diagnostic setting '{other['name']}' for "
                    f"category '{shared[0]}'. Data sinks can't be reused in different settings on the same "
                    "category for the same resource."
                )
