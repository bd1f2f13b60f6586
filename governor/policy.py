"""A policy: the resolved limits of one account, compiled into a :class:`CallSpec` per route.

This is where notation meets the engine: bucket rates become emission intervals (scaled by the
time scale), the quota becomes a calendar-day spec with its high-priority reserve, and route
texts map to the scopes a call spends. Pure and cached.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from governor.engine import BucketSpec, CallSpec, QuotaSpec
from governor.errors import ConfigError
from governor.limits import DAY_S, DailyQuota, Rate, parse_quota, parse_rate
from governor.routing import Route, Router, split_route

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from governor.profile import ResolvedProfile

__all__ = ["HeaderTime", "Policy"]

HeaderTime = Literal["provider", "real"]
"""How a response's times are read when a provider minute is not 60 real seconds."""


class Policy:
    """Bucket rates, an optional daily quota and the routes that spend them.

    ``time_scale`` is how many real seconds a provider minute lasts (60 in production; a demo
    may run a minute in 6 s). ``header_time`` says how a response's times are read at another
    scale: ``"provider"`` (the default; the provider's clock runs ``60 / time_scale`` times as
    fast as ours, like the built-in mock's: every delay, reset and window it states is in
    provider seconds and is scaled by ``time_scale / 60``, its instants read relative to its
    own ``Date``) or ``"real"`` (they are real seconds and real instants, read as written; only
    the configured limits are scaled). At 60 both read the same.
    How responses are reconciled: ``dialect`` names the header
    dialect (:mod:`governor.headers`), ``max_pause_s`` caps any pause a response can impose,
    and ``relax_after`` is how many responses showing the configured limit again lift a learned
    lower one (0: never). ``headroom`` leaves that fraction of every rate unused (0.01: calls
    spaced 1% wider), a margin for the jitter between a grant and the provider's clock.

    How the day is spent (see *Pacing* and *Lanes* in :mod:`governor.engine`): with ``pacing``
    the quota left for normal calls is spread over the rest of each quota day, up to
    ``pace_until_h`` hours after the day starts (24: its end), with a burst allowance of
    ``pace_burst`` calls (None: 1 in 2,000 of the day's normal spend, at least 1).
    ``lane_horizon`` is how far ahead a normal call may book, in emission intervals (None:
    without bound); low-priority calls may book only the first ``1 - low_share`` of it. Build
    one from a profile with :meth:`from_profile`, or from plain values with :meth:`of`.
    """

    def __init__(
        self,
        buckets: Mapping[str, Rate],
        routes: Sequence[Route],
        quota: DailyQuota | None = None,
        *,
        time_scale: float = 60.0,
        name: str = "custom",
        dialect: str = "generic",
        max_pause_s: float = 900.0,
        relax_after: int = 3,
        headroom: float = 0.0,
        header_time: HeaderTime = "provider",
        pacing: bool = False,
        pace_until_h: float = 24.0,
        pace_burst: int | None = None,
        lane_horizon: float | None = None,
        low_share: float = 0.5,
    ) -> None:
        if not time_scale > 0:
            raise ConfigError(f"time_scale must be a positive number of seconds, not {time_scale}")
        for route in routes:
            unknown = [b for b in route.buckets if b not in buckets]
            if unknown:
                raise ConfigError(f"route {route.name!r} spends unknown buckets {unknown}")
        if not max_pause_s > 0 or relax_after < 0:
            raise ConfigError("max_pause_s must be positive and relax_after at least 0")
        if not 0 <= headroom < 0.5:
            raise ConfigError(f"headroom is a fraction in [0, 0.5), not {headroom}")
        if header_time not in ("provider", "real"):
            raise ConfigError(f"header_time is 'provider' or 'real', not {header_time!r}")
        self.name = name
        self.dialect = dialect
        self.max_pause_s = max_pause_s
        self.relax_after = relax_after
        self.headroom = headroom
        # Rates are spaced by scale * (1 + headroom); quota days by scale alone.
        self.rate_scale = time_scale / 60.0 * (1.0 + headroom)
        self.header_time = header_time
        # Real seconds per second a response states (see header_time), and per second of a
        # window it states, headroom included (a learned limit is spaced like a configured one).
        self.header_factor = time_scale / 60.0 if header_time == "provider" else 1.0
        self.window_scale = self.header_factor * (1.0 + headroom)
        self.buckets = dict(buckets)
        self.quota = quota
        self.time_scale = time_scale
        self.router = Router(tuple(routes))
        scale = time_scale / 60.0
        self._bucket_specs = {
            n: BucketSpec(n, r.interval_us(self.rate_scale), r.burst, r.limit)
            for n, r in buckets.items()
        }
        self.pacing = pacing
        self.pace_until_h = pace_until_h
        self.lane_horizon = lane_horizon
        self.low_share = low_share
        self._quota_spec = None if quota is None else _quota_spec(
            quota, round(DAY_S * scale * 1_000_000), pacing, pace_until_h, pace_burst
        )
        self._horizons = _horizons(lane_horizon, low_share)
        self._specs: dict[str, CallSpec] = {}
        # The spec of a route text already seen, or None: one dict lookup (the hot path).
        self.cached_spec = self._specs.get
        self._by_route: dict[str, CallSpec] = {}
        # The account's quota alone: what a response's quota news is applied through.
        self.quota_call = None if self._quota_spec is None else CallSpec(
            "(daily quota)", (), self._quota_spec
        )

    @classmethod
    def from_profile(
        cls,
        resolved: ResolvedProfile,
        *,
        time_scale: float = 60.0,
        quota_reserve: int = 0,
        max_pause_s: float = 900.0,
        relax_after: int = 3,
        headroom: float = 0.0,
        header_time: HeaderTime = "provider",
        pacing: bool | None = None,
        pace_until_h: float | None = None,
        pace_burst: int | None = None,
        lane_horizon: float | None = None,
        low_share: float = 0.5,
    ) -> Policy:
        """The policy of a resolved profile (provider, plan, reputation); ``pacing`` and
        ``pace_until_h`` default to the profile's."""
        quota = resolved.quota
        if quota is not None and quota_reserve:
            try:
                quota = quota.with_reserve(quota_reserve)
            except ValueError as exc:
                raise ConfigError(f"priority reserve: {exc}") from None
        name = ":".join(p for p in (resolved.provider, resolved.plan, resolved.reputation) if p)
        return cls(
            resolved.buckets,
            resolved.routes,
            quota,
            time_scale=time_scale,
            name=name,
            dialect=resolved.dialect,
            max_pause_s=max_pause_s,
            relax_after=relax_after,
            headroom=headroom,
            header_time=header_time,
            pacing=resolved.pacing if pacing is None else pacing,
            pace_until_h=resolved.pace_until_h if pace_until_h is None else pace_until_h,
            pace_burst=pace_burst,
            lane_horizon=lane_horizon,
            low_share=low_share,
        )

    @classmethod
    def of(
        cls,
        buckets: Mapping[str, str | Rate],
        routes: Mapping[str, Sequence[str]] | None = None,
        quota: str | int | DailyQuota | None = None,
        *,
        time_scale: float = 60.0,
    ) -> Policy:
        """A policy from plain values: ``Policy.of({"api": "10/second"}, quota="1000/day")``.

        Without ``routes`` every call spends every bucket.
        """
        rates = {n: r if isinstance(r, Rate) else parse_rate(r) for n, r in buckets.items()}
        if routes is None:
            route_list = [Route("*", "/**", tuple(rates)), Route("*", "", tuple(rates))]
        else:
            route_list = [Route(*split_route(t), tuple(b)) for t, b in routes.items()]
        q = quota if isinstance(quota, DailyQuota) or quota is None else parse_quota(quota)
        return cls(rates, route_list, q, time_scale=time_scale)

    def interval_us(self, bucket: str) -> int:
        """The configured emission interval of ``bucket`` (scaled, headroom included)."""
        return self._bucket_specs[bucket].interval_us

    def spec(self, route: str) -> CallSpec:
        """The scopes a call of ``route`` (``"POST /v1/email"``) spends from (cached)."""
        spec = self._specs.get(route)
        if spec is None:
            matched = self.router.resolve(route)
            spec = self._by_route.get(matched.name)
            if spec is None:  # one CallSpec per route, however many texts lead to it
                spec = self._by_route[matched.name] = CallSpec(
                    matched.name,
                    tuple(self._bucket_specs[b] for b in matched.buckets),
                    self._quota_spec if matched.quota else None,
                    *self._horizons,
                )
            if len(self._specs) < 4096:
                self._specs[route] = spec
        return spec

    @property
    def quota_spec(self) -> QuotaSpec | None:
        """The daily quota as the engine sees it (day length, reserve, pacing), or None."""
        return self._quota_spec

    def __repr__(self) -> str:
        rates = ", ".join(f"{n}={r}" for n, r in self.buckets.items())
        return f"Policy({self.name!r}, {rates}, quota={self.quota}, time_scale={self.time_scale})"


def _quota_spec(
    quota: DailyQuota, day_us: int, pacing: bool, until_h: float, burst: int | None
) -> QuotaSpec:
    if not 0 < until_h <= 24:
        raise ConfigError(f"a pace ends 0 to 24 hours into the quota day, not after {until_h}")
    spendable = quota.limit - quota.reserve
    if burst is None:
        burst = max(1, spendable // 2000)
    elif not 1 <= burst <= spendable:
        raise ConfigError(
            f"a pace burst is 1 to {spendable} calls (the quota less its reserve), not {burst}"
        )
    end_us = min(round(until_h / 24 * day_us), day_us) if pacing else 0
    return QuotaSpec(quota.limit, quota.reserve, day_us, end_us, burst)


def _horizons(lane_horizon: float | None, low_share: float) -> tuple[int, int]:
    """(normal, low) horizons in thousandths of an emission interval; (0, 0) without lanes."""
    if not 0 <= low_share < 1:
        raise ConfigError(f"low_share is a fraction in [0, 1), not {low_share}")
    if lane_horizon is None:
        return 0, 0
    if not 0.001 <= lane_horizon <= 1_000_000:
        raise ConfigError(
            f"lane_horizon is a number of emission intervals (0.001 or more), not {lane_horizon}"
        )
    horizon = round(lane_horizon * 1000)
    return horizon, max(1, round(horizon * (1 - low_share)))
