"""``python -m dbpatterns.runtime.tenancy.move ...`` runs :mod:`.cli`."""

import sys

from dbpatterns.runtime.tenancy.move.cli import main

if __name__ == "__main__":
    sys.exit(main())
