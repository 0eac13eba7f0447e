"""The app as the Functions host indexes it, its settings files, and the timer sweep."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from remediation.config.settings import ALL_SETTING_NAMES, FUNCTION_APP_SETTINGS, SETTINGS
from tests.support.host import indexed

ROOT = Path(__file__).resolve().parents[2]
Functions = dict[str, Callable[..., Any]]


def bindings() -> dict[str, list[dict[str, Any]]]:
    return {fn.get_function_name(): json.loads(fn.get_function_json())["bindings"] for fn in indexed()}


def test_app_indexes_seven_functions_with_their_bindings() -> None:
    import azure.functions as func

    import function_app

    assert isinstance(function_app.app, func.FunctionApp)
    assert function_app.app.auth_level == func.AuthLevel.FUNCTION
    found = bindings()
    assert set(found) == {
        "sweep",
        "sweep_subscription",
        "sweep_poison",
        "on_resource_event",
        "report",
        "status",
        "changes",
    }
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
    assert found["sweep_subscription"] == [
        {
            "direction": "IN",
            "type": "queueTrigger",
            "name": "msg",
            "queueName": "%REMEDIATION_SWEEP_QUEUE%",
            "connection": "AzureWebJobsStorage",
        }
    ]
    assert found["sweep_poison"] == [
        {
            "direction": "IN",
            "type": "queueTrigger",
            "name": "msg",
            "queueName": "%REMEDIATION_SWEEP_QUEUE%-poison",
            "connection": "AzureWebJobsStorage",
        }
    ]
    assert found["on_resource_event"] == [{"direction": "IN", "type": "eventGridTrigger", "name": "event"}]
    for route in ("report", "status", "changes"):
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
    assert len(fresh.app.get_functions()) == 7


def test_host_json() -> None:
    host = json.loads((ROOT / "host.json").read_text())
    assert host["version"] == "2.0"
    assert host["extensionBundle"] == {"id": "Microsoft.Azure.Functions.ExtensionBundle", "version": "[4.*, 5.0.0)"}
    assert host["functionTimeout"] == "00:30:00"
    sampling = host["logging"]["applicationInsights"]["samplingSettings"]
    assert "Request" in sampling["excludedTypes"].split(";")


def test_host_json_queue_settings_fit_the_sweep() -> None:
    """One subscription per instance at a time, a pause before a retry, three attempts, base64 messages."""
    queues = json.loads((ROOT / "host.json").read_text())["extensions"]["queues"]
    assert queues == {
        "batchSize": 1,
        "newBatchThreshold": 0,
        "visibilityTimeout": "00:02:00",
        "maxDequeueCount": 3,
        "messageEncoding": "base64",
    }


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
