"""The console: real commands through typer's runner."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from governor.cli import app

if TYPE_CHECKING:
    from pathlib import Path

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("GOVERNOR_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_limits_table() -> None:
    result = runner.invoke(app, ["limits", "--plan", "starter"])
    assert result.exit_code == 0, result.output
    assert "POST /v1/email" in result.output
    assert "100,000" in result.output


def test_limits_json_under_review() -> None:
    result = runner.invoke(app, ["limits", "--reputation", "under_review", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    email = next(r for r in data["routes"] if r["route"] == "POST /v1/email")
    assert (email["rate"], email["interval_ms"]) == ("10/minute", 6000.0)
    assert data["daily_quota"] == 100


def test_bad_plan_exits_2_and_lists_plans() -> None:
    result = runner.invoke(app, ["limits", "--plan", "gold"])
    assert result.exit_code == 2
    assert "starter" in result.output


def test_profiles_lists_builtins() -> None:
    result = runner.invoke(app, ["profiles"])
    assert result.exit_code == 0
    assert "mailersend" in result.output
    assert "sendmux" in result.output
