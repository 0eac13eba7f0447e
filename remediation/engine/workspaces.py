"""Log Analytics workspaces for one run: existence checks and get-or-create, each at most once.

Many clusters may need the same workspace at the same moment; the first one resolves it
and the others wait for that answer (a failure is remembered too, so a broken workspace
costs one attempt per run, not one per cluster, and waiters are not retried one by one).

A workspace is used only when its provisioningState is ``Succeeded``: one still being
created is waited for within the run's deadline (then the cluster is deferred, reason
``deadline``), one that is ``Failed`` blocks its clusters (``workspace-failed``). A workspace
or resource group is recorded as created only when our request created it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal, TypeVar

from remediation.config.values import Config
from remediation.core.changes import ChangeEvent, ChangeRecord
from remediation.core.model import WORKSPACE_FAILED_STATES, WORKSPACE_USABLE_STATE, Trigger
from remediation.engine.changelog import ChangeLog
from remediation.engine.knowledge import Knowledge
from remediation.engine.ports import WorkspaceGateway
from remediation.errors import WorkspaceFailedError
from remediation.ids import WorkspaceId, id_key, workspace_ref
from remediation.kit.deadline import DeadlineExceeded
from remediation.kit.once import Once

T = TypeVar("T")
MANAGED_BY_TAG = {"managed-by": "aks-audit-remediation"}

WorkspaceAction = Literal["reused", "created", "would_create"]


@dataclass(frozen=True, kw_only=True)
class WorkspaceOutcome:
    id: str
    location: str
    action: WorkspaceAction


class WorkspaceResolver:
    """Per-run workspace knowledge: which exist, and the target workspaces made ready."""

    def __init__(
        self,
        gateway: WorkspaceGateway,
        config: Config,
        changes: ChangeLog,
        *,
        run_id: str,
        trigger: Trigger,
        known: Knowledge | None = None,
        trust_known: bool = False,
    ) -> None:
        self._gateway = gateway
        self._known = known  # the process's confirmed workspaces: updated by every check
        self._trust_known = trust_known  # ... and believed instead of checking (the event path)
        self._config = config
        self._changes = changes
        self._run_id = run_id
        self._trigger = trigger
        self._states = Once()
        self._ensured = Once()
        self._groups = Once()
        self._lock = threading.Lock()
        self._outcomes: dict[str, WorkspaceOutcome] = {}

    @property
    def outcomes(self) -> list[WorkspaceOutcome]:
        with self._lock:
            return sorted(self._outcomes.values(), key=lambda o: id_key(o.id))

    def state(self, workspace_id: str) -> str | None:
        """The workspace's provisioningState as first read in this run (None: it does not exist)."""
        return self._states.get(id_key(workspace_id), lambda: self._read_state(workspace_id))

    def _read_state(self, workspace_id: str) -> str | None:
        if self._trust_known and self._known is not None:
            known = self._known.workspace_state(workspace_id)
            if known is not None:
                return known
        state = self._gateway.workspace_state(workspace_id)
        if self._known is not None:
            self._known.remember_workspace(workspace_id, state)
        return state

    def forget(self) -> None:
        """Check every workspace again (ARM rejected a write that what we knew led to)."""
        self._trust_known = False
        self._states = Once()
        self._ensured = Once()

    def exists(self, workspace_id: str) -> bool:
        """Whether the workspace exists (checked once per run; 403 counts as existing)."""
        return self.state(workspace_id) is not None

    def preview(self, workspace_id: WorkspaceId, location: str) -> WorkspaceOutcome:
        """Dry run: would this workspace be reused or created?"""
        action: WorkspaceAction = "reused" if self.exists(workspace_id) else "would_create"
        return self._remember(WorkspaceOutcome(id=workspace_id, location=location, action=action))

    def ensure(self, workspace_id: WorkspaceId, location: str, *, cluster_id: str) -> WorkspaceOutcome:
        """Make sure the workspace exists and is ``Succeeded``, creating it (and its resource group) if
        it does not. Raises :class:`WorkspaceFailedError` or :class:`DeadlineExceeded` otherwise."""
        return self._ensured.get(id_key(workspace_id), lambda: self._ensure(workspace_id, location, cluster_id))

    def _ensure(self, workspace_id: WorkspaceId, location: str, cluster_id: str) -> WorkspaceOutcome:
        state = self.state(workspace_id)
        action: WorkspaceAction = "reused"
        if state is None:
            ref = workspace_ref(workspace_id)
            self._groups.get(
                f"{ref.subscription_id}/{ref.resource_group.lower()}",
                lambda: self._ensure_group(ref.subscription_id, ref.resource_group, location, cluster_id),
            )
            creation = self._gateway.create_workspace(
                workspace_id,
                location=location,
                retention_days=self._config.workspace_retention_days,
                tags=dict(MANAGED_BY_TAG),
            )
            if creation.created:
                # Recorded as soon as it exists, whatever its creation's polling says next.
                self._changes.record(
                    ChangeRecord(
                        event=ChangeEvent.WORKSPACE_CREATED,
                        run_id=self._run_id,
                        trigger=self._trigger,
                        resource_id=creation.id or workspace_id,
                        cluster_id=cluster_id,
                        workspace_id=workspace_id,
                    )
                )
                action = "created"
            state = creation.state
        elif state.lower() != WORKSPACE_USABLE_STATE and state.lower() not in WORKSPACE_FAILED_STATES:
            state = self._gateway.wait_for_workspace(workspace_id, state)
        outcome = self._remember(WorkspaceOutcome(id=workspace_id, location=location, action=action))
        if self._known is not None:
            self._known.remember_workspace(workspace_id, state)
        if state.lower() in WORKSPACE_FAILED_STATES:
            raise WorkspaceFailedError(
                "WorkspaceFailed", f"workspace {workspace_id} is {state}: it is not used; fix or delete it", status=None
            )
        if state.lower() != WORKSPACE_USABLE_STATE:
            raise DeadlineExceeded(f"workspace {workspace_id} is still {state}")
        return outcome

    def _ensure_group(self, subscription_id: str, name: str, location: str, cluster_id: str) -> None:
        if self._gateway.resource_group_exists(subscription_id, name):
            return
        creation = self._gateway.create_resource_group(subscription_id, name, location, dict(MANAGED_BY_TAG))
        if not creation.created:
            return
        self._changes.record(
            ChangeRecord(
                event=ChangeEvent.RESOURCE_GROUP_CREATED,
                run_id=self._run_id,
                trigger=self._trigger,
                resource_id=creation.id or f"/subscriptions/{subscription_id}/resourceGroups/{name}",
                cluster_id=cluster_id,
            )
        )

    def _remember(self, outcome: WorkspaceOutcome) -> WorkspaceOutcome:
        with self._lock:
            known = self._outcomes.get(id_key(outcome.id))
            if known is None or (known.action != "created" and outcome.action == "created"):
                self._outcomes[id_key(outcome.id)] = outcome
        return outcome
