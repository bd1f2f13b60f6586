"""The shared acquire flow (``governor/core.py``), driven step by step."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

from governor import (
    AsyncGovernor,
    AsyncMemoryBackend,
    Governor,
    ManualClock,
    MemoryBackend,
    Policy,
    WaitTooLong,
    load_profile,
)
from governor.core import Cancel, Decide, Sleep
from governor.engine import NO_LIMIT_US

if TYPE_CHECKING:
    from collections.abc import Callable

    from governor.core import Flow, Step
    from governor.decision import Decision
    from governor.policy import HeaderTime

EMAIL = "POST /v1/email"
RATE_429 = {"message": "Your account reached its rate limit of 120 requests/min. #MS42903"}


def _asleep_when_a_429_arrives(timeout_s: float | None) -> tuple[Governor, Flow, Decision]:
    """A caller asleep on its slot (0.5 s ahead) hears of a 7 s pause and wakes."""
    clock = ManualClock()
    gov = Governor(Policy.from_profile(load_profile("mailersend").resolve("starter")),
                   clock=clock)
    gov.acquire(EMAIL)
    flow = gov._core.acquire_flow(EMAIL, 1, "normal", timeout_s)
    step = next(flow)
    assert isinstance(step, Decide)
    decision = gov.backend.decide(gov._core.account, step.spec, 1, False, step.max_wait_us)
    sleep = flow.send(decision)
    assert isinstance(sleep, Sleep)
    assert sleep.delay_s == pytest.approx(0.5)
    gov.observe(EMAIL, 429, {"retry-after": "7"}, RATE_429)  # another thread's response
    clock.advance(0.5)
    return gov, flow, decision


def _drive(gov: Governor, step: Step) -> Decision:
    assert isinstance(step, Decide)
    return gov.backend.decide(gov._core.account, step.spec, step.cost, step.high_priority,
                              step.max_wait_us, step.adjustment)


def test_a_caller_that_wakes_into_a_pause_gives_its_slot_back_and_books_after_it() -> None:
    gov, flow, slept_on = _asleep_when_a_429_arrives(None)
    cancel = flow.send(None)
    assert isinstance(cancel, Cancel)
    assert cancel.decision is slept_on
    again = _drive(gov, flow.send(None))
    assert again.allowed
    assert again.wait_s == pytest.approx(6.5)  # the pause ends 7 s after the 429
    held = flow.send(again)
    assert isinstance(held, Sleep)
    assert held.delay_s == pytest.approx(6.5)
    gov.clock.sleep(held.delay_s)
    with pytest.raises(StopIteration):
        flow.send(None)


def test_a_caller_that_wakes_into_a_pause_past_its_timeout_raises_spending_nothing() -> None:
    gov, flow, _ = _asleep_when_a_429_arrives(1.0)
    assert isinstance(flow.send(None), Cancel)
    step = flow.send(None)
    assert isinstance(step, Decide)
    assert step.max_wait_us == pytest.approx(500_000)  # what is left of the timeout
    denied = _drive(gov, step)
    assert not denied.allowed
    with pytest.raises(WaitTooLong):
        flow.send(denied)


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


class _AnnouncingClock(ManualClock):
    """A manual clock on which another process announces a pause during the first sleep: it
    writes the pause to the shared state and the sleeper's pause watcher hears it."""

    def __init__(self) -> None:
        super().__init__()
        self.announce: Callable[[], None] | None = None

    def sleep(self, delay_s: float) -> None:
        if self.announce is not None:
            announce, self.announce = self.announce, None
            self.advance(delay_s / 2)
            announce()
            super().sleep(delay_s / 2)
            return
        super().sleep(delay_s)


@pytest.mark.parametrize("shell", ["sync", "async"])
def test_acquire_keeps_its_timeout_when_a_long_pause_is_announced_mid_sleep(shell: str) -> None:
    clock = _AnnouncingClock()
    policy = Policy.from_profile(load_profile("mailersend").resolve("starter"))
    memory = MemoryBackend(clock)
    if shell == "sync":
        gov: Governor | AsyncGovernor = Governor(policy, memory, clock=clock)
    else:
        gov = AsyncGovernor(policy, AsyncMemoryBackend(memory), clock=clock)
    account = gov.account.key
    for _ in range(2):
        memory.decide(account, policy.spec(EMAIL), 1, False, NO_LIMIT_US)  # others' slots
    start = clock.monotonic()

    def announce() -> None:  # another process: a 429 with Retry-After: 30
        until_us = clock.now_us() + 30_000_000
        memory.pause(account, until_us, "email")
        gov._core.hear_pause("email", 30_000_000)

    clock.announce = announce

    def acquire() -> object:
        if isinstance(gov, Governor):
            return gov.acquire(EMAIL, timeout_s=1.0)
        return asyncio.run(gov.acquire(EMAIL, timeout_s=1.0))

    with pytest.raises(WaitTooLong):
        acquire()
    assert clock.monotonic() - start <= 1.0
    # The slot it gave back is free again: the next call waits for the pause, not behind it.
    after = memory.decide(account, policy.spec(EMAIL), 1, False, NO_LIMIT_US)
    assert after.wait_s == pytest.approx(30.0 - 1.0 + 0.0, abs=0.51)


def test_header_times_are_provider_seconds_at_a_time_scale_unless_told_otherwise() -> None:
    clock = ManualClock()
    profile = load_profile("mailersend").resolve("starter")
    cases: list[tuple[HeaderTime, float]] = [("provider", 0.2), ("real", 2.0)]
    for header_time, pause_s in cases:
        gov = Governor(Policy.from_profile(profile, time_scale=6.0, header_time=header_time),
                       clock=clock)
        gov.observe(EMAIL, 429, {"retry-after": "2"}, RATE_429)
        assert gov.try_acquire(EMAIL).wait_s == pytest.approx(pause_s)


@pytest.mark.parametrize("cost", [1.5, "2", 2.0, None])
def test_a_cost_is_a_whole_number_of_calls(cost: object) -> None:
    gov = Governor(Policy.of({"api": "10/second burst 10"}), clock=ManualClock())
    for verb in (gov.try_acquire, gov.reserve, gov.acquire):
        with pytest.raises(TypeError, match="whole number of calls"):
            verb("*", cost)  # type: ignore[arg-type]  # what a careless caller passes


def test_a_cost_of_one_as_a_float_or_bool_is_one_call() -> None:
    gov = Governor(Policy.of({"api": "10/second burst 10"}), clock=ManualClock())
    assert gov.try_acquire("*", 1.0).cost == 1  # type: ignore[arg-type]
    assert type(gov.reserve("*", True).cost) is int


@pytest.mark.parametrize("status", ["429", 429.0, None, True])
def test_observe_says_what_a_status_must_be(status: object) -> None:
    """Not an int: a clear TypeError (an int no server sends, like 999, is classified, as
    hostile input always is)."""
    gov = Governor(Policy.of({"api": "10/second"}), clock=ManualClock())
    with pytest.raises(TypeError, match="status is the response's HTTP status code"):
        gov.observe("*", status)  # type: ignore[arg-type]
