"""What every command shares: the console it prints to, its one-line errors, and the settings
it starts from.

Text reaches rich as written: the consoles parse no markup and no emoji codes (a plan named
``free`` is not ``:free:``, ``quota-governor[demo]`` is not a style), and styles are given as
:class:`~rich.text.Text` spans, never as markup in a string.
"""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text

from governor.errors import GovernorError
from governor.settings import GovernorSettings


def make_console(*, stderr: bool = False) -> Console:
    """A console that prints text as written (see the module docstring)."""
    return Console(stderr=stderr, markup=False, emoji=False)


console = make_console()


def fail(message: str, code: int = 2, *, out: Console | None = None) -> NoReturn:
    """Print ``error: message`` on one line and end the command with exit status ``code``."""
    (out or console).print(Text.assemble(("error:", "red"), " ", message), soft_wrap=True)
    raise typer.Exit(code)


def load_settings(**flags: Any) -> GovernorSettings:
    """The user's settings (GOVERNOR_*, .env, governor.toml) with the command's flags on top
    (by setting name; None: not given); a setting governor refuses ends the command with its
    one-line error, which names the flag when the value came from one."""
    try:
        return GovernorSettings.load(flags=flags)
    except GovernorError as exc:
        fail(str(exc))
