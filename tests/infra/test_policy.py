"""The events policy of group mode (infra/policy/eventgrid-coverage.json), evaluated here.

Azure Policy cannot run offline, so this file holds a small evaluator of the two languages the
definition uses: the policy condition language (``field``/``equals``/``allOf``... with aliases)
for the ``existenceCondition``, and ARM template expressions (``[parameters('x')]``,
``[concat(...)]``...) for the names and the deployment template. The existenceCondition is
evaluated against subscriptions whose topic exists, is missing, or delivers elsewhere, and against
exactly what the deployment template would create (so a remediated subscription is compliant and
is not deployed to again at every evaluation).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pycep import BicepParser

from remediation.app.events import HANDLED_EVENT_TYPES, HANDLED_OPERATIONS

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
POLICY = INFRA / "policy" / "eventgrid-coverage.json"

HUB = "11111111-1111-1111-1111-111111111111"
SPOKE = "22222222-2222-2222-2222-222222222222"
APP_RG = "rg-aks-audit"
FUNCTION = (
    f"/subscriptions/{HUB}/resourceGroups/{APP_RG}/providers/Microsoft.Web/sites/func-hub/functions/on_resource_event"
)
OTHER_FUNCTION = f"/subscriptions/{HUB}/resourceGroups/rg-other/providers/Microsoft.Web/sites/func-other/functions/x"
IDENTITY = (
    f"/subscriptions/{HUB}/resourceGroups/{APP_RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-events"
)
STORAGE = f"/subscriptions/{HUB}/resourceGroups/{APP_RG}/providers/Microsoft.Storage/storageAccounts/sthub"

# What managementgroup.bicep assigns (test_the_assignment_passes_every_parameter holds the names).
ASSIGNMENT = {
    "effect": "DeployIfNotExists",
    "eventsResourceGroupName": "rg-aks-audit-remediation-events",
    "eventsLocation": "swedencentral",
    "systemTopicName": "evgt-aks-audit-remediation",
    "eventSubscriptionName": "aks-audit-remediation",
    "functionResourceId": FUNCTION,
    "deadLetterStorageAccountId": STORAGE,
    "deadLetterContainerName": "eventgrid-deadletter",
    "topicIdentityId": IDENTITY,
    "maxDeliveryAttempts": 30,
    "eventTimeToLiveInMinutes": 1440,
}


@cache
def policy() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(POLICY.read_text())
    return loaded


def details() -> dict[str, Any]:
    found: dict[str, Any] = policy()["policyRule"]["then"]["details"]
    return found


# ---------------------------------------------------------------------------------------------
# ARM template expressions: the subset the definition uses
# ---------------------------------------------------------------------------------------------

TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>-?\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<sym>[(),.\[\]]))"
)


@dataclass
class Context:
    parameters: Mapping[str, Any]
    subscription_id: str = SPOKE
    deployment_name: str = "policy-deployment"


def evaluate(text: Any, ctx: Context) -> Any:
    """The value of a JSON string that may be an ARM expression ``[...]``; other values as they are."""
    if not isinstance(text, str) or not (text.startswith("[") and text.endswith("]")) or text.startswith("[["):
        return text
    tokens = list(TOKEN.finditer(text[1:-1]))
    assert "".join(m.group(0) for m in tokens).strip() == text[1:-1].strip(), f"cannot tokenise {text}"
    items = [(m.lastgroup, m.group(m.lastgroup or "")) for m in tokens]
    value, rest = _expression(items, ctx)
    assert not rest, f"trailing tokens in {text}: {rest}"
    return value


def _expression(items: list[tuple[str | None, str]], ctx: Context) -> tuple[Any, list[tuple[str | None, str]]]:
    kind, token = items[0]
    rest = items[1:]
    if kind == "str":
        return token[1:-1].replace("''", "'"), rest
    if kind == "num":
        return int(token), rest
    assert kind == "name" and rest and rest[0] == ("sym", "("), f"unexpected {token}"
    rest = rest[1:]
    args: list[Any] = []
    while rest[0] != ("sym", ")"):
        arg, rest = _expression(rest, ctx)
        args.append(arg)
        if rest[0] == ("sym", ","):
            rest = rest[1:]
    rest = rest[1:]
    value = _call(token, args, ctx)
    while rest and rest[0] == ("sym", "."):
        value, rest = value[rest[1][1]], rest[2:]
    return value, rest


def _call(name: str, args: list[Any], ctx: Context) -> Any:
    if name == "parameters":
        return ctx.parameters[args[0]]
    if name == "concat":
        return "".join(str(a) for a in args)
    if name == "subscription":
        return {"id": f"/subscriptions/{ctx.subscription_id}", "subscriptionId": ctx.subscription_id}
    if name == "deployment":
        return {"name": ctx.deployment_name}
    if name == "uniqueString":
        return hashlib.sha256("|".join(args).encode()).hexdigest()[:13]
    if name == "resourceId":
        *_, resource_type, resource_name = args
        return f"/subscriptions/{ctx.subscription_id}/resourceGroups/<rg>/providers/{resource_type}/{resource_name}"
    if name == "subscriptionResourceId":
        resource_type, resource_name = args
        return f"/subscriptions/{ctx.subscription_id}/providers/{resource_type}/{resource_name}"
    raise AssertionError(f"the evaluator does not know {name}(): add it, or keep the template simpler")


def render(node: Any, ctx: Context) -> Any:
    """A template node with every expression evaluated (keys too: userAssignedIdentities)."""
    if isinstance(node, dict):
        return {evaluate(k, ctx): render(v, ctx) for k, v in node.items()}
    if isinstance(node, list):
        return [render(v, ctx) for v in node]
    return evaluate(node, ctx)


# ---------------------------------------------------------------------------------------------
# The policy condition language: the subset the definition uses
# ---------------------------------------------------------------------------------------------


def alias_value(resource: Mapping[str, Any], alias: str) -> Any:
    """Resolve an alias the way Azure Policy maps it onto the resource's properties.

    ``Microsoft.EventGrid/systemTopics/eventSubscriptions/destination.AzureFunction.resourceId``:
    the type prefix is the resource's type; ``destination.AzureFunction`` is the polymorphic
    destination whose ``endpointType`` is AzureFunction (absent otherwise), and its fields are
    under ``properties``, as in Event Grid's documented aliases (``destination.WebHook.endpointUrl``).
    """
    resource_type, _, path = alias.rpartition("/")
    if alias in ("type", "name", "location"):
        return resource.get(alias)
    assert resource_type.lower() == str(resource["type"]).lower(), alias
    node: Any = resource.get("properties", {})
    for segment in path.split("."):
        if not isinstance(node, Mapping):
            return None
        if segment in node:
            node = node[segment]
        elif str(node.get("endpointType", "")).lower() == segment.lower():
            node = node.get("properties", {})
        else:
            return None
    return node


def condition_holds(condition: Mapping[str, Any], resource: Mapping[str, Any], ctx: Context) -> bool:
    if "allOf" in condition:
        return all(condition_holds(c, resource, ctx) for c in condition["allOf"])
    if "anyOf" in condition:
        return any(condition_holds(c, resource, ctx) for c in condition["anyOf"])
    if "not" in condition:
        return not condition_holds(condition["not"], resource, ctx)
    value = alias_value(resource, condition["field"])
    if "equals" in condition:  # Azure Policy compares strings case-insensitively
        expected = evaluate(condition["equals"], ctx)
        return isinstance(value, str) and value.lower() == str(expected).lower()
    if "exists" in condition:
        return (value is not None) == (str(condition["exists"]).lower() == "true")
    raise AssertionError(f"the evaluator does not know {condition}")


def related_resources(subscription: Mapping[str, Any], ctx: Context) -> list[Mapping[str, Any]]:
    """The resources DeployIfNotExists looks at: its type and exact name, in its resource group."""
    wanted_type = details()["type"].lower()
    wanted_name = evaluate(details()["name"], ctx).lower()
    group = evaluate(details()["resourceGroupName"], ctx).lower()
    return [
        r
        for r in subscription["resources"]
        if r["type"].lower() == wanted_type and r["name"].lower() == wanted_name and r["resourceGroup"].lower() == group
    ]


def compliant(subscription: Mapping[str, Any], ctx: Context) -> bool:
    """DeployIfNotExists: compliant when some related resource satisfies the existenceCondition."""
    assert condition_holds(policy()["policyRule"]["if"], subscription["self"], ctx)
    return any(condition_holds(details()["existenceCondition"], r, ctx) for r in related_resources(subscription, ctx))


def context(**overrides: Any) -> Context:
    defaults = {n: p["defaultValue"] for n, p in policy()["parameters"].items() if "defaultValue" in p}
    return Context(parameters={**defaults, **ASSIGNMENT, **overrides})


def event_subscription(*, destination: str, group: str = "rg-aks-audit-remediation-events") -> dict[str, Any]:
    return {
        "type": "Microsoft.EventGrid/systemTopics/eventSubscriptions",
        "name": "evgt-aks-audit-remediation/aks-audit-remediation",
        "resourceGroup": group,
        "properties": {"destination": {"endpointType": "AzureFunction", "properties": {"resourceId": destination}}},
    }


def subscription_with(*resources: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "self": {"type": "Microsoft.Resources/subscriptions", "name": SPOKE},
        "resources": list(resources),
    }


# ---------------------------------------------------------------------------------------------
# The existenceCondition
# ---------------------------------------------------------------------------------------------


def test_the_policy_applies_to_subscriptions_and_deploys_at_subscription_scope() -> None:
    rule = policy()["policyRule"]
    assert rule["if"] == {"field": "type", "equals": "Microsoft.Resources/subscriptions"}
    assert rule["then"]["effect"] == "[parameters('effect')]"
    assert policy()["parameters"]["effect"]["defaultValue"] == "DeployIfNotExists"
    assert details()["deploymentScope"] == "Subscription", "the template creates the events resource group"
    assert details()["existenceScope"] == "ResourceGroup"
    assert policy()["mode"] == "All"


@pytest.mark.parametrize(
    ("case", "resources", "expected"),
    [
        ("missing: a new subscription", [], False),
        ("exists and delivers to the hub", [event_subscription(destination=FUNCTION)], True),
        ("exists, in other letter case", [event_subscription(destination=FUNCTION.upper())], True),
        ("exists and delivers elsewhere", [event_subscription(destination=OTHER_FUNCTION)], False),
        ("exists in another resource group", [event_subscription(destination=FUNCTION, group="rg-x")], False),
        (
            "one delivering elsewhere beside ours",
            [event_subscription(destination=OTHER_FUNCTION), event_subscription(destination=FUNCTION)],
            True,
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_existence_condition(case: str, resources: list[dict[str, Any]], expected: bool) -> None:
    assert compliant(subscription_with(*resources), context()) is expected, case


def test_a_webhook_destination_is_not_the_hub_function() -> None:
    webhook = event_subscription(destination=FUNCTION)
    webhook["properties"]["destination"] = {"endpointType": "WebHook", "properties": {"endpointUrl": FUNCTION}}
    assert not compliant(subscription_with(webhook), context())


# ---------------------------------------------------------------------------------------------
# The deployment template
# ---------------------------------------------------------------------------------------------


def deployed(ctx: Context) -> list[dict[str, Any]]:
    """The resources the policy's deployment creates in one subscription, fully evaluated."""
    deployment = details()["deployment"]
    outer_params = {n: evaluate(p["value"], ctx) for n, p in deployment["properties"]["parameters"].items()}
    template = deployment["properties"]["template"]
    outer = Context(parameters=outer_params, subscription_id=ctx.subscription_id)
    created: list[dict[str, Any]] = []
    for resource in template["resources"]:
        if resource["type"] == "Microsoft.Resources/deployments":
            group = evaluate(resource["resourceGroup"], outer)
            nested = resource["properties"]
            assert nested["expressionEvaluationOptions"] == {"scope": "inner"}
            inner_params = {n: evaluate(p["value"], outer) for n, p in nested["parameters"].items()}
            inner = Context(parameters=inner_params, subscription_id=ctx.subscription_id)
            for child in nested["template"]["resources"]:
                created.append({**render(child, inner), "resourceGroup": group})
        else:
            created.append(render(resource, outer))
    return created


def test_the_template_receives_every_parameter_it_declares() -> None:
    deployment = details()["deployment"]
    template = deployment["properties"]["template"]
    assert set(deployment["properties"]["parameters"]) == set(template["parameters"])
    assert set(template["parameters"]) <= set(policy()["parameters"])
    (nested,) = [r for r in template["resources"] if r["type"] == "Microsoft.Resources/deployments"]
    assert set(nested["properties"]["parameters"]) == set(nested["properties"]["template"]["parameters"])
    assert deployment["location"] == "[parameters('eventsLocation')]", "a subscription deployment needs a location"
    # Every policy parameter is used somewhere (an unused one is a typo waiting to happen).
    text = json.dumps(policy()["policyRule"])
    for name in policy()["parameters"]:
        assert f"parameters('{name}')" in text, name


def test_the_template_creates_the_group_the_topic_and_the_event_subscription() -> None:
    created = deployed(context())
    by_type = {r["type"]: r for r in created}
    assert set(by_type) == {
        "Microsoft.Resources/resourceGroups",
        "Microsoft.EventGrid/systemTopics",
        "Microsoft.EventGrid/systemTopics/eventSubscriptions",
    }
    assert by_type["Microsoft.Resources/resourceGroups"]["name"] == "rg-aks-audit-remediation-events"
    topic = by_type["Microsoft.EventGrid/systemTopics"]
    assert topic["resourceGroup"] == "rg-aks-audit-remediation-events"
    assert topic["location"] == "global"
    assert topic["properties"] == {
        "source": f"/subscriptions/{SPOKE}",
        "topicType": "Microsoft.Resources.Subscriptions",
    }
    assert topic["identity"] == {"type": "UserAssigned", "userAssignedIdentities": {IDENTITY: {}}}


def test_the_event_subscription_matches_the_one_eventgrid_bicep_deploys() -> None:
    (subscription,) = [r for r in deployed(context()) if r["type"].endswith("/eventSubscriptions")]
    properties = subscription["properties"]
    assert properties["eventDeliverySchema"] == "EventGridSchema"
    assert properties["destination"] == {
        "endpointType": "AzureFunction",
        "properties": {"resourceId": FUNCTION, "maxEventsPerBatch": 1, "preferredBatchSizeInKilobytes": 64},
    }
    event_filter = properties["filter"]
    assert {t.lower() for t in event_filter["includedEventTypes"]} == {t.lower() for t in HANDLED_EVENT_TYPES}
    (operation_filter,) = event_filter["advancedFilters"]
    assert operation_filter["operatorType"] == "StringIn" and operation_filter["key"] == "data.operationName"
    assert {v.lower() for v in operation_filter["values"]} == {o.lower() for o in HANDLED_OPERATIONS}
    assert properties["retryPolicy"] == {"maxDeliveryAttempts": 30, "eventTimeToLiveInMinutes": 1440}
    # The same filter as the Bicep event subscription of the other modes.
    bicep = BicepParser().parse(file_path=INFRA / "app" / "eventsubscription.bicep")
    bicep_filter = bicep["resources"]["eventSubscription"]["config"]["properties"]["filter"]
    assert bicep_filter["includedEventTypes"] == event_filter["includedEventTypes"]
    assert bicep_filter["advancedFilters"][0]["values"] == operation_filter["values"]


def test_the_event_subscription_dead_letters_with_the_hub_identity_no_key() -> None:
    (subscription,) = [r for r in deployed(context()) if r["type"].endswith("/eventSubscriptions")]
    dead_letter = subscription["properties"]["deadLetterWithResourceIdentity"]
    assert dead_letter["identity"] == {"type": "UserAssigned", "userAssignedIdentity": IDENTITY}
    assert dead_letter["deadLetterDestination"] == {
        "endpointType": "StorageBlob",
        "properties": {"resourceId": STORAGE, "blobContainerName": "eventgrid-deadletter"},
    }
    assert "deadLetterDestination" not in subscription["properties"], "no key-based dead-lettering"


def test_a_remediated_subscription_is_compliant_so_the_policy_does_not_deploy_again() -> None:
    ctx = context()
    created = deployed(ctx)
    assert not compliant(subscription_with(), ctx)
    assert compliant(subscription_with(*created), ctx)


def test_the_nested_deployment_name_is_unique_per_policy_deployment() -> None:
    # DeployIfNotExists documentation: nested deployments should use unique names to avoid
    # contention between evaluations; the parent deployment's name is the usual seed.
    (nested,) = [r for r in details()["deployment"]["properties"]["template"]["resources"] if "resourceGroup" in r]
    assert "deployment().name" in nested["name"]
    first = evaluate(nested["name"], Context(parameters={}, deployment_name="a"))
    assert first != evaluate(nested["name"], Context(parameters={}, deployment_name="b"))


# ---------------------------------------------------------------------------------------------
# The Bicep that defines and assigns it (managementgroup.bicep)
# ---------------------------------------------------------------------------------------------


@cache
def group_template() -> dict[str, Any]:
    parsed: dict[str, Any] = BicepParser().parse(file_path=INFRA / "managementgroup.bicep")
    return parsed


def test_the_definition_is_loaded_from_the_json_file() -> None:
    variable = group_template()["variables"]["policyJson"]["value"]["function"]
    assert variable["type"] == "load_json_content"
    assert variable["parameters"]["file_path"] == "policy/eventgrid-coverage.json"
    definition = group_template()["resources"]["policyDefinition"]["config"]["properties"]
    assert definition["policyType"] == "Custom"


def test_the_assignment_passes_every_parameter() -> None:
    assignment = group_template()["resources"]["policyAssignment"]["config"]
    passed = set(assignment["properties"]["parameters"])
    declared = policy()["parameters"]
    required = {n for n, p in declared.items() if "defaultValue" not in p}
    assert required <= passed <= set(declared)
    assert passed == set(ASSIGNMENT), "the scenarios above use what the assignment passes"
    assert assignment["identity"] == {"type": "SystemAssigned"}
    assert assignment["location"] == "location", "an assignment with a managed identity needs a location"


def test_the_policy_identity_holds_its_roles_and_the_app_none_of_them() -> None:
    resources = group_template()["resources"]
    role = resources["eventDeploymentRole"]["config"]["properties"]
    granted = role["permissions"][0]["actions"]
    assert not any("*" in a for a in granted)
    assert {a.split("/")[0] for a in granted} == {"Microsoft.Resources", "Microsoft.EventGrid"}
    assert not any(a.startswith("Microsoft.Authorization/") for a in granted), "no role-assignment rights"
    # roleDefinitionIds names exactly the roles its identity is given.
    details_node = resources["policyDefinition"]["config"]["properties"]["policyRule"]["then"]["details"]
    role_ids = details_node["function"]["parameters"]["arg_2"]["roleDefinitionIds"]
    assert role_ids[0]["operator"]["operands"] == {"operand_1": "eventDeploymentRole", "operand_2": "id"}
    assert [r["function"]["parameters"]["resource_name_1"] for r in role_ids[1:]] == [
        "websiteContributorRoleId",
        "managedIdentityOperatorRoleId",
    ]
    hub = BicepParser().parse(file_path=INFRA / "app" / "policy-hub-access.bicep")["resources"]
    assert {hub[n]["config"]["scope"] for n in ("policyFunctionWriter", "policyIdentityOperator")} == {
        "site",
        "topicIdentity",
    }
    # The app's identity: only the subscription role, on the group.
    app = resources["appSubscriptionRole"]["config"]["properties"]
    assert app["principalId"] == "functionPrincipalId"
    assert app["roleDefinitionId"] == "subscriptionRoleId"
    principals = {
        n: r["config"]["properties"]["principalId"]
        for n, r in resources.items()
        if r["type"] == "Microsoft.Authorization/roleAssignments"
    }
    assert [n for n, p in principals.items() if p == "functionPrincipalId"] == ["appSubscriptionRole"]


def test_existing_subscriptions_get_a_remediation_task_that_evaluates_first() -> None:
    module = group_template()["modules"]["remediations"]["config"]
    assert module["loop_type"]["detail"] == {"item_name": "id", "array_name": "existingList"}
    assert module["config"]["scope"]["function"] == {"type": "subscription", "parameters": {"subscription_id": "id"}}
    remediation = BicepParser().parse(file_path=INFRA / "app" / "policy-remediation.bicep")["resources"]
    properties = remediation["remediation"]["config"]["properties"]
    assert properties["resourceDiscoveryMode"] == "ReEvaluateCompliance"
    # It waits for the identity's roles, or its deployments would fail.
    assert set(module["config"]["dependsOn"]) == {"policyEventDeployment", "policyHubAccess"}
