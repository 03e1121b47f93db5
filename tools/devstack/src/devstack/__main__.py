"""`python -m devstack <command>`: the same as the `devstack` script."""

import sys

from devstack.cli import main

sys.exit(main())
