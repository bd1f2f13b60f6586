"""The shared acquire flow (``governor/core.py``), driven step by step."""

from __future__ import annotations

import pytest

from governor import Governor, ManualClock, Policy, load_profile
from governor.core import Decide, Sleep

EMAIL = "POST /v1/email"
RATE_429 = {"message": "Your account reached its rate limit of 120 requests/min. #MS42903"}


def test_a_caller_asleep_when_a_429_arrives_waits_out_the_pause() -> None:
    clock = ManualClock()
    gov = Governor(Policy.from_profile(load_profile("mailersend").resolve("starter")),
                   clock=clock)
    gov.acquire(EMAIL)
    flow = gov._core.acquire_flow(EMAIL, 1, "normal", None)
    step = next(flow)
    assert isinstance(step, Decide)
    decision = gov.backend.decide(gov._core.account, step.spec, 1, False, step.max_wait_us)
    sleep = flow.send(decision)
    assert isinstance(sleep, Sleep)
    assert sleep.delay_s == pytest.approx(0.5)
    gov.observe(EMAIL, 429, {"retry-after": "7"}, RATE_429)  # another thread's response
    clock.advance(0.5)
    held = flow.send(None)
    assert isinstance(held, Sleep)
    assert held.delay_s == pytest.approx(6.5)  # the pause ends 7 s after the 429
    with pytest.raises(StopIteration):
        flow.send(None)


def test_pauses_of_other_buckets_do_not_hold_a_call() -> None:
    clock = ManualClock()
    gov = Governor(Policy.from_profile(load_profile("mailersend").resolve("starter")),
                   clock=clock)
    gov.observe(EMAIL, 429, {"retry-after": "7"}, RATE_429)
    assert gov._core.paused_for(gov._core.spec("GET /v1/domains")) == 0
    assert gov._core.paused_for(gov._core.spec(EMAIL)) == 7_000_000


def test_every_text_of_a_route_shares_its_pending_adjustment() -> None:
    clock = ManualClock()
    gov = Governor(Policy.from_profile(load_profile("mailersend").resolve("starter")),
                   clock=clock)
    reset = str(int(clock.now_s()) + 30)
    for i in range(50):
        gov.observe(f"GET /v1/activity/{i}", 200,
                    {"x-ratelimit-remaining": "1", "x-ratelimit-reset": reset})
    assert len(gov._core.pending) == 1


def test_a_limit_already_written_rides_along_instead_of_a_round_trip() -> None:
    clock = ManualClock()
    gov = Governor(Policy.from_profile(load_profile("mailersend").resolve("starter")),
                   clock=clock)
    first = gov.observe(EMAIL, 202, {"x-ratelimit-limit": "10"})
    assert first.adjustment is not None
    assert first.adjustment.urgent
    assert not gov._core.pending  # written at once
    gov.observe(EMAIL, 202, {"x-ratelimit-limit": "10"})
    held = gov._core.pending[gov._core.spec(EMAIL)]
    assert not held.urgent  # already written: it waits for the next decision
    lower = gov.observe(EMAIL, 202, {"x-ratelimit-limit": "5"})
    assert not gov._core.pending  # lower still: written at once
    assert lower.adjustment is not None
    assert lower.adjustment.interval_us == 12_000_000
    assert gov._core.learned["email"] == 12_000_000
