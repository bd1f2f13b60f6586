"""``python -m governor.demo [OPTIONS]``: the same as ``governor demo [OPTIONS]``."""

import sys

from governor.cli import app

if __name__ == "__main__":
    sys.exit(app(["demo", *sys.argv[1:]], prog_name="governor"))
