"""infra/ read through its parsed tree (pycep-parser): the Bicep must agree with the code.

No Bicep compiler runs here, so these tests also stand in for the checks it would make
(every file parses, module paths exist, module parameters are declared).
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from pycep import BicepParser

from remediation.app.events import HANDLED_EVENT_TYPES, HANDLED_OPERATIONS
from remediation.config import ALL_SETTING_NAMES, FUNCTION_APP_SETTINGS, SETTINGS
from remediation.permissions import REQUIRED_ACTIONS

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
    return found[0][2]["config"]


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
    assert {"main.bicep", "eventgrid.bicep", "app/rbac.bicep", "app/remediation-role.bicep"} <= names


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: str(p.relative_to(INFRA)))
def test_every_bicep_file_parses(path: Path) -> None:
    parsed = tree(str(path.relative_to(INFRA)))
    assert parsed.get("resources") or parsed.get("modules"), "a template with nothing to deploy"


@pytest.mark.parametrize("entry", ["main.bicep", "eventgrid.bicep"])
def test_entry_templates_target_the_subscription(entry: str) -> None:
    assert tree(entry)["globals"]["scope"]["value"] == "subscription"


@pytest.mark.parametrize("path", BICEP_FILES, ids=lambda p: str(p.relative_to(INFRA)))
def test_modules_exist_and_receive_only_declared_parameters(path: Path) -> None:
    for name, module in tree(str(path.relative_to(INFRA))).get("modules", {}).items():
        assert module["type"] == "local", f"{name}: only local modules (checkov and offline builds read them)"
        target = (path.parent / module["detail"]["path"]).resolve()
        assert target.is_file(), f"{name}: {target} does not exist"
        declared = tree(str(target.relative_to(INFRA)))["parameters"]
        passed = set(module["config"].get("params", {}))
        assert passed <= set(declared), f"{name}: undeclared parameters {passed - set(declared)}"
        required = {p for p, spec in declared.items() if "default" not in spec}
        assert required <= passed, f"{name}: missing required parameters {required - passed}"


# ---------------------------------------------------------------------------------------------
# Least privilege
# ---------------------------------------------------------------------------------------------


def test_custom_role_holds_exactly_the_required_actions() -> None:
    role = one_resource("Microsoft.Authorization/roleDefinitions")
    permissions = role["properties"]["permissions"]
    assert len(permissions) == 1
    actions = permissions[0]["actions"]
    assert len(actions) == len(set(actions)), "duplicate actions"
    assert sorted(actions) == sorted(REQUIRED_ACTIONS)
    assert not any("*" in action for action in actions)
    for other in ("notActions", "dataActions", "notDataActions"):
        assert permissions[0].get(other, []) == []
    assert role["properties"]["type"] == "CustomRole"
    scopes = role["properties"]["assignableScopes"]
    assert len(scopes) == 1 and is_subscription_id(scopes[0])


def test_custom_role_is_assigned_to_the_function_at_subscription_scope() -> None:
    role_file = tree("app/remediation-role.bicep")
    assert role_file["globals"]["scope"]["value"] == "subscription"
    assignments = [
        r["config"] for r in role_file["resources"].values() if r["type"] == "Microsoft.Authorization/roleAssignments"
    ]
    assert len(assignments) == 1
    assignment = assignments[0]
    assert "scope" not in assignment, "assigned at the template's own (subscription) scope"
    assert assignment["properties"]["principalType"] == "ServicePrincipal"
    assert {"remediationRole", "id"} <= accessed_properties(assignment["properties"]["roleDefinitionId"])
    main = tree("main.bicep")["modules"]["remediationRole"]["config"]
    assert "scope" not in main, "deployed at subscription scope"
    assert {"functionApp", "principalId"} <= accessed_properties(main["params"]["principalId"])


def test_data_plane_roles_are_the_expected_ones_on_single_resources() -> None:
    rbac = tree("app/rbac.bicep")
    role_ids = {name: var["value"] for name, var in rbac["variables"].items() if name.endswith("RoleId")}
    assert all(GUID.match(value) for value in role_ids.values())
    seen: dict[str, str] = {}
    for name, resource in rbac["resources"].items():
        if resource["type"] != "Microsoft.Authorization/roleAssignments":
            continue
        config = resource["config"]
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
    # Every assignment in the whole of infra/ is either in rbac.bicep or the custom role's one.
    everywhere = resources_of_type("Microsoft.Authorization/roleAssignments")
    assert {f for f, _, _ in everywhere} == {"app/rbac.bicep", "app/remediation-role.bicep"}


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
        assert reference in main["parameters"], f"{name} must be set from a parameter, got {reference!r}"
        if name == "REMEDIATION_WORKSPACE_ID":
            assert reference == "auditWorkspaceId"
        parameter = main["parameters"][reference]
        assert parameter["type"] == "string"
        assert parameter["default"] == DEFAULTS[name], f"{name}: default of {reference}"
    assert main["modules"]["functionApp"]["config"]["params"]["appSettings"] == "remediationAppSettings"


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
    storage = one_resource("Microsoft.Storage/storageAccounts")["properties"]
    assert storage["allowSharedKeyAccess"] is False
    assert storage["minimumTlsVersion"] == "TLS1_2"
    assert storage["allowBlobPublicAccess"] is False
    assert storage["supportsHttpsTrafficOnly"] is True
    for _, _, container in resources_of_type("Microsoft.Storage/storageAccounts/blobServices/containers"):
        assert container["config"]["properties"]["publicAccess"] == "None"


def test_ledger_table_is_created_with_the_configured_name() -> None:
    (table,) = resources_of_type("Microsoft.Storage/storageAccounts/tableServices/tables")
    assert table[2]["config"]["name"] == "ledgerTableName"
    params = tree("main.bicep")["modules"]["storage"]["config"]["params"]
    assert params["ledgerTableName"] == "remediationLedgerTable"


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
    used = set(re.findall(r"\$\{?(AZURE_[A-Z_]+|EVENTGRID_[A-Z_]+|STORAGE_[A-Z_]+|DEADLETTER_[A-Z_]+)", hook))
    used -= {"AZURE_ENV_NAME", "EVENTGRID_DEPLOY_ATTEMPTS", "EVENTGRID_DEPLOY_DELAY_SECONDS"}
    assert used and used <= outputs, used - outputs
    passed = set(re.findall(r"^\s+([A-Za-z]+)=\"\$", hook, re.MULTILINE))
    parameters = tree("eventgrid.bicep")["parameters"]
    assert passed <= set(parameters)
    assert {p for p, spec in parameters.items() if "default" not in spec} <= passed


def test_postdeploy_hook_fails_clearly_without_outputs() -> None:
    result = subprocess.run(
        ["sh", str(INFRA / "hooks" / "postdeploy.sh")], env={"PATH": "/usr/bin:/bin"}, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "AZURE_LOCATION is not set" in result.stderr
