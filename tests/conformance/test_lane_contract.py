"""Priority lanes (``governor.engine``, *Lanes*), held against every backend and both shells.
Each test gets ``make(policy) -> Shell`` and a ``ManualClock``; nothing really sleeps."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from governor import DailyQuota, ManualClock, Policy, Rate
from governor.errors import QueueTooDeep
from governor.routing import Route
from tests.conformance.conftest import Shell

Make = Callable[..., Shell]

INTERVAL = 0.5  # 120/minute


def lanes(horizon: float = 1.0, low_share: float = 0.5, **options: object) -> Policy:
    return Policy(
        {"email": Rate(120, 60.0)},
        [Route("POST", "/v1/email", ("email",))],
        DailyQuota(100_000),
        lane_horizon=horizon,
        low_share=low_share,
        **options,  # type: ignore[arg-type]  # keyword options of Policy
    )


def test_a_normal_call_books_only_its_horizon_ahead(make: Make) -> None:
    gov = make(lanes(horizon=2.0))
    waits = [gov.reserve("POST /v1/email").wait_s for _ in range(3)]
    assert waits == [0.0, INTERVAL, 2 * INTERVAL]
    deep = gov.try_acquire("POST /v1/email")
    assert not deep.allowed
    with pytest.raises(QueueTooDeep) as info:
        gov.reserve("POST /v1/email")
    denied = info.value.decision
    assert (denied.too_deep, denied.scope) == (True, "email")
    assert denied.wait_s == INTERVAL  # when its slot comes within the horizon: not sooner


def test_a_high_call_at_a_saturated_lane_waits_about_one_interval(make: Make) -> None:
    gov = make(lanes(horizon=1.0))
    booked = 0
    while True:  # a fleet books as far as its lane lets it
        try:
            gov.reserve("POST /v1/email")
        except QueueTooDeep:
            break
        booked += 1
    assert booked == 2
    high = gov.reserve("POST /v1/email", priority="high")
    assert high.wait_s == 2 * INTERVAL  # not behind a queue of the whole fleet
    assert gov.reserve("POST /v1/email", priority="high").wait_s == 3 * INTERVAL


def test_low_calls_leave_the_last_share_of_the_horizon_to_higher_lanes(make: Make) -> None:
    gov = make(lanes(horizon=4.0, low_share=0.5))
    assert [gov.reserve("POST /v1/email", priority="low").wait_s for _ in range(3)] == [
        0.0, INTERVAL, 2 * INTERVAL]
    assert not gov.try_acquire("POST /v1/email", priority="low").allowed
    assert gov.reserve("POST /v1/email").wait_s == 3 * INTERVAL  # normal still books
    assert gov.reserve("POST /v1/email").wait_s == 4 * INTERVAL
    with pytest.raises(QueueTooDeep):
        gov.reserve("POST /v1/email")


def test_acquire_of_a_deep_lane_sleeps_and_decides_again(make: Make, clock: ManualClock) -> None:
    gov = make(lanes(horizon=1.0))
    for _ in range(2):
        gov.reserve("POST /v1/email")
    start = clock.now_s()
    d = gov.acquire("POST /v1/email", timeout_s=10)
    assert d.allowed
    assert clock.now_s() - start == pytest.approx(2 * INTERVAL)  # its slot, two intervals on
    assert all(s >= INTERVAL - 1e-9 for s in clock.slept_s)  # never polling faster


def test_a_deep_lane_still_fails_fast_when_the_slot_is_beyond_the_timeout(make: Make) -> None:
    gov = make(lanes(horizon=1.0))
    for _ in range(2):
        gov.reserve("POST /v1/email")
    with pytest.raises(Exception, match="timeout"):
        gov.acquire("POST /v1/email", timeout_s=0.1)


def test_without_lanes_every_call_books_where_its_slot_is(make: Make) -> None:
    gov = make(Policy({"email": Rate(120, 60.0)}, [Route("POST", "/v1/email", ("email",))]))
    waits = [gov.reserve("POST /v1/email", priority="low").wait_s for _ in range(10)]
    assert waits[-1] == 9 * INTERVAL
