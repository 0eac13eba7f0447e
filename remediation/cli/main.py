"""``aks-audit-remediation`` (or ``python -m remediation``): report (dry run), apply, and demo.

Exit codes (:mod:`remediation.cli.exit_codes`): 0 all clusters compliant, remediated or
excluded; 1 some non-compliant, deferred or blocked; 2 invalid usage or configuration
(nothing written); 3 some cluster failed, some subscription could not be read, the ledger
missed a record, or no credential; 4 internal error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import traceback
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from remediation import __version__
from remediation.adapters import build_adapters
from remediation.cli.exit_codes import EXIT_FAILED, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE
from remediation.cli.progress import ConsoleAwareHandler, ProgressDisplay
from remediation.cli.run import named_estate, resolve_names, run_command
from remediation.cli.verify import add_command as add_verify_command
from remediation.cli.verify import run_verify
from remediation.config.parse import load_config, parse_subscription_ids
from remediation.config.values import Config, Mode
from remediation.core.changes import ChangeRecord
from remediation.core.report import ReportDocument
from remediation.engine.changelog import CHANGES_LOGGER
from remediation.engine.estate import configured_estate
from remediation.engine.names import is_cluster_name
from remediation.engine.response import INVALID_CONFIGURATION_EXIT_CODE, exit_code
from remediation.errors import (
    ArmError,
    ClusterNameError,
    ConfigError,
    ResourceIdError,
    UnknownCategoriesError,
    UsageError,
)
from remediation.ids import parse_cluster_id
from remediation.kit.deadline import DeadlineExceeded
from remediation.output.common import escape_control
from remediation.output.render import FORMATS, render

CREDENTIAL_CODES = frozenset({"CredentialUnavailable", "CredentialFailed"})
CLI_FORMATS = FORMATS

# Standard LogRecord attributes; everything else on a record came from ``extra``.
_RECORD_FIELDS = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "taskName"}


def rfc3339(record: logging.LogRecord) -> str:
    """The record's time in RFC 3339, UTC, with milliseconds and ``Z``: 2026-11-27T14:03:05.123Z."""
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """Text log lines with control characters escaped: free text from ARM (a policy's deny
    message) can neither forge a log line nor send escape sequences to the terminal. Times are
    RFC 3339 in UTC."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return rfc3339(record)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        return escape_control(super().formatMessage(record))


class JsonLineFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and the structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": rfc3339(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        change = getattr(record, "change", None)
        if isinstance(change, dict):
            data.update(change)
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and key != "change" and key not in data:
                data[key] = value
        return json.dumps(data, default=str)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aks-audit-remediation",
        description="Keep AKS control-plane audit logs flowing to Log Analytics (CIS AKS 'Enable audit Logs').",
        epilog="Configuration comes from REMEDIATION_* environment variables; see docs/configuration.md.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{report,apply,verify-ledger,demo}")
    for name, help_text in (
        ("report", "dry run: assess every cluster in scope and show the planned changes (never writes)"),
        ("apply", "remediate: create or update our diagnostic setting where audit categories are missing"),
    ):
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument(
            "--subscription",
            action="append",
            default=[],
            metavar="ID",
            help="subscription GUID to scope to (repeatable; must lie inside REMEDIATION_SUBSCRIPTION_IDS when set)",
        )
        command.add_argument(
            "--cluster",
            action="append",
            default=[],
            metavar="ID_OR_NAME",
            help="AKS cluster resource ID, or a bare name looked up in scope (repeatable; an ambiguous name is an error)",
        )
        command.add_argument("--format", choices=CLI_FORMATS, default="table", help="output format (default: table)")
        command.add_argument("--output", metavar="FILE", help="write the report to FILE instead of stdout")
        _add_logging_options(command)
    verify_command = add_verify_command(commands)
    verify_command.add_argument("--verbose", "-v", action="store_true", help="log at DEBUG level")
    demo = commands.add_parser(
        "demo",
        help="run report, apply, report against a simulated estate (armsim); needs no Azure",
        description="Start the ARM simulator with a sample estate and show it going from non-compliant to compliant.",
    )
    _add_logging_options(demo)
    return parser


def _add_logging_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--log-format", choices=("text", "json"), default="text", help="stderr log format")
    command.add_argument("--verbose", "-v", action="store_true", help="log at DEBUG level")
    command.add_argument("--no-progress", action="store_true", help="no progress indicator on stderr")


def _configure_logging(log_format: str, verbose: bool, stream: TextIO) -> None:
    handler = ConsoleAwareHandler(stream)  # above the progress bar while one is shown
    if log_format == "json":
        handler.setFormatter(JsonLineFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_remediation_cli", False):
            root.removeHandler(old)
    handler._remediation_cli = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    level = logging.DEBUG if verbose else logging.INFO
    logging.getLogger("remediation").setLevel(level)
    logging.getLogger(CHANGES_LOGGER).setLevel(logging.INFO)
    logging.getLogger("azure").setLevel(logging.DEBUG if verbose else logging.WARNING)
    # A credential failure is reported once, by us, with what to do (not the whole chain per call).
    logging.getLogger("azure.identity").setLevel(logging.DEBUG if verbose else logging.ERROR)


def validate_scope(
    config: Config, subscriptions: Sequence[str], clusters: Sequence[str]
) -> tuple[list[str], list[str], list[str]]:
    """Check --subscription / --cluster values: (subscriptions, cluster IDs, bare cluster names).
    Raises :class:`UsageError` with what to do. Against the settings only (no request): a management
    group's estate is checked once it is listed (:func:`remediation.cli.run.named_estate`)."""
    configured = configured_estate(config)
    subs: list[str] = []
    for raw in subscriptions:
        try:
            parsed = parse_subscription_ids(raw, "--subscription")
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
        if not parsed:
            raise UsageError("--subscription: an empty value; give a subscription GUID")
        for sub in parsed:
            if (refusal := configured.refusal([sub], [])) is not None:
                raise UsageError(f"--subscription: {refusal}")
            subs.append(sub)
    cluster_ids: list[str] = []
    names: list[str] = []
    for raw in clusters:
        if not raw.startswith("/") and is_cluster_name(raw):
            names.append(raw)  # resolved in scope once the configuration is known to be valid
            continue
        try:
            ref = parse_cluster_id(raw)
        except ResourceIdError as exc:
            raise UsageError(f"--cluster: {exc}; or give a bare cluster name") from None
        if (refusal := configured.refusal([], [ref.id])) is not None:
            raise UsageError(f"--cluster: {refusal}")
        if subs and ref.subscription_id not in subs:
            raise UsageError(f"--cluster: {raw} is not in any --subscription given")
        cluster_ids.append(ref.id)
    return subs, cluster_ids, names


def validate_output(output: str | None) -> None:
    """``--output`` must name a file we can write, checked before anything is read or written."""
    if not output:
        return
    path = Path(output)
    if path.is_dir():
        raise UsageError(f"--output: {output} is a directory; give a file path")
    parent = path.parent
    if not parent.is_dir():
        raise UsageError(f"--output: directory {parent} does not exist")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise UsageError(f"--output: {output} is not writable")
    elif not os.access(parent, os.W_OK):
        raise UsageError(f"--output: cannot create a file in {parent}")


def terminal_width(stdout: TextIO, output: str | None, env: Mapping[str, str]) -> int | None:
    """The width the table fits: the terminal's (or ``COLUMNS``) when stdout is one; else no limit
    (a file or a pipe gets one line per cluster, for grep and diff)."""
    isatty = getattr(stdout, "isatty", None)
    if output or isatty is None or not isatty():
        return None
    columns = env.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else shutil.get_terminal_size().columns


def _emit(text: str, output: str | None, stdout: TextIO) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        stdout.write(text)
        if not text.endswith("\n"):
            stdout.write("\n")


def main(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    environ = os.environ if env is None else env
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse prints its own message; usage errors are exit 2
        return int(exc.code or 0)
    if args.command == "verify-ledger":
        _configure_logging("text", args.verbose, stderr)
        return run_verify(args, environ, stdout, stderr)
    _configure_logging(args.log_format, args.verbose, stderr)
    if args.command == "demo":
        from remediation.cli.demo import run_demo

        if not args.verbose:  # the demo prints its own account of each step and change
            logging.getLogger("remediation").setLevel(logging.WARNING)

        return run_demo(stdout=stdout, stderr=stderr, show_progress=not args.no_progress and stderr.isatty())
    recorded: list[ChangeRecord] = []
    try:
        return _run(args, environ, stdout, stderr, recorded)
    except KeyboardInterrupt:
        stderr.write(interrupted_summary(recorded))
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - a bug: one line, the traceback only with -v
        if args.verbose:
            traceback.print_exc(file=stderr)
        stderr.write(
            f"error: internal error: {type(exc).__name__}: {escape_control(str(exc)).rstrip('.')}"
            f"{'' if args.verbose else ' (run with -v for the traceback)'}\n"
        )
        return EXIT_INTERNAL


def interrupted_summary(changes: Sequence[ChangeRecord]) -> str:
    """What a Ctrl-C leaves behind: every change made before it (the clusters in flight were finished)."""
    lines = [
        "",
        f"interrupted: the clusters in flight were finished, no other was started; "
        f"{len(changes)} change(s) made before the interrupt{':' if changes else '.'}",
    ]
    for record in changes:
        added = [c for c in record.categories_after if c not in record.categories_before]
        target = (record.cluster_id or record.resource_id).rsplit("/", 1)[-1]
        lines.append(
            f"  {record.event.value} {target}"
            + (f" (+{', '.join(added)})" if added else "")
            + f": {record.resource_id}"
        )
    lines.append("Run the same command again to finish: what is already done is not written twice.")
    return "\n".join(escape_control(line) for line in lines) + "\n"


def _run(
    args: argparse.Namespace,
    environ: Mapping[str, str],
    stdout: TextIO,
    stderr: TextIO,
    recorded: list[ChangeRecord],
) -> int:
    try:
        validate_output(args.output)
        config = load_config(environ)
        subscriptions, clusters, names = validate_scope(config, args.subscription, args.cluster)
        adapters = build_adapters(config, environ)
    except ConfigError as exc:
        stderr.write(f"error: invalid configuration: {exc}\n")
        return EXIT_USAGE
    except UsageError as exc:
        stderr.write(f"error: {exc}\n")
        return EXIT_USAGE
    try:
        estate = named_estate(config, adapters, subscriptions, clusters, named=bool(names))
    except UsageError as exc:
        stderr.write(f"error: {exc}\n")
        return EXIT_USAGE
    except (ArmError, DeadlineExceeded) as exc:
        stderr.write(f"error: {escape_control(str(exc))}\n")
        return EXIT_FAILED
    if names:
        try:
            clusters = list(dict.fromkeys([*clusters, *resolve_names(config, adapters, names, subscriptions, estate)]))
        except ClusterNameError as exc:
            stderr.write(f"error: --cluster: {escape_control(str(exc))}\n")
            return EXIT_USAGE
        except ArmError as exc:
            stderr.write(f"error: --cluster: could not list the clusters in scope: {escape_control(str(exc))}\n")
            return EXIT_FAILED
    mode = Mode(args.command)
    show = not args.no_progress and stderr.isatty()
    try:
        with ProgressDisplay(stderr, mode.value, show) as progress:
            document = run_command(
                config,
                adapters,
                mode=mode,
                subscriptions=subscriptions,
                clusters=clusters,
                progress=progress,
                change_sinks=[recorded.append],
                estate=estate,
            )
    except UnknownCategoriesError as exc:
        stderr.write(f"error: invalid configuration: {exc}\n")
        return INVALID_CONFIGURATION_EXIT_CODE
    credential = _credential_error(document)
    if credential is not None and not document["clusters"]:
        stderr.write(f"error: {escape_control(credential)}\n")
        return EXIT_FAILED
    _emit(render(document, args.format, width=terminal_width(stdout, args.output, environ)), args.output, stdout)
    if credential is not None:
        stderr.write(f"error: {escape_control(credential)}\n")
    return exit_code(document)


def _credential_error(document: ReportDocument) -> str | None:
    """The one message of a credential failure (every subscription reports the same one)."""
    for error in document["errors"]:
        if error["code"] in CREDENTIAL_CODES:
            return error["message"]
    return None


def run() -> None:
    """The ``aks-audit-remediation`` console script."""
    sys.exit(main())
