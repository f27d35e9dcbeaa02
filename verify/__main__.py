"""``python -m verify``: see :mod:`verify._cli`."""

import sys

from ._cli import main

sys.exit(main())
