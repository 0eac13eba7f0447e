"""The change log: one structured record per write, on logger ``remediation.engine.changelog``.

Every write the product makes (resource group created, workspace created, setting
created, setting updated) goes through :meth:`ChangeLog.record`, which logs exactly one
record and hands it to every extra sink (the durable ledger). A sink that fails never
undoes or blocks the change: the failure is logged at ERROR with the full record.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from remediation.core.changes import ChangeRecord, ChangeSink

CHANGES_LOGGER = "remediation.changes"
logger = logging.getLogger(CHANGES_LOGGER)


class ChangeLog:
    """Collects the changes of one run and fans each out to the log and the sinks."""

    def __init__(self, sinks: Sequence[ChangeSink] = ()) -> None:
        self._sinks = tuple(sinks)
        self._records: list[ChangeRecord] = []
        self._lock = threading.Lock()

    @property
    def records(self) -> tuple[ChangeRecord, ...]:
        with self._lock:
            return tuple(self._records)

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
                sink(record)
            except Exception as exc:  # noqa: BLE001 - a sink must never undo a change
                logger.error(
                    "could not write change record to the ledger (%s: %s); record follows",
                    type(exc).__name__,
                    exc,
                    extra={"change": record.to_dict(), "ledger_failed": True, **_dimensions(record)},
                )


def _dimensions(record: ChangeRecord) -> dict[str, Any]:
    """Flat fields that become custom dimensions in Application Insights."""
    return {
        "run_id": record.run_id,
        "trigger": record.trigger,
        "event": record.event.value,
        "resource_id": record.resource_id,
        "cluster_id": record.cluster_id,
    }
