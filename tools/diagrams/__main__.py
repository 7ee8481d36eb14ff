"""``python -m tools.diagrams``: see :mod:`tools.diagrams.cli`."""

import sys

from tools.diagrams.cli import main

sys.exit(main())
