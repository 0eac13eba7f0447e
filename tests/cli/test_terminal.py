"""The terminal: RFC 3339 log times, progress only on a terminal (and never on a log line), Ctrl-C."""

from __future__ import annotations

import ctypes
import io
import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from remediation.cli.main import main
from tests.support.cli import cli
from tests.support.constants import SUB_A

ROOT = Path(__file__).resolve().parents[2]
RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
DEADLINE = 120  # seconds any child process may take


def test_log_times_are_rfc3339_utc_in_text_and_json(estate):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")

    _, _, json_err = cli("apply", "--log-format", "json")
    _, _, text_err = cli("report")

    records = [json.loads(line) for line in json_err.splitlines() if line.startswith("{")]
    assert records and all(RFC3339_UTC.match(r["time"]) for r in records)
    lines = [line for line in text_err.splitlines() if line.strip()]
    assert lines and all(RFC3339_UTC.match(line.split(" ", 1)[0]) for line in lines), lines


def test_no_progress_when_stderr_is_not_a_terminal(estate):
    estate.add_cluster(SUB_A, "rg-app", "aks-1", "eastus")

    _, _, err = cli("apply")

    assert "\r" not in err and "\x1b" not in err
    assert "clusters/s" not in err and "listing clusters" not in err


def _child_env(sim, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(sim.env(), REMEDIATION_SUBSCRIPTION_IDS=SUB_A, PYTHONUNBUFFERED="1", **extra)
    return env


def test_progress_on_a_terminal_counts_clusters_and_keeps_log_lines_whole(estate):
    for i in range(6):
        estate.add_cluster(SUB_A, "rg-app", f"aks-{i}", "eastus")
    primary, secondary = os.openpty()
    child = subprocess.Popen(
        [sys.executable, "-m", "remediation", "apply"],
        cwd=ROOT,
        env=_child_env(estate, COLUMNS="160", LINES="40", TERM="xterm"),
        stdout=subprocess.PIPE,
        stderr=secondary,
        stdin=subprocess.DEVNULL,
    )
    os.close(secondary)
    screen = b""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        ready, _, _ = select.select([primary], [], [], deadline - time.monotonic())
        if not ready:
            break
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        screen += chunk
    os.close(primary)
    child.communicate(timeout=DEADLINE)

    assert child.returncode == 0
    text = ANSI.sub("", screen.decode("utf-8", "replace"))
    lines = [line for line in re.split(r"[\r\n]+", text) if line.strip()]
    progress = [line for line in lines if "clusters" in line and "eta" in line]
    assert progress, text[-2000:]
    assert any(re.search(r"\b6/6 clusters\b", line) for line in progress), progress[-3:]
    changes = [line for line in lines if "remediation.changes" in line]
    assert len(changes) >= 6, text[-3000:]
    for line in changes:  # each log line stands alone: it starts with its own time, no bar glued to it
        assert RFC3339_UTC.match(line.split(" ", 1)[0]), line
        assert "eta" not in line


def _interrupt(child: subprocess.Popen[str], target: str) -> None:
    """Ctrl-C to the process (the kernel picks a thread), or SIGINT aimed at one of its other threads."""
    if target == "process":
        child.send_signal(signal.SIGINT)
        return
    others = sorted(int(tid) for tid in os.listdir(f"/proc/{child.pid}/task") if int(tid) != child.pid)
    assert others, "the run has worker threads"
    assert ctypes.CDLL(None, use_errno=True).tgkill(child.pid, others[-1], signal.SIGINT) == 0


@pytest.mark.parametrize("target", ["process", "worker-thread"])
def test_ctrl_c_stops_starting_clusters_summarises_the_changes_and_exits_130(estate, target):
    for i in range(40):
        estate.add_cluster(SUB_A, "rg-app", f"aks-{i:02d}", "eastus")
    estate.add_workspace(SUB_A, "rg-aks-audit-logs", "law-aks-audit-eastus", "eastus")
    # Every cluster's setting write but aks-00's waits at the gate until the child has taken the
    # interrupt: the run cannot finish before Ctrl-C arrives, however slow this machine is. The
    # gate is per cluster, not "the first PUT", so a retried write of aks-00 is never held.
    gate = threading.Event()
    for i in range(1, 40):
        estate.inject_fault(
            method="PUT",
            path_contains=f"/managedClusters/aks-{i:02d}/providers/Microsoft.Insights/diagnosticSettings/",
            status=None,
            times=None,
            before=lambda: gate.wait(DEADLINE),
        )
    child = subprocess.Popen(
        [sys.executable, "-m", "remediation", "apply", "--no-progress"],
        cwd=ROOT,
        env=_child_env(estate, REMEDIATION_MAX_CONCURRENCY="2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    watchdog = threading.Timer(DEADLINE, child.kill)  # a child that hangs fails the test, never hangs it
    watchdog.start()
    assert child.stderr is not None
    seen: list[str] = []
    try:
        for line in child.stderr:
            seen.append(line)
            if "diagnostic_setting.created" in line:
                _interrupt(child, target)  # Ctrl-C after the first change
            if "interrupted: finishing the clusters in flight" in line:
                break
    finally:
        gate.set()  # the writes in flight may now finish
    out, rest = child.communicate(timeout=DEADLINE)
    watchdog.cancel()
    err = "".join(seen) + rest

    assert child.returncode == 130, err[-3000:]
    assert "Traceback" not in err
    assert "interrupted: the clusters in flight were finished, no other was started" in err
    written = {r.path.lower() for r in estate.write_requests() if "diagnosticsettings" in r.path.lower()}
    summary = [line for line in err.splitlines() if line.startswith("  diagnostic_setting.created ")]
    assert len(summary) == len(written), (summary, len(written))
    assert 1 <= len(written) <= 3, "the first cluster and at most the two in flight (REMEDIATION_MAX_CONCURRENCY=2)"
    assert out == "", "no report is printed for an interrupted run"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_table_fits_the_terminal_and_a_pipe_gets_one_line_per_cluster(estate):
    estate.add_cluster(SUB_A, "rg-with-a-rather-long-resource-group-name", "aks-with-a-long-name-0", "eastus")
    env = {**os.environ, "REMEDIATION_SUBSCRIPTION_IDS": SUB_A}

    terminal, piped = _Terminal(), io.StringIO()
    main(["report", "--no-progress"], env={**env, "COLUMNS": "80"}, stdout=terminal, stderr=io.StringIO())
    main(["report", "--no-progress"], env={**env, "COLUMNS": "80"}, stdout=piped, stderr=io.StringIO())

    assert max(map(len, terminal.getvalue().splitlines())) <= 80
    row = next(line for line in terminal.getvalue().splitlines() if line.startswith("aks-with-a-long"))
    assert "aks-with-a-long-name-0" in row and "rg-with-a-" in row, "the resource group stays, folded if it must"
    assert max(map(len, piped.getvalue().splitlines())) > 80
