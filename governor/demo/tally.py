"""The parent's running account of what the workers report: the client side of the demo. Pure:
every time is passed in (real Unix epoch seconds, as the workers stamp their events)."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from governor.demo.worker import Ready, Sent, Spawned, Stopped

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["Incident", "Tally", "WorkerStats", "percentile"]

_RATE_SPAN_S = 2.0


def percentile(sorted_values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (``share`` in 0..1) of sorted values; None when empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class WorkerStats:
    """One worker's counts: messages acknowledged, requests made, 429s, 503s, requeues."""

    sent: int = 0
    requests: int = 0
    limited: int = 0
    unavailable: int = 0
    requeued: int = 0


@dataclass(frozen=True, slots=True)
class Incident:
    """A 429 or 503 a worker received, when, and until when the server said to wait."""

    at_s: float
    worker: int
    status: int
    code: str | None
    retry_at_s: float | None


@dataclass
class Tally:
    """What the fleet did so far, from the workers' events.

    ``period_s`` is the binding bucket's period in real seconds and ``limit`` its configured
    limit; ``limit_seen`` is the latest limit a response stated (it drops with the reputation).
    """

    workers: int
    total: int | None
    started_s: float
    period_s: float
    limit: int
    issued: int = 0
    acked: set[int] = field(default_factory=set)
    acked_twice: int = 0
    failed: int = 0
    unknown: int = 0
    requeued: int = 0
    lost_replies: int = 0
    replays: int = 0
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    waits: list[float] = field(default_factory=list)
    worker_waits: dict[int, list[float]] = field(default_factory=dict)
    ok_sends: list[tuple[float, int, int]] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    per_worker: dict[int, WorkerStats] = field(default_factory=dict)
    spawned: set[int] = field(default_factory=set)
    ready: set[int] = field(default_factory=set)
    stopped: dict[int, Stopped] = field(default_factory=dict)
    limit_seen: int | None = None
    quota_left: int | None = None
    pause_until_s: float = 0.0
    pause_reason: str = ""
    first_ok_s: float | None = None
    _limit_at_s: float = 0.0
    _quota_at_s: float = 0.0
    _ok_times: deque[float] = field(default_factory=deque)

    def add(self, event: object) -> None:
        """Count one worker event."""
        if isinstance(event, Sent):
            self._sent(event)
        elif isinstance(event, Spawned):
            self.spawned.add(event.pid)
        elif isinstance(event, Ready):
            self.ready.add(event.worker)
        elif isinstance(event, Stopped):
            self.stopped[event.worker] = event

    def _sent(self, e: Sent) -> None:
        stats = self.per_worker.setdefault(e.worker, WorkerStats())
        if e.status:
            self.requests += 1
            stats.requests += 1
            self.statuses[e.status] += 1
            self.waits.append(e.wait_s)
            self.worker_waits.setdefault(e.worker, []).append(e.wait_s)
        if e.outcome in ("ok", "fail", "unknown"):
            for i in e.ids:
                if i in self.acked:
                    self.acked_twice += 1
                self.acked.add(i)
        if e.outcome == "ok":
            stats.sent += len(e.ids)
            self.ok_sends.append((e.at_s, e.worker, len(e.ids)))
            self._ok_times.append(e.at_s)
            self.first_ok_s = e.at_s if self.first_ok_s is None else self.first_ok_s
        elif e.outcome == "fail":
            self.failed += len(e.ids)
        elif e.outcome == "unknown":
            self.unknown += len(e.ids)
        else:
            self.requeued += len(e.ids)
            stats.requeued += len(e.ids)
        self.lost_replies += e.outcome == "lost"
        self.replays += e.replayed
        if e.status in (429, 503):
            self._incident(e, stats)
        if e.limit is not None and e.at_s >= self._limit_at_s:
            self.limit_seen, self._limit_at_s = e.limit, e.at_s
        if e.quota_left is not None and e.at_s >= self._quota_at_s:
            self.quota_left, self._quota_at_s = e.quota_left, e.at_s

    def _incident(self, e: Sent, stats: WorkerStats) -> None:
        """A 429 or 503: count it, and note the pause the server asked for."""
        if e.status == 429:
            stats.limited += 1
            self.codes[e.code or "429"] += 1
        else:
            stats.unavailable += 1
        self.incidents.append(Incident(e.at_s, e.worker, e.status, e.code, e.retry_at_s))
        if e.retry_at_s is not None and e.retry_at_s > self.pause_until_s:
            self.pause_until_s = e.retry_at_s
            self.pause_reason = f"{e.status} {e.code or ''}".strip()

    @property
    def sent(self) -> int:
        """Messages acknowledged as delivered (the server said 2xx)."""
        return len(self.acked) - self.failed - self.unknown

    @property
    def limited(self) -> int:
        """429s received."""
        return self.statuses[429]

    @property
    def finished(self) -> bool:
        """Every message of a fixed-size run is acknowledged."""
        return self.total is not None and len(self.acked) >= self.total

    def rate(self, now_s: float) -> float:
        """Successful requests per binding period, over the last couple of seconds."""
        span_s = max(_RATE_SPAN_S, self.period_s)
        times = self._ok_times
        while times and times[0] < now_s - span_s:
            times.popleft()
        if self.first_ok_s is None:
            return 0.0
        span_s = min(span_s, max(now_s - self.started_s, 1.0))
        return len(times) / span_s * self.period_s

    def paused_for(self, now_s: float) -> float:
        """Seconds left of the latest pause a server asked for (0: none)."""
        return max(0.0, self.pause_until_s - now_s)

    def degraded(self) -> tuple[int, int, str | None]:
        """Decisions the workers made without the shared state, the shared backend's
        failures, and the first reason a worker's governor gave (counted as workers stop)."""
        why = next((st.degraded_why for st in self.stopped.values() if st.degraded_why), None)
        return (sum(st.degraded for st in self.stopped.values()),
                sum(st.failures for st in self.stopped.values()), why)

    def incidents_after(self, at_s: float) -> list[Incident]:
        """The 429s and 503s received at or after ``at_s``."""
        ordered = sorted(self.incidents, key=lambda i: i.at_s)
        return ordered[bisect_left([i.at_s for i in ordered], at_s):]

    def wait_percentiles(self) -> dict[str, float | None]:
        """p50, p90, p99 and max of the time between asking the governor and being allowed."""
        waits = sorted(self.waits)
        return {
            "p50": percentile(waits, 0.5), "p90": percentile(waits, 0.9),
            "p99": percentile(waits, 0.99), "max": waits[-1] if waits else None,
        }
