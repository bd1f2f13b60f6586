"""Waits end when they should (issue #12): ``acquire(timeout_s=1)`` asleep on a slot while
another process announces the provider's 30 s pause (``timeout``), and a fleet of processes
acquiring back to back when a 2 s pause holds the ones asleep (``sleepers``): no period may
hold more than the limit, and the sleepers rebook at the bucket's spacing, not in a burst.
"""

from __future__ import annotations

import itertools
import math
import time
from bisect import bisect_left
from typing import TYPE_CHECKING, Any

from benchmarks.truth_fleet import Row, emission_interval_s
from benchmarks.truth_pool import EMAIL, WAIT_S, email, provoke, sleep_until
from benchmarks.truth_roles import acquire_loop, timed_sleeper

if TYPE_CHECKING:
    from benchmarks.truth_fleet import Stage

__all__ = ["LONG_PAUSE_S", "SHORT_PAUSE_S", "TIMEOUT_S", "sleepers", "timeout"]

TIMEOUT_S, SLEEP_AHEAD_S, ANNOUNCE_AFTER_S = 1.0, 0.8, 0.3
LONG_PAUSE_S, SHORT_PAUSE_S = 30, 2  # provider seconds


def timeout(stage: Stage, scale: float) -> list[Row]:
    """``acquire(timeout_s=1)`` sleeping on a slot 0.8 s ahead, while another process observes
    the provider's ``429 Retry-After: 30`` 0.3 s into that sleep."""
    pool = stage.pool
    with stage.mock(scale) as mock:
        fleet = stage.fleet(mock, scale, "starter", limit=10)
        mock.admin.set_reputation(fleet.account, "under_review")  # 10/min: a quick fill
        pool.order(0, timed_sleeper, fleet=fleet, ahead_s=SLEEP_AHEAD_S, timeout_s=TIMEOUT_S)
        pool.ready([0])
        pool.tell(0, "go")
        called = pool.signal(0, WAIT_S)
        with (fleet.governor() as gov, fleet.client() as direct,
              fleet.client(fleet.filler_token) as filler):
            sleep_until(called + ANNOUNCE_AFTER_S)
            hit = provoke(mock.admin, filler, lambda: direct.post("/v1/email", json=email(0)),
                          LONG_PAUSE_S, fleet.limit)
            gov.observe(EMAIL, hit.response.status_code, hit.response.headers,
                        hit.response.content)
            announced = time.monotonic()
        result = pool.result(0, WAIT_S)
    first = result["decisions"][0]
    planned_s = first[2] / 1e6
    into = announced - called
    bar = TIMEOUT_S + stage.slack_s
    return [Row(
        f"acquire(timeout_s={TIMEOUT_S:g}) asleep on a slot when another process announces "
        f"a {hit.retry_after_s} provider s pause", scale,
        f"{result['outcome']} after {result['elapsed_s']:.3f} s",
        f"≤ timeout + {stage.slack_s} s = {bar:g} s",
        result["elapsed_s"] <= bar and 0 < into < planned_s,
        f"its slot was {planned_s:.3f} s ahead; the pause was announced {into:.3f} s into "
        f"the sleep; decisions: {_decisions(result['decisions'])}",
    )]


def _decisions(decisions: list[tuple[bool, int, int, str]]) -> str:
    return "; ".join(f"{'allowed' if a else 'denied'} wait {w / 1e6:.3f} s ({scope})"
                     for a, _, w, scope in decisions)


def sleepers(stage: Stage, scale: float, workers: int = 8) -> list[Row]:
    """8 processes acquire back to back for over a period, then the provider's ``429
    Retry-After: 2`` comes and holds the ones asleep on slots: how many calls in one period
    (every window that holds the pause's end), and how the sleepers went afterwards."""
    pool, unit = stage.pool, scale / 60.0
    period, interval = 60.0 * unit, emission_interval_s(scale)
    ids = range(workers)
    with stage.mock(scale) as mock:
        fleet = stage.fleet(mock, scale, "starter")
        for i in ids:
            pool.order(i, acquire_loop, fleet=fleet)
        pool.ready(ids)
        go = time.monotonic() + 0.2
        for i in ids:
            pool.tell(i, go)
        with (fleet.governor() as gov, fleet.client() as direct,
              fleet.client(fleet.filler_token) as filler):
            sleep_until(go + 1.05 * period)
            hit = provoke(mock.admin, filler, lambda: direct.post("/v1/email", json=email(0)),
                          SHORT_PAUSE_S, fleet.limit)
            gov.observe(EMAIL, hit.response.status_code, hit.response.headers,
                        hit.response.content)
            written = time.monotonic()
        # Every window that holds the pause's end starts within the period before it.
        sleep_until(written + SHORT_PAUSE_S * unit + 0.2 * period + workers * interval)
        for i in ids:
            pool.tell(i, "stop")
        results = [pool.result(i, WAIT_S) for i in ids]
    return _sleeper_rows(results, hit.received_mono, written, period, interval, scale,
                         stage.slack_s)


def _most_in(times: list[float], span: float) -> int:
    times = sorted(times)
    return max((bisect_left(times, t + span) - i for i, t in enumerate(times)), default=0)


def _sleeper_rows(results: list[dict[str, Any]], received: float, written: float,
                  period: float, interval: float, scale: float, slack_s: float) -> list[Row]:
    grants, sent, held = [], [], 0
    written_us = -math.inf  # the 429's observation, on Redis' clock (each worker's estimate)
    decided: list[tuple[int, int]] = []  # (decided at, granted at): Redis' own microseconds
    for r in results:
        offset = r["offset"]
        written_us = max(written_us, (written + offset) * 1e6)
        for called, now_us, wait_us, back in r["records"]:
            grants.append((now_us + wait_us) / 1e6 - offset)
            sent.append(back)
            decided.append((now_us, now_us + wait_us))
            held += called < written and now_us / 1e6 - offset > written
    resume_us = min(g for n, g in decided if n > written_us)  # the pause's end, as decided
    after = sorted(g for _, g in decided if g >= resume_us)
    resume = resume_us / 1e6 - results[0]["offset"]
    gaps = [(b - a) / 1e6 for a, b in itertools.pairwise(after)]
    most_sent, most_granted = _most_in(sent, period), _most_in(grants, period)
    pause_end = received + SHORT_PAUSE_S * scale / 60.0
    slipped = sum(1 for t in sent if written + slack_s < t < pause_end - slack_s)
    first = min((t for t in sent if t > written + slack_s), default=math.nan)
    name = (f"{len(results)} processes acquiring, a {SHORT_PAUSE_S} provider s pause "
            "holding the sleepers")
    limit = 120
    window = Row(
        f"{name}: calls in one period", scale,
        f"at most {most_sent} sent in any {period:g} s (grants: {most_granted})",
        f"≤ limit ({limit}) in every sliding window of one period",
        most_sent <= limit and most_granted <= limit and held >= 2,
        f"{held} sleepers held by the pause; {slipped} sent inside it; the first after it "
        f"{first - received:.3f} s after the 429",
    )
    spaced = Row(
        f"{name}: after the pause", scale,
        f"grants {min(gaps) * 1000:.1f} ms apart at least",
        f"≥ I ({interval * 1000:.1f} ms): rebooked at the spacing, no burst",
        bool(gaps) and min(gaps) >= interval - 1e-6 and held >= 2,
        f"{len(after)} grants from the first one decided after the 429 was observed "
        f"({resume - written:.3f} s after it) on",
    )
    return [window, spaced]
