"""Response headers -> an :class:`Observation`: what one response says about the limits.

Pure: every function takes ``now_us`` (Unix epoch microseconds on the local clock, when the
response arrived) and never reads a clock. Every time in an observation is absolute, in Unix
epoch microseconds on that local clock.

Dialects, by ``parse_headers(dialect, headers, now_us)``:

``mailersend``  ``x-ratelimit-limit/-remaining/-reset`` (a 60 s window), ``retry-after``,
                ``x-apiquota-remaining/-reset`` (the daily quota; ``x-apiquota-limit`` if sent).
``lettr``       ``X-RateLimit-*`` (a 1 s window), ``Retry-After``, ``X-Daily-*``, ``X-Monthly-*``.
``sendmux``     ``Retry-After``, and ``X-RateLimit-*`` when present (window unknown).
``ietf``        ``RateLimit-Policy`` + ``RateLimit`` (Structured Fields), else the older
                ``RateLimit-Limit/-Remaining/-Reset``; ``Retry-After``.
``generic``     all of the above. Of the rate headers, the first family with a valid value
                wins whole, in the order IETF fields, ``RateLimit-*``, ``X-RateLimit-*`` (no
                window); of the quota headers, ``X-Daily-*`` then ``x-apiquota-*``. Mixing
                families would pair numbers that describe different limits.

Doubtful input never raises: the value is dropped and ``problems`` says why. Nothing is clamped.

* **Times** are decoded in one place, :func:`decode_time`, by form and magnitude: a bare number
  below 10 years of seconds is a delta; 1e9..1e10 is epoch seconds, 1e12..1e13 epoch
  milliseconds, anything between is ambiguous; ``YYYY-MM-DD...`` is ISO-8601 (UTC when it has
  no offset); anything else is tried as an HTTP-date (IMF-fixdate, RFC 850, asctime). A time
  before ``now - 1 day`` or after ``now + 400 days`` is dropped (a pause cap is reconcile's job).
* **Clock skew**: the ``Date`` header has a 1 s resolution and arrives after some latency, so
  only an offset ``now - Date`` beyond 2 s is trusted; it then moves every server-absolute time
  (epoch, ISO, HTTP-date) onto the local clock. Deltas need no correction. A ``Date`` more than
  a day away from ``now`` is ignored; so are several ``Date`` values that disagree.
* **Duplicates** (a header given twice, or a comma-joined value) keep the most conservative
  value: the lowest count, the latest reset or retry time. The comma after an HTTP-date's
  weekday is not a separator. ``RateLimit-Policy`` and ``RateLimit`` are Structured Field lists,
  joined as RFC 9651 says; of several policies the most constraining wins (fewest remaining
  ``r``, then lowest ``q/w``, then lowest ``q``); a policy named twice keeps its lower ``q`` and
  ``r`` and its longer ``w`` and ``t``; one counting other units than requests (``qu``) is skipped.
  The older ``RateLimit-Limit`` may list ``;w=`` policies: its lowest number is the limit.
* **Counts** are ASCII integers in ``0..10**12``. ``remaining > limit`` is kept but noted.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from types import MappingProxyType
from typing import NamedTuple, TypeAlias

import http_sf

__all__ = [
    "DIALECTS",
    "Headers",
    "Observation",
    "decode_time",
    "exhausted_quota",
    "generic",
    "ietf",
    "lettr",
    "mailersend",
    "parse_headers",
    "scaled",
    "sendmux",
]

Headers: TypeAlias = (
    Mapping[str, str] | Mapping[bytes, bytes] | Iterable[tuple[str | bytes, str | bytes]]
)
"""Response headers: a mapping (``httpx.Headers`` keeps duplicates) or (name, value) pairs."""

_S = 1_000_000
_DAY_US = 86_400 * _S
_PAST_US = _DAY_US
_FUTURE_US = 400 * _DAY_US
_SKEW_MIN_US = 2 * _S
_SKEW_MAX_US = _DAY_US
_DELTA_MAX_S = 10 * 365 * 86_400
_NEAR_S = 401 * 86_400  # an epoch time further from now than this is refused anyway
_MAX_COUNT = 10**12
_MAX_VALUE = 256
_MAX_PROBLEMS = 20
_INF = float("inf")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ONE_US = timedelta(microseconds=1)

_NUMBER = re.compile(r"([0-9]+)(?:\.([0-9]+))?")
_COUNT = re.compile(r"[0-9]+")
_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_POLICY = re.compile(r"([0-9]+)[ \t]*;(?:[^;]*;)*?[ \t]*w=([0-9]{1,9})[ \t]*(?:;.*)?")

_X_RATELIMIT = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")
_RATELIMIT = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")
_APIQUOTA = ("x-apiquota-limit", "x-apiquota-remaining", "x-apiquota-reset")
_DAILY = ("x-daily-limit", "x-daily-remaining", "x-daily-reset")
_MONTHLY = ("x-monthly-limit", "x-monthly-remaining", "x-monthly-reset")
_WEEKDAYS = frozenset({
    "mon", "tue", "wed", "thu", "fri", "sat", "sun",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
})
_KNOWN = frozenset(
    {*_X_RATELIMIT, *_RATELIMIT, *_APIQUOTA, *_DAILY, *_MONTHLY}
    | {"retry-after", "date", "ratelimit", "ratelimit-policy"}
)


@dataclass(frozen=True, slots=True)
class Observation:
    """What one response said about the limits; every field is None when it did not say.

    ``limit`` calls per ``window_us`` (the window when the dialect or policy states it),
    ``remaining`` in that window until ``reset_at_us``; ``retry_at_us`` from ``Retry-After``;
    ``quota_*`` the daily quota and ``monthly_*`` the monthly one (Lettr). Times are absolute
    local-clock epoch microseconds. ``server_date_us`` is the ``Date`` header as sent (server
    clock). ``problems`` notes every value that was ignored or looks wrong.
    """

    limit: int | None = None
    window_us: int | None = None
    remaining: int | None = None
    reset_at_us: int | None = None
    retry_at_us: int | None = None
    quota_limit: int | None = None
    quota_remaining: int | None = None
    quota_reset_at_us: int | None = None
    monthly_limit: int | None = None
    monthly_remaining: int | None = None
    monthly_reset_at_us: int | None = None
    server_date_us: int | None = None
    problems: tuple[str, ...] = ()

    @property
    def informative(self) -> bool:
        """Whether the response said anything about a rate, a quota or a pause.

        A response without such headers carries nothing for reconcile to write.
        """
        return any(
            value is not None
            for value in (
                self.limit, self.remaining, self.reset_at_us, self.retry_at_us,
                self.quota_limit, self.quota_remaining, self.quota_reset_at_us,
                self.monthly_limit, self.monthly_remaining, self.monthly_reset_at_us,
            )
        )


def scaled(observation: Observation, factor: float) -> Observation:
    """The observation of a provider whose clock runs ``1 / factor`` times as fast as ours
    (the mock under a time scale): every absolute time is brought back to the local clock.
    Parse with ``now_us / factor`` first, then scale with ``factor``."""
    if factor == 1.0:
        return observation

    def back(t: int | None) -> int | None:
        return None if t is None else round(t * factor)

    return replace(
        observation,
        reset_at_us=back(observation.reset_at_us),
        retry_at_us=back(observation.retry_at_us),
        quota_reset_at_us=back(observation.quota_reset_at_us),
        monthly_reset_at_us=back(observation.monthly_reset_at_us),
        server_date_us=back(observation.server_date_us),
    )


class _Counter(NamedTuple):
    limit: int | None
    window_us: int | None
    remaining: int | None
    reset_at_us: int | None


def decode_time(value: str, now_us: int, skew_us: int = 0) -> int:
    """An absolute local-clock time (epoch microseconds) from any reset or retry encoding.

    ``skew_us`` (local minus server clock) is added to server-absolute forms, not to deltas.
    Raises ValueError, with the reason, for anything unreadable, ambiguous or outside
    ``[now - 1 day, now + 400 days]``.
    """
    text = value.strip(" \t")
    number = _NUMBER.fullmatch(text)
    if number:
        whole, fraction = int(number[1]), (number[2] or "")
        # Told apart by magnitude, relative to now: a delta is under ten years; an epoch time
        # (seconds or milliseconds) lies near now. Relative, so a provider on a time-scaled
        # clock (the mock's virtual epoch) reads the same way.
        now_s = now_us // _S
        if whole < _DELTA_MAX_S:
            at_us = now_us + whole * _S + int(fraction[:6].ljust(6, "0"))
        elif abs(whole - now_s) <= _NEAR_S:
            at_us = whole * _S + int(fraction[:6].ljust(6, "0")) + skew_us
        elif abs(whole // 1000 - now_s) <= _NEAR_S:
            at_us = whole * 1000 + int(fraction[:3].ljust(3, "0")) + skew_us
        else:
            raise ValueError(
                "a number of no known magnitude (a delta in seconds, or an epoch time in "
                "seconds or milliseconds within 400 days of now)"
            )
    else:
        at_us = _datetime_us(text) + skew_us
    if not now_us - _PAST_US <= at_us <= now_us + _FUTURE_US:
        days = (at_us - now_us) / _DAY_US
        raise ValueError(f"{days:+.1f} days from now, outside [-1, +400] days")
    return at_us


def _datetime_us(text: str) -> int:
    try:
        if _ISO.match(text):
            iso = text[:-1] + "+00:00" if text[-1:] in "Zz" else text
            moment = datetime.fromisoformat(iso)
        else:
            moment = parsedate_to_datetime(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=timezone.utc)
        return (moment - _EPOCH) // _ONE_US
    except (ValueError, TypeError, IndexError, OverflowError) as exc:
        raise ValueError("neither a number, an ISO-8601 time nor an HTTP-date") from exc


def _show(value: str) -> str:
    """A value quoted for a problem note, cut short."""
    return repr(value) if len(value) <= 40 else repr(value[:40]) + "..."


def _split(value: str) -> list[str]:
    """A comma-joined value's elements; the comma after an HTTP-date's weekday is kept."""
    parts = value.split(",")
    elements: list[str] = []
    while parts:
        part = parts.pop(0)
        if parts and part.strip(" \t").lower() in _WEEKDAYS:
            part = f"{part},{parts.pop(0)}"
        elements.append(part.strip(" \t"))
    return elements


class _Reader:
    """The headers of one response, read field by field; collects problems as it goes."""

    def __init__(self, headers: object, now_us: int) -> None:
        self.now_us = now_us
        self.problems: list[str] = []
        self.raw: dict[str, list[object]] = {}
        self._texts: dict[str, list[str]] = {}
        self._skew_us: int | None = None
        self.server_date_us: int | None = None
        try:
            if headers is not None:
                self._collect(headers)
        except TypeError:
            self.problems.append(f"headers of type {type(headers).__name__} ignored: "
                                 "expected a mapping or a list of (name, value) pairs")

    def _collect(self, headers: object) -> None:
        multi = getattr(headers, "multi_items", None)  # httpx.Headers keeps duplicates there
        pairs: Iterable[object]
        if callable(multi):
            pairs = multi()
        elif isinstance(headers, Mapping):
            pairs = headers.items()
        elif isinstance(headers, Iterable) and not isinstance(headers, (str, bytes, bytearray)):
            pairs = headers
        else:
            raise TypeError
        for pair in pairs:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                self.note(f"not a (name, value) pair: {type(pair).__name__}")
                continue
            name = pair[0].decode("latin-1") if isinstance(pair[0], bytes) else pair[0]
            if isinstance(name, str) and name.strip().lower() in _KNOWN:
                self.raw.setdefault(name.strip().lower(), []).append(pair[1])

    def note(self, problem: str) -> None:
        self.problems.append(problem)

    def texts(self, name: str) -> list[str]:
        """The ASCII values of a header, each as sent; others are noted (once) and dropped."""
        if name in self._texts:
            return self._texts[name]
        texts = self._texts[name] = []
        for value in self.raw.get(name, ()):
            text = value.decode("latin-1") if isinstance(value, (bytes, bytearray)) else value
            if not isinstance(text, str):
                self.note(f"{name}: ignored a value of type {type(value).__name__}")
            elif len(text) > _MAX_VALUE:
                self.note(f"{name}: ignored a value of {len(text)} characters")
            elif not text.isascii() or not text.isprintable():
                self.note(f"{name}: ignored {_show(text)}: not printable ASCII")
            else:
                texts.append(text.strip(" \t"))
        return texts

    def elements(self, name: str) -> list[str]:
        return [e for text in self.texts(name) for e in _split(text)]

    def count(self, name: str, params: bool = False) -> int | None:
        """The lowest valid count among the header's values (``params``: drop ``;...``)."""
        counts = set()
        for each in self.elements(name):
            element = each.partition(";")[0].strip(" \t") if params else each
            if not _COUNT.fullmatch(element):
                self.note(f"{name}: ignored {_show(element)}: not a non-negative integer")
            elif int(element) > _MAX_COUNT:
                self.note(f"{name}: ignored {_show(element)}: larger than {_MAX_COUNT}")
            else:
                counts.add(int(element))
        if len(counts) > 1 and not params:  # the legacy limit lists its policies: expected
            self.note(f"{name}: several values {sorted(counts)}; took the lowest")
        return min(counts, default=None)

    def time(self, name: str) -> int | None:
        """The latest valid time among the header's values."""
        times = set()
        for element in self.elements(name):
            try:
                times.add(decode_time(element, self.now_us, self.skew_us))
            except ValueError as exc:
                self.note(f"{name}: ignored {_show(element)}: {exc}")
        if len(times) > 1:
            self.note(f"{name}: {len(times)} different times; took the latest")
        return max(times, default=None)

    @property
    def skew_us(self) -> int:
        """Local minus server clock, from ``Date``; 0 when unknown or within 2 s."""
        if self._skew_us is None:
            self._skew_us = 0
            dates = set()
            for text in self.texts("date"):
                try:
                    dates.add(_datetime_us(text))
                except ValueError:
                    self.note(f"date: ignored {_show(text)}: not an HTTP-date")
            offset = self.now_us - min(dates, default=self.now_us)
            if len(dates) > 1:
                self.note("date: several different values; no skew correction")
            elif abs(offset) > _SKEW_MAX_US:
                self.note(f"date: {offset / _S:+.0f} s off the local clock; ignored")
            elif dates:
                self.server_date_us = min(dates)
                self._skew_us = offset if abs(offset) > _SKEW_MIN_US else 0
        return self._skew_us

    def counter(self, names: tuple[str, str, str], window_us: int | None = None) -> _Counter | None:
        """A limit/remaining/reset family; None when none of its headers is present."""
        if not any(name in self.raw for name in names):
            return None
        limit = self.count(names[0])
        return _informed(_Counter(limit, window_us if limit is not None else None,
                                  self.count(names[1]), self.time(names[2])))

    def observe(self, rate: _Counter | None = None, quota: _Counter | None = None,
                monthly: _Counter | None = None) -> Observation:
        rate, quota, monthly = (c or _Counter(None, None, None, None)
                                for c in (rate, quota, monthly))
        retry_at_us = self.time("retry-after")
        _ = self.skew_us  # reads Date even when no absolute time asked for it
        for label, c in (("rate", rate), ("quota", quota), ("monthly quota", monthly)):
            if c.limit is not None and c.remaining is not None and c.remaining > c.limit:
                self.note(f"{label}: remaining {c.remaining} exceeds limit {c.limit}")
        problems = self.problems[:_MAX_PROBLEMS]
        if len(self.problems) > _MAX_PROBLEMS:
            problems.append(f"... and {len(self.problems) - _MAX_PROBLEMS} more problems")
        return Observation(
            rate.limit, rate.window_us, rate.remaining, rate.reset_at_us, retry_at_us,
            quota.limit, quota.remaining, quota.reset_at_us,
            monthly.limit, monthly.remaining, monthly.reset_at_us,
            self.server_date_us, tuple(problems),
        )


def _informed(counter: _Counter) -> _Counter | None:
    return counter if any(value is not None for value in counter) else None


def _structured(r: _Reader) -> _Counter | None:
    """``RateLimit-Policy`` + ``RateLimit``: the most constraining policy of those named."""
    policies: dict[str, dict[str, int]] = {}
    for field, keys in (("ratelimit-policy", "qw"), ("ratelimit", "rt")):
        for name, params in _members(r, field):
            unit = params.get("qu")
            if unit is not None and str(unit) != "requests":
                r.note(f"{field}: policy {_show(name)} counts {_show(str(unit))}, not requests")
                continue
            entry = policies.setdefault(name, {})
            for key in keys:
                value = params.get(key)
                if value is None:
                    continue
                if type(value) is not int or not 0 <= value <= _MAX_COUNT:
                    r.note(f"{field}: policy {_show(name)}: ignored {key}={_show(str(value))}")
                elif key in entry:  # the same policy twice: keep the conservative value
                    entry[key] = max(entry[key], value) if key in "tw" else min(entry[key], value)
                else:
                    entry[key] = value
    ranked = sorted(
        (e.get("r", _MAX_COUNT + 1), e["q"] / e["w"] if e.get("w") and "q" in e else _INF,
         e.get("q", _MAX_COUNT + 1), name)
        for name, e in policies.items() if "q" in e or "r" in e
    )
    if not ranked:
        return None
    chosen = policies[ranked[0][-1]]
    window_s = chosen.get("w")
    if window_s is not None and not 1 <= window_s <= _FUTURE_US // _S:
        r.note(f"ratelimit-policy: ignored window w={window_s}")
        window_s = None
    reset_at_us = None
    if "t" in chosen:
        try:
            reset_at_us = decode_time(str(chosen["t"]), r.now_us, r.skew_us)
        except ValueError as exc:
            r.note(f"ratelimit: ignored t={chosen['t']}: {exc}")
    window_us = window_s * _S if window_s is not None and "q" in chosen else None
    return _Counter(chosen.get("q"), window_us, chosen.get("r"), reset_at_us)


def _members(r: _Reader, field: str) -> list[tuple[str, dict[str, object]]]:
    """The named members of a Structured Field list (RFC 9651), duplicates joined."""
    texts = r.texts(field)
    if not texts:
        return []
    try:
        members = http_sf.parse(", ".join(texts).encode("ascii"), tltype="list")
    except Exception as exc:  # a third-party parser on hostile input: drop the field, go on
        r.note(f"{field}: ignored, not a Structured Field list: {str(exc)[:80]}")
        return []
    named: list[tuple[str, dict[str, object]]] = []
    for member in members if isinstance(members, list) else ():
        if isinstance(member, tuple) and isinstance(member[0], (str, http_sf.Token)):
            named.append((str(member[0]), dict(member[1])))
        else:
            r.note(f"{field}: ignored a member that is not a named policy")
    return named


def _legacy(r: _Reader) -> _Counter | None:
    """The older ``RateLimit-Limit/-Remaining/-Reset``; the limit may carry ``;w=`` policies."""
    if not any(name in r.raw for name in _RATELIMIT):
        return None
    limit = r.count("ratelimit-limit", params=True)
    windows = [
        int(m[2]) for e in r.elements("ratelimit-limit")
        if (m := _POLICY.fullmatch(e)) and int(m[1]) == limit and 1 <= int(m[2]) <= 400 * 86_400
    ]
    window_us = max(windows) * _S if windows else None
    return _informed(_Counter(limit, window_us, r.count("ratelimit-remaining"),
                              r.time("ratelimit-reset")))


def mailersend(headers: Headers, now_us: int) -> Observation:
    """MailerSend: ``x-ratelimit-*`` per minute, ``retry-after``, ``x-apiquota-*`` daily."""
    r = _Reader(headers, now_us)
    return r.observe(r.counter(_X_RATELIMIT, 60 * _S), r.counter(_APIQUOTA))


def lettr(headers: Headers, now_us: int) -> Observation:
    """Lettr: ``X-RateLimit-*`` per second, ``Retry-After``, ``X-Daily-*``, ``X-Monthly-*``."""
    r = _Reader(headers, now_us)
    return r.observe(r.counter(_X_RATELIMIT, _S), r.counter(_DAILY), r.counter(_MONTHLY))


def sendmux(headers: Headers, now_us: int) -> Observation:
    """Sendmux: ``Retry-After`` (429, 503); ``X-RateLimit-*`` if sent, window unknown."""
    r = _Reader(headers, now_us)
    return r.observe(r.counter(_X_RATELIMIT))


def ietf(headers: Headers, now_us: int) -> Observation:
    """IETF draft fields, else the older ``RateLimit-*`` headers; ``Retry-After``."""
    r = _Reader(headers, now_us)
    return r.observe(_structured(r) or _legacy(r))


def generic(headers: Headers, now_us: int) -> Observation:
    """Every family this module knows; the first one that yields a value wins (see above)."""
    r = _Reader(headers, now_us)
    rate = _structured(r) or _legacy(r) or r.counter(_X_RATELIMIT)
    return r.observe(rate, r.counter(_DAILY) or r.counter(_APIQUOTA), r.counter(_MONTHLY))


DIALECTS: Mapping[str, Callable[[Headers, int], Observation]] = MappingProxyType({
    "mailersend": mailersend,
    "lettr": lettr,
    "sendmux": sendmux,
    "ietf": ietf,
    "generic": generic,
})


def parse_headers(dialect: str, headers: Headers, now_us: int) -> Observation:
    """What a response's headers say, read in ``dialect`` (an unknown one reads as generic)."""
    parse = DIALECTS.get(dialect.lower()) if isinstance(dialect, str) else None
    if parse is not None:
        return parse(headers, now_us)
    observation = generic(headers, now_us)
    note = f"unknown header dialect {str(dialect)[:40]!r}; read as generic"
    return dataclasses.replace(observation, problems=(note, *observation.problems))


_QUOTA_LEFT = {
    "mailersend": (("x-apiquota-remaining", "quota"),),
    "lettr": (("x-daily-remaining", "quota"), ("x-monthly-remaining", "monthly_quota")),
    "sendmux": (),
    "ietf": (),
}


def exhausted_quota(dialect: str, headers: Headers | None) -> str | None:
    """``"quota"`` (daily) or ``"monthly_quota"`` when the headers say none is left, else None.

    Reads counts only, so it needs no clock: for telling a quota 429 from a rate 429 when the
    body names no code.
    """
    fallback = (*_QUOTA_LEFT["mailersend"], *_QUOTA_LEFT["lettr"])
    r = _Reader(headers, 0)
    for name, scope in _QUOTA_LEFT.get(str(dialect).lower(), fallback):
        if r.count(name) == 0:
            return scope
    return None
