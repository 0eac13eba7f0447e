"""Logging set-up: Azure Monitor enabled once, only with a connection string; extras become dimensions."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from remediation.app import telemetry


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    telemetry.reset()
    yield
    telemetry.reset()


def test_without_a_connection_string_nothing_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    monkeypatch.setattr("azure.monitor.opentelemetry.configure_azure_monitor", lambda **kw: calls.append(kw))
    assert telemetry.configure({}) is False
    assert telemetry.configure({"APPLICATIONINSIGHTS_CONNECTION_STRING": "  "}) is False
    assert calls == []
    assert logging.getLogger("azure.core.pipeline.policies.http_logging_policy").level == logging.WARNING


def test_with_a_connection_string_azure_monitor_is_configured_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    handler = logging.NullHandler()

    def fake(**kwargs: Any) -> None:
        calls.append(kwargs)
        logging.getLogger(kwargs["logger_name"]).addHandler(handler)

    monkeypatch.setattr("azure.monitor.opentelemetry.configure_azure_monitor", fake)
    env = {"APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=00000000-0000-0000-0000-000000000000"}
    try:
        assert telemetry.configure(env) is True
        assert telemetry.configure(env) is True
        assert calls == [
            {"connection_string": env["APPLICATIONINSIGHTS_CONNECTION_STRING"], "logger_name": "remediation"}
        ]
        assert any(isinstance(f, telemetry.DimensionsFilter) for f in handler.filters)
    finally:
        logging.getLogger("remediation").removeHandler(handler)


def test_importing_the_package_configures_nothing() -> None:
    import subprocess
    import sys

    code = (
        "import logging, remediation, remediation.engine.sweep, remediation.engine.event, remediation.azure.ledger, remediation.app.http_api;"
        "print(len(logging.getLogger('remediation').handlers), len(logging.getLogger().handlers))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={
        "APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=00000000-0000-0000-0000-000000000000", "PATH": ""
    })  # fmt: skip
    assert out.stdout.split() == ["0", "0"]


def test_structured_extras_become_scalar_dimensions() -> None:
    record = logging.makeLogRecord(
        {
            "msg": "x",
            "run_id": "r1",
            "trigger": "timer",
            "cluster_id": None,
            "change": {"event": "diagnostic_setting.created", "categories_after": ["kube-audit"]},
            "count": 3,
        }
    )
    assert telemetry.DimensionsFilter().filter(record)
    fields = telemetry.structured_fields(record)
    assert fields["run_id"] == "r1" and fields["count"] == 3
    assert "cluster_id" not in fields
    assert json.loads(fields["change"]) == {"categories_after": ["kube-audit"], "event": "diagnostic_setting.created"}


def test_every_log_line_of_the_app_escapes_control_and_bidi_characters() -> None:
    """The worker's handler sits on the root logger before the app is imported; configure() escapes what it sees."""
    lines: list[str] = []
    fields: list[object] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))
            fields.append(getattr(record, "cluster_id", None))

    handler = Capture()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        telemetry.configure({})
        telemetry.configure({})  # idempotent: one filter per handler
        assert sum(isinstance(f, telemetry.EscapeFilter) for f in handler.filters) == 1
        logging.getLogger("remediation.engine.somewhere").warning(
            "cluster %s: %s", "aks\u202eevil", "denied\nFORGED line\x1b[2J", extra={"cluster_id": "a\u2066b"}
        )
        logging.getLogger("remediation.engine.somewhere").warning("plain %s", "text")
    finally:
        root.removeHandler(handler)
    assert lines == ["cluster aks\\u202eevil: denied\\nFORGED line\\x1b[2J", "plain text"]
    assert fields == ["a\\u2066b", None]
