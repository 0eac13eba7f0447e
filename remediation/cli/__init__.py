"""The command line (``python -m remediation``): report, apply and the demo.

``run`` is the CLI's composition root; ``demo`` is the only product module that imports ``armsim``. Nothing imports ``cli``.
"""
