"""The CLI in process: ``main`` with captured streams and the environment it would read."""

from __future__ import annotations

import io
import os

from remediation.cli.main import main
from tests.support.constants import SUB_A


def cli(*argv: str, stdout: io.StringIO | None = None, **env: str) -> tuple[int, str, str]:
    """Run ``aks-audit-remediation *argv``; returns (exit code, stdout, stderr).

    The environment is the process's with REMEDIATION_SUBSCRIPTION_IDS=SUB_A, then ``env`` (which may
    override it). ``stdout`` is the stream to write to (one a test can close, say); a closed stream
    reads as empty."""
    out, err = stdout or io.StringIO(), io.StringIO()
    environ = {**os.environ, "REMEDIATION_SUBSCRIPTION_IDS": SUB_A, **env}
    code = main(list(argv), env=environ, stdout=out, stderr=err)
    return code, (out.getvalue() if not out.closed else ""), err.getvalue()
