"""Every script in ``examples/`` runs, as a newcomer would run it, against a mock provider (and
a Redis) the test starts, and sends every email it means to without a 429."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from governor.mock.server import MockServer

pytest.importorskip("mailersend", minversion="2.2.0")
pytest.importorskip("lettr", minversion="1.7.0")

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TOKEN = "tok-example"


@dataclass(frozen=True)
class Example:
    script: str
    emails: int
    provider: str = "mailersend"
    plan: str = "starter"
    redis: bool = False


CASES = [
    Example("requests_session.py", 5),
    Example("httpx_async.py", 10),
    Example("aiohttp_session.py", 10),
    Example("mailersend_sdk.py", 5),
    Example("lettr_sdk.py", 6, provider="lettr", plan="pro"),
    Example("decorated_function.py", 5),
    Example("redis_fleet.py", 12, redis=True),
    Example("celery_tasks.py", 5, redis=True),
    Example("rq_jobs.py", 5, redis=True),
]


def run(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<script>`` in ``cwd`` (no ``.env`` or ``governor.toml`` of the repository
    around), with no ``GOVERNOR_*`` variables but ``env``'s."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GOVERNOR_", "PROVIDER_"))}
    return subprocess.run([sys.executable, str(EXAMPLES / script)], cwd=cwd, env=base | env,
                          capture_output=True, text=True, timeout=180, check=False)


def test_every_example_is_run_here() -> None:
    scripts = {p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")}
    assert scripts == {case.script for case in CASES}


@pytest.mark.slow
@pytest.mark.parametrize("example", CASES, ids=lambda case: case.script)
def test_an_example_sends_every_email_without_a_429(
    example: Example, tmp_path: Path, key_prefix: str, request: pytest.FixtureRequest
) -> None:
    env = {"PROVIDER_TOKEN": TOKEN, "GOVERNOR_KEY_PREFIX": key_prefix}
    if example.redis:
        env["REDIS_URL"] = request.getfixturevalue("redis_url")
    with MockServer(example.provider) as mock:
        mock.admin.add_account("example", TOKEN, plan=example.plan)
        result = run(example.script, tmp_path, PROVIDER_URL=mock.url, **env)
        report = mock.admin.report()["accounts"]["example"]
    assert result.returncode == 0, result.stderr
    assert (report["requests"], report["delivered"], report["rate_limited"]) == (
        example.emails, example.emails, {})


@pytest.mark.slow
def test_an_example_without_a_url_starts_its_own_mock(tmp_path: Path) -> None:
    result = run("requests_session.py", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "sending to a mock mailersend on http://127.0.0.1:" in result.stdout
    assert result.stdout.count(": 202,") == 5
