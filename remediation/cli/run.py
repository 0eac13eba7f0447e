"""One CLI run: the engine against ARM, with progress on stderr, changes to the ledger and the
outcomes to the state table (``/api/status``) when ``AzureWebJobsStorage`` is configured.

The command line (:mod:`remediation.cli.main`) and the demo both run through here; this module
is the CLI's composition root (it builds the ARM gateway, the ledger and the state table).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from remediation.config import Config, Mode
from remediation.core.changes import ChangeSink
from remediation.core.model import Trigger
from remediation.core.report import ReportDocument
from remediation.engine.observations import record_outcomes, record_sweep
from remediation.engine.ports import StateStore


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


def state_store(env: Mapping[str, str]) -> StateStore | None:
    """The state table when AzureWebJobsStorage is configured (a CLI sweep is an observation too)."""
    from remediation.azure.state import StateTable

    return StateTable.from_environment(env)


def _swept(config: Config, subscriptions: Sequence[str], document: ReportDocument) -> list[str]:
    """The subscriptions a run swept: the named ones, else the configured scope, else every one the
    run listed (those with a cluster or an error; one with neither leaves no trace)."""
    if subscriptions or config.subscription_ids:
        return [s.lower() for s in (subscriptions or config.subscription_ids)]
    seen = [c["subscription_id"] for c in document["clusters"]]
    seen += [e["scope"].split("/")[2] for e in document["errors"] if e["scope"].lower().startswith("/subscriptions/")]
    return list(dict.fromkeys(s.lower() for s in seen if s))


def run_command(
    config: Config,
    *,
    mode: Mode,
    subscriptions: Sequence[str],
    clusters: Sequence[str],
    progress: Callable[[int, int], None] | None,
    change_sinks: Sequence[ChangeSink] = (),
    state: StateStore | None = None,
) -> ReportDocument:
    from remediation.azure.gateway import ArmGateway
    from remediation.azure.logs import LogsAdapter
    from remediation.engine.sweep import run

    document = run(
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
    if state is not None:
        if clusters:  # named clusters: their outcomes, no subscription was swept
            record_outcomes(state, document, trigger=Trigger.CLI.value)
        else:
            record_sweep(state, document, _swept(config, subscriptions, document), trigger=Trigger.CLI.value)
    return document
