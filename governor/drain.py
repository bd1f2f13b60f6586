"""How a job drains through quota days: the day-by-day part of :mod:`governor.capacity`.

A fluid model, pure (time is a parameter, epoch seconds). ``calls`` go at ``rate`` calls per
second from ``t``; a ``quota_share`` of them counts against a daily quota of ``cap`` calls
(the limit less the priority reserve: what normal calls may spend), days ``day_s`` long from
the epoch (UTC midnights at scale 1), ``used`` of the first day's already spent.

* Without pacing a day's quota goes at the job's rate until it runs out; the job then waits
  for the next day.
* With pacing (``pace_s`` > 0: the pace line reaches ``cap`` that many seconds into the
  day), what is left of the day's quota is spread evenly over what is left of the pace span,
  as the engine does (*Pacing* in :mod:`governor.engine`): the job goes at ``min(rate,
  (cap - used) / (pace end - t) / quota_share)``, so a job faster than the line follows it
  and spends the quota exactly as the line ends; after the line's end the rest of the day's
  quota (if the job fell behind) goes at the job's rate. The burst allowance (a few calls
  early) is not modelled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Drained", "drain"]

_EPS = 1e-9


@dataclass(frozen=True)
class Drained:
    """When the job ends (``finish_s``), when a day's quota first stopped it (``runs_out_s``,
    None: never), the seconds spent sending (waits for a reset left out) and the (time, calls
    done) corners of its progress."""

    finish_s: float
    runs_out_s: float | None
    sending_s: float
    corners: tuple[tuple[float, float], ...]


def drain(
    t: float,
    calls: float,
    rate: float,
    quota_share: float,
    cap: int | None,
    used: float,
    day_s: float,
    pace_s: float = 0.0,
) -> Drained:
    """Send ``calls`` at ``rate`` from ``t`` through quota days (see the module doc)."""
    done = sending = 0.0
    runs_out: float | None = None
    corners = [(t, 0.0)]
    counted = cap is not None and quota_share > 0
    while calls - done > _EPS:
        day_start = math.floor(t / day_s + _EPS) * day_s
        day_end = day_start + day_s
        left = calls - done
        pace_end = day_start + pace_s
        go, until = rate, day_end
        by_quota = (cap - used) / quota_share if cap is not None and counted else math.inf
        if counted and pace_s and t < pace_end - _EPS and by_quota > _EPS:
            paced = by_quota / (pace_end - t)  # the job's calls per second along the line
            if paced < rate:  # it follows the line, which spends the quota at its end
                go, until = paced, pace_end
        n = min(left, max(by_quota, 0.0), (until - t) * go)
        if n > 0:
            t += n / go
            sending += n / go
            done += n
            used += n * quota_share
            corners.append((t, done))
        if calls - done <= _EPS:
            break
        if counted and by_quota - n <= _EPS:  # the quota stopped the day, not the clock
            runs_out = t if runs_out is None else runs_out
            corners.append((day_end, done))
        t, used = day_end, 0.0
    return Drained(t, runs_out, sending, tuple(corners))
