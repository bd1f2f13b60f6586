"""The Redis backends against a real server: round trips, script reloads, TTLs, key hygiene."""

from __future__ import annotations

import asyncio
import inspect
import re
from typing import TYPE_CHECKING, Any

import pytest
from redis.exceptions import BusyLoadingError, ResponseError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from governor import AccountId, AsyncGovernor, Governor, ManualClock, Policy
from governor.backends.base import AsyncBackend, Backend
from governor.backends.fallback import AsyncFallbackBackend, FallbackBackend
from governor.backends.redis import RedisBackend
from governor.backends.redis_async import AsyncRedisBackend
from governor.backends.scripts import ACQUIRE, Target, failure
from governor.errors import BackendUnavailable, IndeterminateOutcome
from tests.integration.probes import POLICY, ROUTE, commandstats, sent_commands

if TYPE_CHECKING:
    import redis

    from governor.backends.scripts import Stage
    from governor.embedded import RedisServer


def test_both_backends_offer_the_same_operations() -> None:
    def ops(cls: type) -> dict[str, inspect.Signature]:
        names = {n for n in vars(cls) if not n.startswith("_")} - {"from_url"}
        return {n.replace("aclose", "close"): inspect.signature(getattr(cls, n)) for n in names}

    assert ops(RedisBackend) == ops(AsyncRedisBackend)
    assert inspect.signature(RedisBackend.from_url) == inspect.signature(
        AsyncRedisBackend.from_url
    ).replace(return_annotation="RedisBackend")


@pytest.mark.redis
def test_backends_satisfy_the_protocols(redis_url: str) -> None:
    sync = RedisBackend.from_url(redis_url)
    asyn = AsyncRedisBackend.from_url(redis_url)
    assert isinstance(sync, Backend)
    assert isinstance(asyn, AsyncBackend)
    sync.close()
    asyncio.run(asyn.aclose())


@pytest.mark.redis
def test_one_evalsha_per_decision_and_nothing_else(
    redis_url: str, redis_client: redis.Redis
) -> None:
    gov = Governor(POLICY, RedisBackend.from_url(redis_url), account="acme")
    gov.cancel(gov.reserve(ROUTE))  # loads the scripts on first use
    with sent_commands(redis_client) as sent:
        for _ in range(40):
            gov.try_acquire(ROUTE)
        reservation = gov.reserve("GET /v1/domains")
        gov.cancel(reservation)
    assert sent == ["EVALSHA"] * 42
    gov.close()


@pytest.mark.redis
def test_one_evalsha_per_decision_async(redis_url: str, redis_client: redis.Redis) -> None:
    async def run() -> None:
        async with AsyncGovernor(
            POLICY, AsyncRedisBackend.from_url(redis_url), account="acme"
        ) as gov:
            await gov.try_acquire(ROUTE)
            with sent_commands(redis_client) as sent:
                for _ in range(40):
                    await gov.try_acquire(ROUTE)
            assert sent == ["EVALSHA"] * 40

    asyncio.run(run())


@pytest.mark.redis
def test_script_flush_mid_run_reloads_and_decides_once(
    redis_url: str, redis_client: redis.Redis
) -> None:
    clock = ManualClock()
    gov = Governor(POLICY, RedisBackend.from_url(redis_url, clock=clock), clock=clock)
    first = gov.try_acquire("GET /v1/domains")
    redis_client.script_flush()
    with sent_commands(redis_client) as sent:
        second = gov.try_acquire("GET /v1/domains")
    assert first.allowed
    assert second.allowed
    assert second.remaining == first.remaining - 1  # spent once, not twice
    assert sent == ["EVALSHA", "SCRIPT", "EVALSHA"]  # NOSCRIPT, load, run
    gov.close()


@pytest.mark.redis
def test_script_flush_mid_run_async(redis_url: str, redis_client: redis.Redis) -> None:
    async def run() -> None:
        clock = ManualClock()
        backend = AsyncRedisBackend.from_url(redis_url, clock=clock)
        async with AsyncGovernor(POLICY, backend, clock=clock) as gov:
            first = await gov.try_acquire("GET /v1/domains")
            redis_client.script_flush()
            second = await gov.try_acquire("GET /v1/domains")
            assert second.remaining == first.remaining - 1

    asyncio.run(run())


@pytest.mark.redis
def test_one_key_per_account_with_a_ttl_and_without_the_account_name(
    redis_url: str, redis_client: redis.Redis
) -> None:
    token = "mlsn.5ecret-t0ken-value"
    account = AccountId.from_token(token, label="acme-prod")
    backend = RedisBackend.from_url(redis_url, prefix="gov")
    gov = Governor(POLICY, backend, account=account)
    for _ in range(5):
        gov.try_acquire(ROUTE)
    gov.cancel(gov.reserve("GET /v1/domains"))
    now_s = int(redis_client.time()[0])
    backend.pause(account.key, (now_s + 2) * 1_000_000)
    backend.pause(account.key, (now_s + 3) * 1_000_000, bucket="email")

    keys = [k.decode() for k in redis_client.scan_iter(count=1000)]
    assert keys == ["gov:{" + account.key + "}"]  # the hash tag: one Cluster slot
    state: dict[bytes, bytes] = redis_client.hgetall(keys[0])  # type: ignore[assignment]
    assert set(state) == {
        b"pause", b"quota.day", b"quota.used", b"quota.next_used", b"quota.seq", b"expires",
        b"email.tat", b"email.pause", b"general.tat",
    }
    assert all(re.fullmatch(rb"\d+", v) for v in state.values()), state
    text = repr(state) + keys[0]
    assert "acme" not in text
    assert "5ecret" not in text
    # With a daily quota the state lives until the end of the following UTC day (+5..65 s).
    ttl_s = redis_client.pttl(keys[0]) / 1000
    day_end_s = (now_s // 86_400 + 2) * 86_400
    assert day_end_s - now_s + 4 < ttl_s <= day_end_s - now_s + 66
    assert abs(int(state[b"expires"]) / 1e6 - (now_s + ttl_s)) < 2
    gov.close()


@pytest.mark.redis
def test_ttl_follows_the_buckets_and_pauses_without_a_quota(
    redis_url: str, redis_client: redis.Redis
) -> None:
    backend = RedisBackend.from_url(redis_url)
    gov = Governor(Policy.of({"email": "120/minute"}), backend, account="acme")
    gov.try_acquire()
    key = next(iter(redis_client.scan_iter()))
    # A bucket's state matters until a call of up to ``limit`` tokens could go at once again:
    # one period (60 s) after its last call; the key lives 5 to 65 s longer.
    assert 64 < redis_client.pttl(key) / 1000 <= 60 + 66
    now_s = int(redis_client.time()[0])
    backend.pause(gov.account.key, (now_s + 600) * 1_000_000)
    assert 600 + 4 < redis_client.pttl(key) / 1000 <= 600 + 66
    gov.close()


@pytest.mark.redis
def test_denied_call_writes_nothing(redis_url: str, redis_client: redis.Redis) -> None:
    clock = ManualClock()
    gov = Governor(POLICY, RedisBackend.from_url(redis_url, clock=clock), clock=clock)
    assert gov.try_acquire(ROUTE)

    def state() -> dict[bytes, Any]:
        return {k: redis_client.dump(k) for k in redis_client.scan_iter()}

    before = state()
    redis_client.config_resetstat()
    assert not gov.try_acquire(ROUTE)  # the email bucket has no token left
    ran = commandstats(redis_client)
    assert ran.pop("evalsha") == 1
    assert set(ran) <= {"get", "hmget"}  # reads only
    assert state() == before
    gov.close()


def test_connection_refused_is_backend_unavailable() -> None:
    backend = RedisBackend.from_url("redis://127.0.0.1:1", connect_timeout_s=0.5)
    gov = Governor(POLICY, backend)
    with pytest.raises(BackendUnavailable, match="could not be reached"):
        gov.try_acquire(ROUTE)
    gov.close()


def test_connection_refused_is_backend_unavailable_async() -> None:
    async def run() -> None:
        backend = AsyncRedisBackend.from_url("redis://127.0.0.1:1", connect_timeout_s=0.5)
        async with AsyncGovernor(POLICY, backend) as gov:
            with pytest.raises(BackendUnavailable, match="nothing was decided"):
                await gov.try_acquire(ROUTE)

    asyncio.run(run())


def test_prefix_with_braces_is_refused() -> None:
    with pytest.raises(ValueError, match="braces"):
        RedisBackend.from_url("redis://127.0.0.1:1", prefix="a{b}")


@pytest.mark.redis
def test_unix_socket_url(redis_server: RedisServer) -> None:
    gov = Governor(POLICY, RedisBackend.from_url(redis_server.unix_url, prefix="unix"))
    assert gov.try_acquire(ROUTE)
    gov.close()


@pytest.mark.redis
def test_settings_with_a_redis_url_build_redis_backends(redis_url: str, key_prefix: str) -> None:
    gov = Governor.from_settings(redis_url=redis_url, key_prefix=key_prefix, account="acme")
    assert isinstance(gov.backend, FallbackBackend)  # the failure policy wraps the primary
    assert isinstance(gov.backend.primary, RedisBackend)
    assert gov.try_acquire("POST /v1/email")
    gov.close()

    async def run() -> None:
        async with AsyncGovernor.from_settings(redis_url=redis_url, key_prefix=key_prefix) as agov:
            assert isinstance(agov.backend, AsyncFallbackBackend)
            assert isinstance(agov.backend.primary, AsyncRedisBackend)
            assert await agov.try_acquire("POST /v1/email")

    asyncio.run(run())


@pytest.mark.redis
def test_settings_choose_the_timeouts_and_the_breaker(redis_url: str, key_prefix: str) -> None:
    gov = Governor.from_settings(redis_url=redis_url, key_prefix=key_prefix, redis_timeout_s=0.25,
                                 breaker_failures=7, breaker_reset_s=30)
    assert isinstance(gov.backend, FallbackBackend)
    assert "CircuitBreaker(closed, failures=0/7)" in repr(gov.backend)
    assert gov.backend._fb.breaker.reset_s == 30
    primary = gov.backend.primary
    assert isinstance(primary, RedisBackend)
    options = primary.client.connection_pool.connection_kwargs  # type: ignore[union-attr]
    assert (options["socket_timeout"], options["socket_connect_timeout"]) == (0.25, 0.25)
    gov.close()


@pytest.mark.parametrize(
    ("stage", "error", "expected"),
    [
        ("before", RedisConnectionError("Error 111 connecting"), BackendUnavailable),
        ("before", RedisTimeoutError("Timeout connecting to server"), BackendUnavailable),
        ("write", RedisConnectionError("Error 32 while writing"), BackendUnavailable),
        ("write", RedisTimeoutError("Timeout writing to socket"), IndeterminateOutcome),
        ("read", RedisTimeoutError("Timeout reading from socket"), IndeterminateOutcome),
        ("read", RedisConnectionError("Connection closed by server."), IndeterminateOutcome),
        ("read", ResponseError("READONLY You can't write against a read only replica."),
         BackendUnavailable),
        ("read", BusyLoadingError("Redis is loading the dataset in memory"), BackendUnavailable),
    ],
)
def test_failures_say_whether_the_call_may_have_counted(
    stage: Stage, error: Exception, expected: type[Exception]
) -> None:
    target = Target(ACQUIRE, "0123456789abcdef", "governor:{0123456789abcdef}")
    got = failure(target, error, stage)
    assert type(got) is expected
    assert "decision for account 01234567…" in str(got)
