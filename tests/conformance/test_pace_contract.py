"""Pacing the daily quota (``governor.engine``, *Pacing*), held against every backend and both
shells. Each test gets ``make(policy) -> Shell`` and a ``ManualClock``; nothing really sleeps."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import pytest

from governor import DailyQuota, ManualClock, Policy, Rate, WaitTooLong
from governor.errors import QueueTooDeep
from governor.reconcile import Adjustment
from governor.routing import Route
from tests.conformance.conftest import Shell

Make = Callable[..., Shell]

DAY_START = 1_767_225_600.0  # 2026-01-01T00:00:00Z, the ManualClock's default start
HOUR = 3600.0


def paced(quota: DailyQuota, **options: object) -> Policy:
    """One fast bucket (never the binding scope) and a paced daily quota."""
    return Policy(
        {"api": Rate(100, 1.0, burst=30)},
        [Route("*", "/**", ("api",))],
        quota,
        pacing=True,
        **options,  # type: ignore[arg-type]  # keyword options of Policy
    )


def test_a_backlog_is_spread_over_the_day(make: Make, clock: ManualClock) -> None:
    gov = make(paced(DailyQuota(24)))
    sent = []
    for _ in range(4):
        gov.acquire("GET /x")
        sent.append(clock.now_s() - DAY_START)
    assert sent == [0.0, HOUR, 2 * HOUR, 3 * HOUR]
    assert all(s >= 0.01 - 1e-9 for s in clock.slept_s)  # never polling faster than the bucket


def test_a_normal_call_held_by_the_pace_does_not_hold_high_calls(
    make: Make, clock: ManualClock
) -> None:
    gov = make(paced(DailyQuota(26, reserve=2)))
    assert gov.try_acquire("GET /x").allowed
    with pytest.raises(QueueTooDeep) as info:  # not booked an hour ahead in the bucket
        gov.reserve("GET /x")
    assert info.value.decision.scope == "pace"
    assert info.value.decision.wait_s == pytest.approx(HOUR - 0.01)  # an interval before
    clock.advance(1)
    assert gov.reserve("GET /x", priority="high").wait_s == 0.0  # a password reset goes now


def test_a_call_the_line_holds_back_says_pace_and_how_long(
    make: Make, clock: ManualClock
) -> None:
    gov = make(paced(DailyQuota(24)))
    assert gov.try_acquire("GET /x").allowed
    clock.advance(600)
    denied = gov.try_acquire("GET /x")
    assert (denied.allowed, denied.scope, denied.wait_s) == (False, "pace", 3000.0)
    with pytest.raises(WaitTooLong, match="'pace'"):
        gov.acquire("GET /x", timeout_s=60)
    clock.advance(3000)
    assert gov.try_acquire("GET /x").allowed


def test_acquire_sleeps_until_the_line_allows_the_call(make: Make, clock: ManualClock) -> None:
    gov = make(paced(DailyQuota(48)))
    gov.acquire("GET /x")
    d = gov.acquire("GET /x")
    assert (d.allowed, d.scope) == (True, "pace")
    assert clock.now_s() == pytest.approx(DAY_START + 1800)


def test_high_priority_bypasses_the_pace_and_spends_the_reserve(make: Make) -> None:
    gov = make(paced(DailyQuota(26, reserve=2)))
    assert gov.try_acquire("GET /x").allowed
    assert not gov.try_acquire("GET /x").allowed  # the line
    assert all(gov.try_acquire("GET /x", priority="high").allowed for _ in range(25))
    assert not gov.try_acquire("GET /x", priority="high").allowed  # the quota, reserve and all


def test_the_line_follows_the_providers_count(make: Make, clock: ManualClock) -> None:
    policy = paced(DailyQuota(24))
    gov = make(policy)
    assert gov.try_acquire("GET /x").allowed
    clock.set(DAY_START + 6 * HOUR)
    carrier = policy.quota_call
    assert carrier is not None
    applied = gov.backend.apply(gov.account.key, carrier,
                                Adjustment(clock.now_us(), quota_used_floor=18))  # SMTP spent
    if inspect.isawaitable(applied) and gov.loop is not None:
        gov.loop.run_until_complete(applied)
    assert gov.reserve("GET /x").wait_s == 0.0
    assert gov.try_acquire("GET /x").wait_s == 3 * HOUR  # the 6 left over the 18 hours to go


def test_a_pace_until_an_hour_leaves_the_rest_of_the_day_unpaced(
    make: Make, clock: ManualClock
) -> None:
    gov = make(paced(DailyQuota(24), pace_until_h=12.0))
    assert gov.reserve("GET /x").wait_s == 0.0
    assert gov.try_acquire("GET /x").wait_s == HOUR / 2
    clock.set(DAY_START + 13 * HOUR)
    assert all(gov.try_acquire("GET /x").allowed for _ in range(20))
