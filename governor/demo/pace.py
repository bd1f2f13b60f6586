"""The paced scenario's line: what other senders leave of the provider's day as the fleet starts,
and how the backlog's spend stood against the pace line at every provider minute. Pure but for
:func:`start_pace` (two admin calls). Times are real Unix epoch seconds.

As the fleet starts, other senders spend as much of the day's quota as leaves ``per_min``
requests a provider minute for the rest of the provider day (the mock's clock is aligned with
the fleet's here, so its day ends where the governor's does). The governor learns that spend
from the first replies' quota headers and spreads what is left over what is left of the day
(*Pacing* in :mod:`governor.engine`): the low-priority backlog then goes at ``per_min``
instead of the bucket's rate, the password resets (priority high) bypass the line (their spend
still counts, so the line slows by as much, over the rest of the day).

The bar (check ``pace``): at every provider minute from the second on, the backlog's
acknowledged sends are no more than the line plus the burst allowance and :data:`IN_FLIGHT`
(calls decided before the first reply said what others had spent), and no fewer than the line
less 2% (or :data:`BEHIND_CALLS`, on a short line); the high-priority sends' waits (asking the
governor to being let go) have a p99 of at most two emission intervals of the bucket.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from governor.demo.tally import percentile

if TYPE_CHECKING:
    from governor.demo.tally import Tally
    from governor.mock.admin import MockAdmin

__all__ = ["BEHIND_CALLS", "IN_FLIGHT", "PaceStart", "pace_event", "start_pace"]

IN_FLIGHT = 2
"""Calls the backlog may be ahead of the line beyond its burst allowance."""
BEHIND_CALLS = 2
"""Calls the backlog may trail the line by when 2% of it is fewer."""
_BEHIND_SHARE = 0.02


@dataclass(frozen=True, slots=True)
class PaceStart:
    """Where the line starts: ``started_s``, the quota ``left`` for the fleet then, the end of
    the provider's day ``day_end_s``, and the line's rate in requests a provider minute."""

    started_s: float
    day_end_s: float
    left: int
    per_min: float
    out_of_band: int


def start_pace(admin: MockAdmin, account: str, per_min: float, time_scale: float) -> PaceStart:
    """Spend, as other senders, what leaves ``account`` ``per_min`` a provider minute for the
    rest of the day (nothing when the day is already that short of quota)."""
    day_s = 1440 * time_scale
    now = time.time()
    day_end_s = (now // day_s + 1) * day_s
    minutes_left = (day_end_s - now) / time_scale
    state = admin.account(account)
    room = int(state["quota"]) - int(state["quota_used"])
    spend = max(0, round(room - per_min * minutes_left))
    if spend:
        spend = int(admin.spend(account, spend)["spent"])
    left = room - spend
    return PaceStart(now, day_end_s, left, left / minutes_left, spend)


def pace_event(start: PaceStart, tally: Tally, high_worker: int | None, burst: int,
               time_scale: float, interval_s: float) -> dict[str, Any]:
    """The backlog's sends against the line at every provider minute, and the high lane's
    waits against two emission intervals (``interval_s``, real seconds)."""
    minute_s = time_scale
    low = sorted(at for at, worker, n in tally.ok_sends if worker != high_worker
                 for _ in range(n))
    samples: list[tuple[float, int, float]] = []
    ahead = behind = 0.0
    behind_ok = True
    t, k = start.started_s + minute_s, 1
    last = low[-1] if low else start.started_s
    while t <= last and t < start.day_end_s:
        sent = sum(1 for at in low if at <= t)
        line = start.left * (t - start.started_s) / (start.day_end_s - start.started_s)
        samples.append((float(k), sent, round(line, 1)))
        ahead = max(ahead, sent - line)
        if k >= 2:
            behind = max(behind, line - sent)
            behind_ok &= line - sent <= max(_BEHIND_SHARE * line, BEHIND_CALLS)
        t, k = t + minute_s, k + 1
    waits = sorted(tally.worker_waits.get(high_worker, [])) if high_worker is not None else []
    p99 = percentile(waits, 0.99)
    ahead_ok = ahead <= burst + IN_FLIGHT
    high_ok = high_worker is None or (p99 is not None and p99 <= 2 * interval_s)
    return {
        "per_min": round(start.per_min, 2), "left": start.left,
        "out_of_band": start.out_of_band, "burst": burst,
        "minutes": samples, "most_ahead": round(ahead, 1), "most_behind": round(behind, 1),
        "high_sends": len(waits), "high_wait_p99_s": p99,
        "high_wait_max_s": waits[-1] if waits else None, "interval_s": interval_s,
        "met": bool(samples) and ahead_ok and behind_ok and high_ok,
    }
