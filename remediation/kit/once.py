"""A value per key computed exactly once, however many threads ask for it at the same moment."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Once:
    """Compute a value per key exactly once, even when asked from many threads at once.

    A failure is remembered and re-raised to every later caller when ``remember_failure``
    says so (default: always); otherwise the next caller tries again.
    """

    def __init__(self, *, remember_failure: Callable[[Exception], bool] = lambda exc: True) -> None:
        self._remember_failure = remember_failure
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
                    if not self._remember_failure(exc):
                        raise
                    self._results[key] = (False, exc)
            ok, value = self._results[key]
        if ok:
            return value  # type: ignore[return-value]
        raise value  # type: ignore[misc]
