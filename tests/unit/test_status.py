"""governor status: an account's state, read once and described."""

from __future__ import annotations

import pytest

from governor import Governor, ManualClock, Policy, load_profile
from governor.status import describe, from_hash

EMAIL = "POST /v1/email"


def test_describe_tokens_debt_learned_limits_quota_and_pauses() -> None:
    clock = ManualClock()
    policy = Policy.from_profile(load_profile("mailersend").resolve("hobby"))
    gov = Governor(policy, clock=clock)
    for _ in range(3):
        gov.reserve(EMAIL)
    state = describe(gov.backend.snapshot(gov.account.key), policy)  # type: ignore[attr-defined]
    email = next(b for b in state["buckets"] if b["bucket"] == "email")
    assert email["tokens"] == -2  # three booked, one of them now: two in debt
    assert email["full_in_s"] == pytest.approx(1.5)
    gov.observe(EMAIL, 202, {"x-ratelimit-limit": "10"})
    gov.observe("GET /v1/domains", 503, {"retry-after": "30"})
    state = describe(gov.backend.snapshot(gov.account.key), policy)  # type: ignore[attr-defined]
    email = next(b for b in state["buckets"] if b["bucket"] == "email")
    assert email["learned_per_minute"] == 10.0
    assert state["account_paused_for_s"] == pytest.approx(30.0)
    assert state["quota"]["used"] == 3
    assert state["quota"]["remaining"] == 997


def test_from_hash_reads_the_redis_layout_and_skips_garbage() -> None:
    snap = from_hash(5, {b"pause": b"9", b"quota.day": b"1", b"quota.used": b"4",
                         b"email.tat": b"7", b"email.interval": b"600", b"expires": b"99",
                         b"bad.tat": b"x", "general.pause": "3"})
    assert (snap.pause_until_us, snap.quota_day, snap.quota_used) == (9, 1, 4)
    assert snap.buckets["email"].tat_us == 7
    assert snap.buckets["email"].interval_us == 600
    assert snap.buckets["general"].pause_until_us == 3
    assert "bad" not in snap.buckets


def test_describe_shows_where_a_paced_day_stands_against_its_line() -> None:
    clock = ManualClock()  # 00:00 UTC
    policy = Policy.from_profile(load_profile("mailersend").resolve("hobby"), pacing=True,
                                 pace_until_h=20.0)
    gov = Governor(policy, clock=clock)
    assert describe(gov.backend.snapshot(gov.account.key), policy)[  # type: ignore[attr-defined]
        "quota"]["pace"]["line"] == 0
    clock.advance(10 * 3600)  # 10:00, half the pace span: the line allows 500 by now
    for _ in range(3):
        gov.acquire(EMAIL)  # sent 36 s apart (1,000 over 10 hours)
    pace = describe(gov.backend.snapshot(gov.account.key), policy)[  # type: ignore[attr-defined]
        "quota"]["pace"]
    assert (pace["line"], pace["used"], pace["ahead"]) == (501, 3, -498)  # at 10:01:12
    assert pace["ends_in_s"] == 10 * 3600 - 72
    assert pace["next_normal_in_s"] == pytest.approx(36.0)  # the 997 left from the last on
    assert pace["per_hour"] == pytest.approx(100.0)
    plain = describe(gov.backend.snapshot(gov.account.key),  # type: ignore[attr-defined]
                     Policy.from_profile(load_profile("mailersend").resolve("hobby")))
    assert plain["quota"]["pace"] is None


def test_from_hash_reads_the_pace() -> None:
    assert from_hash(5, {b"quota.pace": b"77"}).quota_pace_us == 77
