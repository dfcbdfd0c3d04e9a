"""`python -m conda_shared`: the standalone command line."""

import sys

from .cli import main

sys.exit(main())
