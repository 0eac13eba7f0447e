"""The Function app's process-wide runtime: configuration, ARM gateway, ledger, state table and sweep queue, built once.

The Functions host imports ``function_app`` once per worker process and then runs many
invocations in it. The runtime is built on first use (not at import, so an invalid setting
is reported by every invocation instead of breaking the indexing of the app) and reused
by every warm invocation. An invalid setting raises :class:`ConfigError` (logged at ERROR,
naming the variable) and nothing is cached, so a corrected app setting takes effect on the
next invocation after the host restarts the worker.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from remediation.azure.ledger import TableLedger
from remediation.azure.queue import SweepQueue
from remediation.azure.state import StateTable
from remediation.config import Config, ConfigError, load_config, parse_sweep_spread
from remediation.core.changes import ChangeSink
from remediation.engine.ports import Gateway, LogsGateway

logger = logging.getLogger(__name__)

GatewayFactory = Callable[[Config], Gateway]
LogsFactory = Callable[[Config], LogsGateway | None]


@dataclass(frozen=True)
class Runtime:
    config: Config
    gateway: Gateway
    ledger: TableLedger | None
    logs: LogsGateway | None = None  # the Log Analytics query adapter (None when flow verification is off)
    state: StateTable | None = None
    queue: SweepQueue | None = None
    sweep_spread_seconds: int = 0

    @property
    def change_sinks(self) -> tuple[ChangeSink, ...]:
        """Where change records go besides the log: the ledger, when one is configured."""
        return (self.ledger.append,) if self.ledger is not None else ()


def _arm_gateway(config: Config) -> Gateway:
    from remediation.azure.gateway import ArmGateway

    return ArmGateway.from_config(config)


def _logs_adapter(config: Config) -> LogsGateway | None:
    if not config.verify_flow:
        return None
    from remediation.azure.logs import LogsAdapter

    return LogsAdapter.from_config(config)


def build_runtime(
    env: Mapping[str, str],
    gateway_factory: GatewayFactory = _arm_gateway,
    logs_factory: LogsFactory = _logs_adapter,
) -> Runtime:
    """Validate every setting and build the clients; raises :class:`ConfigError`."""
    config = load_config(env)
    spread = parse_sweep_spread(env)
    ledger = TableLedger.from_environment(env)
    state = StateTable.from_environment(env)
    queue = SweepQueue.from_environment(env)
    if ledger is None:
        logger.warning(
            "AzureWebJobsStorage is not configured: change records go to the log only, "
            "no state table (/api/status), no sweep queue"
        )
    return Runtime(
        config=config,
        gateway=gateway_factory(config),
        ledger=ledger,
        logs=logs_factory(config),
        state=state,
        queue=queue,
        sweep_spread_seconds=spread,
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
