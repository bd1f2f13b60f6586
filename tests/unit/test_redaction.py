"""The Redis URL's password is nowhere to be seen: reprs of the governors and backends built
from settings, their log lines and exception messages, on every URL form. No server: every
address is one nothing listens on (port 1), so each call fails the way an outage does."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
import redis.asyncio.connection
import redis.connection

from governor import AsyncGovernor, Governor, GovernorError
from governor.backends.redis import RedisBackend

PASSWORD = "hunter2-0f9c"
URLS = [
    f"redis://app:{PASSWORD}@127.0.0.1:1/2",
    f"rediss://:{PASSWORD}@127.0.0.1:1",
    f"unix://app:{PASSWORD}@/nonexistent/redis.sock",
    f"redis+sentinel://app:{PASSWORD}@127.0.0.1:1/mymaster",
    f"redis+cluster://app:{PASSWORD}@127.0.0.1:1",
    f"redis://127.0.0.1:1?password={PASSWORD}",
]

pytestmark = pytest.mark.usefixtures("no_settings_around")


def _use(gov: Governor) -> list[str]:
    """What a user sees from a governor whose Redis does not answer."""
    seen = [repr(gov), str(gov), repr(gov.backend)]
    for _ in range(4):  # past the breaker's threshold, into degraded decisions
        try:
            seen.append(repr(gov.try_acquire("POST /v1/email")))
        except GovernorError as exc:
            seen += [str(exc), repr(exc), str(exc.__cause__)]
    gov.close()
    return seen


async def _ause(gov: AsyncGovernor) -> list[str]:
    seen = [repr(gov), str(gov), repr(gov.backend)]
    for _ in range(4):
        try:
            seen.append(repr(await gov.try_acquire("POST /v1/email")))
        except GovernorError as exc:
            seen += [str(exc), repr(exc), str(exc.__cause__)]
    await gov.aclose()
    return seen


@pytest.mark.parametrize("policy", ["degrade", "closed"])
@pytest.mark.parametrize("url", URLS)
def test_no_repr_log_line_or_error_of_a_governor_shows_the_redis_password(
    url: str, policy: str, caplog: pytest.LogCaptureFixture
) -> None:
    options: dict[str, Any] = {"redis_url": url, "failure_policy": policy,
                               "redis_timeout_s": 0.2, "breaker_failures": 2}
    with caplog.at_level(logging.DEBUG):
        seen = _use(Governor.from_settings(**options))
        seen += asyncio.run(_ause(AsyncGovernor.from_settings(**options)))
    seen += [r.getMessage() for r in caplog.records]
    seen += [str(r.exc_info[1]) for r in caplog.records if r.exc_info]
    blob = "\n".join(seen)
    assert PASSWORD not in blob
    assert len(blob) > 200


def _leaky_pool_repr(pool: Any) -> str:
    """``ConnectionPool.__repr__`` as redis-py 6.2 to 7.x wrote it: every connection keyword,
    the password included (CVE-2026-32597); the governor must not depend on redis-py's repr."""
    kwargs = ",".join(f"{k}={v}" for k, v in pool.connection_kwargs.items())
    return f"<{type(pool).__name__}({kwargs})>"


@pytest.mark.parametrize("url", URLS[:3])
def test_backend_reprs_hide_the_password_whatever_redis_py_version_prints(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redis.connection.ConnectionPool, "__repr__", _leaky_pool_repr)
    monkeypatch.setattr(redis.asyncio.connection.ConnectionPool, "__repr__", _leaky_pool_repr)
    assert PASSWORD in repr(redis.Redis.from_url(url))  # the simulation leaks, as those did
    gov = Governor.from_settings(redis_url=url)
    agov = AsyncGovernor.from_settings(redis_url=url)
    backend = RedisBackend.from_url(url)
    blob = "\n".join([repr(gov), repr(agov), repr(backend)])
    gov.close()
    backend.close()
    assert PASSWORD not in blob
    assert "127.0.0.1" in blob or "redis.sock" in blob
