"""The time budget of one run: every retry, ``Retry-After``, LRO poll and settle wait draws on it.

A :class:`Deadline` is made once per run (sweep, subscription, event, HTTP report, CLI command)
from where the run happens (:data:`TRIGGER_BUDGETS`, or ``REMEDIATION_DEADLINE_SECONDS``) and
handed to everything that may wait. Nothing waits past it:

- :meth:`Deadline.remaining` is what is left (never negative); :attr:`Deadline.expired` says
  whether anything is left at all.
- :meth:`Deadline.wait_time` clips a wanted wait (a backoff, a ``Retry-After``) to the budget;
  :meth:`Deadline.sleep` sleeps that long, and wakes early when the deadline is cancelled.
- :meth:`Deadline.child` is a smaller budget inside this one (a settle wait, one lookup): it
  ends at its own limit or at the parent's end, whichever comes first; cancelling the parent
  cancels the children.
- :meth:`Deadline.request_timeout` is the socket timeout of one HTTP request: short and
  explicit, and never beyond the budget.
- :meth:`Deadline.cancel` ends the budget now (e.g. on Ctrl-C): every sleeper wakes.

Its time comes from a :class:`~remediation.kit.clock.Clock` (real time unless the run's starter
passes another): reading the time and every :meth:`Deadline.sleep` go through it.

It lives in :mod:`remediation.kit` because the engine, the Azure adapters and the triggers all
use it; it depends on nothing of the product.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping

from remediation.kit.clock import SYSTEM_CLOCK, Clock, as_clock

# Default budgets per trigger, in seconds. Event Grid counts a delivery as failed after 30 s
# without an answer, so the event path stops well inside it; a timer or queue execution must
# end inside host.json's functionTimeout (30 min on Flex Consumption's default); the CLI and
# HTTP report run while someone waits for them.
TRIGGER_BUDGETS: Mapping[str, float] = {
    "event_grid": 25.0,
    "timer": 25 * 60.0,
    "queue": 9 * 60.0,
    "http": 200.0,
    "cli": 30 * 60.0,
}
# What is kept back from a run's budget for writing the report and the records at its end.
RESERVE_SECONDS = 1.0
# Time kept for the try after a wait: a wait (a backoff, a Retry-After, a token of ARM's limits,
# a poll) that would leave less than this for the request itself is not started.
MIN_TRY_SECONDS = 1.0


class DeadlineExceeded(Exception):  # noqa: N818 - the standard name of the condition
    """The run's time budget ran out before this wait or call could finish."""

    def __init__(self, what: str = "") -> None:
        super().__init__(f"deadline reached{': ' + what if what else ''}")
        self.what = what


class Deadline:
    """A point in time (on a monotonic clock) past which nothing of this run waits.

    ``clock`` is a :class:`~remediation.kit.clock.Clock`, or a plain function returning monotonic
    seconds (then waits take real time)."""

    def __init__(
        self,
        seconds: float,
        *,
        clock: Clock | Callable[[], float] = SYSTEM_CLOCK,
        parent: Deadline | None = None,
    ) -> None:
        if seconds < 0:
            seconds = 0.0
        self._clock = as_clock(clock)
        self._budget = float(seconds)
        self._ends = self._clock.now() + self._budget
        self._parent = parent
        self._cancelled: threading.Event = threading.Event() if parent is None else parent._cancelled

    @classmethod
    def for_trigger(cls, trigger: str, override: float | None = None, *, clock: Clock = SYSTEM_CLOCK) -> Deadline:
        """The budget of a run started by ``trigger`` (``override`` = REMEDIATION_DEADLINE_SECONDS)."""
        seconds = override if override is not None else TRIGGER_BUDGETS.get(trigger, TRIGGER_BUDGETS["cli"])
        return cls(seconds, clock=clock)

    @property
    def budget(self) -> float:
        """The seconds this deadline was given when it was made."""
        return self._budget

    def remaining(self) -> float:
        """Seconds left (0 when expired or cancelled)."""
        if self._cancelled.is_set():
            return 0.0
        left = self._ends - self._clock.now()
        if self._parent is not None:
            left = min(left, self._parent.remaining())
        return max(0.0, left)

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """End the budget now: every :meth:`sleep` of this deadline and of its children returns."""
        self._cancelled.set()

    def child(self, seconds: float) -> Deadline:
        """A budget of at most ``seconds`` that also ends when this one does."""
        return Deadline(min(seconds, self.remaining()), clock=self._clock, parent=self)

    def wait_time(self, wanted: float, cap: float | None = None) -> float:
        """``wanted`` seconds, clipped to ``cap`` (when given) and to what is left."""
        wait = max(0.0, wanted)
        if cap is not None:
            wait = min(wait, cap)
        return min(wait, self.remaining())

    def can_wait(self, seconds: float) -> bool:
        """Whether waiting ``seconds`` and then doing something still fits (with a small margin)."""
        return self.remaining() > seconds

    def sleep(self, seconds: float) -> bool:
        """Sleep ``seconds`` but never past the deadline; True when time is still left afterwards."""
        wait = self.wait_time(seconds)
        if wait > 0:
            self._clock.wait(self._cancelled, wait)
        return not self.expired

    def request_timeout(self, limit: float) -> float:
        """A socket timeout for one HTTP request: at most ``limit``, and never beyond the budget."""
        return max(0.001, min(limit, self.remaining()))

    def check(self, what: str = "") -> None:
        """Raise :class:`DeadlineExceeded` when nothing is left."""
        if self.expired:
            raise DeadlineExceeded(what)

    def __repr__(self) -> str:
        return f"Deadline(budget={self._budget:.1f}s, remaining={self.remaining():.1f}s)"
