"""`python -m conda_shared` and the `conda-shared` script: the standalone command line."""

import sys

from .interrupts import print_interrupted


def run() -> int:
    """Load the command line and run it; a Ctrl-C while it loads ends like one at any moment."""
    try:
        from .cli import main
    except KeyboardInterrupt:
        return print_interrupted(as_json="--json" in sys.argv[1:], program="conda-shared")
    return main()


if __name__ == "__main__":
    sys.exit(run())
