"""`python -m fnjit`: the same command line as `fnjit`."""

import sys

from .cli import main

sys.exit(main())
