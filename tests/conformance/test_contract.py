"""The decision contract (``governor/engine.py``), held against every backend and both shells.

Each test gets ``make(policy) -> Shell`` and a ``ManualClock``; nothing really sleeps.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from governor import (
    CostTooLarge,
    DailyQuota,
    ManualClock,
    Policy,
    QuotaExhausted,
    Rate,
    WaitTooLong,
)
from governor.reconcile import Adjustment
from governor.routing import Route
from tests.conformance.conftest import Shell

Make = Callable[..., Shell]

DAY_START = 1_767_225_600.0  # 2026-01-01T00:00:00Z, the ManualClock's default start


def two_buckets(quota: DailyQuota | None = None) -> Policy:
    """Two routes sharing a 'general' bucket; 'POST /send' also spends 'send'."""
    return Policy(
        {"send": Rate(2, 1.0), "general": Rate(10, 1.0)},
        [
            Route("POST", "/send", ("send", "general")),
            Route("GET", "/free", ("general",), quota=False),
            Route("*", "/**", ("general",)),
        ],
        quota,
    )


def test_fresh_bucket_allows_its_burst_then_says_how_long_to_wait(make: Make) -> None:
    gov = make(Policy.of({"api": Rate(10, 1.0, burst=3)}))
    assert [gov.try_acquire().allowed for _ in range(3)] == [True, True, True]
    denied = gov.try_acquire()
    assert not denied.allowed
    assert denied.scope == "api"
    assert denied.wait_s == pytest.approx(0.1)


def test_decision_reports_scope_remaining_and_reset(make: Make, clock: ManualClock) -> None:
    gov = make(Policy.of({"api": Rate(10, 1.0, burst=5)}))
    d = gov.try_acquire()
    assert (d.allowed, d.wait_s, d.scope, d.remaining) == (True, 0.0, "api", 4)
    assert d.reset_at == pytest.approx(clock.now_s() + 0.1)


def test_denied_calls_spend_nothing(make: Make, clock: ManualClock) -> None:
    gov = make(Policy.of({"api": Rate(1, 1.0)}))
    assert gov.try_acquire().allowed
    for _ in range(50):
        assert not gov.try_acquire().allowed
    clock.advance(1.0)
    assert gov.try_acquire().allowed


def test_steady_rate_is_one_call_per_interval(make: Make, clock: ManualClock) -> None:
    gov = make(Policy.of({"api": Rate(4, 1.0)}))
    granted = 0
    for _ in range(400):  # 10 s in steps of 25 ms
        granted += gov.try_acquire().allowed
        clock.advance(0.025)
    assert granted == 40


def test_all_or_nothing_across_scopes(make: Make) -> None:
    policy = Policy(
        {"send": Rate(2, 1.0), "general": Rate(10, 1.0, burst=10)},
        [Route("POST", "/send", ("send", "general")), Route("GET", "/free", ("general",))],
    )
    gov = make(policy)
    assert gov.try_acquire("POST /send").remaining == 0
    denied = gov.try_acquire("POST /send")
    assert (denied.allowed, denied.scope) == (False, "send")
    # The denied call did not spend from 'general': 9 tokens were left, 8 after this call.
    assert gov.try_acquire("GET /free").remaining == 8


def test_shared_bucket_binds_every_route(make: Make, clock: ManualClock) -> None:
    policy = Policy(
        {"send": Rate(100, 1.0, burst=100), "general": Rate(3, 1.0, burst=3)},
        [Route("POST", "/send", ("send", "general")), Route("*", "/**", ("general",))],
    )
    gov = make(policy)
    assert gov.try_acquire("GET /x").allowed
    assert gov.try_acquire("POST /send").allowed
    assert gov.try_acquire("GET /y").allowed
    denied = gov.try_acquire("POST /send")
    assert (denied.allowed, denied.scope) == (False, "general")


def test_reservations_queue_first_come_first_served(make: Make, clock: ManualClock) -> None:
    gov = make(Policy.of({"api": Rate(2, 1.0)}))
    now = clock.now_s()
    ready = [gov.reserve().ready_at - now for _ in range(4)]
    assert ready == pytest.approx([0.0, 0.5, 1.0, 1.5])
    assert gov.reserve().decision.remaining == -4  # in debt by the four queued ahead


def test_acquire_sleeps_once_for_its_slot(make: Make, clock: ManualClock) -> None:
    gov = make(Policy.of({"api": Rate(2, 1.0)}))
    gov.acquire()
    clock.slept_s.clear()
    d = gov.acquire()
    assert d.wait_s == pytest.approx(0.5)
    assert clock.slept_s == pytest.approx([0.5])


def test_timeout_fails_at_once_and_spends_nothing(make: Make, clock: ManualClock) -> None:
    gov = make(Policy.of({"api": Rate(1, 1.0)}))
    gov.acquire()
    clock.slept_s.clear()
    with pytest.raises(WaitTooLong) as info:
        gov.acquire(timeout_s=0.5)
    assert clock.slept_s == []
    assert info.value.wait_s == pytest.approx(1.0)
    assert info.value.decision.scope == "api"
    with pytest.raises(WaitTooLong):
        gov.reserve(timeout_s=0.999)
    # Nothing was spent by the failures: the next slot is still 1 s away, not later.
    assert gov.reserve(timeout_s=1.0).wait_s == pytest.approx(1.0)


def test_cancel_refunds_the_latest_reservation(make: Make, clock: ManualClock) -> None:
    gov = make(Policy.of({"api": Rate(1, 1.0)}))
    gov.acquire()
    r = gov.reserve()
    assert r.wait_s == pytest.approx(1.0)
    gov.cancel(r)
    assert gov.reserve().wait_s == pytest.approx(1.0)


def test_cancel_never_refunds_behind_a_later_reservation(make: Make) -> None:
    gov = make(Policy.of({"api": Rate(1, 1.0)}))
    first = gov.reserve()
    second = gov.reserve()
    gov.cancel(first)  # 'second' is queued behind it: the slot cannot be reused safely
    assert gov.reserve().wait_s == pytest.approx(second.wait_s + 1.0)


def test_cancel_gives_back_quota(make: Make) -> None:
    gov = make(Policy.of({"api": Rate(100, 1.0, burst=100)}, quota=DailyQuota(2)))
    a = gov.reserve()
    gov.reserve()
    gov.cancel(a)
    assert gov.try_acquire().allowed
    assert not gov.try_acquire().allowed


def test_weighted_cost_spends_several_tokens(make: Make, clock: ManualClock) -> None:
    gov = make(Policy.of({"api": Rate(10, 1.0, burst=10)}))
    assert gov.try_acquire(cost=6).remaining == 4
    denied = gov.try_acquire(cost=5)
    assert not denied.allowed
    assert denied.wait_s == pytest.approx(0.1)
    assert gov.try_acquire(cost=4).allowed


def test_cost_above_burst_waits_for_the_tokens_to_accrue(make: Make, clock: ManualClock) -> None:
    gov = make(Policy.of({"api": Rate(10, 1.0)}))  # burst 1
    assert gov.try_acquire().allowed
    r = gov.reserve(cost=5)
    assert r.wait_s == pytest.approx(0.5)  # 0.1 for the token in debt, 0.4 for 4 more


def test_cost_beyond_any_grant_is_refused(make: Make) -> None:
    gov = make(Policy.of({"api": Rate(10, 1.0)}))
    with pytest.raises(CostTooLarge):
        gov.try_acquire(cost=11)
    with pytest.raises(CostTooLarge):
        gov.try_acquire(cost=0)


def test_quota_exhausted_until_midnight_utc(make: Make, clock: ManualClock) -> None:
    gov = make(two_buckets(DailyQuota(3)))
    clock.set(DAY_START + 86_400 - 10)  # 23:59:50
    for _ in range(3):
        gov.acquire("GET /x")
    denied = gov.try_acquire("GET /x")
    assert (denied.allowed, denied.scope) == (False, "quota")
    assert denied.reset_at == DAY_START + 86_400
    with pytest.raises(QuotaExhausted) as info:
        gov.acquire("GET /x", timeout_s=5)
    assert "2026-01-02T00:00:00Z" in str(info.value)
    clock.set(DAY_START + 86_400 - 0.000_001)
    assert not gov.try_acquire("GET /x").allowed
    clock.set(DAY_START + 86_400)
    assert gov.try_acquire("GET /x").allowed


def test_acquire_waits_out_the_quota_when_the_timeout_allows(
    make: Make, clock: ManualClock
) -> None:
    gov = make(Policy.of({"api": Rate(10, 1.0)}, quota=DailyQuota(1)))
    clock.set(DAY_START + 86_400 - 2)
    gov.acquire()
    clock.slept_s.clear()
    d = gov.acquire(timeout_s=60)
    assert d.allowed
    assert clock.now_s() == pytest.approx(DAY_START + 86_400)
    assert sum(clock.slept_s) == pytest.approx(2.0)


def test_routes_without_quota_do_not_spend_it(make: Make) -> None:
    gov = make(two_buckets(DailyQuota(1)))
    for _ in range(3):
        assert gov.acquire("GET /free").allowed
    assert gov.acquire("GET /x").allowed


def test_reserve_is_held_for_high_priority(make: Make) -> None:
    gov = make(Policy.of({"api": Rate(100, 1.0, burst=100)}, quota=DailyQuota(5, reserve=2)))
    assert all(gov.try_acquire().allowed for _ in range(3))
    assert not gov.try_acquire().allowed
    assert gov.try_acquire(priority="high").allowed
    assert gov.try_acquire(priority="high").allowed
    assert not gov.try_acquire(priority="high").allowed


def test_quota_is_charged_to_the_day_the_call_happens(make: Make, clock: ManualClock) -> None:
    gov = make(Policy.of({"api": Rate(1, 10.0)}, quota=DailyQuota(1)))
    clock.set(DAY_START + 86_400 - 5)
    assert gov.reserve().wait_s == 0.0  # today's one call
    late = gov.reserve()  # its slot is 10 s later: tomorrow, so tomorrow's quota pays
    assert late.wait_s == pytest.approx(10.0)
    clock.set(DAY_START + 86_400 + 20)
    assert not gov.try_acquire().allowed  # tomorrow's single call is already reserved


def test_decisions_report_todays_quota_count(make: Make, clock: ManualClock) -> None:
    gov = make(two_buckets(DailyQuota(3)))
    assert gov.try_acquire("GET /x").quota_used == 1
    clock.advance(1.0)
    assert gov.try_acquire("GET /x").quota_used == 2
    assert gov.try_acquire("GET /x").quota_used == 2  # denied: the rate binds, nothing spent
    clock.advance(1.0)
    assert gov.try_acquire("GET /free").quota_used == -1  # spends no quota
    clock.advance(1.0)
    assert gov.try_acquire("GET /x").quota_used == 3
    clock.advance(1.0)
    denied = gov.try_acquire("GET /x")
    assert (denied.allowed, denied.scope, denied.quota_used) == (False, "quota", 3)
    clock.set(DAY_START + 86_400)
    assert gov.try_acquire("GET /x").quota_used == 1  # a new day


def test_a_reservation_for_tomorrow_leaves_todays_count(make: Make, clock: ManualClock) -> None:
    gov = make(Policy.of({"api": Rate(1, 10.0)}, quota=DailyQuota(2)))
    clock.set(DAY_START + 86_400 - 5)
    assert gov.reserve().decision.quota_used == 1
    assert gov.reserve().decision.quota_used == 1  # charged to tomorrow


def test_a_quota_debit_adds_to_the_floor(make: Make, clock: ManualClock) -> None:
    """``Adjustment.quota_debit``: calls spent without the shared state, written back."""
    gov = make(Policy.of({"api": Rate(100, 1.0, burst=100)}, quota=DailyQuota(10)))
    gov.try_acquire()
    now_us = clock.now_us()
    spec = gov.policy.spec("GET /x")

    def apply(adjustment: Adjustment) -> None:
        done = gov.backend.apply(gov.account.key, spec, adjustment)
        if gov.loop is not None:
            gov.loop.run_until_complete(done)

    apply(Adjustment(now_us, quota_used_floor=4, quota_debit=3))
    assert gov.try_acquire().quota_used == 4 + 3 + 1
    apply(Adjustment(now_us - 86_400_000_000, quota_used_floor=9, quota_debit=9))  # yesterday's
    assert gov.try_acquire().quota_used == 9


def test_accounts_are_independent(make: Make) -> None:
    policy = Policy.of({"api": Rate(1, 1.0)})
    a, b = make(policy, account="a"), make(policy, account="b")
    assert a.try_acquire().allowed
    assert b.try_acquire().allowed
    assert not a.try_acquire().allowed


def test_two_governors_share_one_account(make: Make) -> None:
    policy = Policy.of({"api": Rate(2, 1.0)})
    w1, w2 = make(policy), make(policy)
    assert w1.reserve().wait_s == 0.0
    assert w2.reserve().wait_s == pytest.approx(0.5)
    assert w1.reserve().wait_s == pytest.approx(1.0)


def test_limit_context_manager_acquires(make: Make, clock: ManualClock) -> None:
    gov = make(Policy.of({"api": Rate(1, 1.0)}))
    gov.acquire()
    cm = gov.limit("*")
    if gov.loop is None:
        with cm as decision:
            assert decision.wait_s == pytest.approx(1.0)
    else:

        async def use() -> float:
            async with cm as decision:
                wait: float = decision.wait_s
                return wait

        assert gov.loop.run_until_complete(use()) == pytest.approx(1.0)
