"""Work run with a time limit: the caller stops waiting at the limit; the work itself is abandoned
to its own (client) timeouts in a daemon thread, never killed half-way."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def run_with_timeout(
    work: Callable[[], T], seconds: float, *, name: str, on_timeout: Callable[[float], Exception]
) -> T:
    """``work()``'s result (its errors propagate), or ``on_timeout(seconds)`` raised once ``seconds`` have passed."""
    result: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            failure.append(exc)

    worker = threading.Thread(target=target, name=name, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise on_timeout(seconds)
    if failure:
        raise failure[0]
    return result[0]
