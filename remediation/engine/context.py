"""The run context: what every stage of one run shares (configuration, gateway, deadline, caches).

:func:`start_run` builds it for a sweep or an event alike; the two differ only in
``trust_known_workspaces`` (an event trusts this worker's recent confirmation that a workspace
exists; a sweep checks every workspace afresh).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from remediation.config.values import Config, Mode
from remediation.core.changes import ChangeSink
from remediation.core.model import CategoryMetadata, Cluster, Trigger
from remediation.core.report import ErrorDoc
from remediation.engine.changelog import ChangeLog
from remediation.engine.estate import Estate
from remediation.engine.knowledge import Knowledge, knowledge_for
from remediation.engine.ports import ChangeHistory, Gateway, LogsGateway
from remediation.engine.workspaces import WorkspaceResolver
from remediation.errors import ArmError, ClassifiedError
from remediation.kit.deadline import Deadline, DeadlineExceeded
from remediation.kit.once import Once

logger = logging.getLogger(__name__)


def _shared_failure(exc: Exception) -> bool:
    return isinstance(exc, DeadlineExceeded) or (isinstance(exc, ArmError) and exc.transient)


@dataclass(kw_only=True)
class Run:
    """One run's shared state (mutable: its errors, caches and workspaces fill up as it goes)."""

    config: Config
    gateway: Gateway
    mode: Mode
    trigger: Trigger
    run_id: str
    changes: ChangeLog
    workspaces: WorkspaceResolver
    deadline: Deadline
    logs: LogsGateway | None = None
    ledger: ChangeHistory | None = None  # our change records (flow ages when the Activity Log is unreadable)
    knowledge: Knowledge = field(default_factory=Knowledge)
    estate: Estate | None = None  # the scope, when its starter already knows it (else listed by the run)
    # One caller per subscription reads the category metadata (retrying within the budget);
    # its waiters share the answer, a transient failure included, instead of each retrying in
    # turn. A permanent failure (403 or 404 on that one cluster) lets the next cluster try.
    metadata: Once = field(default_factory=lambda: Once(remember_failure=_shared_failure))
    subscription_names: Once = field(default_factory=lambda: Once(remember_failure=lambda exc: True))
    errors: list[ErrorDoc] = field(default_factory=list)
    unreadable_subscriptions: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # The run's day (UTC): an exemption whose last day is before it no longer excludes.
    today: date = field(default_factory=lambda: datetime.now(UTC).date())

    def add_error(self, scope: str, error: ClassifiedError) -> None:
        with self.lock:
            self.errors.append(ErrorDoc(scope=scope, code=error.code, message=error.message))

    def forget_knowledge(self) -> None:
        """ARM rejected a write that what we knew (categories, workspaces) led to: read it all again."""
        self.knowledge.forget()
        self.metadata = Once(remember_failure=_shared_failure)
        self.workspaces.forget()

    def add_deadline_error(self, scope: str, exc: DeadlineExceeded) -> None:
        with self.lock:
            self.errors.append(ErrorDoc(scope=scope, code="DeadlineExceeded", message=str(exc)))

    def log_fields(self, cluster_id: str) -> dict[str, str]:
        return {"run_id": self.run_id, "trigger": self.trigger.value, "cluster_id": cluster_id}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def start_run(
    config: Config,
    gateway: Gateway,
    *,
    mode: Mode,
    trigger: Trigger,
    change_sinks: Sequence[ChangeSink],
    run_id: str | None,
    deadline: Deadline | None,
    logs: LogsGateway | None = None,
    ledger: ChangeHistory | None = None,
    trust_known_workspaces: bool = False,
    estate: Estate | None = None,
) -> Run:
    run_id = run_id or uuid.uuid4().hex
    deadline = deadline or Deadline.for_trigger(trigger.value, config.deadline_seconds)
    gateway = gateway.bounded(deadline)
    changes = ChangeLog(change_sinks, deadline=deadline)
    known = knowledge_for(config.arm_endpoint)
    resolver = WorkspaceResolver(
        gateway,
        config,
        changes,
        run_id=run_id,
        trigger=trigger,
        known=known,
        trust_known=trust_known_workspaces,
    )
    return Run(
        config=config,
        gateway=gateway,
        mode=mode,
        trigger=trigger,
        run_id=run_id,
        changes=changes,
        workspaces=resolver,
        deadline=deadline,
        logs=logs,
        ledger=ledger,
        knowledge=known,
        estate=estate,
    )


def category_metadata(state: Run, cluster: Cluster) -> CategoryMetadata:
    """The category metadata of managed clusters: known to this worker (for an hour), else read
    once per subscription in this run."""
    known = state.knowledge.category_metadata()
    if known is not None:
        return known

    def read() -> CategoryMetadata:
        metadata = state.gateway.get_category_metadata(cluster)
        state.knowledge.remember_categories(metadata)
        return metadata

    result: CategoryMetadata = state.metadata.get(cluster.subscription_id, read)
    return result


def subscription_name(state: Run, subscription_id: str) -> str | None:
    """The subscription's display name: one read per subscription per run; None if unreadable."""

    def read() -> str | None:
        if state.deadline.expired:  # a display name is never worth going past the run's budget
            return None
        try:
            return state.gateway.subscription_name(subscription_id)
        except (ArmError, DeadlineExceeded) as exc:
            logger.debug("no display name for subscription %s: %s", subscription_id, exc)
            return None

    name: str | None = state.subscription_names.get(subscription_id.lower(), read)
    return name
