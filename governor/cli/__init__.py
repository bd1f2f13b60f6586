"""The ``governor`` console: inspect provider profiles and the limits a governor would enforce,
plan capacity, run the fleet demo, read an account's live state.

The console needs typer and rich (the ``console`` extra, which ``demo`` includes). This module
imports neither: ``main`` loads the app from :mod:`governor.cli.commands` when it runs, so that
``governor`` without them says in one line which extra to install instead of a traceback.
``governor.cli.app`` is that app, loaded on first access.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from governor.cli.commands import app as app

__all__ = ["app", "main"]

CONSOLE_EXTRA = "pip install 'quota-governor[console]'"


def main(args: list[str] | None = None) -> None:
    """Entry point of the ``governor`` console script (``args``: the command line after
    ``governor``, default ``sys.argv[1:]``); exits with the command's status."""
    try:
        from governor.cli.commands import app  # noqa: PLC0415 - see the module docstring
    except ImportError as exc:
        missing = (exc.name or "governor").partition(".")[0]
        if missing == "governor":
            raise  # our own module is broken: that is a bug, not a missing extra
        sys.exit(f"governor: the console needs {missing} (the 'console' extra): {CONSOLE_EXTRA}")
    app(args, prog_name="governor")


def __getattr__(name: str) -> Any:
    if name == "app":
        from governor.cli.commands import app  # noqa: PLC0415

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
