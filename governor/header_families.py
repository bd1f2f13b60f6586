"""Rate-limit header families by name: how the ``generic`` dialect reads what real APIs send.

Pure, like every header module (time is the reader's ``now_us``). A header belongs to a family
when its lower-case name contains the word ``ratelimit`` (or ``rate-limit``); the words around
it say which family and which field:

``[x-][<vendor>-]ratelimit[-<words>]``, e.g. ``x-ratelimit-limit`` (GitHub, SendGrid, Discord),
``ratelimit-remaining`` (GitLab, Resend), ``x-rate-limit-reset`` (Twitter/X, Okta),
``x-sib-ratelimit-reset`` (Brevo), ``anthropic-ratelimit-tokens-limit``,
``x-hubspot-ratelimit-interval-milliseconds``, ``x-ratelimit-reset-requests`` (OpenAI),
``x-ms-ratelimit-remaining-subscription-reads`` (Azure Resource Manager).

* One of ``<words>`` names the **field** (table :data:`FIELDS`): the limit (``limit``,
  ``max``, ``total``; a name with no field word at all, ``x-rate-limit`` or
  ``x-hubspot-ratelimit-daily``, states a limit too), ``remaining``, ``used``/``observed``
  (a remaining derived as limit minus used when none is sent), ``reset`` (any time form),
  ``reset-after`` (a delta only), ``interval``/``window`` (the window length), ``fillrate``
  (a token bucket's refill per window, which is then the rate), ``retry-after``. Words such
  as ``bucket``, ``scope`` or ``global`` name no number: the header is skipped unread.
* The other words, with the vendor, name the **family**: ``-requests`` and ``-tokens`` are two
  families, as are HubSpot's ``-daily`` and ``-secondly``. A family whose words mention
  ``token`` counts tokens (reported, not enforced); the rest count requests. A word naming a
  period (:data:`PERIODS`: ``secondly``, ``minute``, ``hour``, ``daily``...) is the window.
* A unit in the name (a last word ``ms`` or ``milliseconds``, also after ``_``) makes bare
  numbers milliseconds; values may carry their own units (``6m0s``, see
  :mod:`governor.header_times`).
* A value that is a list of ``key=value`` items (``total=100; remaining=99; resets=41``,
  Zendesk; ``limit=20, remaining=19, reset=1; limit=4000, ...``, Unity; the IETF draft-07
  ``RateLimit`` dictionary) is read item by item; a key seen again starts the next policy.
* A limit may list ``;w=`` policies (``20, 20;w=60``, the IETF drafts 01 to 04): the number
  without parameters is the limit (the lowest, if several; else the lowest of all), the
  windows of the policies equal to it its window; each other policy is a limit of its own.
* Shopify's ``X-Shopify-Shop-Api-Call-Limit: 32/40`` is used/limit.

Nothing is guessed: a window is only the one a name or value states, a value that is not a
number of the field's kind is dropped with a note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from governor.header_times import decode_time
from governor.header_values import MAX_COUNT, Limit, Reader, read_count, show

__all__ = ["FIELDS", "MAX_WINDOW_S", "PERIODS", "dictionary_field", "families", "kept",
           "retry_at"]

_S = 1_000_000
MAX_WINDOW_S = 86_400
"""The longest window believed; a longer one is ignored with a note (it would pace for days)."""

FIELDS = {
    "limit": "limit", "max": "limit", "total": "limit", "quota": "limit", "q": "limit",
    "remaining": "remaining", "r": "remaining",
    "used": "used", "observed": "used",
    "reset": "reset", "resets": "reset", "resettime": "reset", "t": "reset",
    "interval": "window", "window": "window", "w": "window",
    "fillrate": "refill",
}
"""A word of a header's name (or a key of a ``key=value`` item) -> the field it names."""

PERIODS = {"secondly": 1, "second": 1, "minutely": 60, "minute": 60, "hourly": 3600,
           "hour": 3600, "daily": 86_400, "day": 86_400}
"""A word of a family's name that states its window, in seconds."""

_SKIP = frozenset({"bucket", "scope", "global", "resource", "nearlimit", "policy", "precision",
                   "reason", "category", "type", "class", "name"})
_RETRY_MS = ("retry-after-ms", "x-ms-retry-after-ms")
_SHOPIFY = "x-shopify-shop-api-call-limit"
_WORDS = re.compile(r"[-_]")
_ITEM = re.compile(r"[ \t]*([a-z][a-z0-9_-]*)[ \t]*=[ \t]*([^,;]*)", re.IGNORECASE)
_FRACTION = re.compile(r"([0-9]+)[ \t]*/[ \t]*([0-9]+)")
_PAIR = re.compile(r"([^;]+);[ \t]*([0-9]+)")
_POLICY_W = re.compile(r"([0-9]+)[ \t]*;(?:[^;]*;)*?[ \t]*w=([0-9]{1,9})[ \t]*(?:;.*)?")


def kept(name: str) -> bool:
    """Whether the generic dialect reads a header of this (lower-case) name."""
    return "ratelimit" in name or "rate-limit" in name or name.startswith(
        "retry-after") or name in _RETRY_MS or name == _SHOPIFY


@dataclass(slots=True)
class _Family:
    name: str
    unit: str
    window_s: int | None
    limit: int | None = None
    remaining: int | None = None
    used: int | None = None
    refill: int | None = None
    resets: list[int] = field(default_factory=list)
    windows: list[int] = field(default_factory=list)

    def limit_of(self) -> Limit:
        limit, remaining = self.limit, self.remaining
        if remaining is None and limit is not None and self.used is not None:
            remaining = max(limit - self.used, 0)
        window_s = max(self.windows) if self.windows else self.window_s
        rate = self.refill if self.refill is not None else limit
        window_us = window_s * _S if window_s is not None and rate is not None else None
        reset_at_us = max(self.resets, default=None)
        return Limit(self.name, self.unit, rate, window_us, remaining, reset_at_us)


def dictionary_field(r: Reader) -> bool:
    """Whether ``RateLimit`` is the IETF draft-07 dictionary (``limit=10, remaining=1,
    reset=7``) rather than the later list of named policies (``"default";r=50;t=30``)."""
    members = r.dictionary("ratelimit")
    return members is not None and any(type(v) is int for v in members.values())


def _split(name: str) -> tuple[str, list[str]] | None:
    """(vendor, words after ``ratelimit``) of a header name, or None for no family."""
    words = name.split("-")
    for i, word in enumerate(words):
        if word == "ratelimit" or (word == "rate" and words[i + 1:i + 2] == ["limit"]):
            start = i + 1 if word == "ratelimit" else i + 2
            vendor = "-".join(w for w in words[:i] if w != "x")
            return vendor, [w for w in _WORDS.split("-".join(words[start:])) if w]
    return None


def families(r: Reader, vendors: bool = True) -> list[Limit]:
    """Every family the response's headers state (``vendors=False``: the unprefixed
    ``ratelimit-*`` ones only, as the IETF drafts name them)."""
    found: dict[tuple[str, str, str], _Family] = {}
    limits: list[Limit] = []
    for name in list(r.raw):
        if name == _SHOPIFY and vendors:
            limits.extend(_shopify(r))
            continue
        parts = _split(name)
        if parts is None or (parts[0] and not vendors) or name == "ratelimit-policy":
            continue
        vendor, words = parts
        unit_ms = bool(words) and words[-1] in ("ms", "milliseconds")
        words = words[:-1] if unit_ms or words[-1:] == ["seconds"] else words
        kind, rest = _field(words)
        if kind is None and any(w in _SKIP for w in words):
            continue
        if kind == "retry":
            continue  # read by retry_at
        if kind is None:
            if name == "ratelimit" and not dictionary_field(r):
                continue  # a Structured Field list of policies: the IETF reader's
            if any("=" in t for t in r.texts(name)):
                limits.extend(_dictionary(r, name))
                continue
            kind = "limit"
        qualifier = "-".join(rest)
        prefix = "x" if name.startswith("x-") else ""
        key = (prefix, vendor, qualifier)  # X-Rate-Limit and RateLimit-* sent together: two
        if key not in found:
            period = next((PERIODS[w] for w in rest if w in PERIODS), None)
            unit = "tokens" if "token" in qualifier else "requests"
            label = "-".join(filter(None, (prefix, vendor, "ratelimit", "*", qualifier)))
            found[key] = _Family(label, unit, period)
        _read(r, name, kind, found[key], unit_ms, limits)
    limits.extend(f.limit_of() for f in found.values())
    return [limit for limit in limits if limit.informed]


def _field(words: list[str]) -> tuple[str | None, list[str]]:
    """The field the words name (None: none) and the words left for the family's name."""
    for i, word in enumerate(words):
        if word in ("reset", "retry") and words[i + 1:i + 2] == ["after"]:
            return ("reset_after" if word == "reset" else "retry"), words[:i] + words[i + 2:]
        if word in FIELDS and len(word) > 1:
            return FIELDS[word], words[:i] + words[i + 1:]
    return None, words


def _read(r: Reader, name: str, kind: str, family: _Family, unit_ms: bool,
          limits: list[Limit]) -> None:
    if kind in ("reset", "reset_after"):
        at = r.time(name, unit_ms=unit_ms, delta=kind == "reset_after")
        if at is not None:
            family.resets.append(at)
    elif kind == "window":
        window = _window(r, name, r.count(name, floats=True), unit_ms)
        family.window_s = window if window is not None else family.window_s
    elif kind == "remaining" and any(_PAIR.fullmatch(e) for e in r.elements(name)):
        for each in r.elements(name):  # Azure: "Microsoft.Compute/GetVMScaleSet3Min;197,..."
            if m := _PAIR.fullmatch(each):
                limits.append(Limit(f"{name}:{m[1].strip()}", remaining=min(int(m[2]), MAX_COUNT)))
    elif kind == "limit":
        bare = [e for e in r.elements(name) if ";" not in e]  # the limit, before its policies
        limit = _lowest(r, name, bare) if bare else r.count(name, params=True, floats=True)
        family.limit = limit if limit is not None else family.limit  # a bad twin erases nothing
        for each in r.elements(name):  # "10, 10;w=1, 50;w=60": the limit, and its policies
            if (m := _POLICY_W.fullmatch(each)) and _window(r, name, int(m[2]), False):
                q, w = min(int(m[1]), MAX_COUNT), int(m[2])
                if q == family.limit:
                    family.windows.append(w)
                else:
                    limits.append(Limit(f"{family.name} {q};w={w}", limit=q, window_us=w * _S))
    elif (count := r.count(name, floats=True)) is not None:
        setattr(family, kind, count)


def _lowest(r: Reader, name: str, elements: list[str]) -> int | None:
    counts = []
    for each in elements:
        number = read_count(each, floats=True)
        if isinstance(number, str):
            r.note(f"{name}: ignored {show(each)}: {number}")
        else:
            counts.append(number)
    return min(counts, default=None)


def _window(r: Reader, name: str, value: int | None, unit_ms: bool) -> int | None:
    """A window in whole seconds, if one second to a day; else None (noted)."""
    if value is None:
        return None
    seconds = value / 1000 if unit_ms else value
    if 1 <= seconds <= MAX_WINDOW_S and seconds == int(seconds):
        return int(seconds)
    r.note(f"{name}: ignored window {value}{'ms' if unit_ms else 's'}: "
           f"not whole seconds from 1 s to a day")
    return None


def _dictionary(r: Reader, name: str) -> list[Limit]:
    """``key=value`` items, one policy per run of distinct keys (Zendesk, Unity, draft-07)."""
    groups: list[dict[str, str]] = [{}]
    for text in r.texts(name):
        for token in re.split(r"[,;]", text):
            m = _ITEM.fullmatch(token)
            if m is None:
                if token.strip(" \t"):
                    r.note(f"{name}: ignored {show(token.strip())}: not a key=value item")
                continue
            key = FIELDS.get(m[1].lower())
            if key is None:
                continue
            if key in groups[-1]:
                groups.append({})
            groups[-1][key] = m[2].strip(" \t")
    limits = []
    for i, items in enumerate(g for g in groups if g):
        label = name if len(groups) == 1 else f"{name}#{i + 1}"
        limits.append(_item_limit(r, label, items))
    return limits


def _item_limit(r: Reader, label: str, items: dict[str, str]) -> Limit:
    counts: dict[str, int | None] = {}
    for key in ("limit", "remaining", "used", "window"):
        text = items.get(key)
        number = read_count(text, floats=True) if text is not None else None
        if isinstance(number, str):
            r.note(f"{label}: ignored {key}={show(text or '')}: {number}")
            number = None
        counts[key] = number
    family = _Family(label, "requests", _window(r, label, counts["window"], False)
                     if counts["window"] is not None else None,
                     counts["limit"], counts["remaining"], counts["used"])
    if "reset" in items:
        try:
            family.resets.append(decode_time(items["reset"], r.now_us, r.skew_us))
        except ValueError as exc:
            r.note(f"{label}: ignored reset={show(items['reset'])}: {exc}")
    return family.limit_of()


def _shopify(r: Reader) -> list[Limit]:
    """``X-Shopify-Shop-Api-Call-Limit: 32/40``: 32 calls of 40 used (a leaky bucket)."""
    limits = []
    for each in r.elements(_SHOPIFY):
        m = _FRACTION.fullmatch(each)
        if m is None or int(m[2]) > MAX_COUNT or int(m[1]) > int(m[2]):
            r.note(f"{_SHOPIFY}: ignored {show(each)}: not used/limit")
            continue
        limits.append(Limit(_SHOPIFY, limit=int(m[2]), remaining=int(m[2]) - int(m[1])))
    return sorted(limits, key=lambda limit: limit.remaining or 0)[:1]  # the fullest bucket


def retry_at(r: Reader) -> int | None:
    """The latest retry time any retry header states: ``Retry-After`` (seconds or a date),
    ``retry-after-ms`` and ``x-ms-retry-after-ms`` (milliseconds, OpenAI's and Azure's), and
    ``<x->[vendor-]ratelimit-retry-after`` (MailerLite)."""
    times = [r.time("retry-after")]
    times += [r.time(name, unit_ms=True, delta=True) for name in _RETRY_MS if name in r.raw]
    for name in r.raw:
        parts = _split(name)
        if parts is not None and _field(parts[1])[0] == "retry":
            times.append(r.time(name))
    return max((t for t in times if t is not None), default=None)
