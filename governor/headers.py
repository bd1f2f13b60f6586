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
Each value is read by :mod:`governor.header_values`, whose rules (times, clock skew from
``Date``, duplicates, counts) hold in every dialect. On top of them:

* **Policies** in ``RateLimit-Policy`` and ``RateLimit`` (Structured Field lists): of several
  the most constraining wins (fewest remaining ``r``, then lowest ``q/w``, then lowest ``q``);
  a policy named twice keeps its lower ``q`` and ``r`` and its longer ``w`` and ``t``; one
  counting other units than requests (``qu``) is skipped. The older ``RateLimit-Limit`` may
  list ``;w=`` policies: its lowest number is the limit.
* **Counts** that disagree: ``remaining > limit`` is kept but noted.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import NamedTuple, TypeAlias

from governor.header_values import MAX_COUNT, DateOffset, Reader, decode_time, show

__all__ = [
    "DIALECTS",
    "DateOffset",
    "Dialect",
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
_MAX_WINDOW_S = 400 * 86_400  # as far ahead as decode_time believes a reset
_INF = float("inf")

_POLICY = re.compile(r"([0-9]+)[ \t]*;(?:[^;]*;)*?[ \t]*w=([0-9]{1,9})[ \t]*(?:;.*)?")

_X_RATELIMIT = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")
_RATELIMIT = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")
_APIQUOTA = ("x-apiquota-limit", "x-apiquota-remaining", "x-apiquota-reset")
_DAILY = ("x-daily-limit", "x-daily-remaining", "x-daily-reset")
_MONTHLY = ("x-monthly-limit", "x-monthly-remaining", "x-monthly-reset")
_KNOWN = frozenset(
    {*_X_RATELIMIT, *_RATELIMIT, *_APIQUOTA, *_DAILY, *_MONTHLY}
    | {"retry-after", "ratelimit", "ratelimit-policy"}
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


def _informed(counter: _Counter) -> _Counter | None:
    return counter if any(value is not None for value in counter) else None


def _counter(
    r: Reader, names: tuple[str, str, str], window_us: int | None = None
) -> _Counter | None:
    """A limit/remaining/reset family; None when none of its headers is present."""
    if not any(name in r.raw for name in names):
        return None
    limit = r.count(names[0])
    return _informed(_Counter(limit, window_us if limit is not None else None,
                              r.count(names[1]), r.time(names[2])))


def _observe(r: Reader, rate: _Counter | None = None, quota: _Counter | None = None,
             monthly: _Counter | None = None) -> Observation:
    rate, quota, monthly = (c or _Counter(None, None, None, None)
                             for c in (rate, quota, monthly))
    retry_at_us = r.time("retry-after")
    _ = r.skew_us  # reads Date even when no absolute time asked for it
    for label, c in (("rate", rate), ("quota", quota), ("monthly quota", monthly)):
        if c.limit is not None and c.remaining is not None and c.remaining > c.limit:
            r.note(f"{label}: remaining {c.remaining} exceeds limit {c.limit}")
    return Observation(
        rate.limit, rate.window_us, rate.remaining, rate.reset_at_us, retry_at_us,
        quota.limit, quota.remaining, quota.reset_at_us,
        monthly.limit, monthly.remaining, monthly.reset_at_us,
        r.server_date_us, r.noted(),
    )


def _structured(r: Reader) -> _Counter | None:
    """``RateLimit-Policy`` + ``RateLimit``: the most constraining policy of those named."""
    policies: dict[str, dict[str, int]] = {}
    for field, keys in (("ratelimit-policy", "qw"), ("ratelimit", "rt")):
        for name, params in r.members(field):
            unit = params.get("qu")
            if unit is not None and str(unit) != "requests":
                r.note(f"{field}: policy {show(name)} counts {show(str(unit))}, not requests")
                continue
            entry = policies.setdefault(name, {})
            for key in keys:
                value = params.get(key)
                if value is None:
                    continue
                if type(value) is not int or not 0 <= value <= MAX_COUNT:
                    r.note(f"{field}: policy {show(name)}: ignored {key}={show(str(value))}")
                elif key in entry:  # the same policy twice: keep the conservative value
                    entry[key] = max(entry[key], value) if key in "tw" else min(entry[key], value)
                else:
                    entry[key] = value
    ranked = sorted(
        (e.get("r", MAX_COUNT + 1), e["q"] / e["w"] if e.get("w") and "q" in e else _INF,
         e.get("q", MAX_COUNT + 1), name)
        for name, e in policies.items() if "q" in e or "r" in e
    )
    if not ranked:
        return None
    chosen = policies[ranked[0][-1]]
    window_s = chosen.get("w")
    if window_s is not None and not 1 <= window_s <= _MAX_WINDOW_S:
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


def _legacy(r: Reader) -> _Counter | None:
    """The older ``RateLimit-Limit/-Remaining/-Reset``; the limit may carry ``;w=`` policies."""
    if not any(name in r.raw for name in _RATELIMIT):
        return None
    limit = r.count("ratelimit-limit", params=True)
    windows = [
        int(m[2]) for e in r.elements("ratelimit-limit")
        if (m := _POLICY.fullmatch(e)) and int(m[1]) == limit and 1 <= int(m[2]) <= _MAX_WINDOW_S
    ]
    window_us = max(windows) * _S if windows else None
    return _informed(_Counter(limit, window_us, r.count("ratelimit-remaining"),
                              r.time("ratelimit-reset")))


def mailersend(headers: Headers, now_us: int, dates: DateOffset | None = None) -> Observation:
    """MailerSend: ``x-ratelimit-*`` per minute, ``retry-after``, ``x-apiquota-*`` daily."""
    r = Reader(headers, now_us, _KNOWN, dates)
    return _observe(r, _counter(r, _X_RATELIMIT, 60 * _S), _counter(r, _APIQUOTA))


def lettr(headers: Headers, now_us: int, dates: DateOffset | None = None) -> Observation:
    """Lettr: ``X-RateLimit-*`` per second, ``Retry-After``, ``X-Daily-*``, ``X-Monthly-*``."""
    r = Reader(headers, now_us, _KNOWN, dates)
    return _observe(r, _counter(r, _X_RATELIMIT, _S), _counter(r, _DAILY), _counter(r, _MONTHLY))


def sendmux(headers: Headers, now_us: int, dates: DateOffset | None = None) -> Observation:
    """Sendmux: ``Retry-After`` (429, 503); ``X-RateLimit-*`` if sent, window unknown."""
    r = Reader(headers, now_us, _KNOWN, dates)
    return _observe(r, _counter(r, _X_RATELIMIT))


def ietf(headers: Headers, now_us: int, dates: DateOffset | None = None) -> Observation:
    """IETF draft fields, else the older ``RateLimit-*`` headers; ``Retry-After``."""
    r = Reader(headers, now_us, _KNOWN, dates)
    return _observe(r, _structured(r) or _legacy(r))


def generic(headers: Headers, now_us: int, dates: DateOffset | None = None) -> Observation:
    """Every family this module knows; the first one that yields a value wins (see above)."""
    r = Reader(headers, now_us, _KNOWN, dates)
    rate = _structured(r) or _legacy(r) or _counter(r, _X_RATELIMIT)
    return _observe(r, rate, _counter(r, _DAILY) or _counter(r, _APIQUOTA), _counter(r, _MONTHLY))


Dialect: TypeAlias = Callable[[Headers, int, DateOffset | None], Observation]
"""A dialect: ``(headers, now_us, dates)`` -> :class:`Observation` (see :func:`parse_headers`)."""

DIALECTS: Mapping[str, Dialect] = MappingProxyType({
    "mailersend": mailersend,
    "lettr": lettr,
    "sendmux": sendmux,
    "ietf": ietf,
    "generic": generic,
})


def parse_headers(
    dialect: str, headers: Headers, now_us: int, dates: DateOffset | None = None
) -> Observation:
    """What a response's headers say, read in ``dialect`` (an unknown one reads as generic).

    ``dates`` (one per client of a server) refines the offset from the server's ``Date`` over
    many responses (see :class:`~governor.header_values.DateOffset`)."""
    parse = DIALECTS.get(dialect.lower()) if isinstance(dialect, str) else None
    if parse is not None:
        return parse(headers, now_us, dates)
    observation = generic(headers, now_us, dates)
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
    r = Reader(headers, 0, _KNOWN)
    for name, scope in _QUOTA_LEFT.get(str(dialect).lower(), fallback):
        if r.count(name) == 0:
            return scope
    return None
