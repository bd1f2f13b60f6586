"""governor status on a real server: the snapshot matches what the memory backend says."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from governor import Governor, ManualClock, MemoryBackend, Policy, RedisBackend, load_profile
from governor.cli import app
from governor.status import describe

if TYPE_CHECKING:
    from pathlib import Path

EMAIL = "POST /v1/email"


@pytest.mark.redis
def test_redis_and_memory_describe_the_same_state(redis_url: str, key_prefix: str) -> None:
    policy = Policy.from_profile(load_profile("mailersend").resolve("hobby"))
    described = []
    for backend in (MemoryBackend(ManualClock()),
                    RedisBackend.from_url(redis_url, prefix=key_prefix, clock=ManualClock())):
        gov = Governor(policy, backend)
        for _ in range(3):
            gov.reserve(EMAIL)
        gov.observe(EMAIL, 202, {"x-ratelimit-limit": "10"})
        described.append(describe(backend.snapshot(gov.account.key), policy))
        gov.close()
    assert described[0] == described[1]
    email = next(b for b in described[1]["buckets"] if b["bucket"] == "email")
    assert email["learned_per_minute"] == 10.0
    assert described[1]["quota"]["used"] == 3


@pytest.mark.redis
def test_governor_status_command(redis_url: str, key_prefix: str,
                                 monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("GOVERNOR_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    gov = Governor.from_settings(redis_url=redis_url, key_prefix=key_prefix, account="acme",
                                 plan="hobby")
    gov.acquire(EMAIL)
    gov.close()
    args = ["status", "--redis-url", redis_url, "--account", "acme", "--plan", "hobby"]
    monkeypatch.setenv("GOVERNOR_KEY_PREFIX", key_prefix)
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    state = json.loads(result.output)
    assert state["quota"]["used"] == 1
    assert state["account"] == "acme"
    assert state["stored"] is True
    table = CliRunner().invoke(app, args)
    assert "email" in table.output
    assert "1 of 1,000 used" in table.output
    # An account nothing was decided for is not shown as an idle one.
    never = ["status", "--redis-url", redis_url, "--account", "never-used", "--plan", "hobby"]
    missing = CliRunner().invoke(app, never)
    assert missing.exit_code == 1
    assert missing.output.startswith("No state for account never-used under key prefix")
    assert "email" not in missing.output
    missing_json = CliRunner().invoke(app, [*never, "--json"])
    assert missing_json.exit_code == 1
    assert json.loads(missing_json.output)["stored"] is False


def test_governor_status_needs_redis(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GOVERNOR_REDIS_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 2
    assert "no Redis" in result.output
