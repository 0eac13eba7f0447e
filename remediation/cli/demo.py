"""``python -m remediation demo``: the sample estate in armsim going from non-compliant to compliant.

The simulator (``armsim``) is a development tool and is not deployed with the Function app;
this command needs a source checkout. The engine runs unchanged: the simulator is selected
by environment variables only (ARM endpoint, managed-identity endpoint, its certificate).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from remediation.config.parse import load_config
from remediation.config.values import Mode
from remediation.core.changes import ChangeRecord
from remediation.core.report import FLOW_VERDICTS, STATUS_ORDER, ReportDocument
from remediation.output.render import render, summary_line

_DEMO_VARIABLES = ("REMEDIATION_SUBSCRIPTION_IDS", "REMEDIATION_WORKSPACE_ID", "REMEDIATION_MODE")


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in (*values, *_DEMO_VARIABLES)}
    for name in _DEMO_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _heading(stream: TextIO, text: str) -> None:
    stream.write(f"\n{'=' * 100}\n{text}\n{'=' * 100}\n")


def run_demo(*, stdout: TextIO, stderr: TextIO, show_progress: bool = False) -> int:
    try:
        from armsim import ArmSimulator
        from armsim.estate import build_demo_estate
    except ImportError:
        stderr.write("error: the demo needs the armsim package from a source checkout (it is not deployed)\n")
        return 2

    from remediation.adapters import build_adapters
    from remediation.cli.progress import ProgressDisplay
    from remediation.cli.run import run_command

    width = _width(stdout)

    with ArmSimulator() as sim:
        estate = build_demo_estate(sim)
        with _environment(sim.env()):
            config = load_config(os.environ)
            adapters = build_adapters(config, {})  # the demo's changes go to no ledger
            scope: dict[str, Any] = {"subscriptions": (), "clusters": ()}
            stdout.write(
                f"armsim is serving ARM at {sim.base_url}: {len(estate.clusters)} AKS clusters in 2 subscriptions, "
                "3 regions.\nThe product runs unchanged against it, through the official Azure SDK clients.\n"
            )
            _heading(stdout, "1. report (dry run): what is wrong and what apply would do")
            sim.clear_requests()
            with ProgressDisplay(stderr, "report", show_progress) as progress:
                before = run_command(config, adapters, mode=Mode.REPORT, progress=progress, **scope)
            stdout.write(render(before, "table", width=width))
            stdout.write(f"\nwrite requests made by the dry run: {len(sim.write_requests())}\n")

            _heading(stdout, "2. apply: remediate")
            sim.clear_requests()
            changes: list[ChangeRecord] = []
            with ProgressDisplay(stderr, "apply", show_progress) as progress:
                applied = run_command(
                    config, adapters, mode=Mode.APPLY, progress=progress, change_sinks=(changes.append,), **scope
                )
            stdout.write(render(applied, "table", width=width))
            stdout.write(_request_counts(sim))

            _heading(stdout, "3. report again: the estate after apply")
            with ProgressDisplay(stderr, "report", show_progress) as progress:
                after = run_command(config, adapters, mode=Mode.REPORT, progress=progress, **scope)
            stdout.write(render(after, "table", width=width))

            _heading(stdout, "What happened, in plain words")
            stdout.write(_what_changed(before, after, changes))
    return 0


def _request_counts(sim: Any) -> str:
    counts: dict[tuple[str, str], int] = {}
    for request in sim.arm_requests():
        counts[(request.method, _operation(request.path))] = (
            counts.get((request.method, _operation(request.path)), 0) + 1
        )
    lines = ["", "ARM requests made by apply (method, operation: count):"]
    lines += [f"  {method:6} {operation:48} {n}" for (method, operation), n in sorted(counts.items())]
    reads = sum(n for (m, _), n in counts.items() if m == "GET")
    lines.append(f"  total: {sum(counts.values())} ({reads} reads, {sum(counts.values()) - reads} writes)")
    return "\n".join(lines) + "\n"


def _operation(path: str) -> str:
    """A request path reduced to its ARM resource type, e.g. managedClusters/diagnosticSettings."""
    parts = [p for p in path.split("/") if p]
    lowered = [p.lower() for p in parts]
    if {"operationstatuses", "operationresults"} & set(lowered):
        return "workspace create (long-running operation poll)"
    if "providers" not in lowered:
        return "resourceGroups" if "resourcegroups" in lowered else "subscriptions"
    return "/".join(parts[i + 2] for i, part in enumerate(lowered) if part == "providers" and i + 2 < len(parts))


def _queries(document: ReportDocument) -> int:
    cost = document.get("cost")
    return cost["queries"] if cost else 0


def _flow_count(document: ReportDocument, verdict: str) -> int:
    flow = document["summary"].get("flow")
    return int(flow[verdict]) if flow else 0  # type: ignore[literal-required]


def _width(stream: TextIO) -> int | None:
    """The terminal's width when writing to one (the table then fits it), else no limit."""
    isatty = getattr(stream, "isatty", None)
    return shutil.get_terminal_size().columns if isatty is not None and isatty() else None


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _change_sentence(record: ChangeRecord) -> str:
    name = record.resource_id.rsplit("/", 1)[-1]
    cluster = record.cluster_id.rsplit("/", 1)[-1] if record.cluster_id else ""
    added = [c for c in record.categories_after if c not in record.categories_before]
    workspace = record.workspace_id.rsplit("/", 1)[-1] if record.workspace_id else ""
    kind, _, verb = record.event.value.partition(".")
    what = kind.replace("_", " ")
    if kind == "diagnostic_setting":
        return (
            f"{verb} the diagnostic setting '{name}' on {cluster}: it now sends {', '.join(added) or 'nothing new'}"
            + (f" to {workspace}" if workspace else "")
        )
    return f"{verb} the {what} '{name}'" + (f" (for {cluster})" if cluster else "")


def _what_changed(before: ReportDocument, after: ReportDocument, changes: list[ChangeRecord]) -> str:
    moved = [
        f"{k.replace('_', '-')} {before['summary'][k]} -> {after['summary'][k]}"
        for k in STATUS_ORDER
        if before["summary"][k] or after["summary"][k]
    ]
    remaining = [c for c in after["clusters"] if c["status"] not in ("compliant", "remediated")]
    lines = [
        f"Before: {summary_line(before['summary'])}.",
        f"After:  {summary_line(after['summary'])}.",
        "By status, before -> after: " + "; ".join(moved) + ".",
        "",
        f"apply made {_plural(len(changes), 'change')} (each one is a log record on 'remediation.changes' "
        "and a row in the change ledger):",
        *(f"  - {_change_sentence(record)}" for record in changes),
        "",
        "What remains, and why:" if remaining else "Nothing remains: every cluster in scope is compliant.",
    ]
    for c in remaining:
        lines.append(f"  - {c['name']} is {c['status'].replace('_', '-')}: {c.get('explanation') or c['reason'] or ''}")
        if c.get("next_step"):
            lines.append(f"    what to do: {c['next_step']}")
    lines += [
        "",
        "audit-record flow before -> after (pending: a setting just written, records not in yet):",
        *(f"  {k:14} {_flow_count(before, k):>3} -> {_flow_count(after, k):>3}" for k in FLOW_VERDICTS),
        f"Log Analytics queries per run (one per distinct destination workspace): {_queries(before)} before, "
        f"{_queries(after)} after",
    ]
    return "\n".join(lines) + "\n"
