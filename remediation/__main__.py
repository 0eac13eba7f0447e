"""Entry point: ``python -m remediation``."""

import sys

from remediation.cli.main import main

sys.exit(main())
