"""The log records that infra's alert rules and workbook query: their names and their content.

Application Insights stores the ``extra`` fields of our log records as custom dimensions, and
``infra/app/alerts.bicep`` and ``infra/app/workbook.json`` query them by name. These names are
that contract (``tests/infra`` checks every query against records the code really emits), and
the functions below derive the per-subscription and per-cluster records from a report document.

Records, told apart by the ``event`` dimension:

- ``sweep.completed`` (INFO): one per timer sweep; ``run_id``, ``mode``, ``clusters``,
  ``errors`` and one count per status (``compliant`` ... ``failed``).
- ``sweep.subscription`` (INFO): one per subscription in the sweep's scope; the same counts for
  that subscription plus ``subscription_id``. A subscription that could not be read has
  ``clusters`` 0 and ``errors`` > 0.
- ``cluster.attention`` (WARNING): one per cluster a sweep left ``failed``, ``blocked`` or (in
  report mode) ``non_compliant``; ``cluster_id``, ``subscription_id``, ``status``, ``reason``.
- the change records (``remediation.core.changes.ChangeEvent`` values) with ``cluster_id``,
  ``resource_id``, ``trigger``.
- ``sweep.poisoned`` (ERROR): a subscription's sweep message reached the poison queue;
  ``subscription_id``, ``queue`` (emitted by the queue fan-out).
- a flow finding (WARNING): a cluster whose audit logs do not arrive; dimension ``flow_verdict``
  (``silent`` or ``partial``) with ``cluster_id`` and ``run_id`` (emitted by flow verification).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from remediation.core.report import STATUS_ORDER, ClusterDoc, ReportDocument


class Signal(StrEnum):
    """Values of the ``event`` dimension of the records the alerts and the workbook query."""

    SWEEP_COMPLETED = "sweep.completed"
    SWEEP_SUBSCRIPTION = "sweep.subscription"
    CLUSTER_ATTENTION = "cluster.attention"
    SWEEP_POISONED = "sweep.poisoned"


EVENT_FIELD = "event"
FLOW_VERDICT_FIELD = "flow_verdict"
FLOW_FINDINGS: tuple[str, ...] = ("silent", "partial")
ATTENTION_STATUSES: tuple[str, ...] = ("failed", "blocked", "non_compliant")


def _subscription_of(scope: str) -> str | None:
    parts = scope.strip("/").split("/")
    if len(parts) >= 2 and parts[0].lower() == "subscriptions":
        return parts[1].lower()
    return None


def subscription_summaries(document: ReportDocument, subscription_ids: Iterable[str] = ()) -> list[dict[str, Any]]:
    """One record per subscription: the configured ones plus any seen in clusters or errors, sorted."""
    counts: dict[str, dict[str, Any]] = {}

    def entry(subscription_id: str) -> dict[str, Any]:
        key = subscription_id.lower()
        if key not in counts:
            counts[key] = {"subscription_id": key, "clusters": 0, "errors": 0, **dict.fromkeys(STATUS_ORDER, 0)}
        return counts[key]

    for subscription_id in subscription_ids:
        entry(subscription_id)
    for cluster in document["clusters"]:
        record = entry(cluster["subscription_id"])
        record["clusters"] += 1
        record[cluster["status"]] += 1
    for error in document["errors"]:
        erring = _subscription_of(error["scope"])
        if erring:
            entry(erring)["errors"] += 1
    return [counts[k] for k in sorted(counts)]


def needing_attention(document: ReportDocument) -> list[ClusterDoc]:
    """The clusters a person should look at after this run, in report order."""
    return [c for c in document["clusters"] if c["status"] in ATTENTION_STATUSES]
