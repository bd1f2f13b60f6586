"""``python -m governor.demo [OPTIONS]``: the same as ``governor demo [OPTIONS]``."""

import sys

from governor.cli import main

if __name__ == "__main__":
    main(["demo", *sys.argv[1:]])
