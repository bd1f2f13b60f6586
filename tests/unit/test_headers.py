"""Response headers -> Observation (``governor/headers.py``): dialects, encodings, skew, junk."""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import formatdate
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governor.headers import (
    DIALECTS,
    DateOffset,
    Observation,
    decode_time,
    exhausted_quota,
    parse_headers,
)

S = 1_000_000
DAY = 86_400 * S
NOW_S = 1_772_712_000  # 2026-03-05T12:00:00Z, a Thursday
NOW = NOW_S * S


def _http_date(epoch_s: int) -> str:
    return formatdate(epoch_s, usegmt=True)


def _iso(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, timezone.utc).isoformat().replace("+00:00", "Z")


# --- one decoder for every time encoding ---------------------------------------------------


@pytest.mark.parametrize(
    ("value", "skew_s", "expected"),
    [
        ("0", 0, NOW),
        ("59", 0, NOW + 59 * S),
        ("59", 30, NOW + 59 * S),  # a delta is relative: no skew correction
        ("1.5", 0, NOW + 1_500_000),
        (" 7\t", 0, NOW + 7 * S),
        ("86400", 0, NOW + DAY),
        ("31536000", 0, NOW + 365 * DAY),  # a year as a delta is still a delta
        (str(NOW_S + 60), 0, NOW + 60 * S),  # epoch seconds
        (f"{NOW_S + 60}.25", 0, NOW + 60 * S + 250_000),
        (str(NOW_S + 60), 30, NOW + 90 * S),  # server-absolute: moved by the skew
        (str((NOW_S + 60) * 1000), 0, NOW + 60 * S),  # epoch milliseconds
        (f"{(NOW_S + 60) * 1000}.5", 0, NOW + 60 * S + 500),
        ("2026-03-06T00:00:00Z", 0, NOW + 12 * 3600 * S),  # ISO-8601, MailerSend's form
        ("2026-03-06T00:00:00z", 0, NOW + 12 * 3600 * S),
        ("2026-03-06T00:00:00+00:00", -5, NOW + 12 * 3600 * S - 5 * S),
        ("2026-03-06T02:00:00+02:00", 0, NOW + 12 * 3600 * S),
        ("2026-03-05T12:00:00.123456Z", 0, NOW + 123_456),
        ("Thu, 05 Mar 2026 12:01:00 GMT", 0, NOW + 60 * S),  # IMF-fixdate
        ("Thursday, 05-Mar-26 12:01:00 GMT", 0, NOW + 60 * S),  # RFC 850 (obsolete)
        ("Thu Mar  5 12:01:00 2026", 0, NOW + 60 * S),  # asctime (obsolete)
        ("Thu, 05 Mar 2026 12:01:00 GMT", 10, NOW + 70 * S),
        ("Thu, 05 Mar 2026 11:00:00 GMT", 0, NOW - 3600 * S),  # a recent past: kept
        ("Thu, 05 Mar 2026 13:01:00 +0100", 0, NOW + 60 * S),
        ("Thu, 05 Mar 2026 07:01:00 EST", 0, NOW + 60 * S),
        ("Thu, 05 Mar 2026 12:01:00 -0000", 0, NOW + 60 * S),
        # JavaScript's Date.toString(): the offset is honoured, the zone's name is a comment
        ("Thu Mar 05 2026 13:01:00 GMT+0100 (Central European Standard Time)", 0, NOW + 60 * S),
        ("Thu Mar 05 2026 04:01:00 GMT-0800 (Pacific Standard Time)", 0, NOW + 60 * S),
        ("Thu Mar 05 2026 12:01:00 GMT", 0, NOW + 60 * S),
        # Go's time.Duration text (OpenAI): deltas, never skew-corrected
        ("6m0s", 30, NOW + 360 * S),
        ("1s", 0, NOW + S),
        ("20ms", 0, NOW + 20_000),
        ("1h2m3.5s", 0, NOW + 3723 * S + 500_000),
        ("0s", 0, NOW),
    ],
)
def test_decode_time_tells_encodings_apart(value: str, skew_s: int, expected: int) -> None:
    assert decode_time(value, NOW, skew_s * S) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("-1", "neither"),
        ("nan", "neither"),
        ("inf", "neither"),
        ("1e5", "neither"),
        ("+5", "neither"),
        ("0x10", "neither"),
        ("1_000", "neither"),
        ("", "neither"),
        ("soon", "neither"),
        ("\u0663", "neither"),  # an Arabic-Indic digit is not an ASCII digit
        ("400000000", "magnitude"),  # 12.7 years as a delta, 1982 as epoch seconds
        ("99999999999", "magnitude"),  # between epoch seconds and epoch milliseconds
        ("99999999999999", "magnitude"),  # beyond epoch milliseconds
        ("9" * 200, "magnitude"),
        ("34646400", "days from now"),  # a 401-day delta
        ("1000000000", "no known magnitude"),  # epoch 2001: the far past
        (str((NOW_S - 2 * 86_400) * 1000), "days from now"),
        ("2099-01-01T00:00:00Z", "days from now"),
        ("0001-01-01T00:00:00+01:00", "days from now"),
        ("2026-02-30T00:00:00Z", "neither"),
        ("2026-03-06T00:00:00", "without a zone"),  # could be in any zone: not taken as UTC
        ("Thu, 05 Mar 2026 12:01:00 CET", "unknown time zone"),
        ("Thu, 05 Mar 2026 12:01:00", "without a time zone"),
        ("Thu Mar 05 2026 12:01:00", "without a time zone"),  # a JavaScript date, zone cut off
        ("6m0", "neither"),
        ("-5s", "neither"),
        ("Thu, 31 Feb 2026 12:00:00 GMT", "neither"),
        ("Thu, 05 Mar 99999 12:00:00 GMT", "neither"),
    ],
)
def test_decode_time_refuses_junk_with_a_reason(value: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        decode_time(value, NOW)


# --- dialects, from the providers' documented samples --------------------------------------


def test_mailersend_rate_limit_sample() -> None:
    now_s = 1_629_291_024 - 59  # the documented reset is an epoch second, 59 s ahead
    obs = parse_headers("mailersend", {
        "content-type": "application/json",
        "x-ratelimit-limit": "60",
        "x-ratelimit-remaining": "0",
        "retry-after": "59",
        "x-ratelimit-reset": "1629291024",
    }, now_s * S)
    assert obs == Observation(limit=60, window_us=60 * S, remaining=0,
                              reset_at_us=1_629_291_024 * S, retry_at_us=1_629_291_024 * S)


def test_mailersend_daily_quota_sample() -> None:
    now_s = 1_646_395_200  # 2022-03-04T12:00:00Z
    obs = parse_headers("mailersend", [
        ("x-ratelimit-limit", "60"),
        ("x-ratelimit-remaining", "59"),
        ("retry-after", "59"),
        ("x-apiquota-remaining", "0"),
        ("x-apiquota-reset", "2022-03-05T00:00:00Z"),
    ], now_s * S)
    assert (obs.limit, obs.remaining, obs.retry_at_us) == (60, 59, (now_s + 59) * S)
    assert (obs.quota_remaining, obs.quota_reset_at_us) == (0, (now_s + 12 * 3600) * S)
    assert obs.quota_limit is None
    assert obs.problems == ()


def test_mailersend_reset_as_a_delta_is_read_by_magnitude() -> None:
    obs = parse_headers("mailersend", {"x-ratelimit-limit": "10", "x-ratelimit-reset": "42"}, NOW)
    assert (obs.limit, obs.window_us, obs.reset_at_us) == (10, 60 * S, NOW + 42 * S)


def test_lettr_send_response() -> None:
    obs = parse_headers("lettr", {
        "X-RateLimit-Limit": "3",
        "X-RateLimit-Remaining": "2",
        "X-RateLimit-Reset": str(NOW_S + 1),
        "X-Daily-Limit": "100",
        "X-Daily-Remaining": "37",
        "X-Daily-Reset": str(NOW_S + 12 * 3600),
        "X-Monthly-Limit": "3000",
        "X-Monthly-Remaining": "2900",
        "X-Monthly-Reset": str(NOW_S + 26 * 86_400 + 12 * 3600),
    }, NOW)
    assert obs == Observation(
        limit=3, window_us=S, remaining=2, reset_at_us=NOW + S,
        quota_limit=100, quota_remaining=37, quota_reset_at_us=NOW + 12 * 3600 * S,
        monthly_limit=3000, monthly_remaining=2900,
        monthly_reset_at_us=NOW + 26 * DAY + 12 * 3600 * S,
    )


def test_lettr_429_carries_retry_after() -> None:
    obs = parse_headers("lettr", {"Retry-After": "1", "X-RateLimit-Remaining": "0"}, NOW)
    assert (obs.retry_at_us, obs.remaining, obs.limit, obs.window_us) == (NOW + S, 0, None, None)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "30"}, Observation(retry_at_us=NOW + 30 * S)),
        ({"Retry-After": "Thu, 05 Mar 2026 12:00:30 GMT"}, Observation(retry_at_us=NOW + 30 * S)),
        ({"X-RateLimit-Limit": "1800", "X-RateLimit-Remaining": "1799"},
         Observation(limit=1800, remaining=1799)),  # window unknown: not guessed
        ({"X-Request-Id": "req_abc"}, Observation()),
        ({"X-Daily-Remaining": "0"}, Observation()),  # not a Sendmux header
    ],
)
def test_sendmux(headers: dict[str, str], expected: Observation) -> None:
    assert parse_headers("sendmux", headers, NOW) == expected


@pytest.mark.parametrize(
    ("headers", "limit", "window_s", "remaining", "reset_s"),
    [
        ({"RateLimit-Policy": '"burst";q=100;w=60', "RateLimit": '"burst";r=50;t=30'},
         100, 60, 50, 30),
        ({"RateLimit-Policy": "burst;q=100;w=60"}, 100, 60, None, None),  # a token name
        # of several policies, the one with the fewest remaining...
        ({"RateLimit-Policy": '"burst";q=100;w=60, "daily";q=1000;w=86400',
          "RateLimit": '"burst";r=50;t=30, "daily";r=5;t=3600'}, 1000, 86_400, 5, 3600),
        # ... and without current counts, the lowest quota per second
        ({"RateLimit-Policy": '"a";q=1000;w=60, "b";q=100;w=60, "c";q=5000;w=86400'},
         5000, 86_400, None, None),
        # a policy named twice keeps its conservative values
        ({"RateLimit-Policy": ['"p";q=100;w=60', '"p";q=80;w=30']}, 80, 60, None, None),
        # a byte quota is no request limit
        ({"RateLimit-Policy": '"bytes";q=10;qu="content-bytes";w=1, "req";q=100;w=60'},
         100, 60, None, None),
        ({"RateLimit": '"default";r=0;t=12'}, None, None, 0, 12),
        # the older headers; the reset is a delta
        ({"RateLimit-Limit": "100", "RateLimit-Remaining": "7", "RateLimit-Reset": "30"},
         100, None, 7, 30),
        ({"RateLimit-Limit": "100, 100;w=60, 1000;w=3600", "RateLimit-Remaining": "7"},
         100, 60, 7, None),
        # structured fields win over the older headers when both are sent
        ({"RateLimit-Policy": '"p";q=10;w=1', "RateLimit-Limit": "100"}, 10, 1, None, None),
    ],
)
def test_ietf(headers: dict[str, Any], limit: int | None, window_s: int | None,
              remaining: int | None, reset_s: int | None) -> None:
    pairs = [(k, v) for k, vs in headers.items() for v in (vs if isinstance(vs, list) else [vs])]
    obs = parse_headers("ietf", pairs, NOW)
    assert obs.limit == limit
    assert obs.window_us == (window_s * S if window_s is not None else None)
    assert obs.remaining == remaining
    assert obs.reset_at_us == (NOW + reset_s * S if reset_s is not None else None)


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({"RateLimit-Policy": '"burst";q=100;w=60,'}, "not a Structured Field list"),
        ({"RateLimit-Policy": '"p";q=-1;w=60'}, "ignored q="),
        ({"RateLimit-Policy": '"p";q=1.5;w=60'}, "ignored q="),
        ({"RateLimit-Policy": '"p";q=?1;w=60'}, "ignored q="),
        ({"RateLimit-Policy": '"p";q="100";w=60'}, "ignored q="),
        ({"RateLimit-Policy": '"p";q=100;w=0'}, "ignored window"),
        ({"RateLimit-Policy": "(a b);q=1"}, "not a named policy"),
        ({"RateLimit-Policy": "1;q=1"}, "no window"),  # an unnamed policy (drafts 05-07)
        ({"RateLimit-Policy": '"p";q=100;w=34560000'}, "ignored window"),  # 400 days
        ({"RateLimit": '"p";r=1;t=99999999999'}, "ignored t="),
    ],
)
def test_ietf_junk_is_noted(headers: dict[str, str], problem: str) -> None:
    obs = parse_headers("ietf", headers, NOW)
    assert any(problem in p for p in obs.problems), obs.problems


@pytest.mark.parametrize(
    ("headers", "limit", "window_s", "quota_remaining"),
    [
        ({"x-ratelimit-limit": "60", "x-apiquota-remaining": "5"}, 60, None, 5),
        ({"RateLimit-Policy": '"p";q=10;w=1', "x-ratelimit-limit": "60"}, 10, 1, None),
        ({"RateLimit-Limit": "junk", "x-ratelimit-limit": "60"}, 60, None, None),
        ({"X-Daily-Remaining": "3", "x-apiquota-remaining": "5"}, None, None, 3),
        ({"X-Daily-Remaining": "junk", "x-apiquota-remaining": "5"}, None, None, 5),
    ],
)
def test_generic_takes_the_first_family_that_says_something(
        headers: dict[str, str], limit: int | None, window_s: int | None,
        quota_remaining: int | None) -> None:
    obs = parse_headers("generic", headers, NOW)
    assert obs.limit == limit
    assert obs.window_us == (window_s * S if window_s is not None else None)
    assert obs.quota_remaining == quota_remaining


def test_generic_reads_every_family_at_once() -> None:
    obs = parse_headers("generic", {
        "RateLimit-Limit": "5", "Retry-After": "3", "X-Daily-Limit": "100",
        "X-Monthly-Remaining": "9",
    }, NOW)
    assert (obs.limit, obs.retry_at_us, obs.quota_limit, obs.monthly_remaining) == (
        5, NOW + 3 * S, 100, 9)


def test_unknown_dialect_reads_as_generic_and_says_so() -> None:
    obs = parse_headers("postmark", {"x-ratelimit-limit": "60"}, NOW)
    assert obs.limit == 60
    assert obs.problems[0].startswith("unknown header dialect 'postmark'")


def test_dialect_names_and_header_names_ignore_case() -> None:
    assert set(DIALECTS) == {"mailersend", "lettr", "sendmux", "ietf", "generic"}
    obs = parse_headers("MailerSend", {"X-RATELIMIT-LIMIT": "60", "Retry-After": "1"}, NOW)
    assert (obs.limit, obs.retry_at_us) == (60, NOW + S)


# --- clock skew ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "server_behind_s",
    [0, 1, 2, 3, -10, 3600, -3600, 86_400, -86_400],  # -10: the server runs ahead
)
def test_date_header_moves_absolute_times_onto_the_local_clock(server_behind_s: int) -> None:
    """A server-absolute time is read as a duration from the response's own Date, however far
    the local clock is off (a day either way included): the server's reset holds."""
    shift_s = server_behind_s
    server_now_s = NOW_S - server_behind_s
    obs = parse_headers("mailersend", {
        "Date": _http_date(server_now_s),
        "x-ratelimit-reset": str(server_now_s + 60),  # epoch: corrected
        "retry-after": "60",  # delta: never corrected
        "x-apiquota-reset": _iso(server_now_s + 600),
    }, NOW)
    assert obs.server_date_us == server_now_s * S
    assert obs.reset_at_us == (server_now_s + 60 + shift_s) * S
    assert obs.quota_reset_at_us == (server_now_s + 600 + shift_s) * S
    assert obs.retry_at_us == NOW + 60 * S


@pytest.mark.parametrize(
    ("dates", "problem"),
    [
        (["Thu, 05 Mar 2026 11:00:00 GMT", "Thu, 05 Mar 2026 11:00:05 GMT"],
         "several different values"),
        (["Mon, 02 Mar 2026 11:59:59 GMT"], "off the local clock"),  # beyond two days
        (["yesterday"], "not an HTTP-date"),
    ],
)
def test_untrustworthy_date_is_ignored(dates: list[str], problem: str) -> None:
    headers = [("Date", d) for d in dates] + [("x-ratelimit-reset", str(NOW_S + 60))]
    obs = parse_headers("mailersend", headers, NOW)
    assert obs.server_date_us is None
    assert obs.reset_at_us == NOW + 60 * S  # uncorrected
    assert any(problem in p for p in obs.problems), obs.problems


def test_identical_date_duplicates_are_one_date() -> None:
    date = _http_date(NOW_S - 10)
    obs = parse_headers("generic", [("Date", date), ("date", date), ("Retry-After", "1")], NOW)
    assert obs.server_date_us == (NOW_S - 10) * S
    assert obs.problems == ()


# --- duplicates: the most conservative value, deterministically ----------------------------


@pytest.mark.parametrize(
    ("pairs", "field", "expected"),
    [
        ([("x-ratelimit-limit", "120"), ("X-RateLimit-Limit", "10")], "limit", 10),
        ([("x-ratelimit-limit", "120, 10")], "limit", 10),
        ([("x-ratelimit-remaining", "5"), ("x-ratelimit-remaining", "junk")], "remaining", 5),
        ([("retry-after", "5"), ("retry-after", "50")], "retry_at_us", NOW + 50 * S),
        ([("retry-after", "50, 5")], "retry_at_us", NOW + 50 * S),
        ([("retry-after", "Thu, 05 Mar 2026 12:00:10 GMT, Thu, 05 Mar 2026 12:00:20 GMT")],
         "retry_at_us", NOW + 20 * S),
        ([("retry-after", "Thu, 05 Mar 2026 12:00:10 GMT, 5")], "retry_at_us", NOW + 10 * S),
        ([("x-ratelimit-reset", str(NOW_S + 5)), ("x-ratelimit-reset", "60")],
         "reset_at_us", NOW + 60 * S),
        ([("x-apiquota-remaining", "9"), ("x-apiquota-remaining", "9")], "quota_remaining", 9),
    ],
)
def test_duplicates_keep_the_most_conservative_value(
        pairs: list[tuple[str, str]], field: str, expected: int) -> None:
    forward = parse_headers("mailersend", pairs, NOW)
    backward = parse_headers("mailersend", pairs[::-1], NOW)
    assert getattr(forward, field) == getattr(backward, field) == expected


def test_duplicates_are_noted() -> None:
    obs = parse_headers("mailersend", [("x-ratelimit-limit", "120"), ("x-ratelimit-limit", "10")],
                        NOW)
    assert obs.problems == ("x-ratelimit-limit: several values [10, 120]; took the lowest",)


def test_httpx_style_multi_items_keep_duplicates() -> None:
    class MultiHeaders(dict[str, str]):
        def multi_items(self) -> list[tuple[str, str]]:
            return [("retry-after", "1"), ("retry-after", "9")]

    obs = parse_headers("sendmux", MultiHeaders({"retry-after": "1, 9"}), NOW)
    assert obs.retry_at_us == NOW + 9 * S


# --- hostile and odd input: dropped with a note, never raised ------------------------------


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("-1", "not a non-negative integer"),
        ("nan", "not a non-negative integer"),
        ("inf", "not a non-negative integer"),
        ("60.0", "not a non-negative integer"),
        ("", "not a non-negative integer"),
        ("1" * 13, "larger than"),
        ("\u0663", "not printable ASCII"),
        ("6\x000", "not printable ASCII"),
        ("9" * 300, "characters"),
        (b"\xff\xfe", "not printable ASCII"),
        (60, "type int"),
        (None, "type NoneType"),
        (["60"], "type list"),
    ],
)
def test_bad_counts_are_dropped_with_a_problem(value: Any, problem: str) -> None:
    obs = parse_headers("mailersend", [("x-ratelimit-limit", value)], NOW)
    assert obs.limit is None
    assert not obs.informative
    assert any(problem in p for p in obs.problems), obs.problems


@pytest.mark.parametrize("second", [("x-ratelimit-max", "many"), ("x-ratelimit-total", "-1")])
def test_a_bad_twin_of_a_field_does_not_erase_a_good_one(second: tuple[str, str]) -> None:
    headers = [("x-ratelimit-limit", "60"), ("x-ratelimit-remaining", "5"),
               ("x-ratelimit-used", "55"), ("x-ratelimit-observed", "lots"), second]
    obs = parse_headers("generic", headers, NOW)
    assert (obs.limit, obs.remaining) == (60, 5)
    assert len(obs.problems) == 2, obs.problems


def test_a_label_header_names_no_number() -> None:
    obs = parse_headers("generic", [("RateLimit-Limit", "60"),
                                    ("RateLimit-Name", "throttle_authenticated_web")], NOW)
    assert (obs.limit, obs.problems) == (60, ())


def test_bytes_names_and_values_are_read() -> None:
    obs = parse_headers("lettr", [(b"X-RateLimit-Limit", b"3"), (b"Retry-After", b"2")], NOW)
    assert (obs.limit, obs.retry_at_us, obs.problems) == (3, NOW + 2 * S, ())


@pytest.mark.parametrize("headers", [None, {}, [], "x-ratelimit-limit: 60", b"raw", 42])
def test_headers_of_any_shape_never_raise(headers: Any) -> None:
    obs = parse_headers("generic", headers, NOW)
    assert not obs.informative


def test_items_that_are_not_pairs_are_noted() -> None:
    headers: list[Any] = [("retry-after", "1"), "junk", ("a", "b", "c")]
    obs = parse_headers("generic", headers, NOW)
    assert obs.retry_at_us == NOW + S
    assert obs.problems == ("not a (name, value) pair: str", "not a (name, value) pair: tuple")


def test_problems_are_capped() -> None:
    obs = parse_headers("generic", [("retry-after", "junk")] * 100, NOW)
    assert len(obs.problems) == 21
    assert obs.problems[-1] == "... and 80 more problems"


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ({"x-ratelimit-limit": "10", "x-ratelimit-remaining": "11"}, "rate: remaining 11"),
        ({"x-daily-limit": "100", "x-daily-remaining": "500"}, "quota: remaining 500"),
        ({"x-monthly-limit": "1", "x-monthly-remaining": "2"}, "monthly quota: remaining 2"),
    ],
)
def test_remaining_above_limit_is_kept_but_noted(headers: dict[str, str], problem: str) -> None:
    obs = parse_headers("lettr", headers, NOW)
    assert obs.informative
    assert any(p.startswith(problem) for p in obs.problems), obs.problems


def test_a_response_without_limit_headers_is_not_informative() -> None:
    obs = parse_headers("generic", {"Date": _http_date(NOW_S - 30), "Content-Type": "x"}, NOW)
    assert obs.server_date_us is not None
    assert not obs.informative
    assert parse_headers("lettr", {"X-Daily-Reset": str(NOW_S + 60)}, NOW).informative


@pytest.mark.parametrize(
    ("dialect", "headers", "expected"),
    [
        ("mailersend", {"x-apiquota-remaining": "0"}, "quota"),
        ("mailersend", {"x-apiquota-remaining": "1"}, None),
        ("lettr", {"X-Daily-Remaining": "0"}, "quota"),
        ("lettr", {"X-Daily-Remaining": "4", "X-Monthly-Remaining": "0"}, "monthly_quota"),
        ("lettr", {"x-apiquota-remaining": "0"}, None),
        ("sendmux", {"X-Daily-Remaining": "0"}, None),
        ("generic", {"X-Monthly-Remaining": "0"}, "monthly_quota"),
        ("nonsense", {"x-apiquota-remaining": "0"}, "quota"),
        ("lettr", {"X-Daily-Remaining": "-0"}, None),
        ("lettr", None, None),
    ],
)
def test_exhausted_quota(dialect: str, headers: dict[str, str] | None,
                         expected: str | None) -> None:
    assert exhausted_quota(dialect, headers) == expected


# --- properties: any input, for every dialect ----------------------------------------------

_NAMES = st.sampled_from([
    "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after", "date",
    "x-apiquota-limit", "x-apiquota-remaining", "x-apiquota-reset", "x-daily-limit",
    "x-daily-remaining", "x-daily-reset", "x-monthly-limit", "x-monthly-remaining",
    "x-monthly-reset", "ratelimit", "ratelimit-policy", "ratelimit-limit",
    "ratelimit-remaining", "ratelimit-reset", "X-RateLimit-Reset", "RateLimit-Policy",
]) | st.text(max_size=20) | st.binary(max_size=20)
_NUMBERS = st.one_of(
    st.integers(-(10**20), 10**20), st.floats(allow_nan=True, allow_infinity=True),
    st.integers(NOW_S - 10 * 86_400, NOW_S + 500 * 86_400),
    st.integers((NOW_S - 10 * 86_400) * 1000, (NOW_S + 500 * 86_400) * 1000),
).map(str)
_DATES = st.datetimes().map(lambda d: d.strftime("%a, %d %b %Y %H:%M:%S GMT")) | st.datetimes(
).map(lambda d: d.isoformat() + "Z")
_SF = st.builds(
    lambda name, q, w, r, t: f'"{name}";q={q};w={w}, "{name}";r={r};t={t}',
    st.sampled_from(["a", "b"]), _NUMBERS, _NUMBERS, _NUMBERS, _NUMBERS,
)
_VALUES = st.one_of(
    st.text(max_size=40), st.binary(max_size=40), _NUMBERS, _DATES, _SF,
    st.lists(_NUMBERS | _DATES, min_size=1, max_size=3).map(", ".join),
    st.integers(), st.none(), st.text(min_size=200, max_size=400),
)
_HEADERS = st.lists(st.tuples(_NAMES, _VALUES), max_size=12)


@settings(max_examples=300, deadline=None)
@given(dialect=st.sampled_from([*DIALECTS, "unknown"]), headers=_HEADERS,
       now_s=st.integers(NOW_S - 10 * 86_400, NOW_S + 10 * 86_400), as_dict=st.booleans())
def test_any_headers_give_a_sane_observation(
        dialect: str, headers: list[tuple[Any, Any]], now_s: int, as_dict: bool) -> None:
    now = now_s * S + 123_456
    obs = parse_headers(dialect, dict(headers) if as_dict else headers, now)
    for name in ("reset_at_us", "retry_at_us", "quota_reset_at_us", "monthly_reset_at_us"):
        at = getattr(obs, name)
        assert at is None or (type(at) is int and now - DAY <= at <= now + 400 * DAY), name
    for name in ("limit", "remaining", "quota_limit", "quota_remaining", "monthly_limit",
                 "monthly_remaining"):
        count = getattr(obs, name)
        assert count is None or (type(count) is int and 0 <= count <= 10**12), name
    assert obs.window_us is None or (obs.limit is not None and obs.window_us >= S)
    assert obs.server_date_us is None or abs(obs.server_date_us - now) <= DAY
    assert all(isinstance(p, str) and len(p) < 300 for p in obs.problems)
    assert len(obs.problems) <= 21
    assert exhausted_quota(dialect, headers) in (None, "quota", "monthly_quota")


@settings(max_examples=300, deadline=None)
@given(value=st.text(max_size=60) | _NUMBERS | _DATES, skew_s=st.integers(-86_400, 86_400))
def test_decode_time_is_sane_or_refuses(value: str, skew_s: int) -> None:
    try:
        at = decode_time(value, NOW, skew_s * S)
    except ValueError:
        return
    assert NOW - DAY <= at <= NOW + 400 * DAY


def test_a_date_offset_keeps_the_smallest_reading_and_starts_afresh_after_a_jump() -> None:
    """Each ``now - Date`` is the offset plus latency plus up to a second: the smallest is the
    truest; one far above it means the local clock stepped forward (or a Date was wrong)."""
    dates = DateOffset()
    assert [dates.refine(x * S // 10) for x in (9, 4, 7, 4, 12, 30, 25)] == [
        900_000, 400_000, 400_000, 400_000, 400_000, 3_000_000, 2_500_000]


def test_headers_read_with_a_date_offset_use_its_best_reading() -> None:
    dates = DateOffset()
    dates.refine(-S // 2)  # an earlier response: the server is half a second ahead
    obs = parse_headers("mailersend", {"Date": _http_date(NOW_S), "x-ratelimit-reset":
                                       str(NOW_S + 60)}, NOW, dates)
    assert obs.reset_at_us == NOW + 60 * S - S // 2
