"""``python -m netmarl_verify``: the command line (see :mod:`netmarl_verify._cli`)."""

import sys

from netmarl_verify._cli import main

if __name__ == "__main__":
    sys.exit(main())
