"""Pacing the daily quota (``governor.engine``, *Pacing*): tables, then properties."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from governor.engine import (
    NO_LIMIT_US,
    PACE,
    BucketSpec,
    BucketState,
    CallSpec,
    QuotaSpec,
    QuotaState,
    apply,
    decide,
)
from governor.reconcile import Adjustment

S = 1_000_000
DAY = 86_400 * S
T0 = 1_767_225_600 * S  # 2026-01-01T00:00:00Z
FAST = BucketSpec("api", S // 100, 1, 100)  # 100/s: never the binding scope here


def paced(limit: int, reserve: int = 0, burst: int = 1, end_h: float = 24.0) -> CallSpec:
    quota = QuotaSpec(limit, reserve, DAY, round(end_h * 3600 * S), burst)
    return CallSpec("r", (FAST,), quota)


def blocking(spec: CallSpec, bucket: list[BucketState], quota: QuotaState, now: int,
             high: bool = False) -> int:
    """What a blocking ``acquire`` does: decide, sleep a ``too_deep`` wait and decide again;
    the grant instant of the call (it then sleeps until it)."""
    while True:
        d = decide(spec, bucket, quota, 0, 1, high, now, NO_LIMIT_US)
        if d.allowed:
            return d.now_us + d.wait_us
        assert d.too_deep, d
        assert d.wait_us >= FAST.interval_us  # never polling faster than the interval
        now += d.wait_us


def test_a_backlog_at_the_day_start_is_spread_over_the_day() -> None:
    spec, quota, bucket = paced(24), QuotaState(), [BucketState()]
    grants, now = [], T0
    for _ in range(24):
        now = blocking(spec, bucket, quota, now)
        grants.append(now)
    assert grants[0] == T0  # the burst allowance: one call at once
    assert [g - T0 for g in grants[1:4]] == [3600 * S, 7200 * S, 10800 * S]  # one an hour
    assert grants[-1] == T0 + 23 * 3600 * S
    assert decide(spec, bucket, quota, 0, 1, False, T0, 0).scope == "quota"  # the day is spent


def test_a_call_the_pace_holds_is_not_booked_far_ahead_of_its_buckets() -> None:
    spec, quota, bucket = paced(24, reserve=2), QuotaState(), [BucketState()]
    assert decide(spec, bucket, quota, 0, 1, False, T0, NO_LIMIT_US).allowed
    held = decide(spec, bucket, quota, 0, 1, False, T0, NO_LIMIT_US)  # a blocking worker
    assert (held.allowed, held.too_deep, held.scope) == (False, True, PACE)
    slot = T0 + -(-DAY // 22)  # 22 normal calls a day, the 21 left after the first's slot
    assert held.now_us + held.wait_us == slot - FAST.interval_us  # come back an interval before
    assert (quota.used, quota.pace_us, bucket[0].tat_us) == (1, T0 + -(-DAY // 22),
                                                             T0 + FAST.interval_us)
    # so a password reset a second later goes at once, not after the booked hour
    high = decide(spec, bucket, quota, 0, 1, True, T0 + S, NO_LIMIT_US)
    assert (high.allowed, high.wait_us) == (True, 0)


def test_a_call_the_line_holds_back_is_denied_with_scope_pace_and_the_wait() -> None:
    spec, quota, bucket = paced(24), QuotaState(), [BucketState()]
    assert decide(spec, bucket, quota, 0, 1, False, T0, 0).allowed
    denied = decide(spec, bucket, quota, 0, 1, False, T0 + 600 * S, 0)
    assert (denied.allowed, denied.scope, denied.wait_us) == (False, PACE, 3000 * S)
    assert (quota.used, bucket[0].tat_us) == (1, T0 + S // 100)  # nothing spent
    assert decide(spec, bucket, quota, 0, 1, False, T0 + 3600 * S, 0).allowed


def test_spend_that_fell_behind_is_spread_over_the_rest_not_caught_up() -> None:
    spec, quota, bucket = paced(24), QuotaState(), [BucketState()]
    noon = T0 + 12 * 3600 * S
    grants = [blocking(spec, bucket, quota, noon) for _ in range(3)]
    assert [g - noon for g in grants] == [0, 1800 * S, 3600 * S]  # 24 in 12 h: one each 30 min


def test_high_priority_bypasses_the_pace_and_normal_calls_slow_down_after_it() -> None:
    spec, quota, bucket = paced(25, reserve=1), QuotaState(), [BucketState()]
    assert decide(spec, bucket, quota, 0, 1, False, T0, 0).allowed
    for _ in range(12):
        assert decide(spec, bucket, quota, 0, 1, True, T0, NO_LIMIT_US).allowed
    second = decide(spec, bucket, quota, 0, 1, False, T0, 0)
    assert (second.scope, second.wait_us) == (PACE, 3600 * S)  # its slot on the line holds
    assert blocking(spec, bucket, quota, T0) == T0 + 3600 * S
    # 24 normal calls a day less the 13 spent leave 11 for the 23 hours after that slot
    third = decide(spec, bucket, quota, 0, 1, False, T0 + 3600 * S, 0)
    assert third.wait_us == -(-(23 * 3600 * S) // 11)


def test_the_providers_count_moves_the_line() -> None:
    spec, quota, bucket = paced(24), QuotaState(), [BucketState()]
    assert decide(spec, bucket, quota, 0, 1, False, T0, 0).allowed
    six = T0 + 6 * 3600 * S
    apply(spec, bucket, quota, 0, Adjustment(six, quota_used_floor=18), six)  # SMTP spent 17
    d = decide(spec, bucket, quota, 0, 1, False, six, NO_LIMIT_US)
    assert d.allowed
    assert d.wait_us == 0  # behind the old line's anchor: the call goes, the line re-plans
    nxt = decide(spec, bucket, quota, 0, 1, False, six, 0)
    assert nxt.wait_us == 3 * 3600 * S  # the 6 left for the 18 hours to go: one every 3 hours
    on_time = decide(spec, bucket, quota, 0, 1, False, six + nxt.wait_us - 1, NO_LIMIT_US)
    assert (on_time.scope, on_time.remaining) == (PACE, 4)  # a paced call reports the calls left


def test_past_the_pace_end_the_line_is_flat_at_the_cap() -> None:
    spec, quota, bucket = paced(24, end_h=12.0), QuotaState(), [BucketState()]
    late = T0 + 13 * 3600 * S
    assert all(decide(spec, bucket, quota, 0, 1, False, late + i * S, 0).allowed
               for i in range(24))


def test_the_pace_day_is_the_quota_day_as_the_provider_states_it() -> None:
    spec, quota, bucket = paced(24), QuotaState(), [BucketState()]
    now = T0 + 3600 * S
    stated_reset = T0 + 6 * 3600 * S  # the provider's day ends at 06:00 UTC
    apply(spec, bucket, quota, 0, Adjustment(now, quota_reset_us=stated_reset), now)
    assert quota.shift_us == 6 * 3600 * S
    assert decide(spec, bucket, quota, 0, 1, False, now, 0).allowed
    d = decide(spec, bucket, quota, 0, 1, False, now, 0)
    assert d.wait_us == 5 * 3600 * S // 24  # the 24 spread over the 5 hours to its 06:00


def test_the_burst_allowance_lets_that_many_calls_go_at_once() -> None:
    spec = CallSpec("r", (BucketSpec("api", S // 100, 10, 100),),
                    QuotaSpec(2400, 0, DAY, DAY, 5))
    quota, bucket = QuotaState(), [BucketState()]
    ok = [decide(spec, bucket, quota, 0, 1, False, T0, 0) for _ in range(7)]
    assert [d.allowed for d in ok] == [True] * 5 + [False] * 2
    assert ok[-1].scope == PACE


# -- properties ------------------------------------------------------------------------------

arrivals = st.lists(
    st.tuples(
        st.integers(0, 3 * 3600 * S),  # time since the previous arrival
        st.sampled_from(["normal", "normal", "high", "provider"]),
        st.integers(1, 3),  # cost (the provider: calls counted out of band)
        st.sampled_from([0, 600 * S, 3 * 3600 * S, NO_LIMIT_US]),  # max wait
    ),
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(
    limit=st.integers(20, 400),
    reserve_share=st.floats(0, 0.4),
    burst=st.integers(3, 8),
    end_h=st.sampled_from([24.0, 18.0, 6.5]),
    arrivals=arrivals,
)
def test_a_paced_day_never_runs_ahead_of_its_line_nor_refuses_the_reserve(
    limit: int,
    reserve_share: float,
    burst: int,
    end_h: float,
    arrivals: list[tuple[int, str, int, int]],
) -> None:
    reserve = int(limit * reserve_share)
    spec = paced(limit, reserve, burst, end_h)
    q = spec.quota
    assert q is not None
    cap, span = limit - reserve, q.pace_end_us
    quota, bucket = QuotaState(), [BucketState()]
    normal: list[int] = []  # grant instants of normal calls, one per call
    now = T0
    for gap, lane, cost, max_wait in arrivals:
        now += gap
        if now >= T0 + DAY:
            break
        if lane == "provider":  # out-of-band spend the provider counts: the line follows
            seen = quota.used + cost
            apply(spec, bucket, quota, 0, Adjustment(now, quota_used_floor=seen), now)
            continue
        used_before = quota.used if quota.day == now // DAY else 0
        high = lane == "high"
        slot = max(now, bucket[0].tat_us + (cost - 1) * FAST.interval_us)  # the bucket's
        d = decide(spec, bucket, quota, 0, cost, high, now, NO_LIMIT_US if high else max_wait)
        if high:  # a high call that may wait its turn is never refused while the reserve lasts
            assert d.allowed == (used_before + cost <= limit), (d, used_before)
        elif d.allowed:
            normal += [d.now_us + d.wait_us] * cost
            # never booked far on the line: that would hold the bucket for high calls
            assert d.now_us + d.wait_us <= slot + FAST.interval_us
    grants = sorted(normal)
    assert len(grants) <= cap  # never more than limit - reserve for normal traffic
    for n, g in enumerate(grants, 1):
        if g < T0 + span:
            # n calls granted by g: at most the day's line at g plus the burst allowance
            # (the line's instants are rounded up to the next µs: the 1 below)
            assert n * span <= cap * (g + 1 - T0) + burst * span, (n, g - T0)
