"""The IETF RateLimit fields, every published syntax of draft-ietf-httpapi-ratelimit-headers.

Pure; read through a :class:`~governor.header_values.Reader`. The syntaxes, by draft:

=========  =========================================================================
01 to 04   ``RateLimit-Limit: 10, 10;w=1, 50;w=60``, ``RateLimit-Remaining``,
           ``RateLimit-Reset`` (a delta; GitLab sends epoch seconds)
05, 06     the same three, and ``RateLimit-Policy: 10;w=1, 50;w=60`` (unnamed policies)
07         ``RateLimit: limit=10, remaining=1, reset=7`` (a dictionary) and the unnamed
           ``RateLimit-Policy``
08 to 10   ``RateLimit-Policy: "burst";q=100;w=60, "daily";q=1000;w=86400`` and
           ``RateLimit: "burst";r=50;t=30`` (lists of named policies; ``qu`` the unit,
           ``pk`` a partition key, ignored)
=========  =========================================================================

The three ``RateLimit-*`` headers and the draft-07 dictionary are families like any other
(:mod:`governor.header_families`); this module reads the policy lists and joins them:

* A named policy given twice (in one field, or joined from two) keeps its lower ``q`` and
  ``r`` and its longer ``w`` and ``t``. One counting other units than requests (``qu``) is
  kept with its unit (reported, not enforced).
* An unnamed policy whose quota equals a stated current limit gives that limit its window
  (the longest such); the others are policies of their own, with a limit and a window only.
* A window outside one second to a day is ignored with a note: a policy over 400 days would
  otherwise pace calls days apart. ``t`` and the dictionary's ``reset`` are deltas.
"""

from __future__ import annotations

from dataclasses import replace

from governor.header_families import MAX_WINDOW_S, dictionary_field
from governor.header_times import decode_time
from governor.header_values import MAX_COUNT, Limit, Reader, show

__all__ = ["join_policies", "named_policies"]

_S = 1_000_000


def named_policies(r: Reader) -> list[Limit]:
    """The named policies of ``RateLimit-Policy`` and ``RateLimit`` (drafts 08 to 10)."""
    policies: dict[str, dict[str, int]] = {}
    units: dict[str, str] = {}
    fields = [("ratelimit-policy", "qw")]
    if not dictionary_field(r):
        fields.append(("ratelimit", "qrt"))
    for field, keys in fields:
        for name, params in r.members(field, unnamed=field == "ratelimit-policy"):
            if name.startswith("#"):
                continue  # unnamed: join_policies reads them
            unit = params.get("qu")
            if unit is not None:
                units[name] = str(unit)
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
    return [_limit(r, name, e, units.get(name, "requests")) for name, e in policies.items()
            if "q" in e or "r" in e or "t" in e]


def _limit(r: Reader, name: str, e: dict[str, int], unit: str) -> Limit:
    window_s = e.get("w")
    if window_s is not None and not 1 <= window_s <= MAX_WINDOW_S:
        r.note(f"ratelimit-policy: policy {show(name)}: ignored window w={window_s}: "
               "not from 1 s to a day")
        window_s = None
    reset_at_us = None
    if "t" in e:
        try:
            reset_at_us = decode_time(str(e["t"]), r.now_us, r.skew_us, delta=True)
        except ValueError as exc:
            r.note(f"ratelimit: policy {show(name)}: ignored t={e['t']}: {exc}")
    window_us = window_s * _S if window_s is not None and "q" in e else None
    return Limit(name, unit, e.get("q"), window_us, e.get("r"), reset_at_us)


def join_policies(r: Reader, limits: list[Limit]) -> list[Limit]:
    """``limits`` with the unnamed ``RateLimit-Policy`` items (drafts 05 to 07) joined: each
    gives its window to an unprefixed limit of its quota, or stands as a policy of its own."""
    unnamed = []
    for name, params in r.members("ratelimit-policy", unnamed=True):
        q, w = params.get("q"), params.get("w")
        if not name.startswith("#") or type(q) is not int or not 0 <= q <= MAX_COUNT:
            continue
        if type(w) is not int or not 1 <= w <= MAX_WINDOW_S:
            r.note(f"ratelimit-policy: ignored policy {q};w={show(str(w))}: "
                   "no window from 1 s to a day")
            continue
        unnamed.append((q, w))
    joined = list(limits)
    for q, w in unnamed:
        for i, limit in enumerate(joined):
            if limit.name in ("ratelimit-*", "ratelimit") and limit.limit == q:
                window_us = max(limit.window_us or 0, w * _S)
                joined[i] = replace(limit, window_us=window_us)
                break
        else:
            joined.append(Limit(f"ratelimit-policy {q};w={w}", limit=q, window_us=w * _S))
    return joined
