"""Entry point: ``python -m remediation`` (the same as the ``aks-audit-remediation`` command)."""

from remediation.cli.main import run

run()
