"""Governed tasks that wait off the worker (the logic Celery and RQ share), on a ManualClock:
a slot booked ahead travels with the task and is honoured once, never booked twice; a pause
voids it; a 429 defers the task past the pause; nothing is booked beyond the horizon."""

from __future__ import annotations

import json

import pytest

from governor import Governor, ManualClock, Policy, load_profile
from governor.backends.memory import MemoryBackend
from governor.errors import ConfigError
from governor.integrations.deferral import (
    PAUSES,
    Defer,
    Run,
    Slot,
    TaskGovernance,
    admit,
    denials_in,
    headers_with,
    settle,
    start,
    wait_here,
)

EMAIL = "POST /v1/email"
NOW_S = 1_767_225_600.0
TASK = TaskGovernance(EMAIL, threshold_s=0.2, lead_s=0.1, horizon_s=3.0, rng=lambda: 0.0)
RATE_429 = {"message": "Your account reached its rate limit. #MS42903"}


@pytest.fixture
def gov() -> Governor:
    clock = ManualClock(NOW_S)
    policy = Policy.from_profile(load_profile("mailersend").resolve("starter"))  # 2/s
    PAUSES.forget()  # a fresh process's view
    return Governor(policy, MemoryBackend(clock), account="acme", clock=clock)


def now(gov: Governor) -> float:
    return gov.clock.now_us() / 1e6


def test_a_slot_within_the_threshold_runs_at_once() -> None:
    gov = Governor(Policy.of({"email": "100/second"}), clock=ManualClock(NOW_S))
    step = start(gov, TaskGovernance("*", threshold_s=0.2, lead_s=0.1), None)
    assert isinstance(step, Run)
    assert step.sleep_s == 0.0


def test_a_slot_ahead_travels_with_the_task_and_is_honoured_without_booking_again(
    gov: Governor,
) -> None:
    first = admit(gov, TASK, None, now(gov))
    assert isinstance(first, Run)
    ahead = admit(gov, TASK, None, now(gov))  # the next slot is 0.5 s away: deferred
    assert isinstance(ahead, Defer)
    assert ahead.slot is not None
    assert ahead.countdown_s == pytest.approx(0.4)  # lead_s early
    wire = json.loads(json.dumps(headers_with({"other": 1}, ahead)))
    slot = Slot.from_wire(wire["governor_slot"])
    assert slot == ahead.slot
    assert wire["other"] == 1
    gov.clock.sleep(0.4)  # the ETA, on time
    back = admit(gov, TASK, slot, now(gov))
    assert isinstance(back, Run)
    assert back.sleep_s == pytest.approx(0.1)
    assert back.decision == slot.decision  # the same slot: nothing booked again
    third = admit(gov, TASK, None, now(gov))  # the next booking is after it, not beside it
    assert isinstance(third, Defer)
    assert third.slot is not None
    assert third.slot.go_at == pytest.approx(NOW_S + 1.0)


def test_beyond_the_horizon_nothing_is_booked_and_the_task_comes_back_in_time(
    gov: Governor,
) -> None:
    steps = [admit(gov, TASK, None, now(gov)) for _ in range(8)]  # slots 0 .. 3.0 s, then none
    denied = steps[-1]
    assert isinstance(denied, Defer)
    assert (denied.slot, denied.denials) == (None, 1)
    assert denied.countdown_s == pytest.approx(3.5 - 1.5)  # its slot: 3.5 s; half a horizon
    assert denials_in(headers_with(None, denied)) == 1
    again = admit(gov, TASK, None, now(gov), denials=1)  # denied before: a wider horizon
    assert isinstance(again, Defer)
    assert again.slot is not None


def test_a_pause_voids_a_slot_booked_before_it_even_after_the_pause(gov: Governor) -> None:
    admit(gov, TASK, None, now(gov))
    ahead = admit(gov, TASK, None, now(gov))
    later = admit(gov, TASK, None, now(gov))
    assert isinstance(ahead, Defer)
    assert isinstance(later, Defer)
    assert ahead.slot is not None
    assert later.slot is not None
    gov.clock.sleep(0.05)
    gov.observe(EMAIL, 429, {"retry-after": "1"}, RATE_429)
    voided = admit(gov, TASK, ahead.slot, now(gov))
    assert isinstance(voided, Defer)
    assert voided.slot is None
    assert voided.countdown_s == pytest.approx(1.0)
    gov.clock.sleep(5.0)  # the pause is over
    stale = admit(gov, TASK, later.slot, now(gov))
    assert isinstance(stale, Defer)  # booked at the pace the pause corrected
    assert stale.slot is None


def test_a_slot_that_comes_back_too_late_is_given_up_for_a_fresh_one(gov: Governor) -> None:
    admit(gov, TASK, None, now(gov))
    ahead = admit(gov, TASK, None, now(gov))
    assert isinstance(ahead, Defer)
    assert ahead.slot is not None
    gov.clock.sleep(2.0)  # 1.5 s past its slot
    fresh = admit(gov, TASK, ahead.slot, now(gov))
    assert isinstance(fresh, Run)
    assert fresh.decision != ahead.slot.decision


def test_a_429_defers_the_task_past_the_fleets_pause_and_a_202_ends_it(gov: Governor) -> None:
    step = admit(gov, TASK, None, now(gov))
    assert isinstance(step, Run)
    assert settle(gov, TASK, step.decision, (202, {}, None), gov.clock.now_us()) is None
    limited = settle(gov, TASK, step.decision, (429, {"retry-after": "6"}, json.dumps(RATE_429)),
                     gov.clock.now_us())
    assert isinstance(limited, Defer)
    assert limited.countdown_s == pytest.approx(6.0)
    assert settle(gov, TASK, step.decision, None, gov.clock.now_us()) is None  # not a response


def test_a_countdown_never_outlasts_the_brokers_visibility_timeout() -> None:
    TaskGovernance(max_countdown_s=300.0).check_visibility(3600.0, "redis")
    with pytest.raises(ConfigError, match="visibility timeout"):
        TaskGovernance(max_countdown_s=300.0).check_visibility(30.0, "sqs")
    with pytest.raises(ConfigError, match="lead_s <= threshold_s"):
        TaskGovernance(threshold_s=0.1, lead_s=0.2)
    assert TaskGovernance(max_countdown_s=10.0, horizon_s=5.0).capped(99.0, None, "").countdown_s \
        == 10.0


@pytest.mark.parametrize("junk", [{"v": 2}, {"v": 1, "decision": [1]}, "x", 3, {"v": 1}])
def test_a_slot_the_task_cannot_read_is_ignored(junk: object) -> None:
    assert Slot.from_wire(junk) is None


def test_a_deferral_the_broker_refused_waits_for_its_slot_in_the_worker(gov: Governor) -> None:
    admit(gov, TASK, None, now(gov))
    ahead = admit(gov, TASK, None, now(gov))
    assert isinstance(ahead, Defer)
    assert ahead.slot is not None
    assert wait_here(gov, TASK, ahead) == ahead.slot.decision  # its own slot, not a new one
    assert now(gov) == pytest.approx(ahead.slot.go_at)
    paused = Defer(2.0, None, "a pause")
    decision = wait_here(gov, TASK, paused)  # no slot: waits, then books one
    assert decision.allowed
    assert now(gov) >= ahead.slot.go_at + 2.0
