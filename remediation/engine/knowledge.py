"""What a warm worker already knows about ARM, kept per process for a while (time-to-live caches).

Two facts change rarely and cost a sequential round trip each on the event path:

- the **category metadata** of managed clusters (which log categories exist, what the groups
  ``audit`` and ``allLogs`` hold): the same for every managed cluster of a cloud; kept for
  :data:`CATEGORY_TTL` seconds;
- that a Log Analytics **workspace exists** (and is usable): only a confirmation is kept, for
  :data:`WORKSPACE_TTL` seconds, never an absence.

A stale entry never causes a wrong write: ARM rejects a setting that names a workspace that is
gone (``LinkedResourceNotFound``) or a category it does not know (``BadRequest``); the engine
then forgets what it knew, reads again and decides once more (:func:`is_stale_knowledge`).

Everything is keyed by the ARM endpoint, so one process talking to two clouds (or the tests,
each with its own simulator) never mixes them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from remediation.core.model import CategoryMetadata
from remediation.errors import ArmError
from remediation.ids import id_key

V = TypeVar("V")

CATEGORY_TTL = 3600.0
WORKSPACE_TTL = 600.0  # well inside the hourly sweep, which checks every workspace afresh


class TtlCache(Generic[V]):
    """A small thread-safe map whose entries expire ``ttl`` seconds after they were stored."""

    def __init__(self, ttl: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, V]] = {}

    def get(self, key: str) -> V | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry[0] <= self._clock():
                del self._entries[key]
                return None
            return entry[1]

    def put(self, key: str, value: V) -> None:
        with self._lock:
            self._entries[key] = (self._clock() + self._ttl, value)

    def forget(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class Knowledge:
    """The process's knowledge of one ARM endpoint."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.categories: TtlCache[CategoryMetadata] = TtlCache(CATEGORY_TTL, clock=clock)
        self.workspaces: TtlCache[str] = TtlCache(WORKSPACE_TTL, clock=clock)  # id key -> provisioningState

    def category_metadata(self) -> CategoryMetadata | None:
        return self.categories.get("managedClusters")

    def remember_categories(self, metadata: CategoryMetadata) -> None:
        if metadata.categories:
            self.categories.put("managedClusters", metadata)

    def workspace_state(self, workspace_id: str) -> str | None:
        """A confirmed state (``Succeeded``) of the workspace, or None when not known."""
        return self.workspaces.get(id_key(workspace_id))

    def remember_workspace(self, workspace_id: str, state: str | None) -> None:
        if state is not None and state.lower() == "succeeded":
            self.workspaces.put(id_key(workspace_id), state)
        else:
            self.workspaces.forget(id_key(workspace_id))

    def forget(self) -> None:
        """After ARM rejected a write that this knowledge led to: know nothing."""
        self.categories.clear()
        self.workspaces.clear()


_lock = threading.Lock()
_by_endpoint: dict[str, Knowledge] = {}


def knowledge_for(arm_endpoint: str) -> Knowledge:
    """The process-wide knowledge of ``arm_endpoint`` (made on first use)."""
    with _lock:
        known = _by_endpoint.get(arm_endpoint.lower())
        if known is None:
            known = _by_endpoint[arm_endpoint.lower()] = Knowledge()
        return known


def forget_all() -> None:
    """Forget the knowledge of every endpoint (the next run learns it again)."""
    with _lock:
        _by_endpoint.clear()


# ARM's answers to a setting write that cached knowledge can explain: the workspace is gone, or
# a category (or group) is unknown for the resource type.
_STALE_CODES = frozenset({"linkedresourcenotfound"})


def is_stale_knowledge(exc: ArmError) -> bool:
    """Whether ARM rejected a write in a way that stale knowledge (a workspace, a category) explains."""
    code = exc.code.lower()
    if code in _STALE_CODES:
        return True
    message = exc.message.lower()
    return exc.status == 400 and "category" in message and "not supported" in message
