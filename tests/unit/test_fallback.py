"""The failure policy: a breaker, and what a decision is when the shared backend is down."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pytest

from governor import BackendUnavailable, Governor, IndeterminateOutcome, ManualClock, Policy
from governor.backends.deferred import DeferredBackend
from governor.backends.fallback import FallbackBackend, _at_exit
from governor.backends.local import with_debit
from governor.backends.memory import MemoryBackend
from governor.breaker import CircuitBreaker
from governor.reconcile import Adjustment

if TYPE_CHECKING:
    from collections.abc import Sequence

    from governor.decision import Decision
    from governor.engine import CallSpec


class Flaky:
    """A primary that fails while ``down`` (before sending, or with a lost reply)."""

    def __init__(self, clock: ManualClock, lost_reply: bool = False) -> None:
        self.inner = MemoryBackend(clock)
        self.clock = clock
        self.down = False
        self.calls = 0
        self.lost_reply = lost_reply

    def _check(self) -> None:
        self.calls += 1
        if self.down:
            if self.lost_reply:
                raise IndeterminateOutcome("reply lost")
            raise BackendUnavailable("connection refused")

    def decide(self, account: str, spec: CallSpec, cost: int, high_priority: bool,
               max_wait_us: int, adjustment: Adjustment | None = None) -> Decision:
        self._check()
        return self.inner.decide(account, spec, cost, high_priority, max_wait_us, adjustment)

    def refund(self, account: str, spec: CallSpec, cost: int, marks: Sequence[int],
               priors: Sequence[int], quota_day: int) -> None:
        self._check()
        self.inner.refund(account, spec, cost, marks, priors, quota_day)

    def apply(self, account: str, spec: CallSpec, adjustment: Adjustment) -> None:
        self._check()
        self.inner.apply(account, spec, adjustment)

    def close(self) -> None:
        pass


def setup(mode: str = "degrade", fleet_size: int = 4, lost_reply: bool = False
          ) -> tuple[Governor, Flaky, FallbackBackend, ManualClock]:
    clock = ManualClock()
    primary = Flaky(clock, lost_reply)
    backend = FallbackBackend(primary, mode=mode, fleet_size=fleet_size,  # type: ignore[arg-type]
                              breaker=CircuitBreaker(3, 5.0))
    gov = Governor(Policy.of({"api": "8/second"}, quota="100/day"), backend, clock=clock)
    return gov, primary, backend, clock


def seen(gov: Governor, clock: ManualClock) -> None:
    """One shared call, half a second ago: this process has seen the day's count, so a
    degraded spell spends its share of what is left (rather than probing for the count)."""
    assert not gov.try_acquire().degraded
    clock.advance(0.5)


def test_breaker_opens_after_threshold_and_probes_after_reset() -> None:
    b = CircuitBreaker(3, 5.0)
    assert [b.failure(0.0) for _ in range(3)] == [False, False, True]
    assert b.state(1.0) == "open"
    assert not b.allow(1.0)
    assert b.allow(5.0)  # the half-open probe
    assert not b.allow(5.1)  # only one at a time
    assert not b.failure(5.2)  # failed probe: open again
    assert not b.allow(9.0)
    assert b.allow(10.3)
    assert b.success()
    assert b.state(10.4) == "closed"


def test_healthy_primary_decides_and_nothing_is_degraded() -> None:
    gov, primary, backend, _ = setup()
    assert not gov.try_acquire().degraded
    assert backend.stats.degraded == 0
    assert primary.calls == 1


@pytest.mark.parametrize("lost_reply", [False, True])
def test_degrade_decides_locally_on_the_process_share(lost_reply: bool) -> None:
    gov, primary, backend, clock = setup(fleet_size=4, lost_reply=lost_reply)
    seen(gov, clock)
    primary.down = True
    granted = 0
    for _ in range(400):  # 10 s
        d = gov.try_acquire()
        assert d.degraded
        granted += d.allowed
        clock.advance(0.025)
    assert granted == 20  # 8/s shared by 4 processes: 2/s for this one
    assert primary.calls == 1 + 4  # 3 failures opened the breaker; then one probe per 5 s
    assert backend.stats.opened == 1


def test_the_breaker_stops_asking_and_a_probe_brings_the_primary_back() -> None:
    gov, primary, _, clock = setup()
    primary.down = True
    for _ in range(5):
        gov.try_acquire()
    assert primary.calls == 3
    primary.down = False
    clock.advance(5.0)
    assert not gov.try_acquire().degraded  # the probe succeeded
    assert primary.calls == 4


def test_closed_policy_refuses_with_a_clear_error() -> None:
    gov, primary, _, _ = setup(mode="closed")
    primary.down = True
    with pytest.raises(BackendUnavailable, match="failure policy is 'closed'"):
        gov.try_acquire()


def test_closed_policy_reports_a_lost_reply_as_an_unknown_outcome() -> None:
    """``BackendUnavailable`` promises that nothing was spent; a lost reply cannot promise it."""
    gov, primary, _, _ = setup(mode="closed", lost_reply=True)
    primary.down = True
    for _ in range(3):  # the breaker's threshold: each of these reached the primary
        with pytest.raises(IndeterminateOutcome, match="may or may not have counted"):
            gov.try_acquire()
    with pytest.raises(BackendUnavailable, match="failure policy is 'closed'"):
        gov.try_acquire()  # the breaker is open: this one was never sent
    assert primary.calls == 3


def test_open_policy_allows_every_call_and_says_so() -> None:
    gov, primary, backend, _ = setup(mode="open")
    primary.down = True
    decisions = [gov.try_acquire() for _ in range(50)]
    assert all(d.allowed and d.degraded for d in decisions)
    assert backend.stats.degraded == 50


def test_the_transition_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    gov, primary, _, clock = setup()
    primary.down = True
    with caplog.at_level(logging.WARNING, logger="governor"):
        for _ in range(10):
            gov.try_acquire()
        primary.down = False
        clock.advance(5.0)
        gov.try_acquire()
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "deciding with policy 'degrade'" in messages[0]
    assert "back" in messages[1]


def test_a_local_reservation_is_cancelled_locally() -> None:
    gov, primary, _, clock = setup(fleet_size=8)  # 1 per second locally
    seen(gov, clock)
    primary.down = True
    for _ in range(3):
        gov.try_acquire()
    r = gov.reserve()
    assert r.decision.degraded
    gov.cancel(r)
    assert gov.reserve().wait_s == pytest.approx(r.wait_s)


# The daily quota across a degraded spell: 100 a day, four processes, 8/s (2/s locally).

def _spend(gov: Governor, clock: ManualClock, calls: int) -> int:
    """Try ``calls`` calls half a second apart (no rate binds); how many were allowed."""
    allowed = 0
    for _ in range(calls):
        allowed += bool(gov.try_acquire())
        clock.advance(0.5)
    return allowed


def test_degraded_spends_only_a_share_of_what_the_fleet_left() -> None:
    gov, primary, backend, clock = setup(fleet_size=4)
    assert _spend(gov, clock, 60) == 60  # shared
    primary.down = True
    assert _spend(gov, clock, 30) == 10  # (100 - 60) // 4, not a fresh 100 // 4
    assert backend.stats.degraded == 30


def test_a_spent_quota_stays_spent_while_degraded() -> None:
    gov, primary, _, clock = setup(fleet_size=4)
    assert _spend(gov, clock, 120) == 100
    primary.down = True
    assert _spend(gov, clock, 10) == 0


@pytest.mark.parametrize("state_lost", [False, True])
def test_local_spend_is_written_back_once_with_the_first_shared_call(state_lost: bool) -> None:
    gov, primary, _, clock = setup(fleet_size=4)
    _spend(gov, clock, 60)
    primary.down = True
    assert _spend(gov, clock, 4) == 4
    primary.down = False
    if state_lost:  # Redis restarted empty: the last count seen comes back as a floor
        primary.inner = MemoryBackend(clock)
    clock.advance(5.0)  # the breaker's probe
    first = gov.try_acquire()
    assert not first.degraded
    assert first.quota_used == 60 + 4 + 1
    clock.advance(0.5)
    assert gov.try_acquire().quota_used == 66  # the debit went once


def test_a_debit_outlives_a_failed_probe() -> None:
    gov, primary, _, clock = setup(fleet_size=4)
    seen(gov, clock)
    primary.down = True
    assert _spend(gov, clock, 3) == 3
    clock.advance(5.0)
    assert gov.try_acquire().degraded  # the probe failed before anything was sent
    primary.down = False
    clock.advance(5.0)
    assert gov.try_acquire().quota_used == 1 + 4 + 1


def test_the_open_policy_writes_back_what_it_let_through() -> None:
    gov, primary, _, clock = setup(mode="open")
    primary.down = True
    assert _spend(gov, clock, 5) == 5
    primary.down = False
    clock.advance(5.0)
    assert gov.try_acquire().quota_used == 6


def test_a_reconciled_quota_count_applies_to_the_local_share() -> None:
    gov, primary, backend, clock = setup(fleet_size=4)
    primary.down = True
    gov.try_acquire()
    # The provider says 92 of 100 are spent: this process may send (100 - 92) // 4 = 2 more,
    # not 25 - 92 (none) nor 25.
    backend.apply(gov.account.key, gov.policy.spec("api"),
                  Adjustment(clock.now_us(), quota_used_floor=92))
    clock.advance(0.5)
    assert _spend(gov, clock, 10) == 2


DAY_S = 86_400


def _near_midnight(fleet_size: int = 4) -> tuple[Governor, Flaky, ManualClock]:
    clock = ManualClock()
    clock.set((clock.now_s() // DAY_S + 1) * DAY_S - 2.0)  # two seconds before 00:00 UTC
    primary = Flaky(clock)
    backend = FallbackBackend(primary, fleet_size=fleet_size, breaker=CircuitBreaker(1, 0.1))
    gov = Governor(Policy.of({"api": "8/second"}, quota="100/day"), backend, clock=clock)
    return gov, primary, clock


def test_reservations_for_tomorrow_keep_todays_local_spend() -> None:
    gov, primary, clock = _near_midnight()  # locally 2/s: one call every 0.5 s
    gov.try_acquire()  # shared: the day's count is seen
    primary.down = True
    grants = [gov.reserve().wait_s for _ in range(5)]
    assert grants == [0.5, 1.0, 1.5, 2.0, 2.5]  # the last two go after midnight
    primary.down = False
    clock.advance(0.2)  # still today; the breaker's probe is due
    back = gov.try_acquire()  # behind the five local calls, which the shared bucket counts
    assert not back.allowed
    assert back.quota_used == 1 + 3  # today's three local ones, not wiped by tomorrow's


def test_a_call_worth_more_than_the_share_is_counted_whole() -> None:
    gov, primary, clock = _near_midnight(fleet_size=8)  # locally 1/s, burst 1
    clock.advance(3600)  # well into a new day
    primary.down = True
    degraded = gov.try_acquire(cost=5)
    assert (degraded.allowed, degraded.cost) == (True, 5)
    primary.down = False
    clock.advance(5.0)  # the shared bucket counts the spell up to this process's next local slot
    assert gov.try_acquire().quota_used == 5 + 1


def test_the_providers_count_replaces_the_debit() -> None:
    debit = Adjustment(10, quota_used_floor=40, quota_debit=6)
    provider = Adjustment(0, "api", quota_used_floor=52)
    merged = with_debit(provider, debit)
    assert (merged.quota_used_floor, merged.quota_debit, merged.bucket) == (52, 0, "api")
    rate_only = Adjustment(0, "api", min_tat_us=5)
    merged = with_debit(rate_only, debit)
    assert (merged.quota_used_floor, merged.sent_at_us, merged.quota_debit) == (40, 10, 6)
    assert merged.min_tat_us == 5
    assert with_debit(None, debit) is debit
    new_day = Adjustment(0, quota_used_floor=3, quota_reset_us=99)
    assert with_debit(new_day, debit) is new_day


class Cancelled(BaseException):
    """What a cancelled task or an interrupt looks like to the backend."""


def test_a_cancelled_probe_frees_the_next_one(monkeypatch: pytest.MonkeyPatch) -> None:
    gov, primary, _, clock = setup()
    primary.down = True
    for _ in range(3):
        gov.try_acquire()
    clock.advance(5.0)

    def cancelled(*args: object) -> Decision:
        raise Cancelled

    primary.down = False
    with monkeypatch.context() as patch:
        patch.setattr(primary.inner, "decide", cancelled)
        with pytest.raises(Cancelled):
            gov.try_acquire()
    assert not gov.try_acquire().degraded  # probes at once, not another 5 s later


def test_a_backend_that_cannot_be_made_yet_degrades_until_it_can() -> None:
    clock = ManualClock()
    made: list[MemoryBackend] = []

    def make() -> MemoryBackend:
        if len(made) == 0 and clock.now_s() < start + 1.0:
            raise BackendUnavailable("no startup node of the Redis Cluster answered")
        made.append(MemoryBackend(clock))
        return made[-1]

    start = clock.now_s()
    backend = FallbackBackend(DeferredBackend(make), fleet_size=2,
                              breaker=CircuitBreaker(1, 0.5), clock=clock)
    gov = Governor(Policy.of({"api": "8/second"}), backend, clock=clock)
    assert gov.try_acquire().degraded
    assert "not yet made" in repr(backend.primary)
    clock.advance(1.0)
    assert not gov.try_acquire().degraded  # the probe made it
    assert len(made) == 1
    assert not gov.try_acquire("x").degraded
    assert len(made) == 1  # made once
    gov.close()


# Local spend on the buckets (8/s shared, 2/s locally with four processes).

def _fleet(fleet_size: int = 4, threshold: int = 3) -> tuple[list[Governor], Flaky, ManualClock]:
    """``fleet_size`` processes, each with its own fallback, sharing one flaky primary."""
    clock = ManualClock()
    primary = Flaky(clock)
    policy = Policy.of({"api": "8/second"}, quota="1000/day")
    govs = [Governor(policy, FallbackBackend(primary, fleet_size=fleet_size,
                                             breaker=CircuitBreaker(threshold, 5.0)),
                     clock=clock)
            for _ in range(fleet_size)]
    return govs, primary, clock


def test_switching_to_local_decisions_costs_no_burst() -> None:
    """The first local call after shared ones starts from this process's last shared grant: it
    waits one local interval (0.5 s) after it, not zero."""
    gov, primary, _, _ = setup(fleet_size=4)
    assert not gov.reserve().decision.degraded
    primary.down = True
    first_local = gov.reserve().decision
    assert first_local.degraded
    assert first_local.wait_s == pytest.approx(0.5)


def test_calls_decided_on_isolated_failures_count_on_top_of_the_shared_bucket() -> None:
    """A flapping link (failures too few to open the breaker): the local grants came in
    addition to the others' shared ones, so the shared bucket counts them when it answers."""
    govs, primary, clock = _fleet(threshold=100)
    flapper, other = govs[0], govs[1]
    assert not flapper.try_acquire().degraded
    clock.advance(0.5)
    booked = [other.reserve().wait_s for _ in range(8)]  # the others keep the bucket busy
    assert booked[-1] == pytest.approx(0.875)
    primary.down = True
    assert flapper.try_acquire().degraded  # one isolated failure: one call on its own
    primary.down = False
    back = flapper.reserve().decision  # carries it back: one more interval behind the others
    assert not back.degraded
    assert back.wait_s == pytest.approx(0.875 + 2 * 0.125)


def test_calls_decided_in_a_spell_fill_the_time_the_bucket_had_free() -> None:
    """Every process decides alone for 2 s (the breaker opens): each spends its quarter. Back,
    the shared bucket counts them as the time they filled, not one after the other on top."""
    govs, primary, clock = _fleet(threshold=1)
    for gov in govs:
        gov.try_acquire()
    primary.down = True
    for _ in range(4):  # 2 s in steps of 0.5 s: each process's share is 2/s
        for gov in govs:
            assert gov.try_acquire().degraded
        clock.advance(0.5)
    primary.down = False
    clock.advance(5.0)  # every breaker probes
    waits = [gov.reserve().wait_s for gov in govs]
    assert waits == pytest.approx([0.0, 0.125, 0.25, 0.375])  # spaced, no fleet-wide debt


def test_back_from_a_spell_the_fleet_goes_on_at_the_local_pace_without_a_burst() -> None:
    """Every process decides alone (the breaker opens at once, probes after 0.1 s); back on
    the shared state mid-way through their local intervals, the first shared grant comes at
    the slot the process's share would have given next, not at once: the fleet's local shares
    were spending the whole limit, so a free call at the switch would be one too many."""
    clock = ManualClock()
    primary = Flaky(clock)
    policy = Policy.of({"api": "8/second"}, quota="1000/day")
    govs = [Governor(policy, FallbackBackend(primary, fleet_size=4,
                                             breaker=CircuitBreaker(1, 0.1)), clock=clock)
            for _ in range(4)]
    for gov in govs:
        gov.try_acquire()
    primary.down = True
    local = [[gov.reserve().wait_s for _ in range(4)] for gov in govs]  # each its 2/s share
    next_local = [w[-1] + 0.5 for w in local]
    primary.down = False
    clock.advance(0.3)
    waits = [gov.reserve().wait_s for gov in govs]
    assert all(w >= n - 0.3 - 1e-6 for w, n in zip(waits, next_local, strict=True)), (
        waits, next_local)


def test_close_writes_local_spend_back_so_a_new_process_sees_what_is_left() -> None:
    """A process that stops after deciding alone (it never decides again) writes its spend
    back on close; quota spent by it is not offered again."""
    gov, primary, _, clock = setup(fleet_size=1)
    assert _spend(gov, clock, 60) == 60
    primary.down = True
    assert _spend(gov, clock, 10) == 10
    primary.down = False
    clock.advance(5.0)
    gov.close()
    newcomer = Governor(Policy.of({"api": "8/second"}, quota="100/day"),
                        FallbackBackend(primary), clock=clock)
    assert newcomer.try_acquire().quota_used == 71


def test_recovery_writes_back_what_other_routes_spent_at_once() -> None:
    clock = ManualClock()
    primary = Flaky(clock)
    policy = Policy.of({"a": "8/second", "b": "8/second"}, {"GET /a": ["a"], "GET /b": ["b"]},
                       quota="100/day")
    gov = Governor(policy, FallbackBackend(primary, fleet_size=4,
                                           breaker=CircuitBreaker(1, 5.0)), clock=clock)
    gov.try_acquire("GET /a")
    primary.down = True
    for _ in range(3):
        gov.try_acquire("GET /b")  # spent alone on route b
        clock.advance(0.5)
    primary.down = False
    clock.advance(5.0)
    assert not gov.try_acquire("GET /a").degraded  # the first shared call, of route a
    spec = policy.spec("GET /b")
    assert primary.inner.decide(gov.account.key, spec, 1, False, 0).quota_used == 1 + 3 + 1 + 1


def test_spend_left_at_exit_is_written_back() -> None:
    gov, primary, backend, clock = setup(fleet_size=1)
    gov.try_acquire()
    primary.down = True
    for _ in range(3):
        clock.advance(0.5)
        assert gov.try_acquire().degraded
    primary.down = False
    clock.advance(5.0)
    _at_exit()
    assert not backend._fb.ledger
    assert primary.inner.decide(gov.account.key, gov.policy.spec("*"), 1, False,
                                0).quota_used == 1 + 3 + 1


# The day's count when the shared state cannot say it.

def test_a_process_that_never_saw_the_count_probes_for_it_before_spending_its_share() -> None:
    """Degraded from its start (Redis down when it came up), a process does not know how much
    of the day is spent: one call goes, and its response's count sets the share."""
    gov, primary, _, clock = setup(fleet_size=4)
    primary.down = True
    assert gov.try_acquire().allowed  # the probe
    held = gov.try_acquire()
    assert (held.allowed, held.scope, held.wait_s, held.degraded) == (False, "quota", 1.0, True)
    gov.observe("*", 200, {"x-apiquota-remaining": "20"})  # the provider counted 80
    clock.advance(0.5)
    assert _spend(gov, clock, 10) == 20 // 4  # its share of what is left (the probe counted)


def test_after_an_outage_the_first_shared_call_restores_the_count_a_restart_lost() -> None:
    """Redis restarted empty while this process had nothing spent on its own (only a pause to
    write, which failed): the first shared call carries the last count it saw, so the empty
    state does not offer the day again."""
    gov, primary, _, clock = setup(fleet_size=4)
    assert _spend(gov, clock, 60) == 60
    primary.down = True
    gov.observe("*", 503, {"retry-after": "1"})  # the pause is not written: in doubt now
    primary.inner = MemoryBackend(clock)
    primary.down = False
    clock.advance(1.0)
    assert gov.try_acquire().quota_used == 60 + 1


def test_a_count_lost_without_a_failure_is_noticed_and_restored() -> None:
    gov, primary, _, clock = setup(fleet_size=4)
    assert _spend(gov, clock, 60) == 60
    primary.inner = MemoryBackend(clock)  # restarted between two calls: no failure seen
    assert gov.try_acquire().quota_used == 1  # decided on the empty state ...
    clock.advance(0.5)
    assert gov.try_acquire().quota_used == 60 + 1 + 1  # ... and the next call restores it


@pytest.mark.parametrize(("remaining", "alone"), [(2, 0), (3, 0), (8, 2), (40, 10)])
def test_a_process_deciding_alone_takes_its_share_of_what_the_provider_says_is_left(
    remaining: int, alone: int,
) -> None:
    """The provider says ``remaining`` calls are left until its reset, 20 s away; a process cut
    off from Redis (one of 4) takes a quarter of them, so with fewer than 4 left it leaves them
    to the processes that still share the bucket instead of each taking one more."""
    clock = ManualClock()
    primary = Flaky(clock)
    backend = FallbackBackend(primary, fleet_size=4, breaker=CircuitBreaker(3, 5.0))
    gov = Governor(Policy.of({"api": "120/minute"}), backend, clock=clock)
    seen(gov, clock)
    primary.down = True
    assert gov.try_acquire().degraded  # the switch to local decisions is behind us
    clock.advance(10.0)
    spec = gov.policy.spec("api")
    bucket = spec.buckets[0]
    reset_us = clock.now_us() + 20_000_000
    floor = reset_us - (remaining - bucket.burst + 1) * bucket.interval_us  # reconcile's rule 2
    backend.apply(gov.account.key, spec, Adjustment(clock.now_us(), bucket=bucket.name,
                                                    min_tat_us=floor))
    slots = [clock.now_us() + backend.decide(gov.account.key, spec, 1, False, 10**12).wait_us
             for _ in range(alone + 3)]
    assert sum(slot < reset_us for slot in slots) == alone
