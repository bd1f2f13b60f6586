"""Scheduled outages: spans of virtual time in which every request gets a 503. Pure."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["Outage", "OutageSchedule"]


@dataclass(frozen=True, slots=True)
class Outage:
    """An outage ``[start_s, end_s)`` in virtual time, answered with 503 ``code``
    (Sendmux: ``service_unavailable`` or ``no_active_providers``)."""

    start_s: float
    end_s: float
    code: str = "service_unavailable"

    def to_json(self) -> dict[str, Any]:
        """The outage as JSON."""
        return {"start_s": self.start_s, "end_s": self.end_s, "code": self.code}


class OutageSchedule:
    """The outages of one server. Thread-safe."""

    def __init__(self) -> None:
        self._outages: list[Outage] = []
        self._lock = threading.Lock()

    def add(self, start_s: float, end_s: float, code: str = "service_unavailable") -> Outage:
        """Schedule an outage; raises ValueError unless it ends after it starts."""
        if not end_s > start_s:
            raise ValueError(f"an outage must end after it starts ({start_s} to {end_s})")
        outage = Outage(start_s, end_s, code)
        with self._lock:
            self._outages.append(outage)
        return outage

    def at(self, now_s: float) -> Outage | None:
        """The outage under way at ``now_s`` (the one ending last, if several overlap)."""
        active = [o for o in self._outages if o.start_s <= now_s < o.end_s]
        return max(active, key=lambda o: o.end_s) if active else None

    def clear(self) -> None:
        """Cancel every outage."""
        with self._lock:
            self._outages.clear()

    def __iter__(self) -> Iterator[Outage]:
        return iter(list(self._outages))

    def __len__(self) -> int:
        return len(self._outages)
