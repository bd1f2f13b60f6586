"""Truth at the edges (issue #12), measured: fleets of worker processes on a real Redis against
the mock provider, each scenario judged from outside the governor.

Every scenario is a function from a :class:`Stage` (the worker pool, the Redis URL, how to run
the mock) and a time scale (real seconds per provider minute: 60 is real time) to
:class:`Row` s, one per bar. The mock is MailerSend; every 429 in them is the provider's own,
provoked on purpose: a second token of the account (one the governor does not know of) fills
the account's fixed window and the mock's clock is moved to just before the window ends
(:func:`~benchmarks.truth_pool.provoke`).

Here: ``skew`` (a worker whose wall clock is +1 h, and one at -1 h, each observe ``429
Retry-After: 2``; an unskewed process that keeps acquiring shows how long the fleet paused;
the HTTP-date form is the same 429 with its ``Retry-After`` written as ``Date + 2``, the only
header rewritten anywhere) and ``quota`` (8 workers, the Trial plan's 100/day, 30 spent out of
band by the second token: 10 before the fleet starts, 20 in one burst once the fleet has 20
accepted). :mod:`benchmarks.truth_reset` has ``reset`` (the provider's day ending before or
after the governor's), :mod:`benchmarks.truth_waits` ``timeout`` and ``sleepers``.
"""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchmarks.harness import BenchmarkError
from benchmarks.truth_pool import WAIT_S, clear_of_midnight, email, sleep_until
from benchmarks.truth_roles import Fleet, acquire_loop, quota_sender, skewed_prober
from governor.mock.server import MockServer
from governor.settings import GovernorSettings

if TYPE_CHECKING:
    from collections.abc import Sequence

    from benchmarks.truth_pool import Pool

__all__ = [
    "ALL_PROBES",
    "HOUR_S",
    "OUT_OF_BAND_BEFORE",
    "OUT_OF_BAND_DURING",
    "QUOTA_LIMIT",
    "SCHEDULING_S",
    "Row",
    "Stage",
    "emission_interval_s",
    "overtaken",
    "quota",
    "skew",
]

SCHEDULING_S = 0.05  # what a busy 2-core host may add to any wake-up or hand-over
HOUR_S = 3600.0
ALL_PROBES: tuple[tuple[float, str], ...] = (
    (HOUR_S, "delta"), (-HOUR_S, "delta"), (HOUR_S, "date"), (-HOUR_S, "date"),
)
QUOTA_LIMIT, OUT_OF_BAND_BEFORE, OUT_OF_BAND_DURING, BURST_AFTER = 100, 10, 20, 20


@dataclass(frozen=True)
class Row:
    """One bar of one scenario at one time scale: what was measured against what bound."""

    scenario: str
    scale: float
    figure: str
    bound: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class Stage:
    """What every scenario runs on: the pool, the Redis URL, whether the mock runs in a child
    process (benchmarks: it must not share the parent's GIL) or a thread (tests), and the
    scheduling slack every bound allows."""

    pool: Pool
    redis_url: str
    process_mock: bool = False
    slack_s: float = SCHEDULING_S  # tests on a busy machine allow their wake-ups more

    def mock(self, scale: float, start_s: float | None = None) -> MockServer:
        """A fresh MailerSend mock at ``scale``, started."""
        return MockServer("mailersend", time_scale=scale, start_s=start_s,
                          process=self.process_mock, startup_timeout_s=60.0).start()

    def fleet(self, mock: MockServer, scale: float, plan: str, limit: int = 120) -> Fleet:
        """A fresh account on ``mock`` with two tokens (the fleet's and an out-of-band one),
        and the fleet's settings for it, under a key prefix of its own."""
        token, other = f"fleet-{secrets.token_hex(8)}", f"other-{secrets.token_hex(8)}"
        account = f"truth-{secrets.token_hex(4)}"
        mock.admin.add_account(account, [token, other], plan=plan)
        return Fleet(mock.url, self.redis_url, f"truth{secrets.token_hex(6)}", scale, token,
                     plan, other, limit, account)


def emission_interval_s(scale: float, plan: str = "starter") -> float:
    """The governor's spacing of ``POST /v1/email`` at ``scale`` (headroom included), real s:
    the policy every worker builds from the same settings."""
    policy = GovernorSettings.load(provider="mailersend", plan=plan, time_scale=scale).policy()
    return policy.interval_us("email") / 1_000_000


def overtaken(results: list[dict[str, Any]], within: set[int] | None = None) -> str:
    """How many pairs of the fleet's accepted requests (those logged at an index in ``within``,
    default all) reached the provider in the other order than they were granted (quota
    sequence against the mock's log order). The answer to the earlier-granted one then counts
    the later one twice: the provider counted it, and it was granted after."""
    sent = sorted((seq, index) for r in results for _, status, _, seq, index in r["records"]
                  if 200 <= status < 300 and index is not None
                  and (within is None or index in within))
    late = sum(1 for (_, a), (_, b) in itertools.combinations(sent, 2) if a > b)
    return f"{late} pairs of accepted requests arrived in the other order than granted"


def skew(stage: Stage, scale: float, probes: Sequence[tuple[float, str]] = ALL_PROBES
         ) -> list[Row]:
    """Workers at +1 h and -1 h each observe the provider's ``429 Retry-After: 2``; how long
    does the fleet pause? Workers 0 (the unskewed observer), 1 (+1 h) and 2 (-1 h)."""
    pool, unit = stage.pool, scale / 60.0
    interval = emission_interval_s(scale)
    with stage.mock(scale) as mock:
        fleet = stage.fleet(mock, scale, "starter")
        probers = {HOUR_S: 1, -HOUR_S: 2}
        pool.order(0, acquire_loop, fleet=fleet)
        for skew_s, i in probers.items():
            pool.order(i, skewed_prober, fleet=fleet, skew_s=skew_s)
        pool.ready([0, *probers.values()])
        pool.tell(0, time.monotonic())
        seen = []
        for skew_s, form in probes:
            pool.tell(probers[skew_s], form)
            probe = pool.signal(probers[skew_s], WAIT_S)
            seen.append(probe)
            # The observer decides again within an interval of the 429, and is granted the
            # pause's end; the next probe's acquire must not queue for that slot first.
            sleep_until(probe["received"] + probe["retry_after_s"] * unit + 2 * interval)
        for i in probers.values():
            pool.tell(i, "stop")
            pool.result(i, WAIT_S)
        pool.tell(0, "stop")
        observed = pool.result(0, WAIT_S)
    return [_skew_row(p, observed, scale, stage.slack_s) for p in seen]


def _skew_row(probe: dict[str, Any], observed: dict[str, Any], scale: float, slack_s: float
              ) -> Row:
    unit, offset = scale / 60.0, observed["offset"]
    records = observed["records"]
    written_wall = probe["observed"] + offset
    later = [(n + w) / 1e6 for _, n, w, _ in records if n / 1e6 > written_wall]
    sign = "+" if probe["skew_s"] > 0 else "-"
    name = (f"skewed worker {sign}1 h observes 429 Retry-After: {probe['retry_after_s']} "
            f"({'delta' if probe['form'] == 'delta' else 'HTTP-date with Date'})")
    if not later:
        return Row(name, scale, "the observer was never granted after the 429", "-", False)
    resume = min(later) - offset
    pause = resume - probe["received"]
    expected = probe["retry_after_s"] * unit
    slipped = sum(1 for _, _, _, back in records
                  if probe["observed"] + slack_s < back < resume - 0.001)
    detail = (f"worker's clock {probe['skew_seen_s']:+.3f} s off; it read a pause of "
              f"{probe['read_s']:.3f} s; {slipped} observer grants inside the pause")
    if probe["form"] == "delta":
        passed = abs(pause - expected) <= slack_s and slipped == 0
        bound = f"pause = Retry-After ({expected:g} s) ± {slack_s} s"
    else:
        late = resume - probe["target_mono"]
        passed = -slack_s <= late <= unit + slack_s and slipped == 0
        bound = (f"resume in [HTTP-date, HTTP-date + 1 provider s (Date's resolution, "
                 f"{unit:g} s)] ± {slack_s} s")
        detail += f"; resumed {late:+.3f} s after the provider's clock showed the HTTP-date"
    figure = f"fleet paused {pause:.3f} s"
    return Row(name, scale, figure, bound, passed, detail)


def quota(stage: Stage, scale: float, workers: int = 8) -> list[Row]:
    """8 workers, 100/day, 30 spent out of band: over-quota sends, and what the fleet used."""
    pool, interval = stage.pool, emission_interval_s(scale, "trial")
    left = QUOTA_LIMIT - OUT_OF_BAND_BEFORE - OUT_OF_BAND_DURING
    clear_of_midnight(scale, QUOTA_LIMIT * interval + 60.0)
    ids = range(workers)
    with stage.mock(scale) as mock:
        fleet = stage.fleet(mock, scale, "trial")
        timeout_s = 3 * workers * interval + 1.0
        for i in ids:
            pool.order(i, quota_sender, fleet=fleet, sends=QUOTA_LIMIT, timeout_s=timeout_s)
        pool.ready(ids)
        statuses: list[int] = []
        with fleet.client(fleet.filler_token) as other:
            statuses += [other.post("/v1/email", json=email(i)).status_code
                         for i in range(OUT_OF_BAND_BEFORE)]
            start = time.monotonic() + 0.1
            for i in ids:
                pool.tell(i, start)
            name = fleet.account
            deadline = time.monotonic() + QUOTA_LIMIT * interval + WAIT_S
            while mock.admin.account(name)["quota_used"] < OUT_OF_BAND_BEFORE + BURST_AFTER:
                if time.monotonic() > deadline:
                    raise BenchmarkError("the fleet never got 20 sends accepted")
                time.sleep(0.2 * interval)
            statuses += [other.post("/v1/email", json=email(i)).status_code
                         for i in range(OUT_OF_BAND_DURING)]
        results = [pool.result(i, QUOTA_LIMIT * interval + WAIT_S) for i in ids]
        report = mock.admin.report()["accounts"][name]
    fleet_codes = [(status, code) for r in results for _, status, code, *_ in r["records"]]
    accepted = sum(1 for status, _ in fleet_codes if 200 <= status < 300)
    refused = sum(1 for _, code in fleet_codes if code == "MS42901")
    other_ok = sum(1 for s in statuses if 200 <= s < 300)
    mock_refused = report["rate_limited"].get("MS42901", 0)
    mock_over = report["quota"]["over_quota_sends"]
    stops = sorted({r["stopped"] for r in results})
    over = Row(
        f"quota truth: {workers} workers, {QUOTA_LIMIT}/day, "
        f"{OUT_OF_BAND_BEFORE + OUT_OF_BAND_DURING} spent out of band",
        scale, f"{max(refused, mock_over)} over-quota sends",
        "over-quota sends ≤ requests in flight when the provider's count changed "
        f"≤ min({workers} workers, rate x latency); bar 0",
        refused == 0 and mock_over == 0 and mock_refused == 0,
        f"the mock refused {mock_refused} for quota (#MS42901) and counted {mock_over} "
        f"over-quota sends, the fleet saw {refused}; {len(fleet_codes)} fleet requests, "
        f"{sum(1 for s, _ in fleet_codes if s == 429)} 429s; workers stopped: "
        f"{', '.join(stops)}",
    )
    used = Row(
        "quota truth: the fleet used what was left", scale,
        f"{accepted} accepted of {left} left",
        f"accepted = {QUOTA_LIMIT} - out of band ({left})",
        accepted == left and other_ok == OUT_OF_BAND_BEFORE + OUT_OF_BAND_DURING,
        f"out of band: {other_ok} of {len(statuses)} accepted; the mock counted "
        f"{sum(d['counted'] for d in report['quota']['days'].values())} of {QUOTA_LIMIT}; "
        f"{overtaken(results)}",
    )
    return [over, used]


