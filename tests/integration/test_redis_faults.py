"""Faults on a real server: a lost reply is never replayed, a restart is survived."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
import redis

from governor import AsyncGovernor, Governor, ManualClock
from governor.backends.redis import RedisBackend
from governor.backends.redis_async import AsyncRedisBackend
from governor.embedded import start_server
from governor.errors import BackendUnavailable, IndeterminateOutcome
from tests.integration.probes import POLICY, ROUTE, commandstats

pytestmark = pytest.mark.redis

SLEEP_S = 0.6  # the server stalls this long; the backends time out after 0.15 s


def _stall(url: str) -> threading.Thread:
    """Block the whole server for ``SLEEP_S`` (``DEBUG SLEEP``) from another connection."""

    def run() -> None:
        with redis.Redis.from_url(url, socket_timeout=5) as client:
            client.execute_command("DEBUG", "SLEEP", str(SLEEP_S))

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(0.1)  # let the stall begin before the decision is sent
    return thread


def test_lost_reply_is_indeterminate_and_the_script_ran_at_most_once(
    redis_url: str, redis_client: redis.Redis
) -> None:
    clock = ManualClock()
    backend = RedisBackend.from_url(redis_url, clock=clock, socket_timeout_s=0.15)
    gov = Governor(POLICY, backend, clock=clock)
    assert gov.try_acquire(ROUTE)
    clock.advance(1)
    redis_client.config_resetstat()
    stall = _stall(redis_url)
    started = time.monotonic()
    with pytest.raises(IndeterminateOutcome, match="may or may not have been counted"):
        gov.try_acquire(ROUTE)
    assert time.monotonic() - started < SLEEP_S  # the backend's deadline, not the server's
    stall.join()
    time.sleep(0.05)  # let the server read what the closed connection had sent
    assert commandstats(redis_client).get("evalsha", 0) <= 1  # never replayed
    clock.advance(1)
    assert gov.try_acquire(ROUTE)  # a fresh connection decides again
    gov.close()


def test_lost_reply_is_indeterminate_async(redis_url: str, redis_client: redis.Redis) -> None:
    async def run() -> None:
        clock = ManualClock()
        backend = AsyncRedisBackend.from_url(redis_url, clock=clock, socket_timeout_s=0.15)
        async with AsyncGovernor(POLICY, backend, clock=clock) as gov:
            assert await gov.try_acquire(ROUTE)
            clock.advance(1)
            redis_client.config_resetstat()
            stall = _stall(redis_url)
            with pytest.raises(IndeterminateOutcome):
                await gov.try_acquire(ROUTE)
            await asyncio.to_thread(stall.join)
            await asyncio.sleep(0.05)
            assert commandstats(redis_client).get("evalsha", 0) <= 1
            clock.advance(1)
            assert await gov.try_acquire(ROUTE)

    asyncio.run(run())


def test_restart_is_unavailable_while_down_then_decides_again() -> None:
    server = start_server()
    try:
        clock = ManualClock()
        gov = Governor(POLICY, RedisBackend.from_url(server.url, clock=clock), clock=clock)
        assert gov.try_acquire(ROUTE)
        server.stop()
        with pytest.raises(BackendUnavailable):
            gov.try_acquire(ROUTE)
        server = start_server(port=server.port)  # empty, and without the scripts
        clock.advance(1)
        assert gov.try_acquire(ROUTE)
        gov.close()
    finally:
        server.stop()
