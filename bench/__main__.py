"""``python -m bench``: the same as the ``bench`` console script."""

import sys

from .cli import main

sys.exit(main())
