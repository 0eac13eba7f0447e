"""One CLI run: the engine against ARM, with progress on stderr, changes to the ledger and the
outcomes to the state table (``/api/status``) when ``AzureWebJobsStorage`` is configured.

The command line (:mod:`remediation.cli.main`) and the demo both run through here, with the
adapters :func:`remediation.adapters.build_adapters` gives (the Function app's recipe too).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from remediation.adapters import Adapters
from remediation.config.values import Config, Mode
from remediation.core.changes import ChangeSink
from remediation.core.model import Trigger
from remediation.core.report import ReportDocument
from remediation.engine.estate import Estate, estate_of
from remediation.engine.names import resolve_cluster_names
from remediation.engine.observations import record_outcomes, record_sweep
from remediation.engine.sweep import run
from remediation.errors import UsageError
from remediation.kit.deadline import Deadline
from remediation.kit.interrupt import run_interruptibly


def named_estate(
    config: Config, adapters: Adapters, subscriptions: Sequence[str], clusters: Sequence[str], *, named: bool
) -> Estate | None:
    """The management group's estate, listed once, when the command names subscriptions, cluster IDs
    or (``named``) bare names: the run then covers it without listing the group again. None without
    a group (the list was checked with the arguments) or when nothing is named (the run lists it).

    Raises :class:`UsageError` (exit 2, like 403 ``SubscriptionOutOfScope`` over HTTP) for a subscription
    or cluster outside it, and what listing the group raises (``ManagementGroupError``, a deadline)."""
    if config.management_group is None or not (subscriptions or clusters or named):
        return None
    deadline = Deadline.for_trigger(Trigger.CLI.value, config.deadline_seconds)
    estate = estate_of(config, adapters.gateway.bounded(deadline))
    for option, refusal in (
        ("--subscription", estate.refusal(subscriptions, ())),
        ("--cluster", estate.refusal((), clusters)),
    ):
        if refusal is not None:
            raise UsageError(f"{option}: {refusal}")
    return estate


def resolve_names(
    config: Config, adapters: Adapters, names: Sequence[str], subscriptions: Sequence[str], estate: Estate | None
) -> list[str]:
    """Bare cluster names to resource IDs, among the clusters in scope (see :mod:`remediation.engine.names`)."""
    return resolve_cluster_names(config, adapters.gateway, names, subscriptions=subscriptions, estate=estate)


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
    adapters: Adapters,
    *,
    mode: Mode,
    subscriptions: Sequence[str],
    clusters: Sequence[str],
    progress: Callable[[int, int], None] | None,
    change_sinks: Sequence[ChangeSink] = (),
    estate: Estate | None = None,
) -> ReportDocument:
    """The run, its changes also to ``change_sinks`` (after the ledger), its outcomes to the state table;
    ``estate``: the scope as already listed (:func:`named_estate`).

    The run works in its own thread and Ctrl-C reaches it as a request
    (:func:`remediation.kit.interrupt.run_interruptibly`): the clusters in flight are finished,
    no other is started, and ``KeyboardInterrupt`` is raised here (the state table is written
    only by a run that reached its end)."""
    return run_interruptibly(
        lambda interrupt: _run_and_record(
            config,
            adapters,
            mode=mode,
            subscriptions=subscriptions,
            clusters=clusters,
            progress=progress,
            change_sinks=change_sinks,
            estate=estate,
            interrupt=interrupt,
        ),
        name="cli-run",
    )


def _run_and_record(
    config: Config,
    adapters: Adapters,
    *,
    mode: Mode,
    subscriptions: Sequence[str],
    clusters: Sequence[str],
    progress: Callable[[int, int], None] | None,
    change_sinks: Sequence[ChangeSink],
    estate: Estate | None,
    interrupt: threading.Event,
) -> ReportDocument:
    document = run(
        config,
        adapters.gateway,
        logs=adapters.logs,
        ledger=adapters.ledger,
        mode=mode,
        trigger=Trigger.CLI,
        subscriptions=subscriptions,
        clusters=clusters,
        change_sinks=[*adapters.change_sinks, *change_sinks],
        progress=progress,
        estate=estate,
        interrupt=interrupt,
    )
    if adapters.state is not None:
        if clusters:  # named clusters: their outcomes, no subscription was swept
            record_outcomes(adapters.state, document, trigger=Trigger.CLI)
        else:
            record_sweep(adapters.state, document, _swept(config, subscriptions, document), trigger=Trigger.CLI)
    return document
