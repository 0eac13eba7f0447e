"""infra/ read through its parsed tree (pycep-parser): the Bicep must agree with the code.

No Bicep compiler runs here, so these tests also stand in for the checks it would make
(every file parses, module paths exist, module parameters are declared).
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pycep import BicepParser

from remediation.app.events import HANDLED_EVENT_TYPES, HANDLED_OPERATIONS
from remediation.config.settings import ALL_SETTING_NAMES, BY_NAME, FUNCTION_APP_SETTINGS, SETTINGS
from remediation.permissions import ACTIONS_BY_SCOPE, OVERLAPS, REQUIRED_ACTIONS, Scope, actions

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
BICEP_FILES = sorted(INFRA.rglob("*.bicep"))
DEFAULTS = {s.name: s.default for s in (*SETTINGS, *FUNCTION_APP_SETTINGS)}
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

# Built-in roles we expect, by ID, with the one resource each may be scoped to.
EXPECTED_DATA_ROLES = {
    "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "storage",  # Storage Blob Data Owner
    "974c5e8b-45b9-4653-ba55-5f855dd0fb88": "storage",  # Storage Queue Data Contributor
    "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": "storage",  # Storage Table Data Contributor
    "3913510d-42f4-4e42-8a64-420c390055eb": "applicationInsights",  # Monitoring Metrics Publisher
    "ba92f5b4-2d11-453d-a403-e96b0029c9fe": "deadLetterContainer",  # Storage Blob Data Contributor
}
SECRET_NAME = re.compile(r"key|secret|password|connectionstring|sas|token", re.IGNORECASE)
SECRET_TEXT = ("accountkey=", "sharedaccesssignature", "sharedaccesskey", "instrumentationkey=", "sig=")


@cache
def tree(relative: str) -> dict[str, Any]:
    return BicepParser().parse(file_path=INFRA / relative)


def walk(node: Any) -> Iterator[Any]:
    """Every node of a parsed tree, depth first."""
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def function_names(node: Any) -> Iterator[str]:
    """Names of every function called anywhere under ``node`` (plain, list* and resource.method())."""
    for item in walk(node):
        if not isinstance(item, dict):
            continue
        function = item.get("function")
        if isinstance(function, dict):
            yield str(function.get("type"))
            parameters = function.get("parameters")
            if isinstance(parameters, dict) and isinstance(parameters.get("func_name"), str):
                yield parameters["func_name"]
        operator = item.get("operator")
        if isinstance(operator, dict) and operator.get("type") == "function_accessor":
            yield str(operator["operands"]["func_name"])


def accessed_properties(node: Any) -> set[str]:
    """Every name read through ``a.b.c`` anywhere under ``node``."""
    names: set[str] = set()
    for item in walk(node):
        if isinstance(item, dict) and isinstance(item.get("operator"), dict):
            operator = item["operator"]
            if operator.get("type") == "property_accessor":
                names.update(v for v in operator["operands"].values() if isinstance(v, str))
        if isinstance(item, str):
            # Interpolations keep their expression as text: '${a.b.c}'.
            for expression in re.findall(r"\$\{([^}]*)\}", item):
                names.update(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expression))
    return names


def strings(node: Any) -> Iterator[str]:
    return (item for item in walk(node) if isinstance(item, str))


def body(config: dict[str, Any]) -> dict[str, Any]:
    """The body of a resource or module declaration, through ``if (...)`` and ``[for ...]`` wrappers."""
    while "loop_type" in config or ("condition" in config and isinstance(config.get("config"), dict)):
        config = config["config"]
    return config


def resources_of_type(resource_type: str) -> list[tuple[str, str, dict[str, Any]]]:
    found = []
    for path in BICEP_FILES:
        relative = str(path.relative_to(INFRA))
        for name, resource in tree(relative).get("resources", {}).items():
            if resource["type"].lower() == resource_type.lower() and not resource["existing"]:
                found.append((relative, name, resource))
    return found


def one_resource(resource_type: str) -> dict[str, Any]:
    found = resources_of_type(resource_type)
    assert len(found) == 1, f"expected one {resource_type}, found {[(f, n) for f, n, _ in found]}"
    return body(found[0][2]["config"])


def is_subscription_id(node: Any) -> bool:
    """True for the expression ``subscription().id``."""
    operator = node.get("operator", {}) if isinstance(node, dict) else {}
    operands = operator.get("operands", {})
    return (
        operator.get("type") == "property_accessor"
        and operands.get("operand_2") == "id"
        and isinstance(operands.get("operand_1"), dict)
        and operands["operand_1"].get("function", {}).get("type") == "subscription"
    )


# ---------------------------------------------------------------------------------------------
# Parsing and wiring
# ---------------------------------------------------------------------------------------------


def test_infra_has_the_expected_templates() -> None:
    names = {str(p.relative_to(INFRA)) for p in BICEP_FILES}
    assert {
        "main.bicep",
        "eventgrid.bicep",
        "app/rbac.bicep",
        "app/remediation-roles.bicep",
        "app/coverage.bicep",
        "app/alerts.bicep",
        "app/workbook.bicep",
        "managementgroup.bicep",
    } <= names


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: str(p.relative_to(INFRA)))
def test_every_bicep_file_parses(path: Path) -> None:
    parsed = tree(str(path.relative_to(INFRA)))
    assert parsed.get("resources") or parsed.get("modules"), "a template with nothing to deploy"


@pytest.mark.parametrize("entry", ["main.bicep", "eventgrid.bicep"])
def test_entry_templates_target_the_subscription(entry: str) -> None:
    assert tree(entry)["globals"]["scope"]["value"] == "subscription"


def test_the_management_group_template_targets_the_group() -> None:
    assert tree("managementgroup.bicep")["globals"]["scope"]["value"] == "managementGroup"


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: str(p.relative_to(INFRA)))
def test_modules_exist_and_receive_only_declared_parameters(path: Path) -> None:
    for name, module in tree(str(path.relative_to(INFRA))).get("modules", {}).items():
        assert module["type"] == "local", f"{name}: only local modules (checkov and offline builds read them)"
        target = (path.parent / module["detail"]["path"]).resolve()
        assert target.is_file(), f"{name}: {target} does not exist"
        declared = tree(str(target.relative_to(INFRA)))["parameters"]
        passed = set(body(module["config"]).get("params", {}))
        assert passed <= set(declared), f"{name}: undeclared parameters {passed - set(declared)}"
        required = {p for p, spec in declared.items() if "default" not in spec}
        assert required <= passed, f"{name}: missing required parameters {required - passed}"


# ---------------------------------------------------------------------------------------------
# Least privilege
# ---------------------------------------------------------------------------------------------


def _role(name: str) -> dict[str, Any]:
    return body(tree("app/remediation-roles.bicep")["resources"][name]["config"])


ROLE_OF_SCOPE = {
    Scope.SUBSCRIPTION: "subscriptionRole",
    Scope.WORKSPACE_RESOURCE_GROUP: "workspaceRole",
    Scope.WORKSPACE: "workspaceResourceRole",
    Scope.WORKSPACE_SUBSCRIPTION: "workspaceSubscriptionRole",
}


@pytest.mark.parametrize("scope", list(Scope))
def test_each_custom_role_holds_exactly_the_actions_of_its_scope(scope: Scope) -> None:
    role = _role(ROLE_OF_SCOPE[scope])
    permissions = role["properties"]["permissions"]
    assert len(permissions) == 1
    granted = permissions[0]["actions"]
    assert len(granted) == len(set(granted)), "duplicate actions"
    assert sorted(granted) == list(actions(scope))
    assert not any("*" in action for action in granted)
    for other in ("notActions", "dataActions", "notDataActions"):
        assert permissions[0].get(other, []) == []
    assert role["properties"]["type"] == "CustomRole"
    assert role["properties"]["assignableScopes"] == "assignableScopes"


def test_the_app_roles_and_the_policy_role_are_all_the_custom_roles() -> None:
    defined = {(f, n) for f, n, _ in resources_of_type("Microsoft.Authorization/roleDefinitions")}
    assert defined == {("app/remediation-roles.bicep", role) for role in ROLE_OF_SCOPE.values()} | {
        ("managementgroup.bicep", "eventDeploymentRole"),
        ("app/ledger-access.bicep", "ledgerAppenderRole"),  # the ledger's read-and-append data role
    }
    # The two optional roles exist only when their setting is used.
    roles = tree("app/remediation-roles.bicep")["resources"]
    assert roles["workspaceResourceRole"]["config"]["condition"] == "withWorkspaceResourceRole"
    assert roles["workspaceSubscriptionRole"]["config"]["condition"] == "withWorkspaceSubscriptionRole"
    params = body(tree("main.bicep")["modules"]["remediationRoles"]["config"])["params"]
    assert params["withWorkspaceResourceRole"] == "singleWorkspace"
    assert params["withWorkspaceSubscriptionRole"] == "oneWorkspaceSubscription"


def test_an_action_is_granted_at_two_scopes_only_where_listed() -> None:
    scopes_of: dict[str, set[Scope]] = {}
    for scope in Scope:
        for action in ACTIONS_BY_SCOPE[scope]:
            scopes_of.setdefault(action, set()).add(scope)
    overlapping = {a: frozenset(s) for a, s in scopes_of.items() if len(s) > 1}
    assert overlapping == dict(OVERLAPS)
    assert set(scopes_of) == set(REQUIRED_ACTIONS)
    # The one configured workspace gets nothing the workspace group's role does not hold, and no write.
    assert set(actions(Scope.WORKSPACE)) < set(actions(Scope.WORKSPACE_RESOURCE_GROUP))
    assert not any(a.endswith("/write") for a in actions(Scope.WORKSPACE))


def test_least_privilege_by_scope() -> None:
    subscription_wide = set(actions(Scope.SUBSCRIPTION))
    workspace_group = set(actions(Scope.WORKSPACE_RESOURCE_GROUP))
    # Writing workspaces and linking to them (sharedKeys) only where the audit workspaces live.
    for action in (
        "Microsoft.OperationalInsights/workspaces/write",
        "Microsoft.OperationalInsights/workspaces/sharedKeys/action",
    ):
        assert action in workspace_group and action not in subscription_wide
    # infra pre-creates the workspace resource group: no resource group writes at all.
    assert not any(a.lower().startswith("microsoft.resources/subscriptions/resourcegroups/") and not a.endswith("/read")
                   for a in REQUIRED_ACTIONS)  # fmt: skip
    assert not any(a.endswith(("/delete", "listKeys/action")) for a in REQUIRED_ACTIONS)
    assert "Microsoft.OperationalInsights/locations/operationStatuses/read" in subscription_wide


def test_roles_are_defined_once_assignable_in_every_covered_subscription() -> None:
    main = tree("main.bicep")
    params = body(main["modules"]["remediationRoles"]["config"])["params"]
    assert params["assignableScopes"] == "roleAssignableScopes"
    assert "scope" not in body(main["modules"]["remediationRoles"]["config"]), "in the app's subscription"
    covered = main["variables"]["coveredScopes"]["value"]
    assert covered["loop_type"]["detail"]["array_name"] == "coveredSubscriptions"
    assert covered["config"] == "/subscriptions/${id}"
    scopes = main["variables"]["roleAssignableScopes"]["value"]["function"]
    assert scopes["type"] == "union"
    assert "coveredScopes" in scopes["parameters"].values()
    # Group mode: assignable on the group (a custom role may name one management group).
    group_scope = [p for p in scopes["parameters"].values() if isinstance(p, dict) and "operator" in p]
    assert any(p["operator"]["operands"]["true_value"] == ["managementGroupScope"] for p in group_scope)
    assert main["variables"]["managementGroupScope"]["value"] == (
        "/providers/Microsoft.Management/managementGroups/${managementGroupId}"
    )


def test_subscription_role_is_assigned_on_each_covered_subscription() -> None:
    coverage = tree("app/coverage.bicep")
    assert coverage["globals"]["scope"]["value"] == "subscription"
    assignment = body(coverage["resources"]["subscriptionRoleAssignment"]["config"])
    assert "scope" not in assignment, "at the covered subscription itself"
    assert assignment["properties"]["principalType"] == "ServicePrincipal"
    assert assignment["properties"]["roleDefinitionId"] == "subscriptionRoleId"
    role_id = coverage["variables"]["subscriptionRoleId"]["value"]["function"]
    assert role_id["type"] == "subscription_resource_id"
    assert role_id["parameters"]["resource_name_1"] == "subscriptionRoleDefinitionName"
    main = tree("main.bicep")["modules"]["coverage"]["config"]
    assert main["loop_type"]["detail"]["array_name"] == "coveredSubscriptions"
    config = body(main)
    assert config["scope"]["function"] == {"type": "subscription", "parameters": {"subscription_id": "id"}}
    assert {"functionApp", "principalId"} <= accessed_properties(config["params"]["principalId"])
    assert {"remediationRoles", "subscriptionRoleName"} <= accessed_properties(
        config["params"]["subscriptionRoleDefinitionName"]
    )


def test_workspace_role_is_assigned_only_on_the_pre_created_workspace_group() -> None:
    group_file = tree("app/workspace-group.bicep")
    group = body(group_file["resources"]["workspaceGroup"]["config"])
    assert group["name"] == "name"
    access = body(group_file["modules"]["access"]["config"])
    assert access["scope"] == "workspaceGroup"
    assert access["params"]["roleDefinitionName"] == "roleDefinitionName"
    assignment = body(tree("app/workspace-access.bicep")["resources"]["workspaceRoleAssignment"]["config"])
    assert "scope" not in assignment, "at the module's scope: the workspace resource group"
    assert assignment["properties"]["roleDefinitionId"] == "roleDefinitionId"
    # Per covered subscription: REMEDIATION_WORKSPACE_RESOURCE_GROUP; or the group of REMEDIATION_WORKSPACE_ID.
    coverage = tree("app/coverage.bicep")["modules"]["workspaceGroup"]["config"]
    assert coverage["condition"] == "perRegionWorkspaces"
    assert body(coverage)["params"]["name"] == "workspaceResourceGroupName"
    assert {"remediationRoles", "workspaceRoleName"} <= accessed_properties(
        body(tree("main.bicep")["modules"]["coverage"]["config"])["params"]["workspaceRoleDefinitionName"]
    )
    main = tree("main.bicep")
    coverage_params = body(main["modules"]["coverage"]["config"])["params"]
    assert coverage_params["workspaceResourceGroupName"] == "remediationWorkspaceResourceGroup"
    # Only where the tool creates workspaces: not with one configured workspace, not when every
    # workspace lives in REMEDIATION_WORKSPACE_SUBSCRIPTION_ID (whose one group gets it instead).
    assert accessed_properties(coverage_params["perRegionWorkspaces"]) == set()
    assert {"singleWorkspace", "oneWorkspaceSubscription"} <= set(strings(coverage_params["perRegionWorkspaces"]))
    one = main["modules"]["workspaceSubscriptionGroup"]["config"]
    assert one["condition"] == "oneWorkspaceSubscription"
    assert body(one)["params"]["name"] == "remediationWorkspaceResourceGroup"
    assert {"remediationRoles", "workspaceSubscriptionRoleName"} <= accessed_properties(
        body(one)["params"]["subscriptionRoleDefinitionName"]
    )


def test_one_configured_workspace_gets_the_narrow_role_on_itself_not_its_group() -> None:
    main = tree("main.bicep")
    single = main["modules"]["singleWorkspaceAccess"]["config"]
    assert single["condition"] == "singleWorkspace"
    assert body(single)["scope"]["function"]["type"] == "resource_group"
    assert body(single)["params"]["workspaceName"] == "singleWorkspaceName"
    assert {"remediationRoles", "workspaceResourceRoleName"} <= accessed_properties(
        body(single)["params"]["roleDefinitionName"]
    )
    use = tree("app/workspace-use.bicep")["resources"]
    assert use["workspace"]["existing"], "the workspace must exist; infra neither creates nor changes it"
    assignment = body(use["workspaceRoleAssignment"]["config"])
    assert assignment["scope"] == "workspace"
    assert accessed_properties(assignment["name"]) >= {"workspace", "id"}
    assert "singleWorkspaceGroup" not in main["modules"], "no role on the workspace's resource group"


def test_per_subscription_infra_scopes_the_app_to_its_subscription() -> None:
    value = tree("main.bicep")["variables"]["subscriptionIdsSetting"]["value"]["operator"]["operands"]
    # Group mode: REMEDIATION_SUBSCRIPTION_IDS only narrows the group.
    assert value["condition"] == "managementGroupMode"
    assert value["true_value"] == "remediationSubscriptionIds"
    per_subscription = value["false_value"]["operator"]["operands"]
    assert per_subscription["condition"]["function"]["parameters"] == {"item_to_test": "estateList"}
    own = per_subscription["true_value"]["operator"]["operands"]
    assert own["condition"]["function"]["parameters"] == {"item_to_test": "remediationSubscriptionIds"}
    assert accessed_properties(own["true_value"]) >= {"subscriptionId"}, "empty = this subscription, not all"


def test_data_plane_roles_are_the_expected_ones_on_single_resources() -> None:
    rbac = tree("app/rbac.bicep")
    role_ids = {name: var["value"] for name, var in rbac["variables"].items() if name.endswith("RoleId")}
    assert all(GUID.match(value) for value in role_ids.values())
    seen: dict[str, str] = {}
    for name, resource in rbac["resources"].items():
        if resource["type"] != "Microsoft.Authorization/roleAssignments":
            continue
        config = body(resource["config"])
        role_ref = config["properties"]["roleDefinitionId"]["function"]
        assert role_ref["type"] == "subscription_resource_id"
        assert role_ref["parameters"]["resource_type"] == "Microsoft.Authorization/roleDefinitions"
        role_var = role_ref["parameters"]["resource_name_1"]
        role_id = role_ids[role_var]
        scope = config["scope"]
        assert isinstance(scope, str), f"{name}: scoped to one resource, not a resource group"
        # guid(scope.id, principal, role)
        guid = config["name"]["function"]
        assert guid["type"] == "guid"
        args = list(guid["parameters"].values())
        assert accessed_properties(args[0]) == {scope, "id"}, f"{name}: guid() starts with the scope's id"
        assert args[1] == config["properties"]["principalId"]
        assert args[2] == role_var
        assert config["properties"]["principalType"] == "ServicePrincipal"
        seen[role_id] = scope
    assert seen == EXPECTED_DATA_ROLES
    # The app's own topic exists only in per-subscription mode; so does its dead-letter assignment.
    assert rbac["resources"]["systemTopicDeadLetterWriter"]["config"]["condition"] is not None
    # Every assignment in the whole of infra/ is in rbac.bicep, or one of the custom roles', or the
    # dead-letter role of a covered subscription's topic.
    everywhere = resources_of_type("Microsoft.Authorization/roleAssignments")
    assert {f for f, _, _ in everywhere} == {
        "app/rbac.bicep",
        "app/coverage.bicep",
        "app/workspace-access.bicep",
        "app/workspace-group.bicep",
        "app/workspace-use.bicep",
        "app/deadletter-access.bicep",
        "managementgroup.bicep",
        "app/policy-hub-access.bicep",
        "app/ledger-access.bicep",
    }


def test_covered_subscription_topics_dead_letter_to_the_app_storage_with_their_identity() -> None:
    access = tree("app/deadletter-access.bicep")
    assignment = body(access["resources"]["topicDeadLetter"]["config"])
    assert assignment["scope"] == "deadLetterContainer"
    role = assignment["properties"]["roleDefinitionId"]["function"]["parameters"]["resource_name_1"]
    assert access["variables"][role]["value"] == "ba92f5b4-2d11-453d-a403-e96b0029c9fe"  # Blob Data Contributor
    assert assignment["properties"]["principalId"] == "systemTopicPrincipalId"
    coverage = tree("app/coverage.bicep")["modules"]
    dead_letter = coverage["deadLetterAccess"]["config"]
    assert dead_letter["condition"] == "withSystemTopic"
    assert body(dead_letter)["scope"]["function"] == {
        "type": "resource_group",
        "parameters": {"resource_group_name": "appResourceGroupName", "subscription_id": "appSubscriptionId"},
    }
    assert coverage["systemTopic"]["config"]["condition"] == "withSystemTopic"


# ---------------------------------------------------------------------------------------------
# Event Grid
# ---------------------------------------------------------------------------------------------


def test_system_topic_is_the_subscription_topic() -> None:
    topic = one_resource("Microsoft.EventGrid/systemTopics")
    assert topic["location"] == "global"
    assert topic["properties"]["topicType"] == "Microsoft.Resources.Subscriptions"
    assert is_subscription_id(topic["properties"]["source"])
    assert topic["identity"]["type"] == "SystemAssigned"


def test_event_subscription_filters_exactly_the_handled_events() -> None:
    subscription = one_resource("Microsoft.EventGrid/systemTopics/eventSubscriptions")["properties"]
    event_types = subscription["filter"]["includedEventTypes"]
    assert len(event_types) == len(set(event_types))
    assert {t.lower() for t in event_types} == {t.lower() for t in HANDLED_EVENT_TYPES}
    filters = subscription["filter"]["advancedFilters"]
    assert len(filters) == 1
    (operation_filter,) = filters
    assert operation_filter["operatorType"] == "StringIn"  # case-insensitive in Event Grid
    assert operation_filter["key"] == "data.operationName"
    values = operation_filter["values"]
    assert len(values) == len(set(values))
    assert {v.lower() for v in values} == {o.lower() for o in HANDLED_OPERATIONS}


def test_event_subscription_delivers_to_the_event_grid_function() -> None:
    subscription = one_resource("Microsoft.EventGrid/systemTopics/eventSubscriptions")["properties"]
    assert subscription["eventDeliverySchema"] == "EventGridSchema"
    destination = subscription["destination"]
    assert destination["endpointType"] == "AzureFunction"
    assert destination["properties"]["resourceId"] == "${site.id}/functions/${functionName}"
    assert tree("eventgrid.bicep")["parameters"]["functionName"]["default"] == "on_resource_event"


def test_event_subscription_retries_and_dead_letters_with_its_identity() -> None:
    subscription = one_resource("Microsoft.EventGrid/systemTopics/eventSubscriptions")["properties"]
    assert set(subscription["retryPolicy"]) == {"maxDeliveryAttempts", "eventTimeToLiveInMinutes"}
    dead_letter = subscription["deadLetterWithResourceIdentity"]
    assert dead_letter["identity"]["type"] == "SystemAssigned"
    destination = dead_letter["deadLetterDestination"]
    assert destination["endpointType"] == "StorageBlob"
    assert destination["properties"]["blobContainerName"] == "deadLetterContainerName"
    assert "deadLetterDestination" not in subscription, "no key-based dead-lettering"


def test_event_subscription_is_not_in_the_main_deployment() -> None:
    # The function must exist before Event Grid accepts it as an endpoint (postdeploy step).
    main_files = {"main.bicep", *(m["detail"]["path"] for m in tree("main.bicep")["modules"].values())}
    (found,) = resources_of_type("Microsoft.EventGrid/systemTopics/eventSubscriptions")
    assert found[0] not in main_files
    assert "eventSubscription" in tree("eventgrid.bicep")["modules"]


# ---------------------------------------------------------------------------------------------
# App settings
# ---------------------------------------------------------------------------------------------


def test_every_remediation_setting_comes_from_a_parameter_with_the_documented_default() -> None:
    main = tree("main.bicep")
    settings = main["variables"]["remediationAppSettings"]["value"]
    assert set(settings) == set(ALL_SETTING_NAMES)
    for name, reference in settings.items():
        if name == "REMEDIATION_SUBSCRIPTION_IDS":
            # Estate mode sets it from the covered list, per subscription from this subscription;
            # group mode from its parameter (test_per_subscription_infra_scopes_the_app_to_its_subscription).
            assert reference == "subscriptionIdsSetting"
            operands = main["variables"]["subscriptionIdsSetting"]["value"]["operator"]["operands"]
            estate = operands["false_value"]["operator"]["operands"]["false_value"]["function"]
            assert estate["type"] == "join"
            assert estate["parameters"]["input_array"] == "coveredSubscriptions"
            reference = operands["true_value"]
        if name == "REMEDIATION_MANAGEMENT_GROUP":
            # Only in group mode, where the role is assigned on the group.
            operands = reference["operator"]["operands"]
            assert operands["condition"] == "managementGroupMode" and operands["false_value"] == ""
            reference = operands["true_value"]
            assert reference == "managementGroupId"
        if name == "REMEDIATION_WORKSPACE_SUBSCRIPTION_ID":
            # Group mode defaults it to the hub; one configured workspace makes it moot.
            operands = reference["operator"]["operands"]
            assert operands["condition"] == "singleWorkspace" and operands["true_value"] == ""
            assert operands["false_value"] == "workspaceSubscriptionSetting"
            setting = main["variables"]["workspaceSubscriptionSetting"]["value"]["operator"]["operands"]
            assert setting["false_value"] == "remediationWorkspaceSubscriptionId"
            reference = setting["false_value"]
        if name == "REMEDIATION_LEDGER_BLOB_ENDPOINT":
            # The ledger's own storage account, made by this deployment: its endpoint, not a parameter.
            assert accessed_properties(reference) >= {"storage", "ledgerBlobEndpoint"}
            continue
        assert reference in main["parameters"], f"{name} must be set from a parameter, got {reference!r}"
        if name == "REMEDIATION_WORKSPACE_ID":
            assert reference == "auditWorkspaceId"
        parameter = main["parameters"][reference]
        assert parameter["type"] == "string"
        assert parameter["default"] == DEFAULTS[name], f"{name}: default of {reference}"
    assert main["modules"]["functionApp"]["config"]["params"]["appSettings"] == "remediationAppSettings"


def _decorators(parameter: dict[str, Any]) -> dict[str, Any]:
    return {d["type"]: d["argument"] for d in parameter.get("decorators", [])}


def test_each_setting_parameter_states_the_range_the_catalogue_declares() -> None:
    main = tree("main.bicep")
    by_setting = {_decorators(p).get("description", "").partition(":")[0]: p for p in main["parameters"].values()}
    for setting in (*SETTINGS, *FUNCTION_APP_SETTINGS):
        if setting.choices:
            assert _decorators(by_setting[setting.name])["allowed"] == list(setting.choices), setting.name
        elif setting.numeric:
            assert f"({setting.allowed})" in _decorators(by_setting[setting.name])["description"], setting.name
    retention = BY_NAME["REMEDIATION_LEDGER_RETENTION_DAYS"]
    storage = _decorators(tree("core/storage.bicep")["parameters"]["ledgerRetentionDays"])
    assert (storage["min_value"], storage["max_value"]) == (retention.low, retention.high)


def _function_app_settings() -> list[dict[str, Any]]:
    function = tree("app/function.bicep")
    site = function["resources"]["site"]["config"]
    combined = site["properties"]["siteConfig"]["appSettings"]["function"]
    assert combined["type"] == "concat"
    assert list(combined["parameters"].values()) == ["hostSettings", "remediationSettings"]
    loop = function["variables"]["remediationSettings"]["value"]
    assert loop["loop_type"]["detail"]["array_name"]["function"] == {
        "type": "items",
        "parameters": {"arg_1": "appSettings"},
    }
    return function["variables"]["hostSettings"]["value"]


def test_remediation_settings_reach_the_function_app() -> None:
    _function_app_settings()


def test_host_storage_is_identity_based() -> None:
    settings = {s["name"]: s["value"] for s in _function_app_settings()}
    assert settings["AzureWebJobsStorage__credential"] == "managedidentity"
    for suffix in ("accountName", "blobServiceUri", "queueServiceUri", "tableServiceUri"):
        assert f"AzureWebJobsStorage__{suffix}" in settings
    assert "AzureWebJobsStorage" not in settings, "no connection string"
    # Flex Consumption rejects these as app settings (they live in functionAppConfig).
    assert "FUNCTIONS_WORKER_RUNTIME" not in settings
    assert "FUNCTIONS_EXTENSION_VERSION" not in settings


def test_application_insights_uses_entra_id_ingestion() -> None:
    settings = {s["name"]: s["value"] for s in _function_app_settings()}
    assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "Authorization=AAD"
    component = one_resource("Microsoft.Insights/components")["properties"]
    assert component["DisableLocalAuth"] is True
    assert {"logAnalytics", "id"} <= accessed_properties(component["WorkspaceResourceId"])


# ---------------------------------------------------------------------------------------------
# No secrets
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: str(p.relative_to(INFRA)))
def test_no_key_listing_or_sas_anywhere(path: Path) -> None:
    parsed = tree(str(path.relative_to(INFRA)))
    called = {name.lower() for name in function_names(parsed)}
    listing = {name for name in called if name.startswith("list") or name.replace("_", "").startswith("list")}
    assert not listing, f"key/SAS listing functions: {listing}"
    for text in strings(parsed):
        assert not any(marker in text.lower() for marker in SECRET_TEXT), text
    read = {name.lower() for name in accessed_properties(parsed)}
    assert not read & {"primarykey", "secondarykey", "instrumentationkey", "keys"}


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: str(p.relative_to(INFRA)))
def test_no_secret_in_outputs(path: Path) -> None:
    for name, output in tree(str(path.relative_to(INFRA))).get("outputs", {}).items():
        assert not SECRET_NAME.search(name), f"output {name}"
        read = {n.lower() for n in accessed_properties(output["value"])}
        assert not read & {"connectionstring", "instrumentationkey", "primarykey", "keys"}, f"output {name}"


def test_no_secret_in_app_settings() -> None:
    settings = {s["name"]: s["value"] for s in _function_app_settings()}
    for name, value in settings.items():
        read = {n.lower() for n in accessed_properties(value)}
        if name == "APPLICATIONINSIGHTS_CONNECTION_STRING":
            # Only an endpoint and an identifier once local auth is off (asserted above and here).
            assert settings["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"] == "Authorization=AAD"
            assert one_resource("Microsoft.Insights/components")["properties"]["DisableLocalAuth"] is True
            continue
        assert not SECRET_NAME.search(name), name
        assert not read & {"connectionstring", "instrumentationkey", "primarykey", "keys"}, name
    # The REMEDIATION_* values are plain parameters, none of them @secure().
    for parameter in tree("main.bicep")["parameters"].values():
        assert "secure" not in {d.get("type") for d in parameter["decorators"]}


# ---------------------------------------------------------------------------------------------
# Hardening
# ---------------------------------------------------------------------------------------------


def test_storage_account_is_hardened() -> None:
    accounts = resources_of_type("Microsoft.Storage/storageAccounts")
    assert {(f, n) for f, n, _ in accounts} == {
        ("core/storage.bicep", "storage"),
        ("core/storage.bicep", "ledgerStorage"),
    }
    for _, _, account in accounts:
        storage = body(account["config"])["properties"]
        assert storage["allowSharedKeyAccess"] is False
        assert storage["minimumTlsVersion"] == "TLS1_2"
        assert storage["allowBlobPublicAccess"] is False
        assert storage["supportsHttpsTrafficOnly"] is True
    for _, _, container in resources_of_type("Microsoft.Storage/storageAccounts/blobServices/containers"):
        assert container["config"]["properties"]["publicAccess"] == "None"


def test_ledger_and_state_tables_are_created_with_the_configured_names() -> None:
    tables = resources_of_type("Microsoft.Storage/storageAccounts/tableServices/tables")
    assert sorted(t[2]["config"]["name"] for t in tables) == ["ledgerTableName", "stateTableName"]
    params = tree("main.bicep")["modules"]["storage"]["config"]["params"]
    assert params["ledgerTableName"] == "remediationLedgerTable"
    assert params["stateTableName"] == "remediationStateTable"


def test_sweep_queue_and_its_poison_queue_are_created() -> None:
    storage = tree("core/storage.bicep")
    queues = {name: r["config"] for name, r in storage["resources"].items() if r["type"].endswith("/queues")}
    assert set(queues) == {"sweepQueue", "sweepPoisonQueue"}
    assert queues["sweepQueue"]["name"] == "sweepQueueName"
    # The Functions host moves a message that failed maxDequeueCount times to "<queue>-poison".
    assert queues["sweepPoisonQueue"]["name"] == "${sweepQueueName}-poison"
    params = tree("main.bicep")["modules"]["storage"]["config"]["params"]
    assert params["sweepQueueName"] == "remediationSweepQueue"


def test_function_app_is_flex_consumption_python_311_and_hardened() -> None:
    plan = one_resource("Microsoft.Web/serverfarms")
    assert plan["sku"] == {"name": "FC1", "tier": "FlexConsumption"}
    assert plan["properties"]["reserved"] is True  # Linux
    site = one_resource("Microsoft.Web/sites")
    assert site["kind"] == "functionapp,linux"
    assert site["identity"]["type"] == "SystemAssigned"
    properties = site["properties"]
    assert properties["httpsOnly"] is True
    assert properties["siteConfig"]["ftpsState"] == "Disabled"
    assert properties["siteConfig"]["minTlsVersion"] == "1.2"
    assert properties["siteConfig"]["remoteDebuggingEnabled"] is False
    config = properties["functionAppConfig"]
    assert config["runtime"] == {"name": "python", "version": "3.11"}
    storage = config["deployment"]["storage"]
    assert storage["type"] == "blobContainer"
    assert storage["authentication"] == {"type": "SystemAssignedIdentity"}
    assert set(config["scaleAndConcurrency"]) == {"maximumInstanceCount", "instanceMemoryMB"}
    policies = resources_of_type("Microsoft.Web/sites/basicPublishingCredentialsPolicies")
    assert {p[2]["config"]["name"]: p[2]["config"]["properties"]["allow"] for p in policies} == {
        "ftp": False,
        "scm": False,
    }


# ---------------------------------------------------------------------------------------------
# Outputs, azd and the post-deploy step
# ---------------------------------------------------------------------------------------------


def test_main_outputs_name_principal_and_report_url_without_key() -> None:
    outputs = tree("main.bicep")["outputs"]
    assert {"functionApp", "name"} <= accessed_properties(outputs["AZURE_FUNCTION_APP_NAME"]["value"])
    assert {"functionApp", "principalId"} <= accessed_properties(outputs["FUNCTION_APP_PRINCIPAL_ID"]["value"])
    assert outputs["REPORT_URL"]["value"] == "https://${functionApp.outputs.defaultHostName}/api/report"


def _hook() -> str:
    return (INFRA / "hooks" / "postdeploy.sh").read_text()


def test_postdeploy_hook_is_wired_in_azure_yaml() -> None:
    azure_yaml = (ROOT / "azure.yaml").read_text()
    assert "run: ./infra/hooks/postdeploy.sh" in azure_yaml
    assert "host: function" in azure_yaml
    hook = INFRA / "hooks" / "postdeploy.sh"
    assert hook.stat().st_mode & 0o111, "executable"
    subprocess.run(["sh", "-n", str(hook)], check=True)


def test_postdeploy_hook_uses_main_outputs_and_eventgrid_parameters() -> None:
    hook = _hook()
    assert "az deployment sub create" in hook
    assert "eventgrid.bicep" in hook
    outputs = set(tree("main.bicep")["outputs"])
    names = r"AZURE_[A-Z_]+|EVENTGRID_[A-Z_]+|STORAGE_[A-Z_]+|DEADLETTER_[A-Z_]+|MANAGEMENT_GROUP_ID|HUB_[A-Z_]+|CUSTOM_[A-Z_]+"
    used = set(re.findall(rf"\$\{{?({names}|FUNCTION_APP_PRINCIPAL_ID)", hook))
    used -= {"AZURE_ENV_NAME", "EVENTGRID_DEPLOY_ATTEMPTS", "EVENTGRID_DEPLOY_DELAY_SECONDS"}
    assert used and used <= outputs, used - outputs
    # Group mode deploys managementgroup.bicep, the other modes eventgrid.bicep: each call passes
    # only parameters its template declares, and every required one.
    group_call, _, sub_call = hook.partition("az deployment sub create")
    group_call = group_call[group_call.index("az deployment mg create") :].split("--output none")[0]
    for call, template in ((group_call, "managementgroup.bicep"), (sub_call, "eventgrid.bicep")):
        passed = set(re.findall(r"^\s+([A-Za-z]+)=\"\$", call, re.MULTILINE))
        parameters = tree(template)["parameters"]
        assert passed <= set(parameters), (template, passed - set(parameters))
        assert {p for p, spec in parameters.items() if "default" not in spec} <= passed, template


def test_postdeploy_hook_fails_clearly_without_outputs() -> None:
    result = subprocess.run(
        ["sh", str(INFRA / "hooks" / "postdeploy.sh")], env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "AZURE_LOCATION is not set" in result.stderr


# ---------------------------------------------------------------------------------------------
# Estate mode
# ---------------------------------------------------------------------------------------------


def test_estate_list_defaults_to_this_subscription_only() -> None:
    main = tree("main.bicep")
    assert main["parameters"]["estateSubscriptionIds"]["default"] == ""
    estate = main["variables"]["estateList"]["value"]["operator"]["operands"]
    either = estate["condition"]["operator"]
    assert either["type"] == "or" and either["operands"]["operand_1"] == "managementGroupMode"
    assert either["operands"]["operand_2"]["function"]["parameters"] == {"item_to_test": "estateSubscriptionIds"}
    assert estate["true_value"] == []
    assert estate["false_value"]["function"]["type"] == "split"
    covered = main["variables"]["coveredSubscriptions"]["value"]["operator"]["operands"]
    # Group mode: no per-subscription deployment at all (the role is on the group).
    assert covered["condition"] == "managementGroupMode" and covered["true_value"] == []
    listed = covered["false_value"]["operator"]["operands"]
    assert listed["condition"]["function"]["parameters"] == {"item_to_test": "estateList"}
    (only,) = listed["true_value"]
    assert accessed_properties(only) >= {"subscriptionId"}
    assert listed["false_value"] == "estateList"


def test_estate_mode_gives_each_covered_subscription_its_topic_and_no_topic_in_the_hub() -> None:
    main = tree("main.bicep")
    hub_topic = main["modules"]["systemTopic"]["config"]
    assert hub_topic["condition"] == "perSubscriptionMode"
    mode = main["variables"]["perSubscriptionMode"]["value"]["operator"]
    assert mode["type"] == "and" and mode["operands"]["operand_1"]["operator"]["type"] == "not"
    params = body(main["modules"]["coverage"]["config"])["params"]
    assert params["withSystemTopic"]["operator"]["type"] == "not"
    assert params["systemTopicName"] == "estateSystemTopicName"
    assert params["eventsResourceGroupName"] == "estateEventsResourceGroupName"
    assert {"rg", "name"} <= accessed_properties(params["appResourceGroupName"])
    assert {"storage", "name"} <= accessed_properties(params["storageAccountName"])
    coverage = tree("app/coverage.bicep")
    assert coverage["resources"]["eventsGroup"]["config"]["condition"] == "withSystemTopic"
    topic = body(coverage["modules"]["systemTopic"]["config"])
    assert topic["scope"] == "eventsGroup"
    assert topic["params"]["name"] == "systemTopicName"


def test_estate_event_subscriptions_deliver_across_subscriptions_to_the_hub() -> None:
    events = tree("eventgrid.bicep")
    assert events["modules"]["eventSubscription"]["config"]["condition"]["function"]["parameters"] == {
        "item_to_test": "estateList"
    }
    estate = events["modules"]["estateEventSubscriptions"]["config"]
    assert estate["loop_type"]["detail"] == {"item_name": "id", "array_name": "estateList"}
    config = body(estate)
    assert config["scope"]["function"] == {
        "type": "resource_group",
        "parameters": {"resource_group_name": "estateResourceGroupName", "subscription_id": "id"},
    }
    params = config["params"]
    assert params["systemTopicName"] == "estateSystemTopicName"
    assert params["appResourceGroupName"] == "resourceGroupName"
    assert accessed_properties(params["appSubscriptionId"]) >= {"subscriptionId"}
    # The endpoint and the dead-letter account are looked up in the hub's subscription and group.
    module = tree("app/eventsubscription.bicep")["resources"]
    for name in ("site", "storage"):
        assert module[name]["config"]["scope"]["function"] == {
            "type": "resource_group",
            "parameters": {"resource_group_name": "appResourceGroupName", "subscription_id": "appSubscriptionId"},
        }
    # main.bicep's outputs feed eventgrid.bicep's estate parameters through the hook.
    outputs = tree("main.bicep")["outputs"]
    assert outputs["EVENTGRID_ESTATE_RESOURCE_GROUP"]["value"] == "estateEventsResourceGroupName"
    assert outputs["EVENTGRID_ESTATE_TOPIC_NAME"]["value"] == "estateSystemTopicName"
    hook = _hook()
    assert 'estateSubscriptionIds="${EVENTGRID_ESTATE_SUBSCRIPTION_IDS:-}"' in hook
    assert 'estateResourceGroupName="${EVENTGRID_ESTATE_RESOURCE_GROUP:-' in hook
    assert 'estateSystemTopicName="${EVENTGRID_ESTATE_TOPIC_NAME:-' in hook
    # Same defaults on both sides.
    main_params = tree("main.bicep")["parameters"]
    assert (
        events["parameters"]["estateResourceGroupName"]["default"]
        == main_params["estateEventsResourceGroupName"]["default"]
    )
    assert events["parameters"]["estateSystemTopicName"]["default"] == main_params["estateSystemTopicName"]["default"]


def test_estate_parameters_are_wired_for_azd() -> None:
    parameters = json.loads((INFRA / "main.parameters.json").read_text())["parameters"]
    assert parameters["estateSubscriptionIds"]["value"] == "${AKS_AUDIT_ESTATE_SUBSCRIPTION_IDS=}"
    assert parameters["alertEmail"]["value"] == "${AKS_AUDIT_ALERT_EMAIL=}"
    declared = tree("main.bicep")["parameters"]
    assert set(parameters) <= set(declared)


def test_management_group_hook_is_valid_and_a_no_op_without_a_group() -> None:
    hook = INFRA / "hooks" / "estate-subscriptions.sh"
    assert hook.stat().st_mode & 0o111, "executable"
    subprocess.run(["sh", "-n", str(hook)], check=True)
    result = subprocess.run(["sh", str(hook)], env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True)
    assert result.returncode == 0 and "nothing to do" in result.stdout
    assert "AKS_AUDIT_ESTATE_SUBSCRIPTION_IDS" in hook.read_text()
    assert "run: ./infra/hooks/estate-subscriptions.sh" in (ROOT / "azure.yaml").read_text()


@pytest.mark.parametrize("scope", list(Scope))
def test_readme_lists_each_role_with_exactly_its_actions_and_reasons(scope: Scope) -> None:
    readme = (INFRA / "README.md").read_text()
    heading = {
        Scope.SUBSCRIPTION: "**`AKS audit log remediation`, assigned on every covered subscription",
        Scope.WORKSPACE_RESOURCE_GROUP: "**`AKS audit log remediation (workspaces)`, assigned only on the audit-workspace",
        Scope.WORKSPACE: "**`AKS audit log remediation (workspace)`, assigned only on the one workspace",
        Scope.WORKSPACE_SUBSCRIPTION: "**`AKS audit log remediation (workspace subscription)`, assigned only on",
    }[scope]
    section = readme[readme.index(heading) :]
    table = section[section.index("| Action | Why |") :].split("\n\n", 1)[0]
    rows = dict(re.findall(r"^\| `([^`]+)` \| (.+) \|$", table, re.MULTILINE))
    assert set(rows) == set(actions(scope))
    for action, why in rows.items():
        assert why.startswith(ACTIONS_BY_SCOPE[scope][action]), action


# ---------------------------------------------------------------------------------------------
# The tamper-evident change ledger
# ---------------------------------------------------------------------------------------------


def test_the_ledger_container_is_worm_with_protected_appends() -> None:
    storage = tree("core/storage.bicep")["resources"]
    account = body(storage["ledgerStorage"]["config"])
    assert account["properties"]["allowSharedKeyAccess"] is False, "no key can bypass the roles"
    assert account["name"] == "ledgerAccountName"
    assert body(storage["ledgerBlobServices"]["config"])["properties"]["isVersioningEnabled"] is True
    container = body(storage["ledgerContainer"]["config"])
    assert container["name"] == "ledgerContainerName"
    assert container["properties"]["immutableStorageWithVersioning"] == {"enabled": True}
    policy = body(storage["ledgerRetention"]["config"])
    assert policy["name"] == "default" and policy["parent"] == "ledgerContainer"
    assert policy["properties"] == {
        "immutabilityPeriodSinceCreationInDays": "ledgerRetentionDays",
        "allowProtectedAppendWrites": True,
    }
    main = tree("main.bicep")
    params = body(main["modules"]["storage"]["config"])["params"]
    assert params["ledgerContainerName"] == "remediationLedgerContainer"
    assert "remediationLedgerRetentionDays" in json.dumps(params["ledgerRetentionDays"])


def test_the_app_may_read_and_append_to_the_ledger_never_overwrite_or_delete() -> None:
    access = tree("app/ledger-access.bicep")["resources"]
    role = body(access["ledgerAppenderRole"]["config"])["properties"]
    (permissions,) = role["permissions"]
    assert permissions["actions"] == [] and permissions["notActions"] == []
    assert sorted(permissions["dataActions"]) == [
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
        "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
    ]
    assignment = body(access["ledgerAppender"]["config"])
    assert assignment["scope"] == "ledgerContainer", "on the ledger's container only"
    assert assignment["properties"]["principalId"] == "functionPrincipalId"
    # The host's Storage Blob Data Owner stays on the host's account, which does not hold the ledger.
    owner = body(tree("app/rbac.bicep")["resources"]["functionBlobOwner"]["config"])
    assert owner["scope"] == "storage"
    main = body(tree("main.bicep")["modules"]["ledgerAccess"]["config"])
    assert {"storage", "ledgerAccountName"} <= accessed_properties(main["params"]["ledgerAccountName"])
    assert {"functionApp", "principalId"} <= accessed_properties(main["params"]["functionPrincipalId"])
