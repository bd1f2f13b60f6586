"""Reconcile against every backend and both shells: responses change the shared state."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from governor import ManualClock, Policy, QuotaExhausted, load_profile
from tests.conformance.conftest import Shell

Make = Callable[..., Shell]
EMAIL = "POST /v1/email"


def mailersend() -> Policy:
    return Policy.from_profile(load_profile("mailersend").resolve("starter"))


def test_a_response_without_rate_headers_changes_nothing(make: Make) -> None:
    gov = make(mailersend())
    d = gov.acquire(EMAIL)
    feedback = gov.observe(EMAIL, 202, {"content-type": "application/json"}, decision=d)
    assert feedback.adjustment is None
    assert feedback.outcome.kind.value == "ok"


def test_a_lower_limit_is_followed_by_every_worker(make: Make, clock: ManualClock) -> None:
    w1, w2 = make(mailersend()), make(mailersend())
    d = w1.acquire(EMAIL)
    w1.observe(EMAIL, 202, {"x-ratelimit-limit": "10"}, decision=d)  # under review: 10/min
    clock.advance(10)
    first = w2.reserve(EMAIL)
    second = w1.reserve(EMAIL)
    assert second.ready_at - first.ready_at == pytest.approx(6.0)


def test_a_429_pauses_all_workers_for_retry_after_and_no_more(
    make: Make, clock: ManualClock
) -> None:
    w1, w2 = make(mailersend()), make(mailersend())
    d = w1.acquire(EMAIL)
    body = {"message": "Your account reached its rate limit of 120 requests/min. #MS42903"}
    w1.observe(EMAIL, 429, {"retry-after": "7", "x-ratelimit-limit": "120"}, body, decision=d)
    assert w2.reserve(EMAIL).wait_s == pytest.approx(7.0)
    assert w1.reserve(EMAIL).wait_s == pytest.approx(7.5)  # queued behind, not a herd
    assert w2.try_acquire("GET /v1/domains").allowed  # other endpoints are not paused


def test_a_spent_quota_stops_until_midnight_and_lifts_at_it(
    make: Make, clock: ManualClock
) -> None:
    gov = make(mailersend())
    midnight = clock.now_s() // 86_400 * 86_400 + 86_400
    clock.set(midnight - 60)
    d = gov.acquire(EMAIL)
    body = {"message": "Your account reached its API daily quota limit. #MS42901"}
    gov.observe(EMAIL, 429, {"x-apiquota-remaining": "0", "retry-after": "59"}, body, decision=d)
    with pytest.raises(QuotaExhausted):
        gov.acquire(EMAIL, timeout_s=30)
    clock.set(midnight)
    assert gov.try_acquire(EMAIL).allowed


def test_server_remaining_below_the_estimate_rides_along_with_the_next_decision(
    make: Make, clock: ManualClock
) -> None:
    gov = make(mailersend())
    d = gov.acquire(EMAIL)
    reset = int(clock.now_s()) + 30
    feedback = gov.observe(
        EMAIL, 202, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset)}, decision=d
    )
    assert feedback.adjustment is not None
    assert not feedback.adjustment.urgent
    assert feedback.adjustment.drift is not None
    assert feedback.adjustment.drift < 0
    nxt = gov.reserve(EMAIL)
    assert nxt.ready_at >= reset - 0.5


def test_a_stale_response_cannot_loosen_newer_state(make: Make, clock: ManualClock) -> None:
    gov = make(mailersend())
    sent_old = clock.now_us()
    clock.advance(1)
    d = gov.acquire(EMAIL)
    gov.observe(EMAIL, 202, {"x-ratelimit-limit": "10"}, decision=d)
    for _ in range(5):  # an older response showing the old limit, delivered late
        gov.observe(EMAIL, 202, {"x-ratelimit-limit": "120"}, sent_at_us=sent_old)
    clock.advance(60)
    first, second = gov.reserve(EMAIL), gov.reserve(EMAIL)
    assert second.ready_at - first.ready_at == pytest.approx(6.0)


def test_hostile_headers_are_ignored(make: Make, clock: ManualClock) -> None:
    gov = make(mailersend())
    d = gov.acquire(EMAIL)
    hostile = {"retry-after": "99999999999", "x-ratelimit-limit": "-5",
               "x-ratelimit-reset": "NaN", "x-apiquota-remaining": "1e309"}
    feedback = gov.observe(EMAIL, 200, hostile, decision=d)
    assert feedback.observation.problems
    clock.advance(1)
    assert gov.try_acquire(EMAIL).allowed



def test_the_api_quota_endpoint_seeds_the_daily_quota(make: Make) -> None:
    gov = make(Policy.from_profile(load_profile("mailersend").resolve("hobby")))
    body = {"quota": 1000, "remaining": 2, "reset": "2026-01-02T00:00:00Z"}
    gov.observe("GET /v1/api-quota", 200, {}, body)  # this call does not count itself
    assert gov.try_acquire(EMAIL).allowed
    gov.acquire("GET /v1/domains")
    with pytest.raises(QuotaExhausted):
        gov.acquire(EMAIL, timeout_s=1)
