"""Response headers -> an :class:`Observation`: what one response says about the limits.

Pure: every function takes ``now_us`` (Unix epoch microseconds on the local clock, when the
response arrived) and never reads a clock. Every time in an observation is absolute, in Unix
epoch microseconds on that local clock.

Dialects, by ``parse_headers(dialect, headers, now_us)``:

``mailersend``  ``x-ratelimit-limit/-remaining/-reset`` (a 60 s window), ``retry-after``,
                ``x-apiquota-remaining/-reset`` (the daily quota; ``x-apiquota-limit`` if sent).
``lettr``       ``X-RateLimit-*`` (a 1 s window), ``Retry-After``, ``X-Daily-*``, ``X-Monthly-*``.
``sendmux``     ``Retry-After``, and ``X-RateLimit-*`` when present (window unknown).
``ietf``        every published syntax of the IETF RateLimit drafts (``RateLimit-Policy`` +
                ``RateLimit`` lists, the draft-07 ``RateLimit`` dictionary, unnamed policies,
                ``RateLimit-Limit/-Remaining/-Reset``; :mod:`governor.header_ietf`);
                ``Retry-After``.
``generic``     the IETF fields, and every rate-limit header family by name
                (:mod:`governor.header_families`: GitHub, GitLab, Discord, OpenAI, Anthropic,
                HubSpot, Brevo, Zendesk, Shopify...), ``Retry-After``, ``retry-after-ms``;
                of the quota headers, ``X-Daily-*`` then ``x-apiquota-*``; ``X-Monthly-*``.

**Several limits.** ``ietf`` and ``generic`` keep every limit a response states in
``Observation.limits`` (one :class:`~governor.header_values.Limit` per policy or family, never
mixing the numbers of two), each with its unit: reconcile enforces every one that counts
requests and reports the others (tokens). The scalar fields describe the most constraining
request limit: fewest remaining, then lowest ``limit/window``, then lowest ``limit``. The
``mailersend``, ``lettr`` and ``sendmux`` dialects read their one family into the scalar fields
and leave ``limits`` empty.

Doubtful input never raises: the value is dropped and ``problems`` says why. Nothing is clamped.
Each value is read by :mod:`governor.header_values`, whose rules (times, clock skew from
``Date``, duplicates, counts) hold in every dialect. On top of them:

* **Windows** are believed from one second to a day; a longer one is ignored with a note.
* **Counts** that disagree: ``remaining > limit`` is kept but noted. ``generic`` reads
  integral floats (``599.0``) as counts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import NamedTuple, TypeAlias

from governor.header_families import families, kept, retry_at
from governor.header_ietf import join_policies, named_policies
from governor.header_values import MAX_COUNT, DateOffset, Limit, Reader, decode_time

__all__ = [
    "DIALECTS",
    "DateOffset",
    "Dialect",
    "Headers",
    "Limit",
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
_INF = float("inf")

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
    clock). ``problems`` notes every value that was ignored or looks wrong. ``limits`` is
    every limit the response stated (``ietf`` and ``generic``; see the module docstring).
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
    limits: tuple[Limit, ...] = ()

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
        limits=tuple(replace(limit, reset_at_us=back(limit.reset_at_us))
                     for limit in observation.limits),
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
             monthly: _Counter | None = None, limits: tuple[Limit, ...] = (),
             retry: Callable[[Reader], int | None] | None = None) -> Observation:
    rate, quota, monthly = (c or _Counter(None, None, None, None)
                             for c in (rate, quota, monthly))
    retry_at_us = r.time("retry-after") if retry is None else retry(r)
    _ = r.skew_us  # reads Date even when no absolute time asked for it
    checked = (("rate", rate),) if not limits else ()  # each of the limits was checked
    for label, c in (*checked, ("quota", quota), ("monthly quota", monthly)):
        if c.limit is not None and c.remaining is not None and c.remaining > c.limit:
            r.note(f"{label}: remaining {c.remaining} exceeds limit {c.limit}")
    return Observation(
        rate.limit, rate.window_us, rate.remaining, rate.reset_at_us, retry_at_us,
        quota.limit, quota.remaining, quota.reset_at_us,
        monthly.limit, monthly.remaining, monthly.reset_at_us,
        r.server_date_us, r.noted(), limits,
    )


def _limits(r: Reader, vendors: bool) -> tuple[_Counter | None, tuple[Limit, ...]]:
    """Every limit stated (the IETF fields; ``vendors``: every family), and the most
    constraining request limit of them as the rate counter."""
    limits = tuple(join_policies(r, [*named_policies(r), *families(r, vendors)]))
    for x in limits:
        if x.remaining is not None and x.limit is not None and x.remaining > x.limit:
            r.note(f"{x.name}: remaining {x.remaining} exceeds limit {x.limit}")
    ranked = sorted(
        (x.remaining if x.remaining is not None else MAX_COUNT + 1,
         x.limit / x.window_us if x.window_us and x.limit is not None else _INF,
         x.limit if x.limit is not None else MAX_COUNT + 1, i)
        for i, x in enumerate(limits) if x.unit == "requests"
    )
    if not ranked:
        return None, limits
    chosen = limits[ranked[0][-1]]
    return _Counter(chosen.limit, chosen.window_us, chosen.remaining, chosen.reset_at_us), limits


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
    """Every syntax of the IETF drafts (see :mod:`governor.header_ietf`); ``Retry-After``."""
    r = Reader(headers, now_us, _KNOWN, dates)
    rate, limits = _limits(r, vendors=False)
    return _observe(r, rate, limits=limits)


def generic(headers: Headers, now_us: int, dates: DateOffset | None = None) -> Observation:
    """The IETF fields and every rate-limit family by name; retry headers; daily and monthly
    quota headers (see above)."""
    r = Reader(headers, now_us, _generic_names, dates)
    rate, limits = _limits(r, vendors=True)
    return _observe(r, rate, _counter(r, _DAILY) or _counter(r, _APIQUOTA),
                    _counter(r, _MONTHLY), limits, retry_at)


def _generic_names(name: str) -> bool:
    return name in _KNOWN or kept(name)


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
