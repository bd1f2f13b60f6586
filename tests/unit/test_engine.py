"""Properties of the pure decision engine (``governor/engine.py``), on integer microseconds."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from governor.engine import (
    NO_LIMIT_US,
    BucketSpec,
    BucketState,
    CallSpec,
    QuotaSpec,
    QuotaState,
    decide,
    refund,
)

S = 1_000_000
DAY = 86_400 * S
T0 = 20_454 * DAY  # a UTC midnight (2026-01-01)


def bucket(limit: int, period_s: float, burst: int = 1, name: str = "b") -> BucketSpec:
    interval = -(-round(period_s * S) // limit)
    return BucketSpec(name, interval, burst, limit)


def grants_in_windows(grants: list[tuple[int, int]], period_us: int) -> int:
    """The most tokens granted within any half-open window [t, t + period)."""
    grants.sort()
    most = 0
    for i, (start, _) in enumerate(grants):
        total = sum(c for t, c in grants[i:] if t < start + period_us)
        most = max(most, total)
    return most


arrivals = st.lists(
    st.tuples(st.integers(0, 3 * S), st.integers(1, 5), st.booleans()), min_size=1, max_size=80
)


@settings(max_examples=300, deadline=None)
@given(
    arrivals=arrivals,
    limit=st.integers(5, 30),
    burst=st.integers(1, 10),
    max_wait_s=st.sampled_from([0, 1, 5, None]),
)
def test_no_window_holds_more_than_limit_plus_burst(
    arrivals: list[tuple[int, int, bool]], limit: int, burst: int, max_wait_s: int | None
) -> None:
    b = bucket(limit, 1.0, burst)
    spec = CallSpec("r", (b,), None)
    state = BucketState()
    now = T0
    grants: list[tuple[int, int]] = []
    max_wait = NO_LIMIT_US if max_wait_s is None else max_wait_s * S
    for gap, cost, _ in arrivals:
        now += gap
        v = decide(spec, [state], None, 0, cost, False, now, max_wait)
        if v.allowed:
            grants.append((now + v.wait_us, cost))
    assert grants_in_windows(grants, 1 * S) <= limit + burst - 1


@settings(max_examples=200, deadline=None)
@given(arrivals=arrivals, timeout_us=st.integers(0, 4 * S))
def test_a_grant_never_waits_longer_than_the_timeout(
    arrivals: list[tuple[int, int, bool]], timeout_us: int
) -> None:
    spec = CallSpec("r", (bucket(10, 1.0, 3),), QuotaSpec(1000, 0, DAY))
    state, quota = BucketState(), QuotaState()
    now = T0
    for gap, cost, _ in arrivals:
        now += gap
        v = decide(spec, [state], quota, 0, cost, False, now, timeout_us)
        assert (v.wait_us <= timeout_us) == v.allowed or v.scope == "quota"


@settings(max_examples=200, deadline=None)
@given(arrivals=arrivals)
def test_denied_decisions_change_nothing(arrivals: list[tuple[int, int, bool]]) -> None:
    spec = CallSpec("r", (bucket(10, 1.0, 3, "a"), bucket(4, 1.0, 2, "b")), QuotaSpec(20, 5, DAY))
    states, quota = [BucketState(), BucketState()], QuotaState()
    now = T0
    for gap, cost, high in arrivals:
        now += gap
        before = ([BucketState(s.tat_us, s.pause_until_us) for s in states], replace(quota))
        v = decide(spec, states, quota, 0, min(cost, 2), high, now, S // 2)
        if not v.allowed:
            assert (states, quota) == before


@settings(max_examples=200, deadline=None)
@given(arrivals=arrivals)
def test_cancelling_the_latest_reservation_restores_the_state(
    arrivals: list[tuple[int, int, bool]],
) -> None:
    spec = CallSpec("r", (bucket(10, 1.0, 3, "a"), bucket(4, 1.0, 2, "b")), QuotaSpec(50, 5, DAY))
    states, quota = [BucketState(), BucketState()], QuotaState()
    now = T0
    for gap, cost, high in arrivals:
        now += gap
        before = ([BucketState(s.tat_us, s.pause_until_us) for s in states], replace(quota))
        v = decide(spec, states, quota, 0, min(cost, 2), high, now, NO_LIMIT_US)
        if v.allowed and high:  # cancel every high-priority reservation at once
            refund(spec, states, quota, min(cost, 2), v.marks, v.priors, v.quota_day, now)
            assert [s.tat_us for s in states] == [s.tat_us for s in before[0]]
            assert quota.used == before[1].used or quota.day != before[1].day


def test_quota_resets_exactly_at_midnight_utc() -> None:
    spec = CallSpec("r", (), QuotaSpec(2, 0, DAY))
    quota = QuotaState()
    midnight = T0 + DAY
    assert decide(spec, [], quota, 0, 2, False, midnight - 1, 0).allowed
    denied = decide(spec, [], quota, 0, 1, False, midnight - 1, 0)
    assert (denied.allowed, denied.scope, denied.reset_us, denied.wait_us) == (
        False, "quota", midnight, 1)
    assert decide(spec, [], quota, 0, 1, False, midnight, 0).allowed


def test_quota_day_is_a_calendar_day_not_24h_from_the_first_call() -> None:
    spec = CallSpec("r", (), QuotaSpec(1, 0, DAY))
    quota = QuotaState()
    first = T0 + 23 * 3600 * S  # 23:00 UTC
    assert decide(spec, [], quota, 0, 1, False, first, 0).allowed
    assert not decide(spec, [], quota, 0, 1, False, T0 + DAY - 1, 0).allowed
    assert decide(spec, [], quota, 0, 1, False, T0 + DAY + 3600 * S, 0).allowed  # 01:00 next day


def test_state_skipping_days_starts_from_zero() -> None:
    spec = CallSpec("r", (), QuotaSpec(1, 0, DAY))
    quota = QuotaState(day=T0 // DAY, used=1, next_used=1)
    assert decide(spec, [], quota, 0, 1, False, T0 + 3 * DAY, 0).allowed


def test_account_pause_holds_every_call_and_is_the_scope() -> None:
    spec = CallSpec("r", (bucket(10, 1.0),), None)
    v = decide(spec, [BucketState()], None, T0 + 7 * S, 1, False, T0, NO_LIMIT_US)
    assert (v.allowed, v.wait_us, v.scope, v.reset_us) == (True, 7 * S, "pause", T0 + 7 * S)
    denied = decide(spec, [BucketState()], None, T0 + 7 * S, 1, False, T0, 6 * S)
    assert (denied.allowed, denied.scope) == (False, "pause")


def test_bucket_pause_holds_only_its_bucket() -> None:
    spec = CallSpec("r", (bucket(10, 1.0, name="a"), bucket(10, 1.0, name="b")), None)
    states = [BucketState(), BucketState(pause_until_us=T0 + 3 * S)]
    v = decide(spec, states, None, 0, 1, False, T0, NO_LIMIT_US)
    assert (v.wait_us, v.scope) == (3 * S, "b")
    other = CallSpec("r2", (bucket(10, 1.0, name="a"),), None)
    assert decide(other, [BucketState()], None, 0, 1, False, T0, 0).allowed


def test_queued_callers_after_a_pause_get_successive_slots() -> None:
    spec = CallSpec("r", (bucket(2, 1.0),), None)
    state = BucketState()
    waits = [decide(spec, [state], None, T0 + 5 * S, 1, False, T0, NO_LIMIT_US).wait_us
             for _ in range(3)]
    assert waits == [5 * S, 5 * S + S // 2, 6 * S]  # no thundering herd at the pause's end


@settings(max_examples=500, deadline=None)
@given(
    limit=st.integers(1, 50),
    burst=st.integers(1, 10),
    learned=st.integers(0, 3 * S),
    calls=st.lists(
        st.tuples(
            st.integers(0, 2 * S),  # time since the previous call
            st.integers(1, 12),  # cost
            st.integers(0, 3 * S),  # max wait
            st.integers(0, 2 * S),  # a bucket pause ahead of now (0: none)
            st.integers(0, 2 * S),  # an account pause ahead of now (0: none)
        ),
        min_size=1,
        max_size=40,
    ),
)
def test_the_single_bucket_path_decides_as_the_general_one(
    limit: int, burst: int, learned: int, calls: list[tuple[int, int, int, int, int]]
) -> None:
    b = bucket(limit, 1.0, burst)
    fast = CallSpec("r", (b,), None)
    general = CallSpec("r", (b,), None)
    object.__setattr__(general, "single", None)  # force the loop over every scope
    assert fast.single is b
    states = [BucketState(interval_us=learned)], [BucketState(interval_us=learned)]
    now = T0
    for gap, cost, max_wait, bucket_pause, account_pause in calls:
        now += gap
        for state in states:
            state[0].pause_until_us = max(state[0].pause_until_us,
                                          now + bucket_pause if bucket_pause else 0)
        pause = now + account_pause if account_pause else 0
        one = decide(fast, states[0], None, pause, cost, False, now, max_wait)
        other = decide(general, states[1], None, pause, cost, False, now, max_wait)
        assert one == other
        assert states[0] == states[1]
