"""A circuit breaker: stop asking a failing backend, probe it now and then. Pure (time is a
parameter), thread-safe.

::

    closed --(threshold failures in a row)--> open --(reset_s later)--> half-open
      ^                                                                    |
      +--------------------(the probe succeeds)----------------------------+
                            (the probe fails: open again for reset_s)

While open, callers decide without the backend (see :mod:`governor.backends.fallback`); in
half-open exactly one caller at a time probes it.
"""

from __future__ import annotations

import threading
from typing import Literal

__all__ = ["CircuitBreaker", "State"]

State = Literal["closed", "open", "half-open"]


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; lets one probe through every ``reset_s``."""

    def __init__(self, threshold: int = 3, reset_s: float = 5.0) -> None:
        if threshold < 1 or not reset_s > 0:
            raise ValueError("a breaker needs threshold >= 1 and reset_s > 0")
        self.threshold = threshold
        self.reset_s = reset_s
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self._lock = threading.Lock()

    def state(self, now_s: float) -> State:
        """The breaker's state at ``now_s``."""
        if self._opened_at is None:
            return "closed"
        return "half-open" if now_s - self._opened_at >= self.reset_s else "open"

    def allow(self, now_s: float) -> bool:
        """Whether a call may go to the backend now (closed, or the half-open probe)."""
        opened_at = self._opened_at
        if opened_at is None:  # closed: the usual case, read without the lock
            return True
        with self._lock:
            if self._opened_at is None:
                return True
            if now_s - self._opened_at >= self.reset_s and not self._probing:
                self._probing = True
                return True
            return False

    def success(self) -> bool:
        """Record a success; True if it closed an open breaker (the backend is back)."""
        if self._failures == 0 and self._opened_at is None:  # nothing to reset: no lock
            return False
        with self._lock:
            was_open = self._opened_at is not None
            self._failures, self._opened_at, self._probing = 0, None, False
            return was_open

    def failure(self, now_s: float) -> bool:
        """Record a failure; True if it opened the breaker (the backend just became unusable)."""
        with self._lock:
            self._failures += 1
            if self._opened_at is not None:  # a failed probe: wait another reset_s
                self._opened_at, self._probing = now_s, False
                return False
            if self._failures >= self.threshold:
                self._opened_at = now_s
                return True
            return False

    def abandon(self) -> None:
        """A call let through ended with neither answer (cancelled, interrupted): if it was the
        probe, the next caller may probe instead; nothing is counted."""
        with self._lock:
            self._probing = False

    def __repr__(self) -> str:
        opened = "open" if self._opened_at is not None else "closed"
        return f"CircuitBreaker({opened}, failures={self._failures}/{self.threshold})"
