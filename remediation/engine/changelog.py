"""The change log: one structured record per write, on logger ``remediation.changes``.

Every write the product makes (resource group created, workspace created, setting
created, setting updated) goes through :meth:`ChangeLog.record`, which logs exactly one
record and hands it to every extra sink (the durable ledger). A sink that fails never
undoes or blocks the change: the failure is logged at ERROR with the full record and kept
in :attr:`ChangeLog.failures` (the run reports it as an error with scope ``ledger``).

With a deadline, a sink gets at most the time left in the run (plus
:data:`~remediation.kit.deadline.RESERVE_SECONDS`): a hung ledger never holds the event path
past its budget. A sink still running then is counted as failed; its own client timeouts
end it soon after.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from remediation.core.changes import ChangeRecord, ChangeSink
from remediation.kit.deadline import RESERVE_SECONDS, Deadline

CHANGES_LOGGER = "remediation.changes"
logger = logging.getLogger(CHANGES_LOGGER)
# Sinks of one run write at most this many records at once.
SINK_WORKERS = 4


@dataclass(frozen=True)
class SinkFailure:
    record: ChangeRecord
    error: str


class ChangeLog:
    """Collects the changes of one run and fans each out to the log and the sinks."""

    def __init__(self, sinks: Sequence[ChangeSink] = (), *, deadline: Deadline | None = None) -> None:
        self._sinks = tuple(sinks)
        self._deadline = deadline
        self._records: list[ChangeRecord] = []
        self._failures: list[SinkFailure] = []
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    @property
    def records(self) -> tuple[ChangeRecord, ...]:
        with self._lock:
            return tuple(self._records)

    @property
    def failures(self) -> tuple[SinkFailure, ...]:
        """Records a sink could not take (each also logged at ERROR in full)."""
        with self._lock:
            return tuple(self._failures)

    def record(self, record: ChangeRecord) -> None:
        with self._lock:
            self._records.append(record)
        logger.info(
            "%s %s",
            record.event.value,
            record.resource_id,
            extra={"change": record.to_dict(), **_dimensions(record)},
        )
        for sink in self._sinks:
            try:
                self._deliver(sink, record)
            except Exception as exc:  # noqa: BLE001 - a sink must never undo a change
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                with self._lock:
                    self._failures.append(SinkFailure(record, error))
                logger.error(
                    "could not write change record to the ledger (%s); record follows",
                    error,
                    extra={"change": record.to_dict(), "ledger_failed": True, **_dimensions(record)},
                )

    def _deliver(self, sink: ChangeSink, record: ChangeRecord) -> None:
        if self._deadline is None:
            sink(record)
            return
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=SINK_WORKERS, thread_name_prefix="changelog")
            pool = self._pool
        future = pool.submit(sink, record)
        try:
            future.result(timeout=self._deadline.remaining() + RESERVE_SECONDS)
        except FutureTimeout:
            raise TimeoutError("the ledger did not answer within the run's deadline") from None

    def close(self) -> None:
        """Stop the sink workers (without waiting for a sink that is still running)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _dimensions(record: ChangeRecord) -> dict[str, Any]:
    """Flat fields that become custom dimensions in Application Insights."""
    return {
        "run_id": record.run_id,
        "trigger": record.trigger,
        "event": record.event.value,
        "resource_id": record.resource_id,
        "cluster_id": record.cluster_id,
    }
