"""The midnight scenario's two clocks: where the run puts the fleet's and the provider's midnight,
and what the mock's log says happened around the provider's. Pure: every time is passed in.

The governor's quota day ends at every multiple of ``1440 * time_scale`` real seconds (see
:mod:`governor.limits`), the mock's aligned clock too; the mock runs ``clock_offset_s`` provider
seconds ahead of that alignment (negative: behind), so the provider's midnight, where its quota
resets, comes ``clock_offset_s * time_scale / 60`` real seconds before the fleet's (after it,
when behind). The run starts so that the fleet's part of the day (the quota less what other
senders spend out of band) runs out :data:`LEAD_S` before the first of the two midnights, and
gives up :data:`GRACE_S` plus twice the time its messages take at the limit after the later
one (a fleet that never resumes must not keep the demo waiting for the next day).

The bar on resuming: the first accepted fleet send after the provider's reset comes at most
one emission interval of the binding limit (``period / limit``: the spacing of the fleet's
decisions) plus a slack after it, and no fleet request at all between the quota running out
and the reset. The slack is :data:`DATE_RESOLUTION_S` provider seconds (a client reads the
reset relative to the reply's ``Date`` header, which has whole seconds, rounded down by the
mock: the reset it places can be that much late, never early) plus :data:`SCHEDULING_S` real
seconds (a worker's wake-up and a loopback round trip on a busy host; an aligned run measures
a few milliseconds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from governor.mock.clock import day_of, next_midnight_s

if TYPE_CHECKING:
    from governor.demo.scenarios import Scenario

__all__ = [
    "DATE_RESOLUTION_S", "GRACE_S", "LEAD_S", "SCHEDULING_S", "STARTUP_S", "MidnightPlan",
    "midnight_event", "midnight_time_scale", "plan_midnight",
]

STARTUP_S = 6.0
"""Real seconds allowed, at least, once the workers have imported, for the mock to start and
the workers to connect before the fleet sends (measured: 1.5 to 3 s, on 2 busy cores too; the
runner allows one and a half times as long as the imports took when that is longer)."""
LEAD_S = 1.5
"""Real seconds between the fleet's part of the day running out and the first midnight."""
DATE_RESOLUTION_S = 1.0
"""Provider seconds of slack for the whole-second ``Date`` header."""
SCHEDULING_S = 0.1
"""Real seconds of slack for scheduling."""
GRACE_S = 10.0
"""Real seconds a run waits after the later midnight, beyond the time its messages take."""


def midnight_time_scale(time_scale: float, midnight_at_s: float) -> tuple[float, float]:
    """A time scale close to ``time_scale`` at which a provider midnight falls at about real
    epoch second ``midnight_at_s`` (a fraction of a second earlier), and that midnight.

    The mock's aligned clock and the governor's quota days both start a provider day at every
    multiple of ``1440 * time_scale`` real seconds since the epoch; nudging the scale by a few
    parts in a million moves one of those multiples to the moment wanted. The day length is
    kept a whole number of microseconds, as the governor stores it.
    """
    day_us = 1440 * time_scale * 1_000_000
    days = max(1, round(midnight_at_s * 1_000_000 / day_us))
    exact_day_us = math.floor(midnight_at_s * 1_000_000 / days)
    return exact_day_us / 1440e6, days * exact_day_us / 1_000_000


@dataclass(frozen=True, slots=True)
class MidnightPlan:
    """When things happen in a midnight run, in real epoch seconds, at ``time_scale``.

    ``fleet_midnight_s`` ends the governor's quota day, ``reset_s`` the provider's (its
    midnight on its offset clock); ``go_at_s`` starts the fleet so that its part of the day
    runs out at ``runs_out_s``; ``spends`` are the out-of-band spends, ``(at_s, requests)`` in
    time order; the run gives up at ``ends_by_s`` if it has not sent everything by then.
    """

    time_scale: float
    fleet_midnight_s: float
    reset_s: float
    go_at_s: float
    runs_out_s: float
    spends: tuple[tuple[float, int], ...]
    ends_by_s: float


def plan_midnight(
    scenario: Scenario, time_scale: float, now_s: float, messages: int,
    startup_s: float = STARTUP_S,
) -> MidnightPlan:
    """The plan of a run of ``scenario`` (``messages`` to send) asked for at ``time_scale``,
    made at ``now_s``: the fleet starts ``startup_s`` later, less up to a second."""
    share = (scenario.quota or 0) - sum(s.requests for s in scenario.out_of_band)
    ahead_s = scenario.clock_offset_s * time_scale / 60.0
    first_s = now_s + startup_s + share / scenario.requests_per_s(time_scale) + LEAD_S
    scale, fleet_midnight_s = midnight_time_scale(time_scale, first_s + max(0.0, ahead_s))
    reset_s = fleet_midnight_s - scenario.clock_offset_s * scale / 60.0
    spend_s = share / scenario.requests_per_s(scale)
    runs_out_s = min(fleet_midnight_s, reset_s) - LEAD_S
    go_at_s = runs_out_s - spend_s
    spends = sorted((go_at_s + s.at * spend_s, s.requests) for s in scenario.out_of_band)
    ends_by_s = (max(fleet_midnight_s, reset_s) + GRACE_S
                 + 2 * messages / scenario.requests_per_s(scale))
    return MidnightPlan(scale, fleet_midnight_s, reset_s, go_at_s, runs_out_s, tuple(spends),
                        ends_by_s)


def midnight_event(
    log: list[dict[str, Any]], plan: MidnightPlan, scenario: Scenario, started_s: float
) -> dict[str, Any] | None:
    """The run around the provider's reset, from the mock's log (provider times) alone; the
    plan only adds where the fleet's midnight was. None for an empty log.

    The reset is the first provider midnight after the log's first entry; the day it ends is
    the one the run started in. ``*_s`` are real seconds (``*_provider_s`` provider seconds);
    ``first_try_after_reset_s`` is the first fleet request after the day's quota ran out,
    relative to the reset (negative: before it; such a request was refused over the quota).
    ``met`` is the scenario's bar (see the module docstring): no over-quota send, the day's
    quota used to the last request, no request between it running out and the reset, and the
    first send after the reset within ``bar_provider_s``.
    """
    if not log:
        return None
    to_real = plan.time_scale / 60.0
    reset_v = next_midnight_s(log[0]["t"])
    old_day = day_of(log[0]["t"])
    fleet = [e for e in log if not e["out_of_band"]]
    day = [e for e in log if e["day"] == old_day]
    counted, ran_out = 0, None
    for e in day:
        counted += e["quota_cost"]
        if ran_out is None and e["quota_limit"] is not None and counted >= e["quota_limit"]:
            ran_out = e
    after_out = [e for e in fleet if ran_out is not None and e["index"] > ran_out["index"]]
    resumed = [e["t"] for e in fleet if e["t"] >= reset_v and 200 <= e["status"] < 300]
    resumed_v = min(resumed) - reset_v if resumed else None
    bar_v = scenario.period_s / scenario.limit + DATE_RESOLUTION_S + SCHEDULING_S / to_real

    def real(virtual_s: float | None) -> float | None:
        return None if virtual_s is None else round(virtual_s * to_real, 4)

    out_of_band = sum(e["quota_cost"] for e in day if e["out_of_band"])
    sent_before = sum(1 for e in fleet if e["day"] == old_day and 200 <= e["status"] < 300)
    over_quota = sum(1 for e in fleet if e["over_quota"])
    tried = sum(1 for e in after_out if e["t"] < reset_v)
    met = (over_quota == 0 and sent_before + out_of_band == scenario.quota and tried == 0
           and resumed_v is not None and resumed_v <= bar_v)
    return {
        "clock_offset_s": scenario.clock_offset_s,
        "reset_at_s": round(plan.reset_s - started_s, 3) if started_s else None,
        "fleet_midnight_after_reset_s": round(plan.fleet_midnight_s - plan.reset_s, 3),
        "quota": scenario.quota,
        "out_of_band": out_of_band,
        "sent_before": sent_before,
        "sent_after": len(resumed),
        "over_quota_sends": over_quota,
        "ran_out_before_reset_s": None if ran_out is None else real(reset_v - ran_out["t"]),
        "tried_before_reset": tried,
        "first_try_after_reset_s": real(after_out[0]["t"] - reset_v) if after_out else None,
        "resumed_after_s": real(resumed_v),
        "resumed_after_provider_s": None if resumed_v is None else round(resumed_v, 4),
        "bar_s": real(bar_v),
        "bar_provider_s": round(bar_v, 4),
        "met": met,
    }
