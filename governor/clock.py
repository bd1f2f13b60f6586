"""Clocks: the one object that owns both "now" and "sleep".

Pure code never reads the time; it takes ``now_us`` as an argument. Only the shells
(:class:`~governor.Governor`, :class:`~governor.AsyncGovernor`) and the in-memory backend hold a
clock. A :class:`ManualClock` makes blocking calls take zero real time in tests: sleeping on it
advances it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """Wall-clock time for decisions, monotonic time for deadlines, and sleeping."""

    def now_us(self) -> int:
        """Unix epoch time in integer microseconds (UTC; calendar quotas depend on it)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back; used for timeouts and deadlines."""
        ...

    def sleep(self, delay_s: float) -> None:
        """Block the calling thread for ``delay_s`` seconds."""
        ...

    async def asleep(self, delay_s: float) -> None:
        """Suspend the calling task for ``delay_s`` seconds."""
        ...


class SystemClock:
    """The real clock: ``time.time_ns``, ``time.monotonic``, ``time.sleep``, ``asyncio.sleep``."""

    __slots__ = ()

    def now_us(self) -> int:
        return time.time_ns() // 1000

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, delay_s: float) -> None:
        if delay_s > 0:
            time.sleep(delay_s)

    async def asleep(self, delay_s: float) -> None:
        await asyncio.sleep(max(delay_s, 0.0))

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that moves only when told to, or when something sleeps on it.

    ``sleep`` and ``asleep`` advance the clock by the delay at once, so code that waits runs in
    zero real time and tests stay deterministic. Thread-safe.
    """

    def __init__(self, now_s: float = 1_767_225_600.0) -> None:
        # Default start: 2026-01-01T00:00:00Z, a calendar-day boundary.
        self._now_us = round(now_s * 1_000_000)
        self._lock = threading.Lock()
        self.slept_s: list[float] = []

    def now_us(self) -> int:
        return self._now_us

    def now_s(self) -> float:
        """The current time as Unix epoch seconds."""
        return self._now_us / 1_000_000

    def monotonic(self) -> float:
        return self._now_us / 1_000_000

    def advance(self, delay_s: float) -> None:
        """Move the clock forward by ``delay_s`` seconds (negative values are refused)."""
        if delay_s < 0:
            raise ValueError(f"a ManualClock only moves forward, not by {delay_s}s")
        with self._lock:
            self._now_us += round(delay_s * 1_000_000)

    def set(self, now_s: float) -> None:
        """Jump to ``now_s`` (Unix epoch seconds), forwards or backwards: a clock step."""
        with self._lock:
            self._now_us = round(now_s * 1_000_000)

    def sleep(self, delay_s: float) -> None:
        self.slept_s.append(delay_s)
        if delay_s > 0:
            self.advance(delay_s)

    async def asleep(self, delay_s: float) -> None:
        self.sleep(delay_s)
        await asyncio.sleep(0)

    def __repr__(self) -> str:
        return f"ManualClock(now_s={self.now_s():.6f})"
