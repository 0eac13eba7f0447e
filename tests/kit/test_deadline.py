"""The run's time budget, on a fake clock (no sleeps)."""

from __future__ import annotations

import threading

import pytest

from remediation.kit.clock import SYSTEM_CLOCK, Clock, SystemClock
from remediation.kit.deadline import TRIGGER_BUDGETS, Deadline, DeadlineExceeded
from tests.support.clock import FakeClock as FakeTime


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_remaining_counts_down_and_never_goes_negative():
    clock = FakeClock()
    deadline = Deadline(10, clock=clock)
    assert deadline.remaining() == 10
    clock.now += 4
    assert deadline.remaining() == 6
    assert not deadline.expired
    clock.now += 7
    assert deadline.remaining() == 0
    assert deadline.expired
    with pytest.raises(DeadlineExceeded, match="deadline reached: listing"):
        deadline.check("listing")


def test_a_child_ends_at_its_own_limit_or_the_parents_whichever_is_first():
    clock = FakeClock()
    parent = Deadline(10, clock=clock)
    short = parent.child(3)
    long = parent.child(60)
    assert short.remaining() == 3
    assert long.remaining() == 10
    clock.now += 3
    assert short.expired and not parent.expired
    clock.now += 7
    assert long.expired


def test_waits_are_clipped_to_the_cap_and_to_what_is_left():
    clock = FakeClock()
    deadline = Deadline(5, clock=clock)
    assert deadline.wait_time(12, cap=8) == 5
    assert deadline.wait_time(3, cap=8) == 3
    assert deadline.wait_time(-1) == 0
    assert deadline.can_wait(4) and not deadline.can_wait(5)
    assert deadline.request_timeout(30) == 5
    assert deadline.request_timeout(2) == 2
    clock.now += 5
    assert deadline.request_timeout(30) > 0  # never 0: that would mean "no timeout" to a socket


def test_an_expired_deadline_does_not_sleep():
    deadline = Deadline(0)
    assert deadline.expired
    assert deadline.sleep(3600) is False


def test_cancel_ends_the_deadline_and_its_children_at_once():
    parent = Deadline(3600)
    child = parent.child(60)
    parent.cancel()
    assert parent.cancelled and child.cancelled
    assert parent.remaining() == 0 and child.remaining() == 0
    assert child.sleep(3600) is False  # returns at once: the wait is woken by the cancel


def test_budget_per_trigger_and_the_override():
    assert Deadline.for_trigger("event_grid").budget == TRIGGER_BUDGETS["event_grid"] < 30
    assert Deadline.for_trigger("timer").budget < 30 * 60  # inside host.json's functionTimeout
    assert Deadline.for_trigger("http").budget < 230  # the HTTP front end's idle timeout
    assert Deadline.for_trigger("cli").budget == 30 * 60
    assert Deadline.for_trigger("event_grid", 3).budget == 3
    assert Deadline(-5).budget == 0
    assert "remaining" in repr(Deadline(1))


def test_waits_go_through_the_deadlines_clock():
    clock = FakeTime()
    deadline = Deadline.for_trigger("event_grid", 5, clock=clock)
    assert deadline.sleep(2) is True  # no real time: the clock moved
    assert clock.waits == [2] and deadline.remaining() == 3
    child = deadline.child(60)
    assert child.sleep(10) is False  # clipped to what is left
    assert clock.waits == [2, 3] and deadline.expired


def test_a_cancelled_wait_does_not_move_the_clock():
    clock = FakeTime()
    deadline = Deadline(60, clock=clock)
    deadline.cancel()
    assert deadline.sleep(5) is False
    assert clock.waits == []
    assert FakeTime().wait(threading.Event(), 1) is False


def test_the_system_clock_is_real_time_and_wakes_when_told():
    woken = threading.Event()
    woken.set()
    assert SYSTEM_CLOCK.wait(woken, 3600) is True  # returns at once: already woken
    assert isinstance(SYSTEM_CLOCK, Clock) and isinstance(FakeTime(), Clock)
    assert SystemClock(read=lambda: 7.0).now() == 7.0
