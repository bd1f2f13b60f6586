"""Reconcile on a real server: what it costs in round trips, and a fleet following a drop."""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import threading
import time
from typing import TYPE_CHECKING

import pytest

from governor import AsyncGovernor, Governor, Policy, load_profile
from governor.backends.redis import RedisBackend
from governor.backends.redis_async import AsyncRedisBackend
from tests.integration.probes import commandstats

if TYPE_CHECKING:
    from multiprocessing.queues import Queue

    import redis

EMAIL = "POST /v1/email"
SCALE = 3.0  # a provider minute lasts 3 s: 120/min is one call per 25 ms, 10/min one per 0.3 s
RATE_429 = {"message": "Your account reached its rate limit of 120 requests/min. #MS42903"}


def _policy() -> Policy:
    return Policy.from_profile(load_profile("mailersend").resolve("starter"), time_scale=SCALE)


def _gov(url: str, prefix: str) -> Governor:
    return Governor(_policy(), RedisBackend.from_url(url, prefix=prefix), account="fleet")


@pytest.mark.redis
def test_reconcile_costs_one_round_trip_and_a_quiet_response_none(
    redis_url: str, redis_client: redis.Redis, key_prefix: str
) -> None:
    gov = _gov(redis_url, key_prefix)
    d = gov.acquire(EMAIL)
    redis_client.config_resetstat()

    gov.observe(EMAIL, 202, {"content-type": "application/json"}, decision=d)
    assert commandstats(redis_client) == {}  # nothing new: nothing written, nothing sent

    reset = int(time.time() / (SCALE / 60)) + 20  # the provider's (scaled) clock
    gov.observe(EMAIL, 202, {"x-ratelimit-remaining": "3", "x-ratelimit-reset": str(reset)},
                decision=d)
    assert commandstats(redis_client) == {}  # a debit rides along with the next decision
    gov.try_acquire(EMAIL)
    assert commandstats(redis_client).get("evalsha") == 1

    redis_client.config_resetstat()
    gov.observe(EMAIL, 429, {"retry-after": "7"}, RATE_429, decision=d)
    assert commandstats(redis_client).get("evalsha") == 1  # a pause: written at once
    gov.close()


def _worker(url: str, prefix: str, ready: Queue[int], window: Queue[tuple[float, float]],
            out: Queue[list[float]]) -> None:
    gov = _gov(url, prefix)
    gov.try_acquire("GET /v1/api-quota")  # connected (and the script loaded) before the start
    ready.put(1)
    start, stop = window.get()
    time.sleep(max(0.0, start - time.time()))
    grants = []
    while True:
        reservation = gov.reserve(EMAIL)
        if reservation.ready_at >= stop:
            gov.cancel(reservation)
            break
        time.sleep(max(0.0, reservation.ready_at - time.time()))
        grants.append(reservation.ready_at)
    gov.close()
    out.put(grants)


@pytest.mark.redis
@pytest.mark.slow
def test_after_one_response_announcing_10_per_minute_every_process_follows(
    redis_url: str, key_prefix: str
) -> None:
    ctx = multiprocessing.get_context("spawn")
    out: Queue[list[float]] = ctx.Queue()
    ready: Queue[int] = ctx.Queue()
    window: Queue[tuple[float, float]] = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(redis_url, key_prefix, ready, window, out))
             for _ in range(8)]
    for p in procs:
        p.start()
    try:
        observer = _gov(redis_url, key_prefix)
        for _ in procs:
            ready.get(timeout=60)  # every interpreter started, whatever the machine's load
        start = time.time() + 0.2
        stop = start + 4.0
        for _ in procs:
            window.put((start, stop))
        time.sleep(max(0.0, start + 1.0 - time.time()))
        drop = time.time()
        observer.observe(EMAIL, 202, {"x-ratelimit-limit": "10"})  # under review, learned
        applied = time.time()
        results = [out.get(timeout=60) for _ in procs]
        observer.close()
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
    granted = sorted(t for grants in results for t in grants)
    before = [t for t in granted if t < drop]
    assert len(before) > 20  # the fleet was sending at 120/min before the drop
    # Reservations made before the drop was applied queue at most 8 deep (one per worker),
    # so every grant later than that follows the new limit.
    after = [t for t in granted if t > applied + 9 * SCALE / 120]
    gaps = [b - a for a, b in itertools.pairwise(after)]
    assert after
    assert min(gaps) >= SCALE / 10 - 1e-6  # 10 per (scaled) minute from then on
    assert len(after) <= (stop - drop) / (SCALE / 10) + 1


@pytest.mark.redis
def test_a_worker_asleep_in_another_process_hears_of_a_pause(
    redis_url: str, key_prefix: str
) -> None:
    sleeper, observer = _gov(redis_url, key_prefix), _gov(redis_url, key_prefix)
    sleeper._watch_pauses()  # what its first sleep does; then wait for the subscription
    time.sleep(0.3)
    for _ in range(8):  # book 0.2 s ahead: the next acquire sleeps
        sleeper.reserve(EMAIL)
    started = time.monotonic()
    done: list[float] = []
    thread = threading.Thread(target=lambda: done.append(sleeper.acquire(EMAIL).wait_s))
    thread.start()
    time.sleep(0.05)
    # Another process gets a 429: "retry after 20 s" of a provider minute of 3 s: 1 s.
    observer.observe(EMAIL, 429, {"retry-after": "20"}, RATE_429)
    thread.join(timeout=10)
    slept = time.monotonic() - started
    assert done
    assert slept >= 1.0  # woke for its old slot, then waited out the pause it heard of
    sleeper.close()
    observer.close()


@pytest.mark.redis
def test_an_asyncio_worker_asleep_hears_of_a_pause_set_elsewhere(
    redis_url: str, key_prefix: str
) -> None:
    async def run() -> float:
        backend = AsyncRedisBackend.from_url(redis_url, prefix=key_prefix)
        sleeper = AsyncGovernor(_policy(), backend, account="fleet")
        observer = _gov(redis_url, key_prefix)  # another process, as far as Redis can tell
        try:
            sleeper._watch_pauses()  # what its first sleep does; then wait for the subscription
            await asyncio.sleep(0.3)
            for _ in range(8):  # book 0.2 s ahead: the next acquire sleeps
                await sleeper.reserve(EMAIL)
            started = time.monotonic()
            sleeping = asyncio.create_task(sleeper.acquire(EMAIL))
            await asyncio.sleep(0.05)
            await asyncio.to_thread(observer.observe, EMAIL, 429, {"retry-after": "20"}, RATE_429)
            await asyncio.wait_for(sleeping, 10)
            return time.monotonic() - started
        finally:
            await sleeper.aclose()
            observer.close()

    assert asyncio.run(run()) >= 1.0  # woke for its old slot, then waited out the pause

