"""Log Analytics workspaces for one run: existence checks and get-or-create, each at most once.

Many clusters may need the same workspace at the same moment; the first one resolves it
and the others wait for that answer (a failure is remembered too, so a broken workspace
costs one attempt per run, not one per cluster).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol, TypeVar

from remediation.config import Config
from remediation.core.changes import ChangeEvent, ChangeRecord
from remediation.engine.changelog import ChangeLog
from remediation.ids import WorkspaceId, id_key, workspace_ref

T = TypeVar("T")
MANAGED_BY_TAG = {"managed-by": "aks-audit-remediation"}

WorkspaceAction = Literal["reused", "created", "would_create"]


class WorkspaceGateway(Protocol):
    def workspace_exists(self, workspace_id: str) -> bool: ...

    def resource_group_exists(self, subscription_id: str, name: str) -> bool: ...

    def create_resource_group(self, subscription_id: str, name: str, location: str, tags: dict[str, str]) -> str: ...

    def create_workspace(
        self, workspace_id: WorkspaceId, *, location: str, retention_days: int, tags: dict[str, str]
    ) -> str: ...


@dataclass(frozen=True)
class WorkspaceOutcome:
    id: str
    location: str
    action: WorkspaceAction


class Once:
    """Compute a value per key exactly once, even when asked from many threads at once.

    A failure is remembered and re-raised to every later caller, unless ``remember_failures``
    is false: then the next caller tries again.
    """

    def __init__(self, *, remember_failures: bool = True) -> None:
        self._remember_failures = remember_failures
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._results: dict[str, tuple[bool, object]] = {}

    def get(self, key: str, compute: Callable[[], T]) -> T:
        with self._lock:
            key_lock = self._locks.setdefault(key, threading.Lock())
        with key_lock:
            if key not in self._results:
                try:
                    self._results[key] = (True, compute())
                except Exception as exc:
                    if not self._remember_failures:
                        raise
                    self._results[key] = (False, exc)
            ok, value = self._results[key]
        if ok:
            return value  # type: ignore[return-value]
        raise value  # type: ignore[misc]


class WorkspaceResolver:
    """Per-run workspace knowledge: which exist, and the target workspaces made ready."""

    def __init__(
        self, gateway: WorkspaceGateway, config: Config, changes: ChangeLog, *, run_id: str, trigger: str
    ) -> None:
        self._gateway = gateway
        self._config = config
        self._changes = changes
        self._run_id = run_id
        self._trigger = trigger
        self._exists = Once()
        self._ensured = Once()
        self._groups = Once()
        self._lock = threading.Lock()
        self._outcomes: dict[str, WorkspaceOutcome] = {}

    @property
    def outcomes(self) -> list[WorkspaceOutcome]:
        with self._lock:
            return sorted(self._outcomes.values(), key=lambda o: id_key(o.id))

    def exists(self, workspace_id: str) -> bool:
        """Whether the workspace exists (checked once per run; 403 counts as existing)."""
        return self._exists.get(id_key(workspace_id), lambda: self._gateway.workspace_exists(workspace_id))

    def plan(self, workspace_id: WorkspaceId, location: str) -> WorkspaceOutcome:
        """Dry run: would this workspace be reused or created?"""
        action: WorkspaceAction = "reused" if self.exists(workspace_id) else "would_create"
        return self._remember(WorkspaceOutcome(workspace_id, location, action))

    def ensure(self, workspace_id: WorkspaceId, location: str, *, cluster_id: str) -> WorkspaceOutcome:
        """Make sure the workspace exists, creating it (and its resource group) if it does not."""
        return self._ensured.get(id_key(workspace_id), lambda: self._ensure(workspace_id, location, cluster_id))

    def _ensure(self, workspace_id: WorkspaceId, location: str, cluster_id: str) -> WorkspaceOutcome:
        if self.exists(workspace_id):
            return self._remember(WorkspaceOutcome(workspace_id, location, "reused"))
        ref = workspace_ref(workspace_id)
        self._groups.get(
            f"{ref.subscription_id}/{ref.resource_group.lower()}",
            lambda: self._ensure_group(ref.subscription_id, ref.resource_group, location, cluster_id),
        )
        created_id = self._gateway.create_workspace(
            workspace_id,
            location=location,
            retention_days=self._config.workspace_retention_days,
            tags=dict(MANAGED_BY_TAG),
        )
        self._changes.record(
            ChangeRecord(
                event=ChangeEvent.WORKSPACE_CREATED,
                run_id=self._run_id,
                trigger=self._trigger,
                resource_id=created_id or workspace_id,
                cluster_id=cluster_id,
                workspace_id=workspace_id,
            )
        )
        return self._remember(WorkspaceOutcome(workspace_id, location, "created"))

    def _ensure_group(self, subscription_id: str, name: str, location: str, cluster_id: str) -> None:
        if self._gateway.resource_group_exists(subscription_id, name):
            return
        group_id = self._gateway.create_resource_group(subscription_id, name, location, dict(MANAGED_BY_TAG))
        self._changes.record(
            ChangeRecord(
                event=ChangeEvent.RESOURCE_GROUP_CREATED,
                run_id=self._run_id,
                trigger=self._trigger,
                resource_id=group_id or f"/subscriptions/{subscription_id}/resourceGroups/{name}",
                cluster_id=cluster_id,
            )
        )

    def _remember(self, outcome: WorkspaceOutcome) -> WorkspaceOutcome:
        with self._lock:
            known = self._outcomes.get(id_key(outcome.id))
            if known is None or (known.action != "created" and outcome.action == "created"):
                self._outcomes[id_key(outcome.id)] = outcome
        return outcome
