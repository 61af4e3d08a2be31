"""``python -m tests.badinput [--all]``: see :mod:`tests.badinput.run`."""

import sys

from .run import main

sys.exit(main())
