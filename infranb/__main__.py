"""``python -m infranb``: the ``infranb`` command."""

import sys

from infranb.cli import main

sys.exit(main())
