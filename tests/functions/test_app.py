"""The app as the Functions host indexes it, its settings files, and the timer sweep."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from remediation.app.sweep import SweepFailedError
from remediation.config import ALL_SETTING_NAMES, FUNCTION_APP_SETTINGS, SETTINGS, ConfigError
from tests.functions.conftest import SUB, indexed
from tests.functions.helpers import timer

ROOT = Path(__file__).resolve().parents[2]
Functions = dict[str, Callable[..., Any]]


def bindings() -> dict[str, list[dict[str, Any]]]:
    return {fn.get_function_name(): json.loads(fn.get_function_json())["bindings"] for fn in indexed()}


def test_app_indexes_four_functions_with_their_bindings() -> None:
    import azure.functions as func

    import function_app

    assert isinstance(function_app.app, func.FunctionApp)
    assert function_app.app.auth_level == func.AuthLevel.FUNCTION
    found = bindings()
    assert set(found) == {"sweep", "on_resource_event", "report", "changes"}
    assert found["sweep"] == [
        {
            "direction": "IN",
            "type": "timerTrigger",
            "name": "timer",
            "schedule": "%REMEDIATION_SCHEDULE%",
            "runOnStartup": False,
            "useMonitor": True,
        }
    ]
    assert found["on_resource_event"] == [{"direction": "IN", "type": "eventGridTrigger", "name": "event"}]
    for route in ("report", "changes"):
        trigger, output = found[route]
        assert trigger == {
            "direction": "IN",
            "type": "httpTrigger",
            "name": "req",
            "methods": ["GET"],
            "authLevel": "FUNCTION",
            "route": route,
        }
        assert output == {"direction": "OUT", "type": "http", "name": "$return"}


def test_importing_the_app_reads_no_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """An invalid setting must not break indexing: it is reported by each invocation instead."""
    import importlib.util

    monkeypatch.setenv("REMEDIATION_MODE", "sometimes")
    spec = importlib.util.spec_from_file_location("function_app_fresh", ROOT / "function_app.py")
    assert spec is not None and spec.loader is not None
    fresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fresh)
    assert len(fresh.app.get_functions()) == 4


def test_host_json() -> None:
    host = json.loads((ROOT / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensionBundle"] == {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"}
    assert host["functionTimeout"] == "00:30:00"
    sampling = host["logging"]["applicationInsights"]["samplingSettings"]
    assert "Request" in sampling["excludedTypes"].split(";")


def test_local_settings_sample_covers_every_setting_with_its_default() -> None:
    values = json.loads((ROOT / "local.settings.sample.json").read_text())["Values"]
    assert set(ALL_SETTING_NAMES) <= set(values)
    for setting in (*SETTINGS, *FUNCTION_APP_SETTINGS):
        assert values[setting.name] == setting.default, setting.name
    assert values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"
    assert values["REMEDIATION_SCHEDULE"] == "0 0 * * * *"


def test_funcignore_keeps_tests_and_tools_out_of_the_package() -> None:
    lines = {line.strip() for line in (ROOT / ".funcignore").read_text().splitlines()}
    for entry in (
        "tests/",
        "armsim/",
        "infra/",
        "node_modules/",
        ".venv/",
        ".venv*/",
        "local.settings.json",
        "__pycache__/",
    ):
        assert entry in lines, entry
    for kept in ("function_app.py", "host.json", "requirements.txt", "remediation/"):
        assert kept not in lines


# --- the timer sweep ---------------------------------------------------------------------------


def test_sweep_remediates_and_logs_counts_and_run_id(
    app_env: Any, functions: Functions, ledger: Any, caplog: pytest.LogCaptureFixture
) -> None:
    sim = app_env
    open_id = sim.add_cluster(SUB, "rg-apps", "aks-open", "westeurope")
    sim.add_cluster(SUB, "rg-apps", "aks-excluded", "westeurope", tags={"AKS-Audit-Remediation": "EXCLUDE"})
    sim.add_cluster(SUB, "rg-apps", "aks-busy", "westeurope", provisioning_state="Updating")
    with caplog.at_level(logging.INFO):
        functions["sweep"](timer())
    assert sim.get_setting(open_id, "aks-audit-remediation") is not None
    summary = [r for r in caplog.records if getattr(r, "event", None) == "sweep.completed"]
    assert len(summary) == 1
    record = summary[0]
    assert record.trigger == "timer"  # type: ignore[attr-defined]
    assert (record.remediated, record.excluded, record.deferred, record.clusters) == (1, 1, 1, 3)  # type: ignore[attr-defined]
    assert record.run_id in record.getMessage()  # type: ignore[attr-defined]
    (change,) = ledger.list_changes()
    assert change["trigger"] == "timer" and change["run_id"] == record.run_id  # type: ignore[attr-defined]

    sim.clear_requests()
    functions["sweep"](timer(past_due=True))
    assert sim.write_requests() == [], "the second sweep has nothing to do"


def test_sweep_in_report_mode_writes_nothing(
    app_env: Any, functions: Functions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REMEDIATION_MODE", "report")
    app_env.add_cluster(SUB, "rg-apps", "aks-open", "westeurope")
    functions["sweep"](timer())
    assert app_env.write_requests() == []


def test_sweep_per_cluster_failure_is_reported_not_raised(app_env: Any, functions: Functions) -> None:
    sim = app_env
    bad = sim.add_cluster(SUB, "rg-apps", "aks-forbidden", "westeurope")
    good = sim.add_cluster(SUB, "rg-apps", "aks-good", "westeurope")
    sim.forbid_resource(bad)
    functions["sweep"](timer())
    assert sim.get_setting(good, "aks-audit-remediation") is not None


def test_sweep_that_reads_nothing_raises(app_env: Any, functions: Functions) -> None:
    app_env.forbid_subscription(SUB)
    with pytest.raises(SweepFailedError, match="could read nothing"):
        functions["sweep"](timer())


def test_sweep_with_invalid_configuration_raises_and_logs(
    app_env: Any, functions: Functions, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("REMEDIATION_SUBSCRIPTION_IDS", "prod-subscription")
    with caplog.at_level(logging.ERROR), pytest.raises(ConfigError) as info:
        functions["sweep"](timer())
    assert info.value.variable == "REMEDIATION_SUBSCRIPTION_IDS"
    assert any("REMEDIATION_SUBSCRIPTION_IDS" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    assert app_env.requests == []


def test_runtime_is_built_once_per_process(app_env: Any, functions: Functions, monkeypatch: pytest.MonkeyPatch) -> None:
    from remediation.app.runtime import get_runtime

    app_env.add_cluster(SUB, "rg-apps", "aks-a", "westeurope")
    functions["sweep"](timer())
    first = get_runtime()
    monkeypatch.setenv("REMEDIATION_MODE", "report")  # read once: a warm invocation does not re-read it
    functions["sweep"](timer())
    assert get_runtime() is first
    assert first.config.mode.value == "apply"
