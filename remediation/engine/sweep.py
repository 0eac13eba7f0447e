"""A sweep: every cluster in scope (subscriptions, or named clusters), many at once.

Its scope is :func:`remediation.engine.scope.discover`; each cluster then goes through the
shared stages (:func:`remediation.engine.cluster.process`), with subscriptions interleaved over
a pool of workers (:mod:`remediation.engine.schedule`), and the run ends with
:func:`remediation.engine.finish.finish`. A failure on one cluster or one subscription is
recorded in the report and never stops the others.

Every run has a :class:`~remediation.kit.deadline.Deadline` (the trigger's budget, or
``REMEDIATION_DEADLINE_SECONDS``); the gateway draws every wait from it. A cluster the run
has no time left for is reported ``deferred`` with reason ``deadline`` and nothing is
written to it; the run then ends normally.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait

from remediation.config.values import Config, Mode
from remediation.core.changes import ChangeSink
from remediation.core.model import Cluster, Trigger
from remediation.core.report import ReportDocument
from remediation.engine.cluster import check_categories, process
from remediation.engine.context import Run, now, start_run
from remediation.engine.estate import Estate
from remediation.engine.finish import finish
from remediation.engine.flow_check import FLOW_BUDGET_SECONDS
from remediation.engine.outcomes import ClusterOutcome
from remediation.engine.ports import ChangeHistory, Gateway, LogsGateway
from remediation.engine.schedule import Interleaver, auto_concurrency
from remediation.engine.scope import discover
from remediation.kit.deadline import Deadline
from remediation.kit.interrupt import CHECK_SECONDS

logger = logging.getLogger(__name__)


Progress = Callable[[int, int], None]

# Listing the subscriptions' clusters, when REMEDIATION_MAX_CONCURRENCY is auto.
DISCOVERY_WORKERS = 16


def run(
    config: Config,
    gateway: Gateway,
    *,
    mode: Mode,
    trigger: Trigger,
    subscriptions: Sequence[str] = (),
    clusters: Sequence[str] = (),
    change_sinks: Sequence[ChangeSink] = (),
    run_id: str | None = None,
    progress: Progress | None = None,
    deadline: Deadline | None = None,
    logs: LogsGateway | None = None,
    flow_budget: float = FLOW_BUDGET_SECONDS,
    ledger: ChangeHistory | None = None,
    estate: Estate | None = None,
    interrupt: threading.Event | None = None,
) -> ReportDocument:
    """Reconcile (or, in report mode, only assess) every cluster in scope, within ``deadline``
    (default: the trigger's budget or ``REMEDIATION_DEADLINE_SECONDS``), then verify the flow
    (at most ``flow_budget`` seconds of it). Without ``logs`` every flow verdict is ``unknown``.
    ``estate``: the scope as the caller already knows it (:mod:`remediation.engine.estate`; the
    run then does not list the management group again).

    ``interrupt`` set (Ctrl-C, :func:`remediation.kit.interrupt.run_interruptibly`): the clusters
    in flight are finished, no other is started, and the run raises ``KeyboardInterrupt``.

    Raises :class:`~remediation.errors.UnknownCategoriesError` (a configuration error, found in
    ARM's category metadata before the first write); every other failure is in the report."""
    started = now()
    state = start_run(
        config,
        gateway,
        mode=mode,
        trigger=trigger,
        change_sinks=change_sinks,
        run_id=run_id,
        deadline=deadline,
        logs=logs,
        ledger=ledger,
        estate=estate,
    )
    logger.info(
        "run %s started (%s, trigger %s, deadline in %.0f s)",
        state.run_id,
        mode.value,
        trigger.value,
        state.deadline.remaining(),
        extra={"run_id": state.run_id, "trigger": trigger.value},
    )
    try:
        with ThreadPoolExecutor(
            max_workers=config.max_concurrency or DISCOVERY_WORKERS, thread_name_prefix="discover"
        ) as pool:
            targets, outcomes = discover(state, pool, subscriptions=subscriptions, clusters=clusters)
            unknown = check_categories(state, pool, targets)
        if unknown is not None:
            raise unknown
        total = len(targets) + len(outcomes)
        if progress:
            progress(len(outcomes), total)
        subscriptions_seen = len({c.subscription_id.lower() for c in targets})
        workers = config.max_concurrency or auto_concurrency(subscriptions_seen, gateway.round_trip(), len(targets))
        logger.info(
            "run %s: %d clusters in %d subscriptions, %d at once",
            state.run_id,
            len(targets),
            subscriptions_seen,
            workers,
            extra={"run_id": state.run_id, "trigger": trigger.value, "concurrency": workers},
        )
        outcomes.extend(_process_interleaved(state, targets, workers, total - len(targets), total, progress, interrupt))
        if interrupt is not None and interrupt.is_set():
            raise KeyboardInterrupt  # after the last cluster, before the flow stage
        document = finish(
            state,
            outcomes,
            started=started,
            flow_budget=flow_budget,
            table_plans=True,
            subscriptions=subscriptions,
            clusters=clusters,
            names=True,
        )
    finally:
        state.changes.close()
    logger.info(
        "run %s finished: %s",
        state.run_id,
        ", ".join(f"{k}={v}" for k, v in document["summary"].items() if not isinstance(v, dict)),
        extra={"run_id": state.run_id, "trigger": trigger.value, "summary": dict(document["summary"])},
    )
    return document


def _process_interleaved(
    state: Run,
    targets: list[Cluster],
    workers: int,
    done: int,
    total: int,
    progress: Progress | None,
    interrupt: threading.Event | None,
) -> list[ClusterOutcome]:
    """Process ``targets`` with ``workers`` threads, subscriptions interleaved (see :mod:`.schedule`);
    once ``interrupt`` is set, finish the clusters in flight and raise ``KeyboardInterrupt``."""
    scheduler = Interleaver(targets, workers)
    outcomes: list[ClusterOutcome] = []
    lock = threading.Lock()

    stop = threading.Event()  # set on an interrupt (Ctrl-C): finish the clusters in flight, start no other

    def stopping() -> bool:
        return stop.is_set() or (interrupt is not None and interrupt.is_set())

    def work() -> None:
        while not stopping() and (cluster := scheduler.take()) is not None:
            try:
                outcome = process(state, cluster)
            finally:
                scheduler.done(cluster)
            with lock:
                outcomes.append(outcome)
                if progress:
                    progress(done + len(outcomes), total)

    threads = max(1, min(workers, len(targets)))
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="remediation") as pool:
        futures = [pool.submit(work) for _ in range(threads)]
        try:
            # Waits in short slices, to see an interrupt soon: ``interrupt`` set by the command
            # line, or (run in the main thread) a KeyboardInterrupt, which Python raises only when
            # the main thread next runs bytecode, whichever thread the kernel gave SIGINT to.
            while not_done := [future for future in futures if not future.done()]:
                if interrupt is not None and interrupt.is_set():
                    raise KeyboardInterrupt
                wait(not_done, timeout=CHECK_SECONDS, return_when=FIRST_EXCEPTION)
            for future in futures:
                future.result()
        except BaseException as exc:
            stop.set()
            if isinstance(exc, KeyboardInterrupt):
                logger.warning(
                    "interrupted: finishing the clusters in flight, starting no other", extra={"run_id": state.run_id}
                )
            raise
    return outcomes
