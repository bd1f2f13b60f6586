"""Truth at the edges, held against every backend and both shells: whose clock writes a pause,
whose count the quota trusts, whose reset ends the day (``governor/engine.py``, ``apply``).

The backend's clock is the test's ``ManualClock`` (the memory backend's clock, the Redis
scripts' ``now``); a worker's clock may be skewed off it (:class:`SkewedClock`). The provider's
clock is the backend's: its ``Date`` and resets are written from it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import formatdate

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governor import ManualClock, Policy, load_profile
from tests.conformance.conftest import Shell, SkewedClock

Make = Callable[..., Shell]
EMAIL = "POST /v1/email"
DAY_S = 86_400
RATE_429 = {"message": "Your account reached its rate limit of 120 requests/min. #MS42903"}
QUOTA_429 = {"message": "Your account reached its API daily quota limit. #MS42901"}


def trial() -> Policy:
    """MailerSend's Trial plan: 120/min on POST /v1/email, 100 requests a day."""
    return Policy.from_profile(load_profile("mailersend").resolve("trial"))


def http_date(at_s: float) -> str:
    return formatdate(int(at_s), usegmt=True)


def iso(at_s: float) -> str:
    """ISO-8601 UTC, with the fraction when there is one."""
    moment = datetime.fromtimestamp(at_s, tz=timezone.utc)
    return moment.isoformat(timespec="microseconds" if at_s % 1 else "seconds").replace(
        "+00:00", "Z")


SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(
    offset_s=st.one_of(st.sampled_from([0, 3600, -3600, DAY_S, -DAY_S]),
                       st.integers(-DAY_S, DAY_S)),
    form=st.sampled_from(["delta", "http-date", "epoch"]),
)
def test_a_pause_written_by_a_skewed_worker_ends_at_server_now_plus_the_delay(
    make: Make, clock: ManualClock, offset_s: int, form: str
) -> None:
    """Whatever a worker's clock says (within a day either way), the fleet's pause is the
    provider's delay from the backend's now: not an hour, not zero."""
    account = uuid.uuid4().hex
    skewed = make(trial(), account, SkewedClock(clock, offset_s))
    fleet = make(trial(), account)
    now_s = clock.now_s()
    retry = {"delta": "2", "http-date": http_date(now_s + 2), "epoch": str(int(now_s) + 2)}
    skewed.observe(EMAIL, 429, {"Date": http_date(now_s), "retry-after": retry[form]}, RATE_429)
    held = fleet.try_acquire(EMAIL)
    assert (held.allowed, held.wait_us) == (False, 2_000_000)
    clock.advance(2.0)
    assert fleet.try_acquire(EMAIL).allowed


def test_a_worker_behind_still_pauses_the_fleet(make: Make, clock: ManualClock) -> None:
    """The case that used to drop the pause: a worker an hour behind reads an HTTP-date."""
    skewed = make(trial(), "acct", SkewedClock(clock, -3600))
    now_s = clock.now_s()
    skewed.observe(EMAIL, 429, {"Date": http_date(now_s), "Retry-After": http_date(now_s + 5)},
                   RATE_429)
    assert make(trial()).try_acquire(EMAIL).wait_s == pytest.approx(5.0)


def test_the_quota_count_adds_the_calls_granted_after_the_response(
    make: Make, clock: ManualClock
) -> None:
    """30 requests spent out of band: the provider counts 31 when it answers the first call;
    the four granted after it are on their way and not in its count."""
    gov = make(trial())
    first = gov.try_acquire(EMAIL)
    for _ in range(4):
        clock.advance(0.5)
        gov.try_acquire(EMAIL)
    gov.observe(EMAIL, 202, {"x-apiquota-remaining": str(100 - 31)}, decision=first)
    clock.advance(0.5)
    assert gov.try_acquire(EMAIL).quota_used == 31 + 4 + 1


def test_a_stale_count_never_lowers_the_quota(make: Make, clock: ManualClock) -> None:
    gov = make(trial())
    decisions = [gov.try_acquire(EMAIL)]
    for _ in range(3):
        clock.advance(0.5)
        decisions.append(gov.try_acquire(EMAIL))
    reset = iso((clock.now_s() // DAY_S + 1) * DAY_S)
    date = http_date(clock.now_s())
    for left, answered in ((60, decisions[3]), (90, decisions[0])):  # the newer count first
        gov.observe(EMAIL, 202, {"Date": date, "x-apiquota-remaining": str(left),
                                 "x-apiquota-reset": reset}, decision=answered)
    clock.advance(0.5)
    assert gov.try_acquire(EMAIL).quota_used == 40 + 1


def test_without_a_stated_reset_the_later_sent_count_wins(
    make: Make, clock: ManualClock
) -> None:
    gov = make(trial())
    first = gov.try_acquire(EMAIL)
    sent_us = clock.now_us()
    clock.advance(0.5)
    gov.observe(EMAIL, 202, {"x-apiquota-remaining": "60"}, decision=first,
                sent_at_us=sent_us - 1)
    gov.observe(EMAIL, 202, {"x-apiquota-remaining": "80"}, decision=first, sent_at_us=sent_us)
    assert gov.try_acquire(EMAIL).quota_used == 20 + 1


def _spend_the_quota(gov: Shell, clock: ManualClock, reset_s: float) -> None:
    """The provider answers #MS42901 and states its reset."""
    headers = {"Date": http_date(clock.now_s()), "x-apiquota-remaining": "0",
               "x-apiquota-reset": iso(reset_s)}
    gov.observe(EMAIL, 429, headers, QUOTA_429)


def test_a_provider_day_that_ends_after_local_midnight_holds_the_fleet_until_it(
    make: Make, clock: ManualClock
) -> None:
    midnight = (clock.now_s() // DAY_S + 1) * DAY_S
    clock.set(midnight - 60)
    gov = make(trial())
    assert gov.try_acquire(EMAIL).allowed
    _spend_the_quota(gov, clock, midnight + 600)  # the provider's day ends 10 min later
    clock.set(midnight + 1)
    held = gov.try_acquire(EMAIL)
    assert (held.allowed, held.scope, held.reset_at) == (False, "quota", midnight + 600)
    clock.set(midnight + 599.999)
    assert not gov.try_acquire(EMAIL).allowed
    clock.set(midnight + 600)
    resumed = gov.try_acquire(EMAIL)
    assert resumed.allowed
    assert resumed.quota_used == 1
    assert resumed.quota_reset_us == (midnight + 600 + DAY_S) * 1_000_000


def test_a_provider_day_that_ends_before_local_midnight_resumes_at_it(
    make: Make, clock: ManualClock
) -> None:
    midnight = (clock.now_s() // DAY_S + 1) * DAY_S
    clock.set(midnight - 3 * 3600)
    gov = make(trial())
    assert gov.try_acquire(EMAIL).allowed
    _spend_the_quota(gov, clock, midnight - 3600)  # the provider's day ends an hour earlier
    clock.set(midnight - 3600 - 0.001)
    held = gov.try_acquire(EMAIL)
    assert (held.allowed, held.reset_at) == (False, midnight - 3600)
    clock.set(midnight - 3600)
    assert gov.try_acquire(EMAIL).allowed


def test_a_count_stated_for_a_new_provider_day_replaces_the_local_one(
    make: Make, clock: ManualClock
) -> None:
    """The provider's day began 30 min ago (it resets at 23:30): the 70 calls counted locally
    since midnight belong partly to its previous day; its own count of 12 wins."""
    midnight = (clock.now_s() // DAY_S + 1) * DAY_S
    clock.set(midnight + 3600)
    gov = make(trial())
    for _ in range(70):
        gov.try_acquire(EMAIL)
        clock.advance(0.5)
    last = gov.try_acquire(EMAIL)
    headers = {"Date": http_date(clock.now_s()), "x-apiquota-remaining": str(100 - 12),
               "x-apiquota-reset": iso(midnight + DAY_S - 1800)}
    gov.observe(EMAIL, 202, headers, decision=last)
    clock.advance(0.5)
    assert gov.try_acquire(EMAIL).quota_used == 12 + 1


def test_a_stated_reset_already_past_says_nothing(make: Make, clock: ManualClock) -> None:
    gov = make(trial())
    assert gov.try_acquire(EMAIL).allowed
    _spend_the_quota(gov, clock, clock.now_s() - 10)  # a response from the day before
    clock.advance(0.5)
    assert gov.try_acquire(EMAIL).allowed


def test_quota_news_of_a_request_sent_yesterday_is_dropped(
    make: Make, clock: ManualClock
) -> None:
    midnight = (clock.now_s() // DAY_S + 1) * DAY_S
    clock.set(midnight - 1)
    gov = make(trial())
    sent_us = clock.now_us()
    clock.set(midnight + 1)  # its response arrives after midnight and states no reset
    gov.observe(EMAIL, 202, {"x-apiquota-remaining": "3"}, sent_at_us=sent_us)
    assert gov.try_acquire(EMAIL).quota_used == 1


def test_the_api_quota_endpoints_reset_moves_the_day_too(make: Make, clock: ManualClock) -> None:
    """``GET /v1/api-quota`` (which spends no quota) states quota, remaining and reset in its
    body; the reset is read against the response's ``Date`` like a header's."""
    midnight = (clock.now_s() // DAY_S + 1) * DAY_S
    clock.set(midnight - 60)
    gov = make(trial(), worker_clock=SkewedClock(clock, 7200))  # a worker two hours fast
    body = json.dumps({"quota": 100, "remaining": 0, "reset": iso(midnight + 900)})
    gov.observe("GET /v1/api-quota", 200, {"Date": http_date(clock.now_s())}, body.encode())
    clock.set(midnight + 1)
    held = gov.try_acquire(EMAIL)
    assert (held.allowed, held.scope, held.reset_at) == (False, "quota", midnight + 900)


def test_the_day_ends_at_the_earliest_statement_of_a_reset_near_midnight(
    make: Make, clock: ManualClock
) -> None:
    """A provider that resets 1.5 s after the calendar's midnight (within the same-day band):
    its first statement replaces the midnight, never before it; a later, earlier reading
    (statements read late by up to Date's second, never early) brings the boundary in."""
    midnight = (clock.now_s() // DAY_S + 1) * DAY_S
    clock.set(midnight - 30)
    gov = make(trial())
    assert gov.try_acquire(EMAIL).allowed
    _spend_the_quota(gov, clock, midnight + 2)  # one reading: 0.5 s late
    clock.set(midnight + 1)
    assert gov.try_acquire(EMAIL).reset_at == midnight + 2
    _spend_the_quota(gov, clock, midnight + 1.5)  # a truer reading
    clock.set(midnight + 1.4)
    assert gov.try_acquire(EMAIL).reset_at == midnight + 1.5
    clock.set(midnight + 1.5)
    assert gov.try_acquire(EMAIL).allowed
