"""The mock's virtual clock: the one place where real seconds and provider seconds meet.

The mock provider lives in *virtual* time: Unix epoch seconds on a clock that runs ``speed =
60 / time_scale`` times faster than the real one (``time_scale`` is how many real seconds a
provider minute lasts; 60 is real time). Windows, quota days, ``x-ratelimit-reset``,
``x-apiquota-reset``, ``Retry-After`` and the ``Date`` header are all virtual: the mock is a
provider whose clock runs faster, and a client that knows the time scale converts what it hears
at one edge (governor does, in ``observe``).

By default the clock is **aligned**: ``virtual = real epoch * speed``. A virtual minute then
starts at every multiple of ``time_scale`` real seconds and a virtual UTC midnight at every
multiple of ``1440 * time_scale`` real seconds: the same boundaries the governor uses for its
scaled periods and quota days (see :mod:`governor.limits`), so both agree on when a window or a
day ends. At ``time_scale = 60`` the virtual clock is the real one.

An **offset** breaks the alignment on purpose: ``VirtualClock(offset_s=-60)`` runs one virtual
minute behind the aligned clock from the start (a provider whose clock, or whose notion of the
day, is not the fleet's), and a jump (an admin call, e.g. to 23:59:50 to cross midnight) moves
it ahead at run time; :attr:`VirtualClock.offset_s` says by how much in all. Every time the mock
states is on the offset clock, consistently: the ``Date`` header, ``x-ratelimit-reset``,
``x-apiquota-reset`` and its quota day, ``Retry-After`` (a duration: unchanged), the log. So the
provider's windows and its UTC midnight (where its daily quota resets) fall ``offset_s / speed``
real seconds *earlier* than the governor's scaled boundaries when the offset is positive (the
provider is ahead), later when it is negative. A client that reads a stated instant relative
to the same reply's ``Date`` gets the provider's true distance to it, up to the ``Date``
header's whole-second resolution (the mock rounds its clock down, so that reading is up to one
virtual second late, never early); a client that reads a stated instant as an aligned clock
would is off by the whole offset.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

from governor.limits import DAY_S

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["TimeScale", "VirtualClock", "day_of", "http_date", "iso_utc", "next_midnight_s"]

MINUTE_S = 60.0
# The last second datetime can show (9999-12-31T23:59:59Z): an aligned clock must stay below it.
_MAX_EPOCH_S = 253_402_300_799.0
# Float noise below this is not a reason to make a client wait one more second.
_EPSILON_S = 1e-6


@dataclass(frozen=True, slots=True)
class TimeScale:
    """``time_scale`` real seconds per provider minute; converts durations both ways."""

    time_scale: float = MINUTE_S

    def __post_init__(self) -> None:
        if not (self.time_scale > 0 and math.isfinite(self.time_scale)):
            raise ValueError(
                f"time_scale must be a positive number of seconds, not {self.time_scale}"
            )

    @property
    def speed(self) -> float:
        """Virtual seconds per real second (10 when a minute lasts 6 s)."""
        return MINUTE_S / self.time_scale

    def to_real_s(self, virtual_s: float) -> float:
        """A virtual duration in real seconds."""
        return virtual_s * self.time_scale / MINUTE_S

    def to_virtual_s(self, real_s: float) -> float:
        """A real duration in virtual seconds."""
        return real_s * MINUTE_S / self.time_scale

    def retry_after_s(self, virtual_wait_s: float) -> int:
        """A virtual wait as whole (virtual) seconds for ``Retry-After``: rounded up, so a
        client that obeys it never comes back early; at least 1 when there is anything to
        wait."""
        if virtual_wait_s <= 0:
            return 0
        return max(1, math.ceil(virtual_wait_s - _EPSILON_S))


def day_of(virtual_s: float) -> int:
    """The virtual UTC day number (days since the epoch) that contains ``virtual_s``."""
    return math.floor(virtual_s / DAY_S)


def next_midnight_s(virtual_s: float) -> float:
    """The next virtual 00:00:00 UTC after ``virtual_s`` (a midnight itself starts a day)."""
    return float((day_of(virtual_s) + 1) * DAY_S)


def iso_utc(virtual_s: float) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` of a virtual instant (whole seconds, rounded down)."""
    moment = datetime.fromtimestamp(math.floor(virtual_s), tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def http_date(virtual_s: float) -> str:
    """The RFC 9110 ``Date`` header value of a virtual instant."""
    return formatdate(math.floor(virtual_s), usegmt=True)


class VirtualClock:
    """Virtual epoch seconds: ``start + real elapsed * speed``.

    ``start_s`` is the virtual time at construction; None aligns the clock, shifted by
    ``offset_s`` virtual seconds (positive: ahead of the aligned clock; see the module
    docstring); giving both is a ValueError. Real elapsed time is read from ``monotonic`` so
    a wall-clock step never moves the mock; ``wall`` is read once, to anchor the alignment.
    Both are injectable for tests.
    The clock only moves forward: windows and the request log assume time never goes back.
    Thread-safe.
    """

    def __init__(
        self,
        time_scale: float = MINUTE_S,
        start_s: float | None = None,
        *,
        offset_s: float = 0.0,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.scale = TimeScale(time_scale)
        if start_s is not None and offset_s:
            raise ValueError("give the clock a start time or an offset from alignment, not both")
        if not math.isfinite(offset_s):
            raise ValueError(f"the clock offset must be a number of seconds, not {offset_s}")
        self._monotonic = monotonic
        self._mono0 = monotonic()
        self._real0 = wall()
        self._aligned_s = self.scale.to_virtual_s(self._real0)
        self._start_s = self._aligned_s + offset_s if start_s is None else float(start_s)
        self._lock = threading.Lock()
        if not 0 <= self._start_s < _MAX_EPOCH_S:
            raise ValueError(
                f"virtual time {self._start_s:.0f} is outside the calendar (years 1970 to 9999); "
                "with a very small time_scale give an explicit start time"
            )

    def real_now_s(self) -> float:
        """Real Unix epoch seconds (anchored once, then monotonic)."""
        return self._real0 + (self._monotonic() - self._mono0)

    def now_s(self) -> float:
        """The virtual time, Unix epoch seconds."""
        return self._start_s + self.scale.to_virtual_s(self._monotonic() - self._mono0)

    @property
    def offset_s(self) -> float:
        """How far (virtual seconds) this clock is ahead of the aligned clock (negative:
        behind): the offset it started with plus every jump since."""
        return self._start_s - self._aligned_s

    def real_at(self, virtual_s: float) -> float:
        """The real epoch time at which this clock will show ``virtual_s``."""
        return self.real_now_s() + self.scale.to_real_s(virtual_s - self.now_s())

    def jump_to(self, virtual_s: float) -> float:
        """Move the clock forward to ``virtual_s``; returns the virtual time before the jump.

        Raises ValueError for a time in the past (the mock never goes back).
        """
        with self._lock:
            before = self.now_s()
            if virtual_s < before:
                raise ValueError(
                    f"the virtual clock only moves forward: it is {iso_utc(before)}, "
                    f"cannot go back to {iso_utc(virtual_s)}"
                )
            if virtual_s >= _MAX_EPOCH_S:
                raise ValueError(f"virtual time {virtual_s:.0f} is past the year 9999")
            self._start_s += virtual_s - before
            return before

    def advance(self, virtual_s: float) -> float:
        """Move the clock forward by ``virtual_s`` seconds; returns the time before the jump."""
        if virtual_s < 0:
            raise ValueError(f"the virtual clock only moves forward, not by {virtual_s}s")
        return self.jump_to(self.now_s() + virtual_s)

    def describe(self) -> dict[str, Any]:
        """The clock as JSON: virtual and real now, scale, and the offset from alignment."""
        now = self.now_s()
        return {
            "virtual_now_s": now,
            "virtual_now": iso_utc(now),
            "real_now_s": self.real_now_s(),
            "time_scale": self.scale.time_scale,
            "speed": self.scale.speed,
            "aligned": self.offset_s == 0,
            "offset_s": self.offset_s,
        }

    def __repr__(self) -> str:
        return f"VirtualClock(time_scale={self.scale.time_scale:g}, now={iso_utc(self.now_s())})"
