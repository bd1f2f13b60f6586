"""Limit notation: the ``limits`` library's parser, extended for burst and calendar-day quotas."""

from __future__ import annotations

import pytest

from governor.limits import DailyQuota, Rate, parse_quota, parse_rate


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("120/minute", Rate(120, 60.0)),
        ("10 per second", Rate(10, 1.0)),
        ("60/minute burst 60", Rate(60, 60.0, 60)),
        ("300/5 minutes", Rate(300, 300.0)),
        ("3/second", Rate(3, 1.0)),
        ("1000/day", Rate(1000, 86_400.0)),
    ],
)
def test_rates_parse(text: str, expected: Rate) -> None:
    assert parse_rate(text) == expected


@pytest.mark.parametrize("text", ["", "fast", "120/fortnight", "0/minute", "5/minute burst x"])
def test_bad_rates_say_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match=r"120/minute|burst|limit of at least 1"):
        parse_rate(text)


@pytest.mark.parametrize(
    ("rate", "scale", "interval_us"),
    [
        (Rate(120, 60.0), 1.0, 500_000),
        (Rate(3, 1.0), 1.0, 333_334),  # rounded up: never faster than the limit
        (Rate(120, 60.0), 0.1, 50_000),  # a "minute" of 6 s
    ],
)
def test_interval_is_rounded_up_and_scaled(rate: Rate, scale: float, interval_us: int) -> None:
    assert rate.interval_us(scale) == interval_us


def test_quota_is_a_calendar_day() -> None:
    assert parse_quota("100000/day") == DailyQuota(100_000)
    assert parse_quota(500) == DailyQuota(500)
    with pytest.raises(ValueError, match="calendar day"):
        parse_quota("100/hour")


def test_quota_reserve_must_leave_room() -> None:
    with pytest.raises(ValueError, match="below the quota"):
        DailyQuota(10, reserve=10)


def test_rates_print_back_in_notation() -> None:
    assert [str(parse_rate(t)) for t in ("120/minute", "60/minute burst 5", "300/5 minutes")] == [
        "120/minute", "60/minute burst 5", "300/5 minutes"]
