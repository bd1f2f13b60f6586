"""The provider's reset is not the governor's day boundary (issue #12): the mock's clock is set
so that its midnight, the quota reset it states in ``x-apiquota-reset``, comes some provider
seconds before the governor's own day boundary or after it. The quota is spent first (90 of
the Trial plan's 100 out of band, the last 10 by the fleet); does sending resume right after
the provider's reset, and never before it?

The governor's day boundary is put at a chosen instant of the run by nudging the time scale a
few parts per million (:func:`midnight_time_scale`); one fleet per offset, on a mock of its
own, all at once.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

from benchmarks.harness import BenchmarkError
from benchmarks.truth_fleet import (
    QUOTA_LIMIT,
    Row,
    emission_interval_s,
    overtaken,
)
from benchmarks.truth_pool import WAIT_S, email, mock_now, wall_minus_mono
from benchmarks.truth_roles import reset_sender
from governor.limits import DAY_S

if TYPE_CHECKING:
    from collections.abc import Sequence

    from benchmarks.truth_fleet import Stage
    from governor.mock.server import MockServer

__all__ = ["RESET_LEFT", "RESET_OFFSETS", "midnight_time_scale", "reset"]

# Provider seconds the provider's reset comes before the governor's day boundary (negative:
# after it): far either way, and near enough to be within RESET_TOLERANCE_US (2 real
# seconds) at a 6 s minute, not at a real one.
RESET_OFFSETS = (30.0, -30.0, 10.0)
RESET_LEFT = 10  # quota the fleet spends before the reset (the rest goes out of band)


def midnight_time_scale(time_scale: float, midnight_at_s: float) -> tuple[float, float]:
    """A time scale close to ``time_scale`` at which a quota day of the governor (and of an
    aligned mock) starts at about real epoch second ``midnight_at_s`` (a fraction of a second
    earlier), and that instant: both start a day at every multiple of ``1440 * time_scale``
    real seconds, so nudging the scale by parts per million moves one multiple there. The day
    is kept a whole number of microseconds, as the governor stores it. (The demo's
    ``governor.demo.scenarios.midnight_time_scale``, kept here so the benchmark does not
    depend on the demo.)"""
    day_us = 1440 * time_scale * 1_000_000
    days = max(1, round(midnight_at_s * 1_000_000 / day_us))
    exact_day_us = math.floor(midnight_at_s * 1_000_000 / days)
    return exact_day_us / 1440e6, days * exact_day_us / 1_000_000


def reset(stage: Stage, scale: float, offsets: Sequence[float] = RESET_OFFSETS
          ) -> list[Row]:
    """The provider's reset ``offset`` provider seconds before the governor's day boundary
    (after it, for a negative one), with the quota spent first: does sending resume right
    after the provider's reset, and never before it? One fleet per offset, all at once on one
    governor day, the pool's workers shared out among them; two rows per offset, in order."""
    pool, workers = stage.pool, min(4, stage.pool.size // len(offsets))
    setup_s = 10.0  # the mocks and fleets start before "go", on a busy machine too
    interval, unit = emission_interval_s(scale, "trial"), scale / 60.0
    lead_s = RESET_LEFT * interval + max(1.0, 2 * unit)  # the 10 left are spent well before
    go_wall = time.time() + setup_s
    scale, boundary_wall = midnight_time_scale(
        scale, go_wall + lead_s + max(0.0, *offsets) * unit
    )
    unit = scale / 60.0
    runs = []
    mocks: list[MockServer] = []
    try:
        for n, ahead_s in enumerate(offsets):
            # Start well behind, then jump to exactly ``ahead_s`` (the mock only goes forward).
            behind_s = max(0.0, -ahead_s) + 2 * setup_s * 60.0 / scale
            mock = stage.mock(scale, start_s=time.time() * 60.0 / scale - behind_s)
            mocks.append(mock)
            mock.admin.jump(advance_s=ahead_s - mock.admin.clock()["offset_s"])
            fleet = stage.fleet(mock, scale, "trial")
            with fleet.client(fleet.filler_token) as other:
                spent = [other.post("/v1/email", json=email(i)).status_code
                         for i in range(QUOTA_LIMIT - RESET_LEFT)]
            if spent.count(202) != len(spent):
                raise BenchmarkError(f"the out-of-band spend was refused: {spent}")
            now_v, at, speed = mock_now(mock.admin)
            midnight_v = (math.floor(now_v / DAY_S) + 1) * DAY_S
            ids = range(n * workers, (n + 1) * workers)
            for i in ids:
                pool.order(i, reset_sender, fleet=fleet)
            runs.append((ahead_s, ids, mock, midnight_v, at + (midnight_v - now_v) / speed,
                         mock.admin.log(limit=1)["total"]))
        pool.ready(range(len(offsets) * workers))
        offset = wall_minus_mono()
        go, boundary = go_wall - offset, boundary_wall - offset
        if time.monotonic() > go:
            raise BenchmarkError(f"the set-up took longer than {setup_s:g} s")
        post_s = 6 * interval + max(0.5, unit)
        for _, ids, _, _, reset_mono, _ in runs:
            for i in ids:
                pool.tell(i, (go, max(reset_mono, boundary) + post_s))
        end = max(boundary, *(r[4] for r in runs)) + post_s
        rows = []
        for ahead_s, ids, mock, midnight_v, reset_mono, first in runs:
            results = [pool.result(i, end - time.monotonic() + WAIT_S) for i in ids]
            log = mock.admin.log(since=first, limit=100_000)["entries"]
            rows += _reset_rows(ahead_s, scale, log, midnight_v, reset_mono - boundary,
                                results, reset_mono + offset, interval, stage.slack_s)
    finally:
        for mock in mocks:
            mock.stop()
    return rows


def _reset_rows(ahead_s: float, scale: float, log: list[dict[str, Any]], midnight_v: float,
                gap_s: float, results: list[dict[str, Any]], reset_wall: float,
                interval: float, slack_s: float) -> list[Row]:
    unit = scale / 60.0
    before = [e for e in log if e["t"] < midnight_v]
    ok_before = [e["t"] for e in before if 200 <= e["status"] < 300]
    ok_after = [e["t"] for e in log if e["t"] >= midnight_v and 200 <= e["status"] < 300]
    spent_at = max(ok_before, default=-math.inf)
    waiting = [e for e in before if e["t"] > spent_at]
    refused = sum(1 for e in log if e["code"] == "MS42901")
    lag = None if not ok_after else (min(ok_after) - midnight_v) * unit
    slack = unit + 2 * slack_s
    # When the governor's last decision before the provider's reset said the day ends.
    ends = sorted((now, end) for r in results for now, end in r["day_ends_us"]
                  if now < reset_wall * 1e6)
    name = (f"provider's reset {abs(ahead_s):g} provider s "
            f"{'before' if ahead_s > 0 else 'after'} the governor's day boundary")
    told = (f"its last decision before it said the day ends {ends[-1][1] / 1e6 - reset_wall:+.3f}"
            " s from it") if ends else "no decision before it"
    resumed = Row(
        f"{name}: resume", scale,
        "no send after the reset" if lag is None else f"resumed {lag:.3f} s after the reset",
        f"0 ≤ lag ≤ I ({interval:.3f} s) + Date resolution (1 provider s = {unit:.6g} s) "
        f"+ {2 * slack_s:g} s", lag is not None and 0 <= lag <= interval + slack,
        f"the governor's own boundary {-gap_s:+.1f} s from it; {told}",
    )
    quiet = Row(
        f"{name}: nothing while spent", scale,
        f"{len(waiting)} requests between the quota running out and the reset",
        "= 0 (and 0 refused for quota)", not waiting and refused == 0,
        f"{len(ok_before)} of the {RESET_LEFT} left sent before it "
        f"({overtaken(results, {e['index'] for e in before})}); "
        f"{refused} refused #MS42901; {len(log)} fleet requests in all",
    )
    return [resumed, quiet]


