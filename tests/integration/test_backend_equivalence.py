"""Property: for any sequence of calls on a manual clock, the Lua scripts and the engine agree.

The same random sequence of decisions, refunds, pauses and clock moves runs on a
:class:`MemoryBackend` (the reference) and on a Redis backend (fakeredis, and a real server);
every verdict must be identical, down to the marks a refund needs.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import fakeredis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governor import DailyQuota, ManualClock, MemoryBackend, Rate
from governor.backends.redis import RedisBackend
from governor.engine import NO_LIMIT_US
from governor.policy import Policy
from governor.reconcile import Adjustment
from governor.routing import Route

if TYPE_CHECKING:
    from collections.abc import Callable

    from governor.decision import Decision

POLICY = Policy(
    {"a": Rate(5, 1.0, burst=2), "b": Rate(20, 60.0), "c": Rate(3, 60.0, burst=3)},
    [
        Route("GET", "/a", ("a",)),
        Route("POST", "/ab", ("a", "b")),
        Route("POST", "/abc", ("a", "b", "c")),
        Route("GET", "/free", ("c",), quota=False),
        Route("GET", "/quota-only", ()),
    ],
    DailyQuota(12, reserve=3),
    time_scale=6.0,  # a minute of 6 s, a quota day of 2.4 h
)
# The same scopes with the day paced (over 18 hours, a burst of 3: a call every 4.3 s), and
# with lanes on too (normal calls booking at most 20 intervals ahead, low ones 5).
PACED = Policy(
    POLICY.buckets, POLICY.router.routes, DailyQuota(2000, reserve=200), time_scale=6.0,
    pacing=True, pace_until_h=18.0, pace_burst=3,
)
LANES = Policy(
    POLICY.buckets, POLICY.router.routes, DailyQuota(2000, reserve=200), time_scale=6.0,
    pacing=True, pace_until_h=18.0, pace_burst=3, lane_horizon=20.0, low_share=0.75,
)
POLICIES = {"plain": POLICY, "paced": PACED, "lanes": LANES}
ROUTES = ["GET /a", "POST /ab", "POST /abc", "GET /free", "GET /quota-only"]
DAY_US = 8_640_000_000

decide_op = st.tuples(
    st.just("decide"),
    st.sampled_from(ROUTES),
    st.integers(1, 4),
    st.sampled_from(["normal", "high", "low"]),
    st.sampled_from([0, 100_000, 2_000_000, 300_000_000, NO_LIMIT_US]),
)
refund_op = st.tuples(st.just("refund"), st.integers(0, 30))
advance_op = st.tuples(
    st.just("advance"),
    st.one_of(st.integers(0, 3_000_000), st.integers(0, DAY_US // 20),
              st.integers(DAY_US // 3, DAY_US * 3)),
)
# A reconcile adjustment, applied at once or riding along with a decision, planned on a clock
# ``skew`` off the backend's (within a day either way; 0 with a stamp of 0: the instants are on
# the backend's clock already). Times are offsets from the planner's now.
adjust_op = st.tuples(
    st.just("adjust"),
    st.booleans(),  # at once (apply) or with the next decision
    st.integers(-2_000_000, 2_000_000),  # sent_at
    st.sampled_from(["a", "b", "c", "zzz"]),
    st.sampled_from([0, 1_000_000, 3_000_000]),  # min_tat
    st.sampled_from([0, 150_000, 2_500_000, 30_000_000]),  # interval
    st.booleans(),  # relax
    st.sampled_from([0, 1_500_000]),  # bucket pause
    st.sampled_from([0, 800_000]),  # account pause
    st.integers(0, 14),  # quota used floor
    st.one_of(st.none(), st.integers(-20, 20)),  # quota base
    st.one_of(  # quota reset: none, stale, near the day's end, a day away, beyond
        st.just(0),
        st.sampled_from([-1_000_000, 29_000_000, 30_000_000, 31_500_000, 33_000_000,
                         DAY_US, DAY_US + 30_000_000, DAY_US + 40_000_000]),
        st.integers(1, DAY_US + 3_000_000),
    ),
    st.integers(1, 3),  # relax after
    st.integers(0, 3),  # quota debit
    st.one_of(st.none(), st.integers(-86_400_000_000, 86_400_000_000)),  # skew (None: no stamp)
    st.integers(0, 3),  # spent on their own
    st.sampled_from([0, -5_000_000, -500_000]),  # spent from
    st.booleans(),  # spent on top
)
pause_op = st.tuples(
    st.just("pause"), st.sampled_from([None, "a", "b"]), st.integers(-1_000_000, 4_000_000)
)
OPS = st.lists(
    st.one_of(decide_op, decide_op, refund_op, advance_op, pause_op, adjust_op), max_size=40
)


def _run(
    ops: list[tuple[Any, ...]], backend_for: Callable[[ManualClock], Any], policy: Policy = POLICY
) -> None:
    clock = ManualClock(1_767_225_600.0 - 30.0)  # shortly before a UTC midnight
    reference = MemoryBackend(clock)
    backend = backend_for(clock)
    granted: list[tuple[str, int, Decision]] = []
    try:
        for op in ops:
            if op[0] == "decide":
                _, route, cost, lane, max_wait = op
                spec = policy.spec(route)
                if lane == "low":
                    spec = spec.low
                high = lane == "high"
                expected = reference.decide("acct", spec, cost, high, max_wait)
                got = backend.decide("acct", spec, cost, high, max_wait)
                assert got == expected, op
                if expected.allowed:
                    granted.append((route, cost, expected))
            elif op[0] == "refund" and granted:
                route, cost, v = granted[op[1] % len(granted)]
                args = ("acct", policy.spec(route), cost, v.marks, v.priors, v.quota_day)
                reference.refund(*args)
                backend.refund(*args)
            elif op[0] == "advance":
                clock.advance(op[1] / 1_000_000)
            elif op[0] == "pause":
                until_us = clock.now_us() + op[2]
                reference.pause("acct", until_us, op[1])
                backend.pause("acct", until_us, op[1])
            elif op[0] == "adjust":
                skew = op[14] or 0
                now = clock.now_us() + skew  # the planner's clock
                adjustment = Adjustment(
                    now + op[2], op[3], now + op[4] if op[4] else 0, op[5], op[6],
                    now + op[7] if op[7] else 0, now + op[8] if op[8] else 0, op[9],
                    op[10], now + op[11] if op[11] else 0, relax_after=op[12],
                    quota_debit=op[13], stamp_us=0 if op[14] is None else now,
                    spent=op[15], spent_from_us=now + op[16] if op[16] else 0,
                    spent_on_top=op[17],
                )
                spec = policy.spec("POST /abc")
                if op[1]:
                    reference.apply("acct", spec, adjustment)
                    backend.apply("acct", spec, adjustment)
                else:
                    expected = reference.decide("acct", spec, 1, False, 0, adjustment)
                    assert backend.decide("acct", spec, 1, False, 0, adjustment) == expected
    finally:
        backend.close()


@pytest.mark.parametrize("policy", list(POLICIES))
@settings(max_examples=150, deadline=None)
@given(ops=OPS)
def test_lua_matches_the_engine_on_fakeredis(policy: str, ops: list[tuple[Any, ...]]) -> None:
    server = fakeredis.FakeServer()
    _run(ops, lambda clock: RedisBackend(fakeredis.FakeRedis(server=server), clock=clock),
         POLICIES[policy])


@pytest.mark.redis
@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@pytest.mark.parametrize("policy", list(POLICIES))
@given(ops=OPS)
def test_lua_matches_the_engine_on_a_real_server(
    redis_url: str, policy: str, ops: list[tuple[Any, ...]]
) -> None:
    prefix = f"eq{uuid.uuid4().hex[:12]}"
    _run(ops, lambda clock: RedisBackend.from_url(redis_url, prefix=prefix, clock=clock),
         POLICIES[policy])
