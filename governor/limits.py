"""Limit value types and their notation.

A :class:`Rate` is "``limit`` calls per ``period_s``" with a ``burst``; a :class:`DailyQuota` is
a budget of calls per UTC calendar day. Both parse from the notation of the ``limits`` library
(``limits.parse("120/minute")``), extended where a provider needs more:

* ``"120/minute"``: 120 calls per minute, burst 1. No window of a minute, sliding or fixed,
  ever holds more than 120 calls: the calls are spaced by 0.5 s on average and never bunch up.
* ``"120/minute burst 20"``: the same long-run rate, but up to 20 calls may go at once after an
  idle spell. A window of one period then holds at most ``limit + burst - 1`` calls; choose a
  burst only for servers known to allow it.
* ``"1000/day"`` as a quota: 1,000 calls per UTC calendar day, reset at 00:00:00 UTC (not 24 h
  after the first call).

Time scale: demos and tests run a provider "minute" in a few seconds. Every period is multiplied
by ``scale = time_scale / 60`` (``time_scale`` is how many real seconds a provider minute lasts),
and so is the quota day (days stay aligned to the Unix epoch, so at scale 1 they are UTC days).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import limits as _limits

__all__ = ["DAY_S", "DailyQuota", "Rate", "parse_quota", "parse_rate"]

DAY_S = 86_400
_US = 1_000_000


@dataclass(frozen=True, slots=True)
class Rate:
    """``limit`` calls per ``period_s`` seconds, at most ``burst`` of them at once."""

    limit: int
    period_s: float
    burst: int = 1

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError(f"a rate needs a limit of at least 1 call, not {self.limit}")
        if not (self.period_s > 0 and math.isfinite(self.period_s)):
            raise ValueError(f"a rate needs a positive period, not {self.period_s}s")
        if self.burst < 1:
            raise ValueError(f"a burst is at least 1 call, not {self.burst}")

    def interval_us(self, scale: float = 1.0) -> int:
        """Microseconds between two calls at the steady rate, rounded up (never too fast)."""
        return math.ceil(self.period_s * scale * _US / self.limit)

    @property
    def per_second(self) -> float:
        """The steady rate in calls per second (unscaled)."""
        return self.limit / self.period_s

    def with_burst(self, burst: int) -> Rate:
        """This rate with another burst."""
        return Rate(self.limit, self.period_s, burst)

    def __str__(self) -> str:
        text = f"{self.limit}/{_period_name(self.period_s)}"
        return text if self.burst == 1 else f"{text} burst {self.burst}"


@dataclass(frozen=True, slots=True)
class DailyQuota:
    """``limit`` calls per UTC calendar day; ``reserve`` of them only for high priority calls."""

    limit: int
    reserve: int = 0

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError(f"a daily quota needs at least 1 call, not {self.limit}")
        if not 0 <= self.reserve < self.limit:
            raise ValueError(
                f"a quota reserve must be at least 0 and below the quota ({self.limit}), "
                f"not {self.reserve}"
            )

    def with_reserve(self, reserve: int) -> DailyQuota:
        """This quota with another reserve for high-priority calls."""
        return DailyQuota(self.limit, reserve)

    def __str__(self) -> str:
        text = f"{self.limit}/day"
        return text if not self.reserve else f"{text} (reserve {self.reserve})"


def _period_name(period_s: float) -> str:
    names = {1: "second", 60: "minute", 3600: "hour", DAY_S: "day"}
    for seconds, name in names.items():
        if period_s == seconds:
            return name
        if period_s % seconds == 0 and period_s // seconds > 1 and seconds * 60 > period_s:
            return f"{int(period_s // seconds)} {name}s"
    return f"{period_s:g} seconds"


def _parse_item(text: str) -> _limits.RateLimitItem:
    try:
        return _limits.parse(text)
    except ValueError as exc:
        raise ValueError(
            f"cannot read {text!r} as a limit; write it like '120/minute', '10 per second' "
            "or '1000/day'"
        ) from exc


def parse_rate(text: str, burst: int | None = None) -> Rate:
    """Read ``"120/minute"`` or ``"120/minute burst 20"``; ``burst`` overrides the text's burst."""
    head, sep, tail = text.strip().partition(" burst ")
    text_burst = 1
    if sep:
        try:
            text_burst = int(tail.strip())
        except ValueError:
            raise ValueError(f"the burst in {text!r} must be a whole number") from None
    item = _parse_item(head)
    return Rate(item.amount, float(item.get_expiry()), text_burst if burst is None else burst)


def parse_quota(text: str | int, reserve: int = 0) -> DailyQuota:
    """Read ``"1000/day"`` (or a bare number of calls per day) as a calendar-day quota."""
    if isinstance(text, int):
        return DailyQuota(text, reserve)
    item = _parse_item(text)
    if item.get_expiry() != DAY_S:
        raise ValueError(
            f"a quota is counted per calendar day; write it as 'N/day', not {text!r}"
        )
    return DailyQuota(item.amount, reserve)
