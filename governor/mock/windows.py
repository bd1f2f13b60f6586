"""Request counters per bucket, as a provider counts them: fixed or sliding windows. Pure.

This counting is deliberately unlike governor's GCRA engine (it is what checks the engine):
a window simply counts the requests it admitted.

* **Fixed**: windows of one period aligned to the epoch (a virtual minute starts at :00);
  the count drops to zero when a new window starts. A client may send ``limit`` calls at the
  end of one window and ``limit`` more at the start of the next.
* **Sliding**: the exact timestamps of the last period; a request at ``t`` counts while
  ``now - t < period``, so a slot frees exactly one period after the request that took it.

A window never decides on its own: the caller compares :meth:`count` with the limit in force
(which may change at any time, e.g. when an account's reputation drops) and calls :meth:`add`
for an admitted request.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Literal, Protocol

__all__ = ["FixedWindow", "SlidingWindow", "Window", "WindowMode", "make_window"]

WindowMode = Literal["fixed", "sliding"]


class Window(Protocol):
    """Counts admitted requests over one period (virtual seconds)."""

    period_s: float

    def count(self, now_s: float) -> int:
        """Requests admitted in the window that contains ``now_s``."""
        ...

    def add(self, now_s: float) -> None:
        """Count one admitted request at ``now_s``."""
        ...

    def free_at(self, now_s: float, limit: int) -> float:
        """The earliest time at or after ``now_s`` when the window holds fewer than ``limit``."""
        ...

    def reset_at(self, now_s: float) -> float:
        """When the window next gives a slot back: the fixed window's end, or the instant the
        oldest counted request leaves a sliding window (a period from now when it is empty)."""
        ...


class FixedWindow:
    """Counts per window ``[k * period, (k + 1) * period)``."""

    __slots__ = ("_count", "_index", "period_s")

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self._index = 0
        self._count = 0

    def _roll(self, now_s: float) -> None:
        index = math.floor(now_s / self.period_s)
        if index != self._index:
            self._index, self._count = index, 0

    def count(self, now_s: float) -> int:
        self._roll(now_s)
        return self._count

    def add(self, now_s: float) -> None:
        self._roll(now_s)
        self._count += 1

    def free_at(self, now_s: float, limit: int) -> float:
        return now_s if self.count(now_s) < limit else self.reset_at(now_s)

    def reset_at(self, now_s: float) -> float:
        return (math.floor(now_s / self.period_s) + 1) * self.period_s

    def __repr__(self) -> str:
        return f"FixedWindow(period_s={self.period_s:g}, count={self._count})"


class SlidingWindow:
    """Counts the requests of the last ``period_s`` seconds, by exact timestamp."""

    __slots__ = ("_times", "period_s")

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self._times: deque[float] = deque()

    def _evict(self, now_s: float) -> None:
        times, horizon = self._times, now_s - self.period_s
        while times and times[0] <= horizon:
            times.popleft()

    def count(self, now_s: float) -> int:
        self._evict(now_s)
        return len(self._times)

    def add(self, now_s: float) -> None:
        self._evict(now_s)
        self._times.append(now_s)

    def free_at(self, now_s: float, limit: int) -> float:
        held = self.count(now_s)
        if held < limit:
            return now_s
        # Once the (held - limit + 1) oldest have left, the window holds limit - 1.
        return self._times[held - limit] + self.period_s

    def reset_at(self, now_s: float) -> float:
        self._evict(now_s)
        return self._times[0] + self.period_s if self._times else now_s + self.period_s

    def __repr__(self) -> str:
        return f"SlidingWindow(period_s={self.period_s:g}, count={len(self._times)})"


def make_window(mode: WindowMode, period_s: float) -> Window:
    """A new, empty window of ``mode`` over ``period_s`` virtual seconds."""
    if mode == "fixed":
        return FixedWindow(period_s)
    if mode == "sliding":
        return SlidingWindow(period_s)
    raise ValueError(f"window must be 'fixed' or 'sliding', not {mode!r}")
