"""Entry point of ``python -m ocenter``."""

import sys

from ocenter.cli import main

sys.exit(main())
