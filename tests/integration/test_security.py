"""An API token never reaches Redis keys or values, logs, exception messages or reprs."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

import pytest

from governor import (
    AsyncGovernor,
    Governor,
    GovernorError,
    GovernorSettings,
    QuotaExhausted,
    WaitTooLong,
)

if TYPE_CHECKING:
    from pathlib import Path

    import redis

TOKEN = "mlsn.5ecret0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
EMAIL = "POST /v1/email"
QUOTA_429 = {"message": "Your account reached its API daily quota limit. #MS42901"}


def _everything_in(client: redis.Redis) -> str:
    parts = []
    for key in client.scan_iter(count=1000):
        parts.append(repr(key))
        kind = client.type(key)
        if kind == b"hash":
            parts.append(repr(client.hgetall(key)))
        elif kind == b"string":
            parts.append(repr(client.get(key)))
        else:
            parts.append(repr(client.dump(key)))
    return "\n".join(parts)


@pytest.mark.redis
def test_a_known_token_is_nowhere_to_be_found(
    redis_url: str, redis_client: redis.Redis, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    for name in list(os.environ):
        if name.startswith("GOVERNOR_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    seen: list[str] = []
    with caplog.at_level(logging.DEBUG):
        settings = GovernorSettings.load(
            plan="trial", api_token=TOKEN, redis_url=redis_url, time_scale=60
        )
        gov = Governor.from_settings(settings)
        seen += [repr(settings), str(settings), repr(gov), repr(gov.backend), str(gov.account)]
        d = gov.acquire(EMAIL)
        gov.observe(EMAIL, 202, {"x-ratelimit-limit": "120", "x-ratelimit-remaining": "119",
                                 "authorization": f"Bearer {TOKEN}"}, decision=d)
        gov.observe(EMAIL, 429, {"x-apiquota-remaining": "0"}, QUOTA_429, decision=d)
        for route in (EMAIL, "GET /v1/activity/x"):
            try:
                gov.acquire(route, timeout_s=0)
            except (QuotaExhausted, WaitTooLong, GovernorError) as exc:
                seen += [str(exc), repr(exc), repr(getattr(exc, "decision", None))]
        agov = AsyncGovernor.from_settings(settings)
        seen.append(repr(agov))
        gov.close()
        try:
            GovernorSettings.load(api_token=TOKEN, time_scale="fast")
        except GovernorError as exc:
            seen.append(str(exc))
    seen.append(_everything_in(redis_client))
    seen += [r.getMessage() for r in caplog.records]
    blob = "\n".join(seen)
    assert "5ecret" not in blob
    assert TOKEN not in blob
    assert len(blob) > 200  # the scan looked at something
