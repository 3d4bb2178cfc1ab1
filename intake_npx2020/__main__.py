"""``python -m intake_npx2020 …`` is the ``npx2020`` command."""

import sys

from .apps.cli import main

sys.exit(main())
