"""How the gateway makes each SDK call: within the run's deadline, its failure classified once.

:class:`Caller` holds the run's :class:`~remediation.kit.deadline.Deadline` and hands each call a
fresh :class:`~remediation.azure.policies.CallDeadline`, which the call passes to the SDK as
the per-call keyword ``deadline`` (the one way the deadline reaches the SDK). Around single
calls it keeps the three loops the product needs, each bounded:

- :meth:`Caller.read`: a lookup many things depend on, tried again while the failure is temporary;
- :meth:`Caller.write`: a write, tried again while ARM says another operation is in progress (409);
- :meth:`Caller.create_once`: a creation whose outcome may be ambiguous: read back, never PUT twice
  over something that is there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from remediation.azure.classify import classify, is_ambiguous, is_in_progress
from remediation.azure.policies import CallDeadline
from remediation.errors import ArmError, CredentialError, ThrottledError
from remediation.kit.deadline import MIN_TRY_SECONDS, Deadline, DeadlineExceeded

logger = logging.getLogger(__name__)

T = TypeVar("T")
E = TypeVar("E")

# 409 "operation in progress" on a write, and a failed lookup: tried again 2, 4, 8, 10 s apart,
# within at most LOOKUP_BUDGET_SECONDS of the run's budget; a creation at most CONFLICT_ATTEMPTS times.
CONFLICT_ATTEMPTS = 4
OUTER_WAITS = (2.0, 4.0, 8.0, 10.0)
LOOKUP_BUDGET_SECONDS = 60.0

# One SDK call: given the call's deadline (to pass on as ``deadline=``), its result.
Call = Callable[[CallDeadline], T]


@dataclass(frozen=True)
class Found(Generic[E]):
    """What a creation found already there (after a 409, or read back after an ambiguous failure)."""

    value: E
    ours: bool  # read back after an ambiguous failure of our PUT (not a 409: someone else's)


class Caller:
    """SDK calls within one run's deadline."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline

    def call(self, what: str, fn: Call[T], budget: Deadline | None = None) -> T:
        """One SDK call within ``budget`` (default: the run's deadline), its failure classified.

        A temporary failure after which the SDK's retries stopped for lack of time, when the run's
        deadline has nothing left either, is :class:`DeadlineExceeded` (the work is deferred)."""
        call = CallDeadline(budget or self.deadline)
        call.deadline.check(what)
        try:
            return fn(call)
        except DeadlineExceeded:
            raise
        except Exception as exc:
            error = classify(exc, what=what)
            # Stopped for lack of time: the run's deadline (deferred) or only this lookup's budget (the error).
            if error.transient and call.stopped_for_time and not self.deadline.can_wait(MIN_TRY_SECONDS):
                raise DeadlineExceeded(f"{what} ({error.code})") from exc
            raise error from exc

    def again(self, what: str, fn: Call[T], retry_if: Callable[[ArmError], bool]) -> T:
        """``fn`` tried again (2, 4, 8, 10 s apart) while ``retry_if`` says so, within at most
        :data:`LOOKUP_BUDGET_SECONDS` of the run's budget (a hung endpoint costs one such budget,
        not one per try)."""
        budget = self.deadline.child(LOOKUP_BUDGET_SECONDS)
        waits = iter(OUTER_WAITS)
        while True:
            try:
                return self.call(what, fn, budget)
            except ArmError as exc:
                if not retry_if(exc):
                    raise
                wait = next(waits, None)
                if wait is None:
                    raise
                if not budget.can_wait(wait + MIN_TRY_SECONDS):
                    if isinstance(exc, CredentialError) or self.deadline.can_wait(wait + MIN_TRY_SECONDS):
                        raise  # the lookup's own budget is spent (or what to do matters more)
                    raise DeadlineExceeded(f"{what} ({exc.code})") from exc
                logger.debug("%s: %s; trying again in %.0f s", what, exc.code, wait)
                budget.sleep(wait)

    def write(self, what: str, fn: Call[T]) -> T:
        """A write, tried again while ARM says another operation is in progress (409)."""
        return self.again(what, fn, is_in_progress)

    def read(self, what: str, fn: Call[T]) -> T:
        """A read that many things depend on, tried again while the failure is transient (but not
        when ARM's limits already outlast the budget: the pacer waited what could be waited)."""
        return self.again(what, fn, lambda exc: exc.transient and not isinstance(exc, ThrottledError))

    def create_once(self, what: str, put: Call[T], find: Callable[[], E | None]) -> T | Found[E]:
        """A PUT that creates something a read found missing, at most once: after a 409 or an
        ambiguous failure, ``find`` reads it back and what is there is reused; when nothing is
        there yet (a 409 of a deletion in progress, a lost PUT), the PUT is tried again 2 s later."""
        for _ in range(CONFLICT_ATTEMPTS):
            try:
                return self.call(what, put)
            except ArmError as exc:
                if exc.status != 409 and not is_ambiguous(exc):
                    raise
                found = find()
                if found is not None:
                    # 409: someone else made it; ambiguous: ours, most likely (it was missing just before).
                    return Found(found, ours=exc.status != 409)
                if not self.deadline.can_wait(OUTER_WAITS[0] + MIN_TRY_SECONDS):
                    raise DeadlineExceeded(what) from exc
                self.deadline.sleep(OUTER_WAITS[0])
        raise DeadlineExceeded(what)
