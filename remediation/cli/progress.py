"""The progress display on an interactive stderr, drawn by ``rich``, sharing the terminal with logs.

A run has two phases: discovery (listing subscriptions and clusters: an indeterminate spinner)
and the clusters (a bar counting clusters as they *finish*, in whatever order, with the rate
and the time left). While the display is live, log records go through its console, so each
log line is printed whole above the bar instead of on the bar's line. Off (a no-op) when
stderr is not a terminal or ``--no-progress`` is given: logs then go straight to stderr.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

_lock = threading.Lock()
_live_console: Console | None = None  # the console of the display that is live, if any


class RateColumn(ProgressColumn):
    """Clusters per second, once some have finished."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} clusters/s" if speed else "")


class ConsoleAwareHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler that, while a progress display is live, prints through its console
    (each record above the bar, whole), and otherwise writes to its stream."""

    def emit(self, record: logging.LogRecord) -> None:
        console = _live_console
        if console is None:
            super().emit(record)
            return
        try:
            console.print(Text(self.format(record)), soft_wrap=True, highlight=False, markup=False)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


class ProgressDisplay:
    """``with ProgressDisplay(stderr, "apply", enabled) as progress: engine.run(progress=progress)``."""

    def __init__(self, stream: TextIO, label: str, enabled: bool) -> None:
        self._label = label
        self._enabled = enabled
        self._progress: Progress | None = None
        self._task: object = None
        if enabled:
            console = Console(file=stream, stderr=True, highlight=False, markup=False, emoji=False)
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("clusters"),
                RateColumn(),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=console,
                transient=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )

    @property
    def enabled(self) -> bool:
        return self._progress is not None

    def __enter__(self) -> ProgressDisplay:
        global _live_console
        if self._progress is not None:
            self._task = self._progress.add_task(f"{self._label}: listing clusters", total=None)
            self._progress.start()
            with _lock:
                _live_console = self._progress.console
        return self

    def __call__(self, done: int, total: int) -> None:
        """The engine's progress callback: ``done`` of ``total`` clusters have finished."""
        if self._progress is None:
            return
        self._progress.update(
            self._task,  # type: ignore[arg-type]
            description=self._label,
            total=total,
            completed=done,
        )

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        global _live_console
        if self._progress is not None:
            with _lock:
                _live_console = None
            self._progress.stop()
