"""``python -m dbpatterns.runtime.tenancy.move ...`` runs :mod:`.cli`."""

import sys

from dbpatterns.runtime.tenancy.move.cli import main

sys.exit(main())
