"""The progress display in-process: counts, rate and ETA columns, log records printed through it."""

from __future__ import annotations

import io
import logging
import re

from remediation.cli.main import TextFormatter
from remediation.cli.progress import ConsoleAwareHandler, ProgressDisplay

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_logs_go_through_the_live_display_and_straight_to_the_stream_otherwise():
    screen = Terminal()
    handler = ConsoleAwareHandler(screen)
    handler.setFormatter(TextFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    log = logging.getLogger("tests.progress")
    log.propagate = False
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        with ProgressDisplay(screen, "apply", enabled=True) as progress:
            assert progress.enabled
            progress(0, 3)
            log.info("diagnostic_setting.created aks-1")
            progress(3, 3)
        log.info("after the display")
    finally:
        log.removeHandler(handler)

    text = ANSI.sub("", screen.getvalue())
    lines = [line for line in re.split(r"[\r\n]+", text) if line.strip()]
    assert any("3/3 clusters" in line and "eta" in line for line in lines)
    logged = [line for line in lines if "diagnostic_setting.created aks-1" in line]
    assert logged and all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z INFO ", line) for line in logged)
    assert lines[-1].endswith("tests.progress: after the display")


def test_a_disabled_display_writes_nothing():
    screen = Terminal()
    with ProgressDisplay(screen, "report", enabled=False) as progress:
        assert not progress.enabled
        progress(1, 2)
    assert screen.getvalue() == ""
