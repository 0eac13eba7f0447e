"""Ctrl-C as a request the work reads: run_interruptibly on real SIGINTs, in the main thread."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator

import pytest

from remediation.kit.interrupt import run_interruptibly

DEADLINE = 30.0  # seconds any wait here may take before the test fails instead of hanging


@pytest.fixture(autouse=True)
def python_sigint_handler() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt in the main thread, as in a command line run."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_the_work_runs_in_its_own_thread_and_its_result_comes_back():
    main = threading.current_thread()
    assert run_interruptibly(lambda stop: threading.current_thread() is not main, name="t") is True


def test_the_work_s_failure_comes_back():
    def work(stop: threading.Event) -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        run_interruptibly(work, name="t")


def test_the_first_ctrl_c_asks_the_work_to_stop_and_it_ends_as_an_interrupt():
    finished_its_work: list[bool] = []

    def work(stop: threading.Event) -> str:
        signal.raise_signal(signal.SIGINT)  # given to this thread; Python raises it in the main one
        assert stop.wait(DEADLINE), "the interrupt became a request"
        finished_its_work.append(True)  # what was in flight is finished
        return "done"

    with pytest.raises(KeyboardInterrupt):
        run_interruptibly(work, name="t")
    assert finished_its_work == [True]


def test_work_that_stops_itself_on_the_request_keeps_its_own_exception():
    def work(stop: threading.Event) -> None:
        signal.raise_signal(signal.SIGINT)
        assert stop.wait(DEADLINE)
        raise KeyboardInterrupt("stopped at a point of the work's choosing")

    with pytest.raises(KeyboardInterrupt, match="point of the work's choosing"):
        run_interruptibly(work, name="t")


def test_a_second_ctrl_c_stops_waiting_for_the_work():
    release = threading.Event()
    waiting = threading.Event()

    def work(stop: threading.Event) -> None:
        signal.raise_signal(signal.SIGINT)
        assert stop.wait(DEADLINE)
        signal.raise_signal(signal.SIGINT)
        waiting.set()
        release.wait(DEADLINE)  # still busy when the second Ctrl-C arrives

    try:
        with pytest.raises(KeyboardInterrupt):
            run_interruptibly(work, name="t")
        assert waiting.is_set() and not release.is_set(), "it stopped waiting while the work was busy"
    finally:
        release.set()


def test_the_process_s_own_handler_is_back_afterwards():
    run_interruptibly(lambda stop: None, name="t")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_off_the_main_thread_it_runs_the_work_and_leaves_signals_alone():
    seen: list[object] = []

    def caller() -> None:
        seen.append(run_interruptibly(lambda stop: stop.is_set(), name="t"))

    thread = threading.Thread(target=caller)
    thread.start()
    thread.join(DEADLINE)
    assert seen == [False]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
