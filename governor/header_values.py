"""Header values read safely: the rules for doubtful input that every dialect shares.

No clock is read: time is the ``now_us`` passed in (Unix epoch microseconds on the local clock,
when the response arrived); every time returned is absolute, in epoch microseconds on that clock.

A :class:`Reader` never raises on doubtful input: the value is dropped and a problem note says
why. Nothing is clamped, and nothing is guessed: a value whose unit or zone is unknown is
dropped with a note, never read one way or another.

* **Times** are decoded in one place, :func:`~governor.header_times.decode_time`, by form and
  magnitude (deltas, epoch seconds or milliseconds, Go-style durations, ISO-8601 with a zone,
  HTTP-dates, JavaScript date strings; see :mod:`governor.header_times`). A unit in the
  header's name (``-ms``, ``_ms``) is honoured.
* **Whose clock**: a server-absolute time (epoch, ISO, HTTP-date) is read as a duration from
  the response's own ``Date`` (the server's "now"), then placed that long after ``now``: a
  reset the server states holds however far the local clock is off. Deltas need no ``Date``.
  ``Date`` has a 1 s resolution and is stamped before the reply travels, so a time read this
  way is late by up to a second plus the latency, never early; a :class:`DateOffset` kept
  across a client's responses narrows that to about the shortest latency seen. Without a
  ``Date`` (or with one more than two days from ``now``, or several that disagree)
  server-absolute times are taken as on the local clock.
* **Duplicates** (a header given twice, or a comma-joined value) keep the most conservative
  value: the lowest count, the latest reset or retry time. The comma after an HTTP-date's
  weekday is not a separator. A Structured Field list given twice is joined as RFC 9651 says.
* **Counts** are ASCII integers in ``0..10**12`` (:data:`MAX_COUNT`); where a dialect allows
  it (``floats=True``), an integral count written as a float (``599.0``, Reddit) too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import http_sf

from governor.header_times import datetime_us, decode_time

__all__ = ["MAX_COUNT", "DateOffset", "Limit", "Reader", "decode_time", "read_count", "show"]

MAX_COUNT = 10**12
"""The largest count believed; a larger one is dropped, not clamped."""

_S = 1_000_000
_SKEW_MAX_US = 2 * 86_400 * _S
_MAX_VALUE = 256
_MAX_PROBLEMS = 20

_COUNT = re.compile(r"[0-9]+")
_FLOAT_COUNT = re.compile(r"([0-9]+)\.0*")
_WEEKDAYS = frozenset({
    "mon", "tue", "wed", "thu", "fri", "sat", "sun",
    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
})


@dataclass(frozen=True, slots=True)
class Limit:
    """One limit a response states: ``limit`` units per ``window_us`` (when stated),
    ``remaining`` of them until ``reset_at_us`` (absolute, local clock).

    ``name`` says where it came from (a policy name, or the header family such as
    ``x-ratelimit-*-requests``); ``unit`` what it counts: ``"requests"`` (enforced by
    reconcile) or another unit such as ``"tokens"`` (reported only, for callers that spend by
    tokens with ``cost``).
    """

    name: str
    unit: str = "requests"
    limit: int | None = None
    window_us: int | None = None
    remaining: int | None = None
    reset_at_us: int | None = None

    @property
    def informed(self) -> bool:
        return any(v is not None for v in (self.limit, self.remaining, self.reset_at_us))


class DateOffset:
    """Local minus server clock, learned from the ``Date`` of many responses of one server.

    One response's ``now - Date`` is the offset plus the reply's latency plus up to a second
    (``Date`` counts whole seconds), so it is never too small. The smallest seen so far is the
    best estimate, and :meth:`refine` returns it; a sample more than
    :data:`JUMP_US` above it means the local clock stepped forward (or an earlier ``Date`` was
    wrong) and starts afresh from it, so a bad ``Date`` misleads one response at most. The only
    state in this module; safe to share between threads (a lost update only costs precision).
    """

    JUMP_US = 2 * _S

    __slots__ = ("best_us",)

    def __init__(self) -> None:
        self.best_us: int | None = None

    def refine(self, sample_us: int) -> int:
        """The offset to use for a response whose ``now - Date`` is ``sample_us``."""
        best = self.best_us
        if best is None or sample_us < best or sample_us > best + self.JUMP_US:
            self.best_us = best = sample_us
        return best

    def __repr__(self) -> str:
        return f"DateOffset(best_us={self.best_us})"


def read_count(text: str, floats: bool = False) -> int | str:
    """A count from its text, or the reason it is none (``floats``: ``599.0`` is 599)."""
    if _COUNT.fullmatch(text):
        number = int(text)
    elif floats and (m := _FLOAT_COUNT.fullmatch(text)):
        number = int(m[1])
    else:
        return "not a whole number" if floats and "." in text else "not a non-negative integer"
    return number if number <= MAX_COUNT else f"larger than {MAX_COUNT}"


def show(value: str) -> str:
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


class Reader:
    """The headers of one response, read field by field; collects problems as it goes.

    Keeps the values of ``names`` (lower case; or of every name ``names`` accepts, when it is
    a predicate) and of ``Date`` (for clock skew, refined by ``dates`` when given); skips the
    rest unread. ``headers`` of a type it cannot read are noted, not raised on.
    """

    def __init__(
        self, headers: object, now_us: int, names: frozenset[str] | Callable[[str], bool],
        dates: DateOffset | None = None,
    ) -> None:
        self.now_us = now_us
        self._dates = dates
        self.problems: list[str] = []
        self.raw: dict[str, list[object]] = {}
        self._names = names
        self._texts: dict[str, list[str]] = {}
        self._members: dict[tuple[str, bool], list[tuple[str, dict[str, object]]]] = {}
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
            key = name.strip().lower() if isinstance(name, str) else None
            if key is not None and (key == "date" or self._keeps(key)):
                self.raw.setdefault(key, []).append(pair[1])

    def _keeps(self, key: str) -> bool:
        names = self._names
        return key in names if isinstance(names, frozenset) else names(key)

    def note(self, problem: str) -> None:
        self.problems.append(problem)

    def noted(self) -> tuple[str, ...]:
        """The problems noted so far: the first 20, then one line counting the rest."""
        problems = self.problems[:_MAX_PROBLEMS]
        if len(self.problems) > _MAX_PROBLEMS:
            problems.append(f"... and {len(self.problems) - _MAX_PROBLEMS} more problems")
        return tuple(problems)

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
                self.note(f"{name}: ignored {show(text)}: not printable ASCII")
            else:
                texts.append(text.strip(" \t"))
        return texts

    def elements(self, name: str) -> list[str]:
        return [e for text in self.texts(name) for e in _split(text)]

    def count(self, name: str, params: bool = False, floats: bool = False) -> int | None:
        """The lowest valid count among the header's values (``params``: drop ``;...``;
        ``floats``: an integral float such as ``599.0`` counts too)."""
        counts = set()
        for each in self.elements(name):
            element = each.partition(";")[0].strip(" \t") if params else each
            number = read_count(element, floats)
            if isinstance(number, str):
                self.note(f"{name}: ignored {show(element)}: {number}")
            else:
                counts.add(number)
        if len(counts) > 1 and not params:  # the legacy limit lists its policies: expected
            self.note(f"{name}: several values {sorted(counts)}; took the lowest")
        return min(counts, default=None)

    def dictionary(self, field: str) -> dict[str, object] | None:
        """A Structured Field dictionary's members and their values (parameters dropped);
        None when the field is absent or is not a dictionary."""
        texts = self.texts(field)
        try:
            parsed = http_sf.parse(", ".join(texts).encode("ascii"), tltype="dictionary")
        except Exception:  # a third-party parser on hostile input: the caller tries otherwise
            return None
        if not texts or not isinstance(parsed, dict):
            return None
        return {str(k): v[0] if isinstance(v, tuple) else v for k, v in parsed.items()}

    def members(self, field: str, unnamed: bool = False) -> list[tuple[str, dict[str, object]]]:
        """The named members of a Structured Field list (RFC 9651), duplicates joined.

        ``unnamed``: a member that is a bare integer (``10;w=1``, the IETF drafts 05 to 07) is
        a policy too, named ``#1``, ``#2``... in order, its integer as ``q``."""
        if (field, unnamed) not in self._members:
            self._members[field, unnamed] = self._parse_members(field, unnamed)
        return self._members[field, unnamed]

    def _parse_members(self, field: str, unnamed: bool) -> list[tuple[str, dict[str, object]]]:
        texts = self.texts(field)
        if not texts:
            return []
        try:
            members = http_sf.parse(", ".join(texts).encode("ascii"), tltype="list")
        except Exception as exc:  # a third-party parser on hostile input: drop the field, go on
            self.note(f"{field}: ignored, not a Structured Field list: {str(exc)[:80]}")
            return []
        named: list[tuple[str, dict[str, object]]] = []
        for member in members if isinstance(members, list) else ():
            if isinstance(member, tuple) and isinstance(member[0], (str, http_sf.Token)):
                named.append((str(member[0]), dict(member[1])))
            elif unnamed and isinstance(member, tuple) and type(member[0]) is int:
                named.append((f"#{len(named) + 1}", {**dict(member[1]), "q": member[0]}))
            else:
                self.note(f"{field}: ignored a member that is not a named policy")
        return named

    def time(self, name: str, unit_ms: bool = False, delta: bool = False) -> int | None:
        """The latest valid time among the header's values (``unit_ms``, ``delta``: see
        :func:`~governor.header_times.decode_time`)."""
        times = set()
        for element in self.elements(name):
            try:
                times.add(decode_time(element, self.now_us, self.skew_us,
                                      unit_ms=unit_ms, delta=delta))
            except ValueError as exc:
                self.note(f"{name}: ignored {show(element)}: {exc}")
        if len(times) > 1:
            self.note(f"{name}: {len(times)} different times; took the latest")
        return max(times, default=None)

    @property
    def skew_us(self) -> int:
        """Local minus server clock, from ``Date``; 0 when unknown."""
        if self._skew_us is None:
            self._skew_us = 0
            dates = set()
            for text in self.texts("date"):
                try:
                    dates.add(datetime_us(text))
                except ValueError:
                    self.note(f"date: ignored {show(text)}: not an HTTP-date")
            offset = self.now_us - min(dates, default=self.now_us)
            if len(dates) > 1:
                self.note("date: several different values; no skew correction")
            elif abs(offset) > _SKEW_MAX_US:
                self.note(f"date: {offset / _S:+.0f} s off the local clock; ignored")
            elif dates:
                self.server_date_us = min(dates)
                self._skew_us = offset if self._dates is None else self._dates.refine(offset)
        return self._skew_us
