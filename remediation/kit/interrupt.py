"""Ctrl-C taken where it is safe: a command line run works in its own thread, and the first
interrupt becomes a request the run reads, never an exception raised inside a lock.

Python raises ``KeyboardInterrupt`` in the main thread between any two bytecodes, also inside
``threading.Condition.__enter__`` after the lock was taken and before the ``with`` block began:
that lock is then held for ever, and a worker finishing a future (``Future.set_result`` takes
the future's condition) blocks for ever with it; the process cannot exit. So while
:func:`run_interruptibly` waits, the first SIGINT only sets the ``stop`` event: ``work``
finishes what it has in flight, starts nothing new and ends (raising ``KeyboardInterrupt``
itself, at a point of its choosing). A second SIGINT raises ``KeyboardInterrupt`` at once: the
caller stops waiting for the work.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TypeVar

T = TypeVar("T")

# How soon an interrupt is taken: the kernel may give SIGINT to any thread, and Python runs the
# handler only when the main thread next runs bytecode.
CHECK_SECONDS = 0.2


def run_interruptibly(work: Callable[[threading.Event], T], *, name: str) -> T:
    """``work(stop)`` in its own thread: its result or its exception, or ``KeyboardInterrupt`` if
    ``stop`` was set and ``work`` still returned (the interrupt came after its last check)."""
    stop = threading.Event()
    finished = threading.Lock()  # released by the worker once it has left its result or failure
    finished.acquire()
    result: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(work(stop))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            failure.append(exc)
        finally:
            finished.release()

    with _first_interrupt_sets(stop):
        threading.Thread(target=target, name=name, daemon=True).start()
        while not (result or failure):  # not the lock's answer: a second Ctrl-C may come after it was taken
            finished.acquire(timeout=CHECK_SECONDS)
    if failure:
        raise failure[0]
    if stop.is_set():
        raise KeyboardInterrupt
    return result[0]


@contextmanager
def _first_interrupt_sets(stop: threading.Event) -> Iterator[None]:
    """SIGINT sets ``stop`` the first time and raises ``KeyboardInterrupt`` after, inside the
    block (only the main thread receives Python's signals: elsewhere, nothing to change)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, handle)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_DFL if previous is None else previous)
