"""Logging set-up for the Function app: structured fields become Application Insights custom dimensions.

Call :func:`configure` from the app's entry point (never at import of the ``remediation``
package). When ``APPLICATIONINSIGHTS_CONNECTION_STRING`` is set, it enables the Azure Monitor
OpenTelemetry distro once per process for the ``remediation`` loggers; the ``extra`` fields on
our log records (``run_id``, ``trigger``, ``cluster_id``, ``event``, ...) then arrive as custom
dimensions. OpenTelemetry accepts only scalar attribute values, so structured extras (the
change record, the run summary) are flattened to JSON strings on the way out.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from typing import Any

from remediation.output.common import escape_control

CONNECTION_STRING_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
LOGGER_NAME = "remediation"

# Chatty SDK loggers: per-request HTTP logging stays off unless someone asks for DEBUG.
QUIET_LOGGERS: tuple[str, ...] = (
    "azure.core.pipeline.policies.http_logging_policy",
    "azure.identity",
    "azure.monitor.opentelemetry.exporter",
)

_STANDARD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
_lock = threading.Lock()
_configured = False


def structured_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The ``extra`` fields of a record (what becomes custom dimensions)."""
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRIBUTES and not k.startswith("_")}


class DimensionsFilter(logging.Filter):
    """Flatten non-scalar extras to JSON strings and drop ``None`` ones (OpenTelemetry rejects both)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in structured_fields(record).items():
            if value is None:
                delattr(record, key)
            elif not isinstance(value, str | bool | int | float):
                setattr(record, key, json.dumps(value, default=str, sort_keys=True))
        return True


class EscapeFilter(logging.Filter):
    """Control and bidi characters in the message and in string extras written as visible escapes.

    An event's subject, an ARM error message or a cluster name can carry a newline (a forged log
    line), an escape sequence or U+202E (text that reads backwards): whatever shows the log
    (the host's console, Application Insights) shows ``\\n``, ``\\x1b``, ``\\u202e`` instead.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed call: logging reports it when the record is formatted
            return True
        escaped = escape_control(message)
        if escaped != message:
            record.msg, record.args = escaped, None
        for key, value in structured_fields(record).items():
            if isinstance(value, str):
                setattr(record, key, escape_control(value))
        return True


def escape_log_lines() -> None:
    """Put an :class:`EscapeFilter` on every handler of the root and the ``remediation`` loggers (once each).

    The Python worker's handler is on the root logger before it imports ``function_app``, and the
    Azure Monitor handler on ``remediation``: handler filters see the records of every logger below.
    """
    for owner in (logging.getLogger(), logging.getLogger(LOGGER_NAME)):
        for handler in owner.handlers:
            if not any(isinstance(f, EscapeFilter) for f in handler.filters):
                handler.addFilter(EscapeFilter())


def configure(env: Mapping[str, str] | None = None) -> bool:
    """Set log levels and, when a connection string is set, enable Azure Monitor (once). True if enabled."""
    global _configured
    env = os.environ if env is None else env
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    package = logging.getLogger(LOGGER_NAME)
    if package.level == logging.NOTSET:
        package.setLevel(logging.INFO)
    escape_log_lines()
    connection_string = (env.get(CONNECTION_STRING_SETTING) or "").strip()
    if not connection_string:
        return False
    with _lock:
        if _configured:
            return True
        from azure.monitor.opentelemetry import configure_azure_monitor

        before = set(package.handlers)
        configure_azure_monitor(connection_string=connection_string, logger_name=LOGGER_NAME)
        for handler in package.handlers:
            if handler not in before:
                handler.addFilter(DimensionsFilter())
        escape_log_lines()
        _configured = True
        return True


def reset() -> None:
    """Forget that Azure Monitor was configured (for a fresh process in tests)."""
    global _configured
    with _lock:
        _configured = False
