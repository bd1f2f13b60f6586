"""A fleet of worker processes sharing one account on a real server: never over the limit,
and the limit fully used."""

from __future__ import annotations

import itertools
import multiprocessing
import time
from typing import TYPE_CHECKING

import pytest

from governor import Governor, Policy
from governor.backends.redis import RedisBackend

if TYPE_CHECKING:
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Event

WORKERS = 8
LIMIT = 120
PERIOD_S = 3.0  # "120/minute" with a minute of 3 s: one call every 25 ms
RUN_S = 6.0
INTERVAL_S = PERIOD_S / LIMIT


def _policy() -> Policy:
    return Policy.of({"api": f"{LIMIT}/minute"}, time_scale=PERIOD_S)


def _worker(
    url: str, prefix: str, ready: Queue[int], go: Event, window: Queue[tuple[float, float]],
    out: Queue[list[tuple[float, float]]],
) -> None:
    """Reserve, sleep until the slot, record (server-granted time, wall time after the sleep)."""
    gov = Governor(_policy(), RedisBackend.from_url(url, prefix=prefix), account="fleet")
    gov.backend.client.ping()  # type: ignore[attr-defined]  # connected before the start
    ready.put(1)
    go.wait()
    start, stop = window.get()
    time.sleep(max(0.0, start - time.time()))
    grants = []
    while True:
        reservation = gov.reserve()
        if reservation.ready_at >= stop:
            gov.cancel(reservation)
            break
        time.sleep(max(0.0, reservation.ready_at - time.time()))
        grants.append((reservation.ready_at, time.time()))
    gov.close()
    out.put(grants)


@pytest.mark.redis
@pytest.mark.slow
def test_fleet_of_processes_never_exceeds_the_limit_and_uses_it(
    redis_url: str, key_prefix: str
) -> None:
    ctx = multiprocessing.get_context("spawn")
    ready, window, out = ctx.Queue(), ctx.Queue(), ctx.Queue()
    go = ctx.Event()
    procs = [
        ctx.Process(target=_worker, args=(redis_url, key_prefix, ready, go, window, out))
        for _ in range(WORKERS)
    ]
    for p in procs:
        p.start()
    try:
        for _ in procs:
            ready.get(timeout=60)
        start = time.time() + 0.2
        for _ in procs:
            window.put((start, start + RUN_S))
        go.set()
        results = [out.get(timeout=RUN_S + 30) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
    granted = sorted(ready_at for grants in results for ready_at, _ in grants)
    late = [wall - ready_at for grants in results for ready_at, wall in grants]

    # Nobody went early (one machine: the server's clock is the workers' clock).
    assert min(late) > -0.002
    # Slots are spaced by the emission interval, so no window of one period holds more than
    # the limit, sliding or fixed.
    gaps = [b - a for a, b in itertools.pairwise(granted)]
    assert min(gaps) >= INTERVAL_S - 1e-6
    j = 0
    for i, t in enumerate(granted):
        while j < len(granted) and granted[j] < t + PERIOD_S:
            j += 1
        assert j - i <= LIMIT, f"{j - i} calls in the {PERIOD_S}s window from {t}"
    # Saturated from the first grant on: at least 97% of the limit is used.
    span_s = granted[-1] - granted[0]
    assert len(granted) >= 0.97 * (span_s / INTERVAL_S + 1)
    assert span_s > RUN_S - 0.5
    # Every worker got its share of turns (first come, first served).
    assert min(len(g) for g in results) >= 0.5 * len(granted) / WORKERS
