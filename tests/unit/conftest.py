"""Fixtures of the unit tests."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from governor import origins

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def no_settings_around(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ``GOVERNOR_*`` variable, an empty working directory (no ``.env``, no
    ``governor.toml``), and no warning about a setting's name given yet."""
    for name in list(os.environ):
        if name.startswith("GOVERNOR_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(origins, "_warned", set())
