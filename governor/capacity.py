"""Capacity planning: how long N messages take, which limit binds, how many workers are worth it.

Pure and analytic (a fluid model; time is a parameter). A job is a number of messages split
over single sends and bulk sends (a bulk call carries up to ``batch`` messages); its calls are
interleaved in one queue that ``W`` workers drain, each call taking a latency ``L``. Then:

* Every bucket ``b`` lets through ``1 / I_b`` calls per second (its emission interval, as the
  engine spaces them). If a fraction ``f_b`` of the job's calls spend from ``b``, the job's
  call rate is capped at ``(1 / I_b) / f_b``; the smallest cap is the **binding limit**.
* ``W`` workers make at most ``W / mean(L)`` calls per second (Little's law). With a fixed
  latency the workers fall into step and no call waits on the limiter's spacing once they have:
  throughput is the smaller of the two. With a spread, calls arrive bunched and some wait for
  their slot, which lengthens every worker's cycle: throughput is then that of a closed
  queueing network (exact mean value analysis over ``W`` workers, a delay of ``mean(L)`` and a
  deterministic server of one spacing, ``1 / rate``; see :func:`_queued_rates`).
* **Workers worth having**: ``rate * mean(L) * 1.1`` (Little's law and 10% headroom for the
  spread real latencies have), or, with a spread, the fewest workers whose queueing throughput
  comes within 0.5% of the rate, if that is more: past it more workers only queue, so the
  table of :func:`sweep` never shows more workers doing measurably better.
* The daily quota (calls, failed ones too, reset 00:00 UTC; the limit less the priority
  reserve, which normal calls may not spend) is spent at that pace; when it runs out the job
  waits for the next UTC midnight. With pacing on, a job faster than the pace line follows it
  instead, spending each day's quota as the line ends (:mod:`governor.drain`). What the
  reserve costs: the drain time with it less the drain time without it. Calendar days count
  the UTC dates calls go on.
* Redis: one EVALSHA per call, plus at most about 0.1 per call for reconcile writes.

Not modelled: a bucket's initial burst (at most ``burst - 1`` calls early), learned limits,
429 pauses. :mod:`governor.simulation` answers the same question with the real engine.
"""

from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from governor.drain import drain

if TYPE_CHECKING:
    import random
    from collections.abc import Callable, Iterable, Iterator, Sequence

    from governor.policy import Policy

__all__ = ["CapacityPlan", "Latency", "RouteLoad", "Workload", "plan", "sweep"]

WORKER_HEADROOM = 0.10
SATURATED = 0.995
"""The share of the rate at which a spread latency's workers count as saturating it."""
RECONCILE_PER_CALL = 0.10
_Z99 = 2.3263478740  # the standard normal's 99th percentile
_US = 1_000_000
DAY = 86_400.0


@dataclass(frozen=True)
class Latency:
    """How long one call takes: fixed (``median_s``), log-normal through a median and a p99,
    or drawn from measured ``samples``."""

    median_s: float
    p99_s: float | None = None
    samples: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if not self.median_s > 0 or any(s < 0 for s in self.samples):
            raise ValueError("a latency is a positive number of seconds")
        if self.p99_s is not None and self.p99_s < self.median_s:
            raise ValueError(f"p99 ({self.p99_s} s) is below the median ({self.median_s} s)")

    @classmethod
    def from_samples(cls, samples: Iterable[float]) -> Latency:
        """Draw latencies from measured ones (seconds)."""
        values = tuple(samples)
        if not values:
            raise ValueError("no latency samples")
        return cls(statistics.median(values) or 1e-9, None, values)

    @property
    def _sigma(self) -> float:
        return 0.0 if self.p99_s is None else math.log(self.p99_s / self.median_s) / _Z99

    @property
    def spread(self) -> bool:
        """Whether calls take different times (a p99 above the median, or unequal samples)."""
        if self.samples:
            return min(self.samples) != max(self.samples)
        return self._sigma > 0.0

    def excess_s(self, threshold_s: float) -> float:
        """The mean time a call takes beyond ``threshold_s``: ``E[max(L - threshold, 0)]``."""
        if self.samples:
            return statistics.fmean(max(x - threshold_s, 0.0) for x in self.samples)
        sigma = self._sigma
        if sigma == 0.0:
            return max(self.median_s - threshold_s, 0.0)
        if threshold_s <= 0:
            return self.mean_s - threshold_s
        # Log-normal: E[(L - k)+] = E[L] * Phi(d1) - k * Phi(d1 - sigma)
        d1 = (math.log(self.median_s / threshold_s) + sigma**2) / sigma
        return self.mean_s * _phi(d1) - threshold_s * _phi(d1 - sigma)

    @property
    def mean_s(self) -> float:
        """The mean latency: what Little's law needs."""
        if self.samples:
            return statistics.fmean(self.samples)
        return self.median_s * math.exp(self._sigma**2 / 2)

    def sampler(self, rng: random.Random) -> Callable[[], float]:
        """A function drawing one latency in seconds from ``rng``."""
        if self.samples:
            values = self.samples
            return lambda: rng.choice(values)
        if self.p99_s is None or self._sigma == 0.0:
            fixed = self.median_s
            return lambda: fixed
        mu, sigma = math.log(self.median_s), self._sigma
        return lambda: rng.lognormvariate(mu, sigma)

    def __str__(self) -> str:
        if self.samples:
            return f"{len(self.samples)} samples, mean {self.mean_s * 1000:.0f} ms"
        if self.p99_s is None:
            return f"{self.median_s * 1000:.0f} ms"
        return f"p50 {self.median_s * 1000:.0f} ms, p99 {self.p99_s * 1000:.0f} ms"


@dataclass(frozen=True)
class RouteLoad:
    """The calls and messages of one route in a job."""

    route: str
    calls: int
    messages: int


@dataclass(frozen=True)
class Workload:
    """``messages`` to send, ``bulk_share`` of them in bulk calls of up to ``batch`` each."""

    messages: int
    bulk_share: float = 0.0
    batch: int = 100
    single_route: str = "POST /v1/email"
    bulk_route: str = "POST /v1/bulk-email"

    def __post_init__(self) -> None:
        if self.messages < 1 or self.batch < 1 or not 0.0 <= self.bulk_share <= 1.0:
            raise ValueError("a workload needs messages >= 1, batch >= 1, 0 <= bulk_share <= 1")

    def loads(self) -> list[RouteLoad]:
        """The job's routes with their calls (a bulk call carries ``batch``, the last fewer)."""
        bulk = round(self.messages * self.bulk_share)
        single = self.messages - bulk
        out = []
        if single:
            out.append(RouteLoad(self.single_route, single, single))
        if bulk:
            out.append(RouteLoad(self.bulk_route, math.ceil(bulk / self.batch), bulk))
        return out


@dataclass(frozen=True)
class CapacityPlan:
    """The answer: throughput, what binds it, how long the job takes, quota days, Redis load.

    ``binding`` is the bucket whose rate caps throughput, or ``"workers"`` when ``W / L`` is
    lower. ``sending_s`` is time spent sending; ``drain_s`` adds the waits for quota resets.
    ``quota_runs_out_at`` is the first time the daily quota stops the job (``None``: never).
    ``paced_until_h``: with pacing, the hour of the quota day at which its line ends (the job
    then spends each day's quota along the line, see :mod:`governor.drain`); None without.
    ``reserve_cost_s`` is how much longer the job drains for the ``quota_reserve`` calls a day
    held back for high priority (0 when the quota never stops it).
    ``timeline`` holds (seconds since start, messages sent) corner points.
    """

    policy: str
    workload: Workload
    workers: int
    latency: str
    latency_mean_s: float
    start: datetime
    routes: tuple[RouteLoad, ...]
    calls: int
    binding: str
    rate_calls_per_s: float
    worker_calls_per_s: float
    calls_per_s: float
    messages_per_s: float
    useful_workers: int
    sending_s: float
    drain_s: float
    finish: datetime
    days: int
    quota_per_day: int | None
    quota_used_at_start: int
    quota_runs_out_at: datetime | None
    redis_commands_per_s: tuple[float, float]
    paced_until_h: float | None = None
    quota_reserve: int = 0
    reserve_cost_s: float = 0.0
    timeline: tuple[tuple[float, float], ...] = field(default=(), repr=False)

    @property
    def quota_binds(self) -> bool:
        """True when the daily quota makes the job wait for a reset."""
        return self.quota_runs_out_at is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes as ISO-8601 UTC, the timeline left out."""
        out = asdict(self)
        del out["timeline"]
        for key in ("start", "finish", "quota_runs_out_at"):
            value = getattr(self, key)
            out[key] = None if value is None else iso_z(value)
        out["quota_binds"] = self.quota_binds
        low, high = self.redis_commands_per_s
        out["redis_commands_per_s"] = {"min": low, "max": high}
        return out


def iso_z(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def as_utc(start: datetime) -> datetime:
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware (UTC)")
    return start.astimezone(timezone.utc)


def plan(
    policy: Policy,
    workload: Workload,
    workers: int,
    latency: Latency,
    start: datetime,
    quota_used: int = 0,
) -> CapacityPlan:
    """Plan ``workload`` on ``policy`` with ``workers`` at ``latency``, starting at ``start``
    (aware) with ``quota_used`` calls of the start day's quota already spent."""
    if workers < 1 or quota_used < 0:
        raise ValueError("workers must be at least 1 and quota_used at least 0")
    start = as_utc(start)
    loads = workload.loads()
    calls = sum(r.calls for r in loads)
    specs = [policy.spec(r.route) for r in loads]
    share: dict[str, float] = {}
    interval: dict[str, int] = {}
    quota_share = 0.0
    quota_spec = None
    for load, spec in zip(loads, specs, strict=True):
        fraction = load.calls / calls
        for b in spec.buckets:
            share[b.name] = share.get(b.name, 0.0) + fraction
            interval[b.name] = b.interval_us
        if spec.quota is not None:
            quota_share += fraction
            quota_spec = spec.quota
    caps = {b: _US / interval[b] / share[b] for b in share}
    binding, rate = min(caps.items(), key=lambda kv: kv[1], default=("none", math.inf))
    mean_s = latency.mean_s
    by_workers = workers / mean_s
    rate_per_s = min(rate, by_workers)
    useful = math.ceil(rate * mean_s * (1 + WORKER_HEADROOM)) if math.isfinite(rate) else workers
    if latency.spread and math.isfinite(rate):
        saturated_at = 0
        for n, queued in enumerate(_queued_rates(latency.excess_s(1 / rate), 1 / rate), 1):
            if n == workers:
                rate_per_s = min(rate_per_s, queued)
            if not saturated_at and queued >= SATURATED * rate:
                saturated_at = n
            if saturated_at and n >= workers:
                break
        useful = max(useful, saturated_at)
    if by_workers < rate:
        binding = "workers"
    cap = None if quota_spec is None else quota_spec.limit - quota_spec.reserve
    day_s = DAY if quota_spec is None else quota_spec.day_us / _US
    pace_s = 0.0 if quota_spec is None else quota_spec.pace_end_us / _US
    t0 = start.timestamp()
    drained = drain(t0, calls, rate_per_s, quota_share, cap, quota_used, day_s, pace_s)
    reserve = 0 if quota_spec is None else quota_spec.reserve
    unreserved = drained if not reserve or quota_spec is None else drain(
        t0, calls, rate_per_s, quota_share, quota_spec.limit, quota_used, day_s, pace_s)
    finish_s, runs_out_s = drained.finish_s, drained.runs_out_s
    per_call = workload.messages / calls
    days = math.floor((finish_s - 1e-6) / day_s) - math.floor(t0 / day_s) + 1
    return CapacityPlan(
        policy=policy.name,
        workload=workload,
        workers=workers,
        latency=str(latency),
        latency_mean_s=mean_s,
        start=start,
        routes=tuple(loads),
        calls=calls,
        binding=binding,
        rate_calls_per_s=rate,
        worker_calls_per_s=by_workers,
        calls_per_s=rate_per_s,
        messages_per_s=rate_per_s * per_call,
        useful_workers=max(useful, 1),
        sending_s=drained.sending_s,
        drain_s=finish_s - t0,
        finish=utc_from_epoch(finish_s),
        days=max(days, 1),
        quota_per_day=cap,
        quota_used_at_start=quota_used,
        quota_runs_out_at=None if runs_out_s is None else utc_from_epoch(runs_out_s),
        redis_commands_per_s=(rate_per_s, rate_per_s * (1 + RECONCILE_PER_CALL)),
        paced_until_h=pace_s / day_s * 24 if pace_s and quota_share else None,
        quota_reserve=reserve,
        reserve_cost_s=finish_s - unreserved.finish_s,
        timeline=tuple((t - t0, c * per_call) for t, c in drained.corners),
    )



def _queued_rates(beyond_s: float, spacing_s: float) -> Iterator[float]:
    """Calls per second of 1, 2, 3, ... workers that each call and call again, when the
    limiter lets one call go every ``spacing_s`` and a call takes ``beyond_s`` longer than a
    spacing on average (:meth:`Latency.excess_s`); endless.

    Mean value analysis of a closed network: a call "holds" the limiter for one spacing (the
    next call may go no sooner), so a worker's cycle is ``beyond_s`` of delay plus its time at
    the limiter, one spacing and its wait. An arriving call finds the other ``n - 1`` workers'
    calls as the network with ``n - 1`` workers would hold them (the arrival theorem); it waits
    one spacing for each call queued ahead and, the spacing being fixed, half a spacing for the
    one going (the mean residual of a deterministic service). Exact for one worker; capped at
    the limiter's rate, which the approximation can overshoot near saturation.
    """
    queued = busy = 0.0
    for n in itertools.count(1):
        at_limiter_s = spacing_s + spacing_s * (queued - busy) + busy * spacing_s / 2
        rate = n / (beyond_s + at_limiter_s)
        queued, busy = rate * at_limiter_s, min(rate * spacing_s, 1.0)
        yield min(rate, 1 / spacing_s)


def _phi(x: float) -> float:
    """The standard normal distribution function."""
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def utc_from_epoch(epoch_s: float) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=epoch_s)


def sweep(
    policy: Policy,
    workload: Workload,
    worker_counts: Sequence[int],
    latency: Latency,
    start: datetime,
    quota_used: int = 0,
) -> list[CapacityPlan]:
    """One plan per worker count: the table that shows where more workers stop helping."""
    return [plan(policy, workload, w, latency, start, quota_used) for w in worker_counts]
