"""One CLI run: the engine against ARM, with progress on stderr and changes to the ledger.

The command line (:mod:`remediation.cli.main`) and the demo both run through here; this module
is the CLI's composition root (it builds the ARM gateway and the ledger).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from remediation.config import Config, Mode
from remediation.core.changes import ChangeSink
from remediation.core.model import Trigger
from remediation.core.report import ReportDocument


def ledger_sinks(env: Mapping[str, str]) -> list[ChangeSink]:
    """The durable ledger when AzureWebJobsStorage is configured (the CLI records changes too)."""
    from remediation.azure.ledger import TableLedger

    ledger = TableLedger.from_environment(env)
    return [ledger.append] if ledger is not None else []


def resolve_names(config: Config, names: Sequence[str], subscriptions: Sequence[str]) -> list[str]:
    """Bare cluster names to resource IDs, among the clusters in scope (see :mod:`remediation.engine.names`)."""
    from remediation.azure.gateway import ArmGateway
    from remediation.engine.names import resolve_cluster_names

    return resolve_cluster_names(config, ArmGateway.from_config(config), names, subscriptions=subscriptions)


def run_command(
    config: Config,
    *,
    mode: Mode,
    subscriptions: Sequence[str],
    clusters: Sequence[str],
    progress: Callable[[int, int], None] | None,
    change_sinks: Sequence[ChangeSink] = (),
) -> ReportDocument:
    from remediation.azure.gateway import ArmGateway
    from remediation.azure.logs import LogsAdapter
    from remediation.engine.reconcile import run

    return run(
        config,
        ArmGateway.from_config(config),
        logs=LogsAdapter.from_config(config) if config.verify_flow else None,
        mode=mode,
        trigger=Trigger.CLI,
        subscriptions=subscriptions,
        clusters=clusters,
        change_sinks=change_sinks,
        progress=progress,
    )
