"""A clock for the product's deadlines on which time passes only when the product waits.

:class:`FakeClock` is a :class:`remediation.kit.clock.Clock`: hand it to a run's deadline
(``Deadline(..., clock=...)``, ``Runtime(clock=...)``) and every ``Retry-After``, backoff, poll and
settle wait of that run moves it forward at once instead of blocking. Work itself takes no time
on it, so what a run does before its deadline no longer depends on how loaded the machine is.
It is callable too (``clock()`` is ``clock.now()``), so that armsim can run on the same time.

A socket timeout is real time: a test of a hung endpoint gives its run a real-time deadline.
"""

from __future__ import annotations

import threading


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()
        self.waits: list[float] = []  # every wait the product asked for, in order

    def now(self) -> float:
        with self._lock:
            return self._now

    __call__ = now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds

    def wait(self, wake: threading.Event | threading.Condition, seconds: float) -> bool:
        """Move the clock ``seconds`` on, unless ``wake`` (an Event) is set already. A Condition (a
        waiter woken when another thread changes what it waits for) is not waited on: the time passes."""
        is_set = getattr(wake, "is_set", lambda: False)
        if is_set():
            return True
        with self._lock:
            self._now += seconds
            self.waits.append(seconds)
        return bool(is_set())
