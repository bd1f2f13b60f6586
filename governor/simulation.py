"""The capacity question answered by the real engine on a virtual clock (no sleeping).

``W`` simulated workers drain one queue of calls (single and bulk sends interleaved evenly).
Each worker loops: take the next call, :func:`governor.engine.decide` it as a reservation
(``max_wait_us = NO_LIMIT_US``), wait until its grant, "call" for a latency drawn from a seeded
RNG, and start over. A call the quota refuses waits for the quota's reset (the next UTC
midnight) and is decided again. Workers are events in a heap ordered by virtual time, so they
decide first come, first served, as the fleet does on Redis; thousands run in seconds.

The engine also refuses a grant more than a day ahead (a bucket in debt for over a day); such a
worker comes back at the refused grant time. Learned limits, pauses and 429s do not occur here.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from governor.capacity import Latency, Workload, as_utc, iso_z, plan, utc_from_epoch
from governor.engine import NO_LIMIT_US, BucketState, QuotaState, decide

if TYPE_CHECKING:
    from collections.abc import Iterator

    from governor.engine import CallSpec
    from governor.policy import Policy

__all__ = ["SimulationResult", "simulate", "useful_workers"]

_US = 1_000_000


@dataclass(frozen=True)
class SimulationResult:
    """What the simulated fleet did: when it finished, how many calendar days it sent on, its
    call rate while sending (nights spent waiting for a quota reset left out),
    when the quota first refused a call (``None``: never), how many decisions it took (each one
    EVALSHA on Redis), and ``timeline``: (seconds since start, messages sent) samples."""

    workers: int
    calls: int
    messages: int
    decisions: int
    start: datetime
    finish: datetime
    drain_s: float
    days: int
    quota_runs_out_at: datetime | None
    calls_per_s: float
    timeline: tuple[tuple[float, float], ...] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, the timeline left out."""
        return {
            "workers": self.workers,
            "calls": self.calls,
            "messages": self.messages,
            "decisions": self.decisions,
            "start": iso_z(self.start),
            "finish": iso_z(self.finish),
            "drain_s": self.drain_s,
            "days": self.days,
            "quota_runs_out_at": iso_z(self.quota_runs_out_at) if self.quota_runs_out_at else None,
            "calls_per_s": self.calls_per_s,
        }


def _calls(workload: Workload) -> Iterator[tuple[str, int]]:
    """The job's calls as (route, messages), bulk calls spread evenly among the single ones."""
    loads = workload.loads()
    total = sum(r.calls for r in loads)
    if len(loads) == 1:
        route = loads[0]
        per = [route.messages // route.calls] * route.calls
        per[-1] += route.messages - sum(per)
        yield from ((route.route, m) for m in per)
        return
    single, bulk = loads
    bulk_left = bulk.messages
    for k in range(total):
        if (k + 1) * bulk.calls // total > k * bulk.calls // total:
            size = min(workload.batch, bulk_left)
            bulk_left -= size
            yield bulk.route, size
        else:
            yield single.route, 1


def _timeline(
    sends: list[tuple[int, int]], start_us: int, samples: int
) -> tuple[list[tuple[float, float]], int]:
    """About ``samples`` (seconds since start, messages sent) points, and the total sent."""
    timeline, total = [(0.0, 0.0)], 0
    step = max(len(sends) // samples, 1)
    for i, (t, m) in enumerate(sends):
        total += m
        if i % step == 0 or i == len(sends) - 1:
            timeline.append(((t - start_us) / _US, float(total)))
    return timeline, total


def _busy(sends: list[tuple[int, int]], day_us: int) -> tuple[float, int]:
    """Seconds spent sending and the gaps counted in them; with ``day_us``, gaps across a
    quota reset (the nights spent waiting for it) are left out."""
    busy, gaps = 0, 0
    for (a, _), (b, _) in itertools.pairwise(sends):
        if day_us and a // day_us != b // day_us:
            continue
        busy += b - a
        gaps += 1
    return busy / _US, gaps


def simulate(
    policy: Policy,
    workload: Workload,
    workers: int,
    latency: Latency,
    start: datetime,
    quota_used: int = 0,
    seed: int = 0,
    samples: int = 600,
) -> SimulationResult:
    """Run ``workload`` through the engine of ``policy`` with ``workers`` simulated workers."""
    if workers < 1 or quota_used < 0:
        raise ValueError("workers must be at least 1 and quota_used at least 0")
    start = as_utc(start)
    start_us = round(start.timestamp() * _US)
    draw = latency.sampler(random.Random(seed))
    states: dict[str, BucketState] = {}
    routes: dict[str, tuple[CallSpec, list[BucketState]]] = {}
    quota: QuotaState | None = None
    day_us = 86_400 * _US
    for load in workload.loads():
        spec = policy.spec(load.route)
        routes[load.route] = (spec, [states.setdefault(b.name, BucketState())
                                     for b in spec.buckets])
        if spec.quota is not None:
            day_us = spec.quota.day_us
            if quota is None:
                quota = QuotaState(start_us // day_us, quota_used)
    queue = _calls(workload)
    held: list[tuple[str, int] | None] = [None] * workers
    ready = [(start_us, w) for w in range(workers)]
    sends: list[tuple[int, int]] = []
    finish_us, refused_at, decisions = start_us, 0, 0
    last_grant = start_us
    while ready:
        now, w = heapq.heappop(ready)
        call = held[w] or next(queue, None)
        if call is None:
            continue
        spec, buckets = routes[call[0]]
        d = decide(spec, buckets, quota, 0, 1, False, now, NO_LIMIT_US)
        decisions += 1
        if not d.allowed:
            held[w] = call
            if not refused_at and d.scope == "quota":
                refused_at = last_grant
            heapq.heappush(ready, (now + max(d.wait_us, 1), w))
            continue
        held[w] = None
        grant = now + d.wait_us
        last_grant = max(last_grant, grant)
        sends.append((grant, call[1]))
        done = grant + round(draw() * _US)
        finish_us = max(finish_us, done)
        heapq.heappush(ready, (done, w))
    sends.sort()
    calls = len(sends)
    last = sends[-1][0]
    timeline, total = _timeline(sends, start_us, samples)
    busy_s, gaps = _busy(sends, day_us if refused_at else 0)
    return SimulationResult(
        workers=workers,
        calls=calls,
        messages=total,
        decisions=decisions,
        start=start,
        finish=utc_from_epoch(finish_us / _US).astimezone(timezone.utc),
        drain_s=(finish_us - start_us) / _US,
        days=last // day_us - start_us // day_us + 1,
        quota_runs_out_at=utc_from_epoch(refused_at / _US) if refused_at else None,
        calls_per_s=gaps / busy_s if busy_s else math.inf,
        timeline=tuple(timeline),
    )


def useful_workers(
    policy: Policy,
    workload: Workload,
    latency: Latency,
    start: datetime,
    *,
    calls: int = 3_000,
    share: float = 0.98,
    seed: int = 0,
) -> int:
    """The fewest workers whose simulated call rate reaches ``share`` of the rate limits' cap.

    Runs a sample of about ``calls`` calls of the job's mix (nights waiting for the quota left
    out), so latency spread counts: the analytic ``rate x mean latency`` is a lower bound.
    """
    sample = Workload(
        max(round(workload.messages * min(calls / plan(policy, workload, 1, latency,
                                                            start).calls, 1.0)), 1),
        workload.bulk_share, workload.batch, workload.single_route, workload.bulk_route,
    )
    target = plan(policy, sample, 1, latency, start).rate_calls_per_s * share
    if not math.isfinite(target):
        return 1

    def enough(w: int) -> bool:
        return simulate(policy, sample, w, latency, start, seed=seed).calls_per_s >= target

    high = 1
    while not enough(high):
        high *= 2
    low = high // 2  # not enough (or 0)
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (low, mid) if enough(mid) else (mid, high)
    return high
