"""The infra security gate: checkov (pinned in requirements-infra.txt) over infra/.

Run it as ``python -m tests.infra.checkov_gate`` (``make lint-infra``). checkov pins
pycep-parser to a version that conflicts with the project's, so it lives in its own venv,
``.venv-infra``, created here on first use and re-created when requirements-infra.txt changes.

Exit status 0 only when checkov scanned at least one resource and reported no failed check,
no parsing error, and no skip without a reason. Skips are inline in the Bicep
(``//checkov:skip=CKV_...: reason``).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
REQUIREMENTS = ROOT / "requirements-infra.txt"
VENV = ROOT / ".venv-infra"
STAMP = VENV / ".installed"
FRAMEWORKS = ("bicep", "arm")
NO_REASON = "No comment provided"


def _bin(name: str) -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    suffix = ".exe" if os.name == "nt" else ""
    return VENV / scripts / f"{name}{suffix}"


def _requirements_digest() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def ensure_checkov() -> Path:
    """Return the checkov executable of .venv-infra, installing the pinned version if needed."""
    digest = _requirements_digest()
    checkov = _bin("checkov")
    if checkov.exists() and STAMP.exists() and STAMP.read_text().strip() == digest:
        return checkov
    print(f"checkov_gate: installing {REQUIREMENTS.name} into {VENV.name}", flush=True)
    if not _bin("python").exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    python = str(_bin("python"))
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)], check=True)
    STAMP.write_text(digest + "\n")
    return checkov


def _load_reports(path: Path) -> list[dict[str, object]]:
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    reports = data if isinstance(data, list) else [data]
    return [r for r in reports if isinstance(r, dict)]


def evaluate(reports: list[dict[str, object]]) -> list[str]:
    """Return the problems found in checkov's JSON reports (empty = gate passes)."""
    problems: list[str] = []
    scanned = 0
    for report in reports:
        kind = report.get("check_type", "?")
        summary = report.get("summary")
        if not isinstance(summary, dict):
            continue
        scanned += int(summary.get("resource_count", 0))
        if summary.get("failed", 0):
            problems.append(f"{kind}: {summary['failed']} failed check(s)")
        if summary.get("parsing_errors", 0):
            problems.append(f"{kind}: {summary['parsing_errors']} file(s) checkov could not parse")
        results = report.get("results")
        skipped = results.get("skipped_checks", []) if isinstance(results, dict) else []
        for check in skipped:
            reason = str(check.get("check_result", {}).get("suppress_comment", "")).strip()
            if not reason or reason == NO_REASON:
                problems.append(f"{check.get('check_id')} skipped without a reason in {check.get('file_path')}")
    if scanned == 0:
        problems.append("checkov scanned no resource")
    return problems


def summary_lines(reports: list[dict[str, object]]) -> list[str]:
    lines = []
    for report in reports:
        summary = report.get("summary")
        if isinstance(summary, dict):
            lines.append(
                f"checkov {summary.get('checkov_version', '?')} {report.get('check_type')}: "
                f"Passed checks: {summary.get('passed', 0)}, Failed checks: {summary.get('failed', 0)}, "
                f"Skipped checks: {summary.get('skipped', 0)}, Parsing errors: {summary.get('parsing_errors', 0)}"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    """Scan infra/ (or the directory given as the only argument)."""
    args = sys.argv[1:] if argv is None else argv
    directory = Path(args[0]).resolve() if args else INFRA
    checkov = ensure_checkov()
    with tempfile.TemporaryDirectory(prefix="checkov-") as tmp:
        command = [
            str(checkov),
            "--directory",
            str(directory),
            "--framework",
            *FRAMEWORKS,
            "--compact",
            "--quiet",
            "--skip-download",  # no network: no guideline download from the vendor's platform
            "--output",
            "cli",
            "--output",
            "json",
            "--output-file-path",
            f"console,{Path(tmp) / 'results.json'}",
        ]
        env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "ERROR"}
        completed = subprocess.run(command, cwd=ROOT, env=env, check=False)
        reports = _load_reports(Path(tmp) / "results.json")
    for line in summary_lines(reports):
        print(line)
    problems = evaluate(reports)
    if completed.returncode not in (0, 1):
        problems.append(f"checkov exited with status {completed.returncode}")
    elif completed.returncode == 1 and not problems:
        problems.append("checkov exited with status 1")
    for problem in problems:
        print(f"checkov_gate: FAIL: {problem}", file=sys.stderr)
    if problems:
        return 1
    print("checkov_gate: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
