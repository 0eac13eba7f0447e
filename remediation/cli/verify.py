"""``aks-audit-remediation verify-ledger``: check the change ledger's hash chain, report the first broken link.

Reads every part (append blob) of the tamper-evident ledger (``remediation.azure.ledger_chain``)
and checks each link (``remediation.core.chain``). Exit codes: 0 the chain is intact, 1 a link is
broken (the first one is named), 2 no ledger configured or an invalid setting, 3 the ledger could
not be read. Parts without an immutability policy are named on stderr (they count as intact: the
chain is what this checks; the policy is what keeps it so).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Mapping
from typing import Any, TextIO

from remediation.cli.exit_codes import EXIT_FAILED, EXIT_OK, EXIT_USAGE, EXIT_WORK_REMAINS
from remediation.errors import ConfigError, LedgerError
from remediation.output.common import escape_control

HELP = "check the change ledger's hash chain (append blobs) and report the first broken link"


def add_command(commands: Any) -> argparse.ArgumentParser:
    command: argparse.ArgumentParser = commands.add_parser("verify-ledger", help=HELP, description=HELP)
    command.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    return command


def run_verify(args: argparse.Namespace, environ: Mapping[str, str], stdout: TextIO, stderr: TextIO) -> int:
    from remediation.azure.ledger_chain import AppendBlobLedger

    try:
        ledger = AppendBlobLedger.from_environment(environ)
    except ConfigError as exc:
        stderr.write(f"error: invalid configuration: {escape_control(str(exc))}\n")
        return EXIT_USAGE
    if ledger is None:
        stderr.write(
            "error: no change ledger: set AzureWebJobsStorage (or REMEDIATION_LEDGER_BLOB_ENDPOINT) to verify it\n"
        )
        return EXIT_USAGE
    try:
        result = ledger.verification_document()
    except LedgerError as exc:
        stderr.write(f"error: {escape_control(str(exc))}\n")
        return EXIT_FAILED
    finally:
        ledger.close()
    if args.format == "json":
        stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        stdout.write(_text(result))
    if result["unprotected_parts"]:
        stderr.write(
            f"warning: {len(result['unprotected_parts'])} part(s) carry no immutability policy: "
            f"{escape_control(', '.join(result['unprotected_parts']))}\n"
        )
    return EXIT_OK if result["intact"] else EXIT_WORK_REMAINS


def _text(result: dict[str, Any]) -> str:
    head = f"ledger {result['container']}: {result['records']} record(s) in {result['parts']} part(s)"
    broken = result["first_broken"]
    if broken is None:
        return (
            escape_control(f"{head}: the chain is intact; last seq {result['last_seq']}, hash {result['last_hash']}")
            + "\n"
        )
    where = f"{broken['part']} line {broken['line']}" + (f" (seq {broken['seq']})" if broken["seq"] else "")
    return (
        escape_control(f"{head} before the first broken link")
        + "\n"
        + escape_control(f"BROKEN at {where}: {broken['reason']}")
        + "\n"
        + escape_control(f"the chain is intact up to seq {result['last_seq']}, hash {result['last_hash']}")
        + "\n"
    )
