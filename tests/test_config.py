"""Configuration parsing: defaults, every validation error names its variable."""

import re

import pytest

from remediation.config.parse import load_config, parse_app_int, parse_number
from remediation.config.settings import ALL_SETTING_NAMES, FUNCTION_APP_SETTINGS, SETTINGS, Setting
from remediation.config.values import DEFAULT_CATEGORIES, AcceptedDestinations, DestinationTables, Mode
from remediation.errors import ConfigError
from tests.support.constants import SUB_A

WS = f"/subscriptions/{SUB_A}/resourceGroups/rg-logs/providers/Microsoft.OperationalInsights/workspaces/law-central"


def test_defaults_match_the_documented_table():
    config = load_config({})
    assert config.subscription_ids == ()
    assert config.categories == DEFAULT_CATEGORIES
    assert config.setting_name == "aks-audit-remediation"
    assert config.workspace_id is None
    assert config.workspace_resource_group == "rg-aks-audit-logs"
    assert config.workspace_name_prefix == "law-aks-audit-"
    assert config.workspace_retention_days == 90
    assert config.destination_tables is DestinationTables.RESOURCE_SPECIFIC
    assert config.destination_tables.log_analytics_destination_type == "Dedicated"
    assert config.accepted_destinations is AcceptedDestinations.LOG_ANALYTICS
    assert str(config.exclude_tag) == "aks-audit-remediation=exclude"
    assert config.mode is Mode.APPLY
    assert config.max_concurrency is None  # auto
    assert config.arm_endpoint == "https://management.azure.com"
    assert config.credential_scope == "https://management.azure.com/.default"
    assert {s.name for s in SETTINGS} < set(ALL_SETTING_NAMES)


def test_values_are_parsed_and_normalised():
    config = load_config(
        {
            "REMEDIATION_SUBSCRIPTION_IDS": f" {SUB_A.upper()} , {SUB_A} ,",
            "REMEDIATION_CATEGORIES": "kube-audit-admin, kube-apiserver",
            "REMEDIATION_WORKSPACE_ID": WS,
            "REMEDIATION_DESTINATION_TABLES": "azure-diagnostics",
            "REMEDIATION_ACCEPTED_DESTINATIONS": "ANY",
            "REMEDIATION_MODE": "Report",
            "REMEDIATION_CLOUD": "azurechinacloud",
            "REMEDIATION_EXCLUDE_TAG": "Skip=Yes",
        }
    )
    assert config.subscription_ids == (SUB_A,)
    assert config.categories == ("kube-audit-admin", "kube-apiserver")
    assert config.workspace_id == WS
    assert config.destination_tables.log_analytics_destination_type is None
    assert config.accepted_destinations is AcceptedDestinations.ANY
    assert config.mode is Mode.REPORT
    assert config.arm_endpoint == "https://management.chinacloudapi.cn"
    assert config.exclude_tag.matches({"skip": "YES"})
    assert not config.exclude_tag.matches({"skip": "no"})
    assert config.subscription_in_scope(SUB_A.upper())
    assert not config.subscription_in_scope("99999999-2222-3333-4444-555555555555")


def test_arm_endpoint_override_sets_the_token_scope():
    config = load_config({"REMEDIATION_ARM_ENDPOINT": "https://127.0.0.1:8443/"})
    assert config.arm_endpoint == "https://127.0.0.1:8443"
    assert config.credential_scope == "https://127.0.0.1:8443/.default"


@pytest.mark.parametrize(
    ("variable", "value", "fragment"),
    [
        ("REMEDIATION_SUBSCRIPTION_IDS", "not-a-guid", "not a subscription GUID"),
        ("REMEDIATION_CATEGORIES", " , ", "at least one category"),
        ("REMEDIATION_CATEGORIES", "kube audit", "not a log category"),
        ("REMEDIATION_SETTING_NAME", "bad/name", "not a valid diagnostic setting name"),
        ("REMEDIATION_WORKSPACE_ID", "/subscriptions/x/workspaces/y", "not a Log Analytics workspace resource ID"),
        ("REMEDIATION_WORKSPACE_RESOURCE_GROUP", "rg/with/slash", "not a valid resource group name"),
        ("REMEDIATION_WORKSPACE_NAME_PREFIX", "-bad", "must start with a letter or digit"),
        ("REMEDIATION_WORKSPACE_RETENTION_DAYS", "7", "out of range (30..730)"),
        ("REMEDIATION_WORKSPACE_RETENTION_DAYS", "ninety", "not a whole number"),
        ("REMEDIATION_DESTINATION_TABLES", "dedicated", "not one of: resource-specific, azure-diagnostics"),
        ("REMEDIATION_ACCEPTED_DESTINATIONS", "storage", "not one of: log-analytics, any"),
        ("REMEDIATION_EXCLUDE_TAG", "novalue", "must be key=value"),
        ("REMEDIATION_MODE", "fix", "not one of: apply, report"),
        ("REMEDIATION_MAX_CONCURRENCY", "0", "out of range (auto or 1..64)"),
        ("REMEDIATION_MAX_CONCURRENCY", "65", "out of range (auto or 1..64)"),
        ("REMEDIATION_MAX_CONCURRENCY", "many", "neither auto nor a whole number"),
        ("REMEDIATION_CLOUD", "Mars", "not one of: AzureCloud"),
        ("REMEDIATION_ARM_ENDPOINT", "http://insecure", "must be an https URL"),
        ("REMEDIATION_MANAGEMENT_GROUP", "mg/../root", "not a management group ID"),
        ("REMEDIATION_MANAGEMENT_GROUP", "landing-zones.", "not a management group ID"),
        ("REMEDIATION_MANAGEMENT_GROUP", "x" * 91, "not a management group ID"),
        ("REMEDIATION_WORKSPACE_SUBSCRIPTION_ID", "hub", "not a subscription GUID"),
        ("REMEDIATION_WORKSPACE_SUBSCRIPTION_ID", f"{SUB_A},{SUB_A.replace('1', '9')}", "one subscription GUID"),
    ],
)
def test_invalid_value_is_an_error_naming_the_variable(variable, value, fragment):
    with pytest.raises(ConfigError) as caught:
        load_config({variable: value})
    assert caught.value.variable == variable
    assert str(caught.value).startswith(f"{variable}: ")
    assert fragment in str(caught.value)


def test_deadline_seconds_is_optional_and_bounded():
    assert load_config({}).deadline_seconds is None
    assert load_config({"REMEDIATION_DEADLINE_SECONDS": "2.5"}).deadline_seconds == 2.5
    for bad, message in (("0", "out of range"), ("nan", "out of range"), ("soon", "not a number")):
        with pytest.raises(ConfigError, match=message) as caught:
            load_config({"REMEDIATION_DEADLINE_SECONDS": bad})
        assert caught.value.variable == "REMEDIATION_DEADLINE_SECONDS"


def test_an_unknown_remediation_variable_is_an_error_naming_the_closest_known_one():
    with pytest.raises(ConfigError) as caught:
        load_config({"REMEDIATION_SUBSCRIPTION_ID": "aaaaaaaa-1111-4111-8111-000000000001"})
    assert caught.value.variable == "REMEDIATION_SUBSCRIPTION_ID"
    assert "unknown setting; did you mean REMEDIATION_SUBSCRIPTION_IDS?" in str(caught.value)
    with pytest.raises(ConfigError, match=r"known settings: .*REMEDIATION_MODE"):
        load_config({"REMEDIATION_XYZZY_PLUGH": "1"})
    # Other variables are none of our business; our own names and the app-only ones are known.
    assert load_config({"PATH": "/bin", "REMEDIATION_SCHEDULE": "0 0 * * * *"}).mode.value == "apply"


def test_max_concurrency_is_auto_or_a_number():
    assert load_config({"REMEDIATION_MAX_CONCURRENCY": "AUTO"}).max_concurrency is None
    assert load_config({"REMEDIATION_MAX_CONCURRENCY": " 16 "}).max_concurrency == 16
    assert load_config({"REMEDIATION_MAX_CONCURRENCY": "1"}).max_concurrency == 1


def test_management_group_and_workspace_subscription_are_optional():
    config = load_config({})
    assert config.management_group is None and config.workspace_subscription_id is None
    config = load_config(
        {
            "REMEDIATION_MANAGEMENT_GROUP": " Landing-Zones_(eu).1 ",
            "REMEDIATION_WORKSPACE_SUBSCRIPTION_ID": SUB_A.upper(),
        }
    )
    assert config.management_group == "Landing-Zones_(eu).1"
    assert config.workspace_subscription_id == SUB_A.lower()


NUMERIC = [s for s in (*SETTINGS, *FUNCTION_APP_SETTINGS) if s.numeric]


def _read(setting: Setting, value: str) -> object:
    if setting in SETTINGS:
        return load_config({setting.name: value})
    return parse_app_int({setting.name: value}, setting.name)


@pytest.mark.parametrize("setting", NUMERIC, ids=lambda s: s.name)
def test_a_numeric_setting_accepts_its_declared_range_and_names_it_when_outside(setting: Setting) -> None:
    assert setting.low is not None and setting.high is not None
    for good in (setting.low, setting.high, setting.default):
        if str(good):
            _read(setting, str(good))
    for bad in (setting.low - 1, setting.high + 1, "many"):
        with pytest.raises(ConfigError) as caught:
            _read(setting, str(bad))
        assert caught.value.variable == setting.name
        assert str(bad) in str(caught.value)
        assert f"{setting.low}..{setting.high}" in str(caught.value)
    with pytest.raises(
        ConfigError, match=rf"^{setting.name}: {setting.high + 1} is out of range \({setting.allowed}\)$"
    ):
        _read(setting, str(setting.high + 1))


def test_each_range_is_declared_once_and_the_help_text_derived_from_it() -> None:
    for setting in (*SETTINGS, *FUNCTION_APP_SETTINGS):
        assert not re.search(r"\d\.\.\d", setting.meaning), f"{setting.name}: the range belongs in low/high"
        if setting.allowed:
            assert setting.description == f"{setting.meaning} ({setting.allowed})"
            assert setting.allowed not in setting.meaning, setting.name
        if setting.choices:
            assert setting.default in setting.choices, setting.name
    by_name = {s.name: s for s in (*SETTINGS, *FUNCTION_APP_SETTINGS)}
    assert by_name["REMEDIATION_MAX_CONCURRENCY"].description.endswith("(auto or 1..64)")
    assert by_name["REMEDIATION_MODE"].choices == tuple(m.value for m in Mode)
    assert by_name["REMEDIATION_CLOUD"].allowed == "AzureCloud, AzureChinaCloud or AzureUSGovernment"
    assert by_name["REMEDIATION_ARM_ENDPOINT"].description == by_name["REMEDIATION_ARM_ENDPOINT"].meaning
    assert by_name["REMEDIATION_SETTING_NAME"].allowed.startswith("a valid diagnostic setting name: ")


@pytest.mark.parametrize(
    ("variable", "good", "bad"),
    [
        ("REMEDIATION_SETTING_NAME", "Audit_1.x", "_audit"),
        ("REMEDIATION_WORKSPACE_RESOURCE_GROUP", "rg-(eu).1_x", "rg."),
        ("REMEDIATION_WORKSPACE_NAME_PREFIX", "law-", "law_"),
        ("REMEDIATION_MANAGEMENT_GROUP", "x" * 90, "Ünïcode"),
    ],
)
def test_a_name_setting_is_checked_against_its_declared_form(variable: str, good: str, bad: str) -> None:
    load_config({variable: good})
    setting = next(s for s in SETTINGS if s.name == variable)
    with pytest.raises(ConfigError) as caught:
        load_config({variable: bad})
    assert str(caught.value) == f"{variable}: {bad!r} is not {setting.form}"
    assert not Setting("REMEDIATION_X", "", "free text").matches("anything")


def test_verify_flow_reads_true_or_false() -> None:
    assert load_config({"REMEDIATION_VERIFY_FLOW": "No"}).verify_flow is False
    assert load_config({"REMEDIATION_VERIFY_FLOW": "1"}).verify_flow is True
    with pytest.raises(ConfigError, match=r"^REMEDIATION_VERIFY_FLOW: 'maybe' is not true or false$"):
        load_config({"REMEDIATION_VERIFY_FLOW": "maybe"})


def test_the_app_settings_default_when_empty_and_read_whole_numbers() -> None:
    assert parse_app_int({}, "REMEDIATION_REPORT_MAX_CLUSTERS") == 50
    assert parse_app_int({"REMEDIATION_REPORT_MAX_CLUSTERS": " "}, "REMEDIATION_REPORT_MAX_CLUSTERS") == 50
    assert parse_app_int({"REMEDIATION_REPORT_MAX_CLUSTERS": " 7 "}, "REMEDIATION_REPORT_MAX_CLUSTERS") == 7
    with pytest.raises(ConfigError, match=r"'2.5' is not a whole number \(1..1000\)"):
        parse_app_int({"REMEDIATION_REPORT_MAX_CLUSTERS": "2.5"}, "REMEDIATION_REPORT_MAX_CLUSTERS")
    with pytest.raises(ValueError, match="declares no numeric range"):
        parse_number(Setting("REMEDIATION_MODE", "apply", "what unattended triggers do"), "1")
