"""Reconcile, pure: a response -> an Adjustment -> the engine's state. Table-driven."""

from __future__ import annotations

import pytest

from governor.engine import (
    NO_LIMIT_US,
    BucketSpec,
    BucketState,
    CallSpec,
    QuotaSpec,
    QuotaState,
    apply,
    decide,
)
from governor.headers import Observation
from governor.outcome import Outcome, OutcomeKind
from governor.reconcile import Adjustment, plan, split

S = 1_000_000
DAY = 86_400 * S
T0 = 20_454 * DAY + 3_600 * S  # 2026-01-01T01:00:00Z
EMAIL = BucketSpec("email", S // 2, 1, 120)  # 120/minute
SPEC = CallSpec("POST /v1/email", (EMAIL,), QuotaSpec(1000, 0, DAY))
OK = Outcome(OutcomeKind.OK)
RATE_429 = Outcome(OutcomeKind.RETRY_LATER, "MS42903", True, "rate")
SERVICE_503 = Outcome(OutcomeKind.RETRY_LATER, "service_unavailable", True, "service")
QUOTA_429 = Outcome(OutcomeKind.STOP_UNTIL_RESET, "MS42901", False, "quota")


def planned(obs: Observation, outcome: Outcome = OK, local_tat: int | None = None) -> Adjustment:
    adj = plan(SPEC, obs, outcome, sent_at_us=T0, now_us=T0, scale=1.0, max_pause_us=3600 * S,
               local_tat_us=local_tat)
    assert adj is not None
    return adj


def test_a_response_without_rate_headers_plans_nothing() -> None:
    assert plan(SPEC, Observation(), OK, sent_at_us=T0, now_us=T0, scale=1.0,
                max_pause_us=S) is None


def test_a_lower_server_limit_is_learned_at_once() -> None:
    adj = planned(Observation(limit=10, window_us=60 * S))
    assert (adj.bucket, adj.interval_us, adj.urgent) == ("email", 6 * S, True)


def test_the_time_scale_applies_to_learned_limits() -> None:
    adj = plan(SPEC, Observation(limit=10, window_us=60 * S), OK, sent_at_us=T0, now_us=T0,
               scale=0.1, max_pause_us=S)
    assert adj is not None
    assert adj.interval_us == 600_000


def test_the_configured_limit_seen_again_only_relaxes() -> None:
    adj = planned(Observation(limit=120, window_us=60 * S))
    assert (adj.interval_us, adj.relax, adj.urgent) == (0, True, False)


def test_server_remaining_below_the_local_estimate_debits_the_bucket() -> None:
    reset = T0 + 30 * S
    adj = planned(Observation(remaining=10, reset_at_us=reset), local_tat=T0 + S)
    assert adj.min_tat_us == reset - 10 * (S // 2)  # at most 10 more calls before the reset
    assert adj.drift == -48  # the server has 48 fewer calls left than this worker assumed
    assert not adj.urgent


def test_server_remaining_that_agrees_needs_no_write() -> None:
    adj = plan(SPEC, Observation(remaining=59, reset_at_us=T0 + 30 * S), OK, sent_at_us=T0,
               now_us=T0, scale=1.0, max_pause_us=S, local_tat_us=T0 + S)
    assert adj is not None
    assert (adj.min_tat_us, adj.drift) == (0, 1)


def test_429_pauses_the_bucket_until_retry_after() -> None:
    adj = planned(Observation(retry_at_us=T0 + 7 * S), RATE_429)
    assert (adj.bucket_pause_us, adj.account_pause_us, adj.urgent) == (T0 + 7 * S, 0, True)


def test_503_pauses_the_whole_account() -> None:
    adj = planned(Observation(retry_at_us=T0 + 5 * S), SERVICE_503)
    assert (adj.bucket_pause_us, adj.account_pause_us) == (0, T0 + 5 * S)


def test_no_header_pauses_longer_than_max_pause() -> None:
    adj = plan(SPEC, Observation(retry_at_us=T0 + 400 * DAY), RATE_429, sent_at_us=T0,
               now_us=T0, scale=1.0, max_pause_us=60 * S)
    assert adj is not None
    assert adj.bucket_pause_us == T0 + 60 * S


def test_spent_quota_holds_until_midnight() -> None:
    adj = planned(Observation(quota_remaining=0), QUOTA_429)
    assert (adj.quota_used_floor, adj.quota_reset_us, adj.urgent) == (1000, 0, True)
    states, quota = [BucketState()], QuotaState()
    apply(SPEC, states, quota, 0, adj, T0)
    denied = decide(SPEC, states, quota, 0, 1, False, T0 + S, NO_LIMIT_US)
    midnight = T0 // DAY * DAY + DAY
    assert (denied.allowed, denied.scope, denied.reset_us) == (False, "quota", midnight)
    assert decide(SPEC, states, quota, 0, 1, False, T0 // DAY * DAY + DAY, 0).allowed


def test_quota_remaining_raises_the_used_count() -> None:
    adj = planned(Observation(quota_remaining=900))
    states, quota = [BucketState()], QuotaState()
    apply(SPEC, states, quota, 0, adj, T0)
    assert quota.used == 100


def test_a_learned_interval_slows_the_bucket_and_relaxes_after_repeated_evidence() -> None:
    states, quota = [BucketState()], QuotaState()
    apply(SPEC, states, quota, 0, planned(Observation(limit=10, window_us=60 * S)), T0)
    assert decide(SPEC, states, quota, 0, 1, False, T0, NO_LIMIT_US).allowed
    assert decide(SPEC, states, quota, 0, 1, False, T0, NO_LIMIT_US).wait_us == 6 * S
    relax = Adjustment(T0 + S, "email", relax=True)
    stale = Adjustment(T0 - S, "email", relax=True)
    apply(SPEC, states, quota, 0, stale, T0)
    assert states[0].relax == 0  # sent before the limit was learned: does not count
    for _ in range(2):
        apply(SPEC, states, quota, 0, relax, T0)
    assert states[0].interval_us == 6 * S
    apply(SPEC, states, quota, 0, relax, T0)
    assert states[0].interval_us == 0


def test_adjustments_only_tighten_so_order_does_not_matter() -> None:
    newer = Adjustment(T0 + S, "email", min_tat_us=T0 + 10 * S, bucket_pause_us=T0 + 3 * S)
    older = Adjustment(T0, "email", min_tat_us=T0 + 2 * S, bucket_pause_us=T0 + S)
    for order in ((newer, older), (older, newer)):
        states = [BucketState()]
        for adj in order:
            apply(SPEC, states, QuotaState(), 0, adj, T0)
        assert (states[0].tat_us, states[0].pause_until_us) == (T0 + 10 * S, T0 + 3 * S)


@pytest.mark.parametrize("field", ["min_tat_us", "bucket_pause_us", "account_pause_us"])
def test_merge_keeps_the_tighter(field: str) -> None:
    a = Adjustment(T0, "email", **{field: 5})  # type: ignore[arg-type]
    b = Adjustment(T0 + 1, "email", **{field: 9})  # type: ignore[arg-type]
    assert getattr(a.merge(b), field) == getattr(b.merge(a), field) == 9


def test_a_request_scoped_retry_pauses_nothing() -> None:
    in_flight = Outcome(OutcomeKind.RETRY_LATER, "idempotency_conflict", True, None)
    assert plan(SPEC, Observation(retry_at_us=T0 + S), in_flight, sent_at_us=T0, now_us=T0,
                scale=1.0, max_pause_us=S) is None


def test_split_keeps_each_part_urgent_for_its_own_reasons() -> None:
    adj = Adjustment(T0, "email", interval_us=6 * S, quota_used_floor=10, quota_base=-5,
                     quota_reset_us=T0 + DAY, urgent=True)
    route, quota = split(adj, 1000)
    assert route is not None
    assert quota is not None
    assert (route.interval_us, route.has_quota, route.urgent) == (6 * S, False, True)
    assert (quota.quota_used_floor, quota.quota_base, quota.quota_reset_us, quota.urgent) == (
        10, -5, T0 + DAY, False)
    stop = Adjustment(T0, quota_used_floor=1000, urgent=True)
    route, quota = split(stop, 1000)
    assert route is None
    assert quota is not None
    assert quota.urgent


def test_merge_keeps_the_later_responses_quota_news_and_adds_the_debits() -> None:
    a = Adjustment(T0, quota_used_floor=4, quota_debit=2)
    b = Adjustment(T0 + 1, quota_used_floor=3, quota_base=-7, quota_debit=3)
    assert (a.merge(b).quota_used_floor, a.merge(b).quota_base, a.merge(b).quota_debit) == (
        3, -7, 5)
    assert (b.merge(a).quota_used_floor, b.merge(a).quota_base) == (3, -7)
    rate = Adjustment(T0 + 2, "email", min_tat_us=T0)
    assert (a.merge(rate).quota_used_floor, rate.merge(a).quota_used_floor) == (4, 4)
