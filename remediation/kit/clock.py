"""Where a run's time comes from: monotonic seconds, and waits that let them pass.

Every :class:`~remediation.kit.deadline.Deadline` reads the time and waits through one
:class:`Clock`, so that whoever starts a run decides what time it runs on. The product runs on
:data:`SYSTEM_CLOCK` (``time.monotonic``, and waits that take real time). A caller that runs the
product on other time (a simulation of an estate, a replay, a check of what happens at a deadline
without waiting for it) hands its own clock to the run's deadline (``Deadline(..., clock=...)``,
``run(..., deadline=...)``) or to the Function app's runtime (``Runtime.clock``): every
``Retry-After``, backoff, poll and settle wait of that run then moves that clock instead.

A socket timeout is not a wait on the clock: it is the time left on the clock, given to the
operating system (:meth:`~remediation.kit.deadline.Deadline.request_timeout`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class Wakeable(Protocol):
    """What a waiter can be woken by: a ``threading.Event``, or a ``threading.Condition`` held by the waiter."""

    def wait(self, timeout: float | None = None) -> bool: ...


@runtime_checkable
class Clock(Protocol):
    """Monotonic seconds, and a wait that lets them pass."""

    def now(self) -> float:
        """Seconds on a monotonic scale (only differences mean something)."""
        ...

    def wait(self, wake: Wakeable, seconds: float) -> bool:
        """Let ``seconds`` pass, or less when ``wake`` is set (notified) first; whether it was."""
        ...


@dataclass(frozen=True)
class SystemClock:
    """Real time: ``read`` (default ``time.monotonic``), and waits that block the thread."""

    read: Callable[[], float] = time.monotonic

    def now(self) -> float:
        return self.read()

    def wait(self, wake: Wakeable, seconds: float) -> bool:
        return wake.wait(seconds)


SYSTEM_CLOCK: Clock = SystemClock()


def as_clock(clock: Clock | Callable[[], float]) -> Clock:
    """``clock``, or a plain reading function (``time.monotonic``-like) with real waits."""
    if isinstance(clock, Clock):
        return clock
    return SystemClock(read=clock)
