"""The Function app's process-wide runtime: configuration and adapters, built once.

The Functions host imports ``function_app`` once per worker process and then runs many
invocations in it. The runtime is built on first use (not at import, so an invalid setting
is reported by every invocation instead of breaking the indexing of the app) and reused
by every warm invocation. An invalid setting raises :class:`ConfigError` (logged at ERROR,
naming the variable) and nothing is cached, so a corrected app setting takes effect on the
next invocation after the host restarts the worker. The adapters are the CLI's too
(:func:`remediation.adapters.build_adapters`).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field

from remediation.adapters import Adapters, build_adapters
from remediation.app.event_coalescing import EventCoalescer
from remediation.app.report_runs import ReportOutcome, ReportRuns
from remediation.config.parse import load_config, parse_app_int, parse_report_limits, parse_sweep_spread
from remediation.config.values import Config, ReportLimits
from remediation.engine.estate import Estate
from remediation.errors import ConfigError
from remediation.kit.clock import SYSTEM_CLOCK, Clock

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Runtime(Adapters):
    """The adapters (each typed as the protocol its users need), with the app's configuration."""

    config: Config
    sweep_spread_seconds: int = 0
    report_limits: ReportLimits = field(default_factory=lambda: parse_report_limits({}))
    # GET /api/report's runs (one at a time, shared, cached): per app instance, like the runtime itself.
    reports: ReportRuns[ReportOutcome] = field(
        default_factory=lambda: ReportRuns(parse_report_limits({}).cache_seconds)
    )
    # /api/status and /api/changes' estate (remediation.app.http_scope): the group's listing, shared and cached.
    estates: ReportRuns[Estate] = field(default_factory=lambda: ReportRuns(parse_report_limits({}).cache_seconds))
    # Event storms (remediation.app.event_coalescing): per app instance, like the runtime itself.
    events: EventCoalescer = field(
        default_factory=lambda: EventCoalescer(parse_app_int({}, "REMEDIATION_EVENT_COALESCE_SECONDS"))
    )
    # The time every invocation's deadline reads and waits on (remediation.kit.clock): real time in the app.
    clock: Clock = SYSTEM_CLOCK


def build_runtime(env: Mapping[str, str]) -> Runtime:
    """Validate every setting and build the adapters; raises :class:`ConfigError`."""
    config = load_config(env)
    spread = parse_sweep_spread(env)
    limits = parse_report_limits(env)
    adapters = build_adapters(config, env)
    if adapters.ledger is None:
        logger.warning(
            "AzureWebJobsStorage is not configured: change records go to the log only, "
            "no state table (/api/status), no sweep queue"
        )
    return Runtime(
        config=config,
        sweep_spread_seconds=spread,
        report_limits=limits,
        reports=ReportRuns(limits.cache_seconds),
        estates=ReportRuns(limits.cache_seconds),
        events=EventCoalescer(parse_app_int(env, "REMEDIATION_EVENT_COALESCE_SECONDS")),
        **adapters.parts(),
    )


_lock = threading.Lock()
_runtime: Runtime | None = None


def get_runtime(env: Mapping[str, str] | None = None) -> Runtime:
    """The cached runtime, built from ``env`` (default: the process environment) on first use."""
    global _runtime
    with _lock:
        if _runtime is None:
            try:
                _runtime = build_runtime(os.environ if env is None else env)
            except ConfigError as exc:
                logger.error(
                    "invalid configuration: %s",
                    exc,
                    extra={"config_variable": exc.variable},
                )
                raise
        return _runtime


def reset_runtime() -> None:
    """Forget the cached runtime (the next invocation reads the settings again)."""
    global _runtime
    with _lock:
        _runtime = None
