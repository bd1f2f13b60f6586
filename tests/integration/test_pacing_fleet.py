"""Pacing and lanes (#16) on real servers: spawned worker processes on the tests' own Redis
against the MailerSend mock, judged from the mock's count and the workers' own clocks.

The scenarios are those of :mod:`benchmarks.pacing` (``python -m benchmarks pacing`` measures
them on a longer day); here the quota day is compressed to 24 real seconds (50 calls a second,
which a busy 2-core machine still sends on time) and the lane run lasts 5 s, so the module takes
about 40 s.
"""

from __future__ import annotations

import pytest

from benchmarks.pacing import lanes, line

pytestmark = [pytest.mark.redis, pytest.mark.slow]

DAY_S = 24.0  # a provider hour of one second
QUOTA = 1200  # a pace interval of 20 ms; the line at the second hour is 100 calls


def test_a_paced_day_keeps_to_its_line_at_every_hour_and_ends_at_the_quota(
    redis_url: str,
) -> None:
    day = line(DAY_S, QUOTA, 6000, workers=3, redis_url=redis_url)
    table = "\n".join(f"hour {h:g}: {c} against {ln:.1f}" for h, c, ln in day.samples)
    assert len(day.samples) >= 12, table  # at least 60% of the day measured
    assert day.worst_hourly_pct <= 2.0, table
    assert day.end_pct <= 1.0, f"{day.end_count} of {QUOTA} at the day's end"
    assert set(day.statuses) == {202}, day.statuses


def test_high_calls_wait_at_most_two_intervals_behind_a_saturating_low_lane(
    redis_url: str,
) -> None:
    run = lanes(5.0, 300, low_workers=4, redis_url=redis_url, high_gap=3.0)
    assert len(run.high_waits_s) >= 5, run  # the high worker was up for the window
    assert run.p(0.99) <= 2 * run.interval_s, sorted(run.high_waits_s)
    assert run.utilization >= 0.7, run  # the low lane kept the bucket busy meanwhile
    assert set(run.statuses) == {202}, run.statuses
