"""Entry point: ``python -m remediation``."""

import sys

from remediation.cli import main

sys.exit(main())
