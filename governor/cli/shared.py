"""What every command shares: the console it prints to and the settings it starts from."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from governor.settings import GovernorSettings

console = Console()


def load_settings(**options: Any) -> GovernorSettings:
    """The user's settings (GOVERNOR_*, .env, governor.toml) with the options given on top."""
    return GovernorSettings.load(**{k: v for k, v in options.items() if v is not None})
