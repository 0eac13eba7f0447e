"""The command line (``aks-audit-remediation``, or ``python -m remediation``): report, apply and the demo,
with the progress display (``progress``) and the exit codes (``exit_codes``).

``run`` is the CLI's composition root; ``demo`` is the only product module that imports ``armsim``. Nothing imports ``cli``.
"""
