"""The ``governor`` console's typer app.

Each command lives in its own module as a plain function; this module builds the typer app and
registers them in the order ``governor --help`` lists them. Commands import their heavy modules
(capacity, simulation, the demo runner, Redis) only when they run, so ``--help`` stays fast.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Annotated

import typer

from governor import __version__
from governor.cli import demo, plan, profiles, status
from governor.cli.shared import console

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["app"]

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # help text is shown as written: no markup, no emoji codes
    help="Client-side rate-limit and quota governor for fleets of API workers.",
)


def _version(value: bool) -> None:
    if value:
        console.print(f"governor {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Client-side rate-limit and quota governor for fleets of API workers."""


def _help(command: Callable[..., object]) -> str:
    """A command's docstring as help: each paragraph on one line (typer's rich output keeps
    the source's line breaks, and the terminal wraps the text again)."""
    text = inspect.cleandoc(command.__doc__ or "")
    return "\n\n".join(" ".join(p.split()) for p in text.split("\n\n"))


# Registration order is the order of the help listing.
for name, command in (
    ("profiles", profiles.profiles),
    ("limits", profiles.limits),
    ("plan", plan.plan_command),
    ("demo", demo.demo),
    ("status", status.status),
):
    app.command(name, help=_help(command))(command)
