"""Reset and retry times as headers write them -> absolute local-clock epoch microseconds.

Pure: time is the ``now_us`` passed in (Unix epoch microseconds on the local clock, when the
response arrived). One decoder, :func:`decode_time`, for every header; it tells the encodings
apart by form and magnitude and refuses, with the reason, whatever it cannot read for sure:

* **Durations with units** (Go's ``time.Duration`` text, as OpenAI sends: ``6m0s``, ``1s``,
  ``20ms``, ``1h2m3.5s``; units ``h``, ``m``, ``s``, ``ms``, ``us``/``µs``, ``ns``) are deltas.
* **Bare numbers** in seconds (or milliseconds when the header's name says ``-ms``): below ten
  years, a delta; within 400 days of now as epoch seconds or epoch milliseconds, an epoch
  time; anything between is ambiguous and refused. ``delta=True`` (``*-reset-after``,
  ``retry-after-ms``) refuses anything but a delta.
* **ISO-8601** (``YYYY-MM-DD...``) must carry its zone (``Z`` or an offset): a time without one
  could be in any zone and is refused, never taken as UTC.
* **HTTP-dates** (IMF-fixdate, RFC 850, asctime) and **JavaScript date strings**
  (``Tue Feb 16 2021 09:02:42 GMT+0100 (Central European Standard Time)``): the zone is
  honoured; ``GMT``/``UT``/``UTC``/``Z``, numeric offsets and the US zone names of RFC 5322
  are known, asctime is GMT by definition (RFC 9110); any other zone (``CET``) or none is
  refused.
* A time before ``now - 1 day`` or after ``now + 400 days`` is refused (a pause cap is
  reconcile's job).

``skew_us`` (local minus server clock, from ``Date``) is added to server-absolute forms (epoch,
ISO, dates), never to deltas.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

__all__ = ["datetime_us", "decode_time"]

_S = 1_000_000
_DAY_US = 86_400 * _S
_PAST_US = _DAY_US
_FUTURE_US = 400 * _DAY_US
_DELTA_MAX_S = 10 * 365 * 86_400
_NEAR_S = 401 * 86_400  # an epoch time further from now than this is refused anyway
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_US = timedelta(microseconds=1)

_NUMBER = re.compile(r"([0-9]+)(?:\.([0-9]+))?")
_DURATION = re.compile(r"(?:[0-9]+(?:\.[0-9]+)?(?:h|ms|m|s|us|µs|ns))+")
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(h|ms|m|s|us|µs|ns)")
_UNIT_US = {"h": 3600 * _S, "m": 60 * _S, "s": _S, "ms": 1000, "us": 1, "µs": 1, "ns": 0.001}
_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME = r"([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]+)?)?"
# IMF-fixdate and RFC 850 (weekday optional): "Sun, 06 Nov 1994 08:49:37 GMT".
_DAY_FIRST = re.compile(
    rf"(?:[A-Za-z]+,?[ \t]+)?([0-9]{{1,2}})[ -]([A-Za-z]{{3}})[ -]([0-9]{{4}}|[0-9]{{2}})"
    rf"[ \t]+{_TIME}(?:[ \t]*(.*))?"
)
# asctime "Sun Nov  6 08:49:37 1994" (GMT) and JavaScript's Date.toString(), whose year comes
# before the time and whose zone follows it: "Wed Dec 02 2026 17:00:00 GMT+0100 (CET)".
_ASCTIME = re.compile(rf"[A-Za-z]{{3}}[ \t]+([A-Za-z]{{3}})[ \t]+([0-9]{{1,2}})[ \t]+{_TIME}"
                      r"[ \t]+([0-9]{4})")
_JS_DATE = re.compile(rf"[A-Za-z]{{3}},?[ \t]+([A-Za-z]{{3}})[ \t]+([0-9]{{1,2}})[ \t]+"
                      rf"([0-9]{{4}})[ \t]+{_TIME}[ \t]*(.*)")
_OFFSET = re.compile(r"(?:GMT|UTC|UT)?([+-])([0-9]{2}):?([0-9]{2})")
_COMMENT = re.compile(r"[ \t]*\([^()]*\)$")
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)}
_ZONES_H = {"GMT": 0, "UT": 0, "UTC": 0, "Z": 0, "-0000": 0, "EST": -5, "EDT": -4,
            "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7}


def decode_time(
    value: str, now_us: int, skew_us: int = 0, *, unit_ms: bool = False, delta: bool = False
) -> int:
    """An absolute local-clock time (epoch microseconds) from any reset or retry encoding.

    ``unit_ms``: a bare number counts milliseconds (the header's name says so). ``delta``: only
    a duration from now is believed. Raises ValueError, with the reason, for anything
    unreadable, ambiguous or outside ``[now - 1 day, now + 400 days]``.
    """
    text = value.strip(" \t")
    number = _NUMBER.fullmatch(text)
    if number:
        at_us = _number(number[1], number[2] or "", now_us, skew_us, unit_ms, delta)
    elif _DURATION.fullmatch(text):
        at_us = now_us + round(sum(float(n) * _UNIT_US[u] for n, u in _DURATION_PART.findall(text)))
    elif delta:
        raise ValueError("not a duration")
    else:
        at_us = datetime_us(text) + skew_us
    if not now_us - _PAST_US <= at_us <= now_us + _FUTURE_US:
        days = (at_us - now_us) / _DAY_US
        raise ValueError(f"{days:+.1f} days from now, outside [-1, +400] days")
    return at_us


def _number(whole_text: str, fraction: str, now_us: int, skew_us: int, unit_ms: bool,
            delta: bool) -> int:
    # Told apart by magnitude, relative to now: a delta is under ten years; an epoch time
    # (seconds or milliseconds) lies near now. Relative, so a provider on a time-scaled clock
    # (the mock's virtual epoch) reads the same way.
    whole, now_s = int(whole_text), now_us // _S
    seconds = whole // 1000 if unit_ms else whole
    if seconds < _DELTA_MAX_S:
        if unit_ms:
            return now_us + whole * 1000 + int(fraction[:3].ljust(3, "0"))
        return now_us + whole * _S + int(fraction[:6].ljust(6, "0"))
    if delta:
        raise ValueError("a number too large for a delta")
    if not unit_ms and abs(whole - now_s) <= _NEAR_S:
        return whole * _S + int(fraction[:6].ljust(6, "0")) + skew_us
    if abs(whole // 1000 - now_s) <= _NEAR_S:
        return whole * 1000 + int(fraction[:3].ljust(3, "0")) + skew_us
    raise ValueError(
        "a number of no known magnitude (a delta in seconds, or an epoch time in "
        "seconds or milliseconds within 400 days of now)"
    )


def datetime_us(text: str) -> int:
    """Epoch microseconds of an ISO-8601 time, an HTTP-date or a JavaScript date string,
    each with a zone that says where it is (see the module docstring). Raises ValueError."""
    try:
        if _ISO.match(text):
            moment = datetime.fromisoformat(text[:-1] + "Z" if text[-1:] == "z" else text)
            if moment.tzinfo is None:
                raise ValueError("an ISO-8601 time without a zone (Z or an offset)")
            return (moment - _EPOCH) // _ONE_US
        if m := _DAY_FIRST.fullmatch(text):
            day, month, year, hh, mm, ss, zone = m.groups()
            offset_s = _zone_s(zone or "")
            full_year = int(year) + (0 if len(year) == 4 else 2000 if int(year) < 50 else 1900)
        elif m := _ASCTIME.fullmatch(text):
            month, day, hh, mm, ss, year = m.groups()
            offset_s, full_year = 0, int(year)
        elif m := _JS_DATE.fullmatch(text):
            month, day, year, hh, mm, ss, zone = m.groups()
            offset_s, full_year = _zone_s(zone), int(year)
        else:
            raise ValueError("neither a number, an ISO-8601 time nor an HTTP-date")
        moment = datetime(full_year, _MONTHS[month.lower()], int(day), int(hh), int(mm),
                          int(ss or 0), tzinfo=timezone.utc)
        return (moment - _EPOCH) // _ONE_US - offset_s * _S
    except KeyError as exc:
        raise ValueError("neither a number, an ISO-8601 time nor an HTTP-date") from exc
    except (TypeError, OverflowError) as exc:
        raise ValueError("neither a number, an ISO-8601 time nor an HTTP-date") from exc
    except ValueError as exc:
        if "zone" in str(exc):
            raise
        raise ValueError("neither a number, an ISO-8601 time nor an HTTP-date") from exc


def _zone_s(zone: str) -> int:
    """The UTC offset a date's zone names, in seconds; ValueError when it names none known."""
    text = _COMMENT.sub("", zone).strip(" \t").upper()
    if text in _ZONES_H:
        return _ZONES_H[text] * 3600
    if m := _OFFSET.fullmatch(text):
        offset_s = int(m[2]) * 3600 + int(m[3]) * 60
        return -offset_s if m[1] == "-" else offset_s
    raise ValueError(f"a date in an unknown time zone {text[:20]!r}" if text
                     else "a date without a time zone")
