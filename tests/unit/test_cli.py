"""The console: real commands through typer's runner."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
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


def _one_error_line(output: str) -> str:
    """The output, checked to be one ``error: ...`` line and no traceback."""
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("error: "), output
    return lines[0]


def test_plan_names_and_user_text_print_as_written() -> None:
    result = runner.invoke(app, ["plan", "--plan", "free", "--messages", "10"])
    assert result.exit_code == 0, result.output
    assert "mailersend:free:healthy" in result.output  # not the emoji of :free:
    bad = runner.invoke(app, ["limits", "--plan", "[red]gold"])
    assert bad.exit_code == 2
    assert "unknown plan '[red]gold'" in _one_error_line(bad.output)  # not a style


def test_a_missing_extra_names_the_install_command_as_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "governor.demo.runner", None)
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 2
    assert "pip install 'quota-governor[demo]'" in _one_error_line(result.output)


@pytest.mark.parametrize("console_dependency", ["typer", "rich"])
def test_governor_without_the_console_extra_says_which_extra_to_install(
    console_dependency: str,
) -> None:
    code = (f"import sys; sys.modules[{console_dependency!r}] = None\n"
            "from governor.cli import main; main(['profiles'])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == (f"governor: the console needs {console_dependency} (the 'console' "
                           "extra): pip install 'quota-governor[console]'\n")


@pytest.mark.parametrize("interval", ["0", "-1", "0.01", "nan", "inf"])
def test_status_watch_takes_only_a_positive_interval(interval: str) -> None:
    result = runner.invoke(app, ["status", "--redis-url", "redis://127.0.0.1:1/0",
                                 "--watch", interval])
    assert result.exit_code == 2  # a usage error, before anything is read
    assert "Invalid value for '--watch'" in result.output
    assert "at least 0.1" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("url", "says"), [
    ("redis://127.0.0.1:99999/0", "not '99999'"),
    ("http://x", "a Redis URL starts with redis://"),
])
@pytest.mark.parametrize("command", [["status"], ["demo", "--messages", "5"]])
def test_a_bad_redis_url_is_one_line_before_anything_starts(
    command: list[str], url: str, says: str
) -> None:
    result = runner.invoke(app, [*command, "--redis-url", url])
    assert result.exit_code == 2
    line = _one_error_line(result.output)
    assert says in line
    assert "redis_url (flag --redis-url)" in line
    assert multiprocessing.active_children() == []  # the demo started no worker


def test_plan_recommends_the_workers_its_own_table_shows_worth_having() -> None:
    result = runner.invoke(app, ["plan", "--plan", "starter", "--messages", "10000",
                                 "--latency-ms", "300", "--latency-p99-ms", "1200", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    useful = data["plan"]["useful_workers"]
    rows = {row["workers"]: row["calls_per_s"] for row in data["workers"]}
    assert useful == 2
    assert rows[1] < 0.95 * rows[2]  # one worker alone loses calls to the latency spread
    assert all(calls_per_s <= rows[useful] * 1.005 for calls_per_s in rows.values())
