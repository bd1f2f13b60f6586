"""The mock provider's rules (``governor/mock/``), pure: virtual time passed in, no sleeping;
and its reply delay, with the sleep faked."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import pytest

from governor.capacity import Latency
from governor.errors import ProfileError
from governor.mock import Call, MockRules, Reply, TimeScale, VirtualClock
from governor.mock import __main__ as mock_main
from governor.mock.accounts import token_digest
from governor.mock.latency import ReplyDelay, reply_latency
from governor.mock.windows import make_window

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z, a virtual minute and day boundary
DAY = 86_400.0
TOKEN = "ms-token-1"


def mock(
    provider: str = "mailersend", window: str = "fixed", time_scale: float = 60.0,
    rate_headers: bool | None = None, **account: Any,
) -> MockRules:
    rules = MockRules(provider, window=window, time_scale=time_scale,  # type: ignore[arg-type]
                      rate_headers=rate_headers)
    rules.accounts.add("acme", TOKEN, **account)
    return rules


def call(
    rules: MockRules, at: float, path: str = "/v1/email", method: str = "POST", body: Any = None,
    token: str | None = TOKEN, key: str | None = None,
) -> Reply:
    raw = b"" if body is None else json.dumps(body).encode()
    return rules.handle(Call(method, path, token, raw, key), at)


def fill(rules: MockRules, start: float, count: int, step: float, path: str = "/v1/email") -> None:
    for i in range(count):
        reply = call(rules, start + i * step, path)
        assert reply.status < 300, (i, reply)


# -- windows and time ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "now", "limit", "count", "free_at", "reset_at"),
    [
        ("fixed", 659.9, 3, 3, 660.0, 660.0),
        ("fixed", 660.0, 3, 0, 660.0, 720.0),
        ("sliding", 659.9, 3, 3, 660.0, 660.0),
        ("sliding", 660.0, 3, 2, 660.0, 670.0),  # the request at 600 left exactly at 660
        ("sliding", 630.0, 2, 3, 670.0, 660.0),  # limit 2 with 3 held: the 2 oldest must go
        ("sliding", 630.0, 1, 3, 680.0, 660.0),  # limit 1: all three must go
    ],
)
def test_windows_count_free_and_reset(
    mode: str, now: float, limit: int, count: int, free_at: float, reset_at: float
) -> None:
    window = make_window(mode, 60.0)  # type: ignore[arg-type]
    for t in (600.0, 610.0, 620.0):
        window.add(t)
    assert (window.count(now), window.free_at(now, limit), window.reset_at(now)) == (
        count, free_at, reset_at)


@pytest.mark.parametrize(
    ("time_scale", "virtual_wait_s", "retry_after"),
    [(60, 10, 10), (60, 0.2, 1), (60, 59.0000001, 59), (6, 10, 10), (6, 30.5, 31),
     (0.6, 600, 600), (60, 0, 0)],
)
def test_retry_after_is_virtual_seconds_rounded_up(
    time_scale: float, virtual_wait_s: float, retry_after: int
) -> None:
    assert TimeScale(time_scale).retry_after_s(virtual_wait_s) == retry_after


def test_virtual_clock_is_aligned_scaled_and_only_moves_forward() -> None:
    mono = [100.0]
    clock = VirtualClock(6.0, wall=lambda: 1_000.0, monotonic=lambda: mono[0])
    assert clock.now_s() == 10_000.0  # aligned: real epoch * 60 / time_scale
    mono[0] += 1.5
    assert (clock.now_s(), clock.real_now_s()) == (10_015.0, 1_001.5)
    assert clock.real_at(10_075.0) == 1_007.5
    assert clock.jump_to(20_000.0) == 10_015.0
    assert clock.now_s() == 20_000.0
    assert clock.offset_s == 9_985.0
    with pytest.raises(ValueError, match="only moves forward"):
        clock.jump_to(19_999.0)
    assert VirtualClock(60.0, start_s=T0, monotonic=lambda: 5.0).now_s() == T0
    with pytest.raises(ValueError, match="positive"):
        TimeScale(0)


# -- MailerSend ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("window", "at", "status", "retry_after", "reset"),
    [
        ("fixed", 50.0, 429, "10", T0 + 60),
        ("fixed", 60.0, 202, None, T0 + 120),
        ("sliding", 50.0, 429, "30", T0 + 80),
        ("sliding", 60.0, 429, "20", T0 + 80),
        ("sliding", 80.0, 202, None, T0 + 80.25),
    ],
)
def test_120_per_minute_in_fixed_and_sliding_windows(
    window: str, at: float, status: int, retry_after: str | None, reset: float
) -> None:
    rules = mock(window=window, plan="starter")
    fill(rules, T0 + 20, 120, 0.25)  # 120 requests from :20 to :49.75
    reply = call(rules, T0 + at)
    assert reply.status == status
    assert reply.headers.get("retry-after") == retry_after
    assert reply.headers["x-ratelimit-reset"] == str(int(reset + 0.999))
    if status == 429:
        assert reply.code == "MS42903"
        assert reply.body == {"message": "Your account reached its rate limit of 120 requests/min."
                              " Please wait before trying again. #MS42903"}
        assert reply.headers["x-ratelimit-remaining"] == "0"


def test_retry_after_follows_the_time_scale() -> None:
    rules = mock(time_scale=6.0, plan="starter")
    fill(rules, T0 + 20, 120, 0.25)
    reply = call(rules, T0 + 50)  # 10 virtual seconds to wait (1 real second)
    assert (reply.status, reply.headers["retry-after"]) == (429, "10")
    assert reply.headers["x-ratelimit-reset"] == str(int(T0 + 60))  # virtual epoch


@pytest.mark.parametrize(("window", "retry_after"), [("fixed", "30"), ("sliding", "50")])
def test_reputation_drop_takes_effect_on_the_next_request(window: str, retry_after: str) -> None:
    rules = mock(window=window, plan="starter")
    fill(rules, T0, 50, 0.5)  # 50 emails from :00 to :24.5
    rules.accounts.configure("acme", reputation="under_review")
    reply = call(rules, T0 + 30)
    assert (reply.status, reply.code, reply.headers["retry-after"]) == (429, "MS42903", retry_after)
    assert reply.headers["x-ratelimit-limit"] == "10"
    assert "rate limit of 10 requests/min" in reply.body["message"]
    rules.accounts.configure("acme", reputation="healthy")
    assert call(rules, T0 + 31).status == 202


def test_quota_resets_exactly_at_virtual_midnight() -> None:
    rules = mock(plan="free")  # 100 requests a day
    fill(rules, T0 + DAY - 40, 100, 0.1)
    early = call(rules, T0 + DAY - 30)
    last = call(rules, T0 + DAY - 0.001)
    assert (early.status, early.code, early.headers["retry-after"]) == (429, "MS42901", "30")
    assert last.body == {"message": "Your account reached its API daily quota limit. "
                                    "Upgrade to increase it. #MS42901"}
    quota_headers = ("x-apiquota-remaining", "x-apiquota-reset", "retry-after")
    assert [last.headers[k] for k in quota_headers] == ["0", "2026-01-02T00:00:00Z", "1"]
    midnight = call(rules, T0 + DAY)
    assert midnight.status == 202
    assert midnight.headers["x-apiquota-remaining"] == "99"
    assert midnight.headers["x-apiquota-reset"] == "2026-01-03T00:00:00Z"


def test_rate_limited_requests_still_count_against_the_quota() -> None:
    rules = mock(plan="free")
    replies = [call(rules, T0 + i, "/v1/bulk-email", body=[{}]) for i in range(11)]
    assert [r.status for r in replies] == [202] * 10 + [429]
    assert replies[-1].headers["x-apiquota-remaining"] == "89"
    assert rules.accounts["acme"].quota_used == 11


def test_api_quota_endpoint_answers_and_is_not_counted() -> None:
    rules = mock(plan="free")
    assert call(rules, T0, "/v1/api-quota", "GET").body == {
        "quota": 100, "remaining": 100, "reset": "2026-01-02T00:00:00Z"}
    fill(rules, T0 + 1, 100, 0.1)
    replies = [call(rules, T0 + 20 + i * 0.1, "/v1/api-quota", "GET") for i in range(59)]
    assert {r.status for r in replies} == {200}
    assert replies[-1].body["remaining"] == 0
    assert rules.accounts["acme"].quota_used == 100
    over = call(rules, T0 + 30, "/v1/api-quota", "GET")  # but it spends the general 60/min
    assert (over.status, over.code, over.headers["x-ratelimit-limit"]) == (429, "MS42903", "60")


@pytest.mark.parametrize(
    ("window", "method", "path", "body", "status", "headers"),
    [
        ("fixed", "POST", "/v1/email", {}, 202, {
            "x-message-id": "0" * 24, "x-ratelimit-limit": "120", "x-ratelimit-remaining": "119",
            "x-ratelimit-reset": "1767225660", "x-apiquota-remaining": "99",
            "x-apiquota-reset": "2026-01-02T00:00:00Z"}),
        ("sliding", "POST", "/v1/email", {}, 202, {
            "x-message-id": "0" * 24, "x-ratelimit-limit": "120", "x-ratelimit-remaining": "119",
            "x-ratelimit-reset": "1767225680", "x-apiquota-remaining": "99",
            "x-apiquota-reset": "2026-01-02T00:00:00Z"}),
        ("fixed", "POST", "/v1/bulk-email", [{}, {}], 202, {
            "x-ratelimit-limit": "10", "x-ratelimit-remaining": "9",
            "x-ratelimit-reset": "1767225660", "x-apiquota-remaining": "99",
            "x-apiquota-reset": "2026-01-02T00:00:00Z"}),
        ("fixed", "GET", "/v1/activity/abc", None, 200, {
            "x-ratelimit-limit": "10", "x-ratelimit-remaining": "9",
            "x-ratelimit-reset": "1767225660", "x-apiquota-remaining": "99",
            "x-apiquota-reset": "2026-01-02T00:00:00Z"}),
        ("fixed", "DELETE", "/v1/domains/1", None, 204, {
            "x-ratelimit-limit": "60", "x-ratelimit-remaining": "59",
            "x-ratelimit-reset": "1767225660", "x-apiquota-remaining": "99",
            "x-apiquota-reset": "2026-01-02T00:00:00Z"}),
    ],
)
def test_mailersend_headers_are_exact(
    window: str, method: str, path: str, body: Any, status: int, headers: dict[str, str]
) -> None:
    reply = call(mock(window=window), T0 + 20, path, method, body)
    assert (reply.status, reply.headers) == (status, headers)


@pytest.mark.parametrize(
    ("account", "path", "body", "status", "code"),
    [
        ({"email_quota": 2}, "/v1/email", {}, 422, "MS42204"),
        ({}, "/v1/bulk-email", [{}] * 501, 422, "MS42229"),
    ],
)
def test_mailersend_refusals_after_admission(
    account: dict[str, Any], path: str, body: Any, status: int, code: str
) -> None:
    rules = mock(plan="starter", **account)
    if "email_quota" in account:
        fill(rules, T0, 2, 1.0)
    reply = call(rules, T0 + 10, path, body=body)
    assert (reply.status, reply.code) == (status, code)
    assert f"#{code}" in reply.body["message"]


def test_custom_email_quota_can_be_lifted() -> None:
    rules = mock(email_quota=1)
    assert [call(rules, T0 + i).status for i in range(2)] == [202, 422]
    rules.accounts.configure("acme", email_quota=None)
    assert call(rules, T0 + 3).status == 202


# -- every provider: auth and the log -----------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "path", "body"),
    [
        ("mailersend", "/v1/email", {"message": "Unauthenticated."}),
        ("lettr", "/api/emails", {"message": "Invalid or missing API key.",
                                  "error_code": "unauthorized"}),
        ("sendmux", "/api/v1/emails/send", {
            "ok": False,
            "error": {"code": "authentication_required",
                      "message": "The API key is missing, invalid, expired or revoked.",
                      "doc_url": "https://sendmux.ai/docs/sending-api/errors#authentication_required",
                      "retryable": False},
            "meta": {"request_id": "req_mock000000000000000000000"}}),
    ],
)
def test_unknown_tokens_get_401_and_are_logged_by_digest_only(
    provider: str, path: str, body: dict[str, Any]
) -> None:
    rules = mock(provider)
    reply = call(rules, T0, path, token="sekrit-token")
    assert (reply.status, reply.body) == (401, body)
    assert call(rules, T0, path, token=None).status == 401
    entry = rules.log[0]
    assert entry.account is None
    assert entry.token == token_digest("sekrit-token")[:10]
    assert "sekrit" not in json.dumps([e.to_json() for e in rules.log])


def test_bad_configuration_is_refused_with_the_valid_names() -> None:
    with pytest.raises(ProfileError, match="built-in profiles"):
        MockRules("nosuchprovider")
    with pytest.raises(ValueError, match="fixed"):
        MockRules("mailersend", window="rolling")  # type: ignore[arg-type]
    rules = mock()
    with pytest.raises(ValueError, match="exists"):
        rules.accounts.add("acme", "other")
    with pytest.raises(ValueError, match="unique"):
        rules.accounts.add("other", TOKEN)
    with pytest.raises(ProfileError, match="valid plans"):
        rules.accounts.add("x", "t", plan="platinum")


# -- Sendmux ------------------------------------------------------------------------------

SEND = "/api/v1/emails/send"


def test_sendmux_idempotency_key_replays_without_sending_twice() -> None:
    rules = mock("sendmux")
    first = call(rules, T0, SEND, body={"to": "a@x"}, key="k1")
    again = call(rules, T0 + 60, SEND, body={"to": "a@x"}, key="k1")
    in_body = call(rules, T0 + 61, SEND, body={"to": "a@x", "idempotency_key": "k2"})
    replayed = call(rules, T0 + 62, SEND, body={"to": "a@x", "idempotency_key": "k2"})
    assert first.status == again.status == 200
    assert again.body == first.body
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    assert replayed.body == in_body.body
    conflict = call(rules, T0 + 63, SEND, body={"to": "b@x"}, key="k1")
    assert (conflict.status, conflict.code) == (409, "idempotency_conflict")
    assert [(e.delivered, e.replay) for e in rules.log] == [
        (1, False), (0, True), (1, False), (0, True), (0, False)]
    report = rules.report(T0 + 100)["accounts"]["acme"]
    assert (report["delivered"], report["duplicates_delivered"], report["replays"]) == (2, 0, 2)
    later = call(rules, T0 + DAY + 1, SEND, body={"to": "a@x"}, key="k1")  # the key expired
    assert later.status == 200
    assert "Idempotent-Replayed" not in later.headers
    assert rules.report(T0 + DAY + 2)["totals"]["duplicates_delivered"] == 1


@pytest.mark.parametrize(
    ("code", "at", "status", "retry_after"),
    [("service_unavailable", 20.0, 503, "20"), ("no_active_providers", 39.5, 503, "1"),
     ("service_unavailable", 40.0, 200, None)],
)
def test_sendmux_scheduled_outage(
    code: str, at: float, status: int, retry_after: str | None
) -> None:
    rules = mock("sendmux")
    rules.outages.add(T0 + 10, T0 + 40, code)
    reply = call(rules, T0 + at, SEND, body={})
    assert (reply.status, reply.headers.get("Retry-After")) == (status, retry_after)
    if status == 503:
        assert reply.body["ok"] is False
        assert (reply.body["error"]["code"], reply.body["error"]["retryable"]) == (code, True)
        assert rules.report(T0 + 60)["totals"]["unavailable"] == 1


def test_sendmux_1800_per_minute_per_api_key() -> None:
    rules = MockRules("sendmux")
    rules.accounts.add("team", ["key-1", "key-2"])
    for i in range(1800):
        assert call(rules, T0 + i * 0.01, SEND, body={}, token="key-1").status == 200
    over = call(rules, T0 + 30, SEND, body={}, token="key-1")
    assert (over.status, over.code) == (429, "rate_limit_exceeded")
    assert over.headers["Retry-After"] == "30"
    assert over.body["error"]["retryable"] is True
    assert over.headers["X-RateLimit-Limit"] == "1800"
    assert call(rules, T0 + 30, SEND, body={}, token="key-2").status == 200


@pytest.mark.parametrize(("size", "status", "delivered"), [(100, 200, 100), (101, 422, 0)])
def test_sendmux_batches_hold_at_most_100(size: int, status: int, delivered: int) -> None:
    rules = mock("sendmux")
    reply = call(rules, T0, SEND + "/batch", body={"emails": [{}] * size})
    assert reply.status == status
    assert rules.log[0].delivered == delivered
    if status == 200:
        assert len(reply.body["data"]["messages"]) == 100
    else:
        assert (reply.body["error"]["code"], reply.body["error"]["param"]) == (
            "validation_error", "emails")


# -- Lettr --------------------------------------------------------------------------------

EMAILS = "/api/emails"


@pytest.mark.parametrize("rate_headers", [None, True])
def test_lettr_hidden_3_per_second_limit(rate_headers: bool | None) -> None:
    rules = mock("lettr", rate_headers=rate_headers, plan="pro")
    replies = [call(rules, T0 + 0.1 * (i + 1), EMAILS, body={"to": ["a@x"]}) for i in range(4)]
    assert [r.status for r in replies] == [200, 200, 200, 429]
    assert replies[3].body == {"message": "Rate limit exceeded. Please slow down your requests.",
                               "error_code": "rate_limit_exceeded"}
    assert replies[3].headers["Retry-After"] == "1"
    shown = {k: v for k, v in replies[0].headers.items() if k.startswith("X-RateLimit")}
    assert shown == ({} if rate_headers is None else {
        "X-RateLimit-Limit": "3", "X-RateLimit-Remaining": "2",
        "X-RateLimit-Reset": str(int(T0 + 1))})
    assert call(rules, T0 + 1.0, EMAILS, body={"to": ["a@x"]}).status == 200


def test_lettr_free_daily_quota_counts_recipients() -> None:
    rules = mock("lettr", plan="free")  # 100 emails a day
    fifty = {"to": [f"r{i}@x" for i in range(40)], "cc": ["c@x"] * 5, "bcc": ["b@x"] * 5}
    first, second = call(rules, T0, EMAILS, body=fifty), call(rules, T0 + 1, EMAILS, body=fifty)
    assert first.body["data"] == {"request_id": "0" * 20, "accepted": 50, "rejected": 0}
    assert second.headers["X-Daily-Remaining"] == "0"
    over = call(rules, T0 + 2, EMAILS, body={"to": ["a@x"]})
    assert (over.status, over.code) == (429, "daily_quota_exceeded")
    too_many = call(rules, T0 + DAY, EMAILS, body={"to": ["a@x"] * 51})
    assert (too_many.status, too_many.code) == (422, "validation_error")
    assert call(rules, T0 + DAY + 1, EMAILS, body={"to": ["a@x"]}).status == 200


# -- other senders on the account, and a provider clock that is not the fleet's -------------


def test_out_of_band_spend_counts_against_the_quota_and_is_no_request() -> None:
    rules = mock(plan="free")  # 100 requests a day
    spend = rules.spend("acme", 30, T0 + 10)
    assert (spend.route, spend.status, spend.quota_cost, spend.out_of_band) == (
        "(out of band)", 0, 30, True)
    first = call(rules, T0 + 11)
    assert (first.status, first.headers["x-apiquota-remaining"]) == (202, "69")
    fill(rules, T0 + 12, 69, 0.5)  # the last of the day's quota at T0 + 46
    over = call(rules, T0 + 60)
    assert (over.status, over.code, over.headers["x-apiquota-remaining"]) == (429, "MS42901", "0")
    assert [e.over_quota for e in rules.log[-2:]] == [False, True]
    assert rules.spend("acme", 5, T0 + 61).quota_cost == 0  # no room: those senders were refused
    report = rules.report(T0 + 100)
    acme = report["accounts"]["acme"]
    assert (acme["requests"], acme["sent"], acme["rate_limited"]) == (71, 70, {"MS42901": 1})
    assert list(acme["routes"]) == ["POST /v1/email"]
    assert acme["quota"] == {
        "days": {"2026-01-01": {
            "counted": 100, "accepted": 70, "delivered": 70, "out_of_band": 30, "limit": 100,
            "over_quota": 1, "exhausted_s": T0 + 46}},
        "over_quota_sends": 1, "out_of_band": 30}
    assert (report["totals"]["requests"], report["totals"]["out_of_band"]) == (71, 30)
    assert rules.spend("acme", 10, T0 + DAY).day == rules.log[0].day + 1  # a new day's quota
    assert call(rules, T0 + DAY + 1).headers["x-apiquota-remaining"] == "89"


def test_out_of_band_spend_refuses_what_cannot_be_spent() -> None:
    with pytest.raises(KeyError):
        mock(plan="free").spend("nobody", 1, T0)
    with pytest.raises(ValueError, match="cannot spend -1"):
        mock(plan="free").spend("acme", -1, T0)
    with pytest.raises(ValueError, match="no daily quota"):
        mock("sendmux").spend("acme", 1, T0)


@pytest.mark.parametrize("offset_s", [-90.0, 90.0])
def test_an_offset_clock_moves_the_providers_midnight_and_every_time_it_states(
    offset_s: float,
) -> None:
    scale, speed = 6.0, 10.0
    fleet_midnight_s = (T0 + DAY) / speed  # real second where the governor's scaled day ends
    clock = VirtualClock(scale, offset_s=offset_s, wall=lambda: fleet_midnight_s - 30.0,
                         monotonic=lambda: 0.0)
    now = clock.now_s()
    assert now == T0 + DAY - 300 + offset_s  # 30 real s before the aligned midnight, offset
    assert (clock.offset_s, clock.describe()["aligned"]) == (offset_s, False)
    rules = mock(plan="free", time_scale=scale)
    rules.spend("acme", 100, now)
    spent = call(rules, now)
    assert (spent.status, spent.headers["x-apiquota-reset"]) == (429, "2026-01-02T00:00:00Z")
    assert spent.headers["retry-after"] == f"{300 - offset_s:.0f}"  # to the provider's midnight
    # That midnight is offset / speed real seconds before the fleet's (after it, when behind).
    assert clock.real_at(T0 + DAY) == fleet_midnight_s - offset_s / speed
    assert call(rules, T0 + DAY).status == 202


def test_a_clock_takes_a_start_or_an_offset_not_both() -> None:
    with pytest.raises(ValueError, match="not both"):
        VirtualClock(6.0, start_s=T0, offset_s=60.0)
    with pytest.raises(ValueError, match="number of seconds"):
        VirtualClock(6.0, offset_s=float("nan"))


# -- the report ---------------------------------------------------------------------------


def test_report_of_a_steady_client_at_the_limit() -> None:
    rules = mock(plan="starter")
    fill(rules, T0, 600, 0.5)  # exactly 120/min for five minutes
    bucket = rules.report(T0 + 300)["accounts"]["acme"]["buckets"]["email"]
    assert bucket == {
        "limit": 120, "period_s": 60.0, "limits_seen": [120], "admitted": 600,
        "max_in_fixed_window": 120, "max_in_sliding_window": 120,
        "fixed_windows_over_limit": 0, "sliding_windows_over_limit": 0,
        "busy_s": 299.5, "windows_measured": 4, "utilisation": 1.0,
    }


def test_report_counts_statuses_quota_and_a_fixed_window_edge_burst() -> None:
    rules = mock(plan="starter")
    fill(rules, T0 + 50, 120, 0.05)  # a burst at the end of one fixed window...
    fill(rules, T0 + 60, 120, 0.05)  # ...and one at the start of the next: legal here
    assert call(rules, T0 + 67).status == 429
    fill(rules, T0 + 120, 60, 1.0)  # then half the rate for a minute
    report = rules.report(T0 + 200)
    acme = report["accounts"]["acme"]
    bucket = acme["buckets"]["email"]
    assert (bucket["max_in_fixed_window"], bucket["max_in_sliding_window"]) == (120, 240)
    assert (bucket["fixed_windows_over_limit"], bucket["sliding_windows_over_limit"]) == (0, 120)
    assert (acme["requests"], acme["sent"], acme["rate_limited"]) == (301, 300, {"MS42903": 1})
    assert acme["quota"]["days"]["2026-01-01"] == {
        "counted": 301, "accepted": 300, "delivered": 300, "out_of_band": 0, "limit": 100_000,
        "over_quota": 0, "exhausted_s": None}
    assert acme["routes"]["POST /v1/email"]["binding"] == "email"
    assert report["totals"] == {
        "requests": 301, "sent": 300, "rate_limited": 1, "unavailable": 0, "delivered": 300,
        "over_quota_sends": 0, "out_of_band": 0, "duplicates_delivered": 0}


# -- the reply delay ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("median_ms", "p99_ms", "latency"),
    [(0.0, None, None), (250.0, None, Latency(0.25)), (300.0, 900.0, Latency(0.3, 0.9))],
)
def test_reply_latency_is_none_fixed_or_log_normal(
    median_ms: float, p99_ms: float | None, latency: Latency | None
) -> None:
    assert reply_latency(median_ms, p99_ms) == latency


@pytest.mark.parametrize(
    ("median_ms", "p99_ms", "message"),
    [(-1.0, None, ">= 0"), (0.0, 900.0, "needs a median"), (300.0, 200.0, "below the median")],
)
def test_reply_latency_refuses_what_the_mock_cannot_wait(
    median_ms: float, p99_ms: float | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        reply_latency(median_ms, p99_ms)


def test_reply_delay_sleeps_seeded_draws_in_order_as_the_simulation_draws_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    slept: list[float] = []

    async def fake_sleep(delay_s: float) -> None:
        slept.append(delay_s)

    monkeypatch.setattr("governor.mock.latency.asyncio.sleep", fake_sleep)
    latency = Latency(0.3, 0.9)

    async def replies(delay: ReplyDelay, count: int) -> None:
        for _ in range(count):
            await delay.wait()

    asyncio.run(replies(ReplyDelay(latency, seed=7), 5))
    asyncio.run(replies(ReplyDelay(None), 5))  # no latency: never sleeps
    draw = latency.sampler(random.Random(7))  # what simulate(..., seed=7) draws
    assert slept == [draw() for _ in range(5)]
    assert len(set(slept)) == 5


def test_reply_delay_gives_a_child_process_the_same_latency() -> None:
    for latency in (Latency(0.25), Latency(0.3, 0.9)):
        args = mock_main._parser().parse_args(ReplyDelay(latency, seed=3).args())
        assert reply_latency(args.latency_ms, args.latency_p99_ms) == latency
        assert args.latency_seed == 3
    assert ReplyDelay(None).args() == []
    with pytest.raises(ValueError, match="samples"):
        ReplyDelay(Latency.from_samples([0.1, 0.2])).args()
