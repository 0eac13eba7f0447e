"""What the engine hands back: values, never exceptions used as signals.

- :class:`ClusterOutcome`: what happened to one cluster (every stage's result ends as one).
- :class:`StaleKnowledge`: ARM rejected our write in a way that stale knowledge explains; the
  cluster stage reads again and decides once more (:func:`remediation.engine.cluster.process`).
- :class:`Stop` and :class:`EventResult`: how an event's run ended. :mod:`remediation.engine.response`
  turns them into each trigger's answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from remediation.core.evidence import SettingEvidence
from remediation.core.flow_verdict import FlowSink
from remediation.core.model import Cluster, DiagnosticSetting, SettingChange, Status
from remediation.core.report import BaselineDoc, ReportDocument
from remediation.errors import ArmError, ClassifiedError


@dataclass(frozen=True, kw_only=True)
class ClusterOutcome:
    """What happened to one cluster in a run."""

    cluster: Cluster
    status: Status
    missing: tuple[str, ...] | None = ()  # None: not determined (excluded, or failed before reading)
    reason: str | None = None
    change: SettingChange | None = None
    error: ClassifiedError | None = None
    note: str = ""
    sinks: tuple[FlowSink, ...] | None = None  # None: not assessed (excluded, failed): no flow verdict
    settings: tuple[SettingEvidence, ...] | None = None  # None: not read
    # Each chosen baseline's verdict on the settings as the run leaves them; None: not judged (not read)
    baselines: dict[str, BaselineDoc] | None = None


@dataclass(frozen=True, kw_only=True)
class StaleKnowledge:
    """ARM rejected the write that what we knew (categories, workspaces) led to."""

    error: ArmError
    settings: tuple[DiagnosticSetting, ...]  # as read: the second attempt does not read them again
    missing: tuple[str, ...]
    evidence: tuple[SettingEvidence, ...]
    baselines: dict[str, BaselineDoc]


class Stop(StrEnum):
    """Why an event's run ended without a report of its cluster."""

    CLUSTER_NOT_FOUND = "cluster-not-found"  # deleted meanwhile
    CLUSTER_BUSY = "cluster-busy"  # still provisioning when the settle wait had to end
    TRANSIENT = "transient"  # a temporary ARM or identity failure outlasted the retries
    DEADLINE = "deadline"  # the event's time budget ran out
    UNREADABLE = "unreadable"  # a permanent ARM error reading the cluster
    UNKNOWN_CATEGORIES = "unknown-categories"  # REMEDIATION_CATEGORIES names a category ARM does not know


@dataclass(frozen=True, kw_only=True)
class EventResult:
    """The end of an event's run: its report, or why there is none (and the failure that says so)."""

    cluster_id: str
    document: ReportDocument | None = None
    stop: Stop | None = None
    error: Exception | None = None
