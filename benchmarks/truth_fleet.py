"""Truth at the edges (issue #12), measured: fleets of worker processes on a real Redis against
the mock provider, each scenario judged from outside the governor.

Four scenarios, each a function from a :class:`Stage` (the worker pool, the Redis URL, how to
run the mock) and a time scale (real seconds per provider minute: 60 is real time) to
:class:`Row` s, one per bar. The mock is MailerSend; every 429 in them is the provider's own,
provoked on purpose: a second token of the account (one the governor does not know of) fills
the account's fixed window and the mock's clock is moved to just before the window ends
(:func:`~benchmarks.truth_pool.provoke`).

``skew``     a worker whose wall clock is +1 h, and one at -1 h, each observe ``429
             Retry-After: 2``; an unskewed process that keeps acquiring shows how long the
             fleet paused. The HTTP-date form is the same 429 with its ``Retry-After`` written
             as ``Date + 2`` (the only header rewritten anywhere).
``quota``    8 workers, the Trial plan (100/day), 30 spent out of band by the second token
             (10 before the fleet starts, 20 in one burst once the fleet has 20 accepted).
``reset``    the mock's clock set so its midnight (its quota reset) is not the governor's day
             boundary, 30 provider seconds before it and after it, with the quota spent first.
``waits``    ``acquire(timeout_s=1)`` while another process announces a 30 s pause mid-sleep;
             then 8 processes acquiring back to back, a 2 s pause holding several asleep.
"""

from __future__ import annotations

import itertools
import math
import secrets
import time
from bisect import bisect_left
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchmarks.harness import BenchmarkError
from benchmarks.truth_pool import EMAIL, email, provoke, wall_minus_mono
from benchmarks.truth_roles import (
    Fleet,
    acquire_loop,
    quota_sender,
    reset_sender,
    skewed_prober,
    timed_sleeper,
)
from governor.demo.scenarios import midnight_time_scale
from governor.limits import DAY_S
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
    "RESET_OFFSETS",
    "SCHEDULING_S",
    "Row",
    "Stage",
    "emission_interval_s",
    "quota",
    "reset",
    "skew",
    "sleepers",
    "timeout",
]

SCHEDULING_S = 0.05  # what a busy 2-core host may add to any wake-up or hand-over
HOUR_S = 3600.0
ALL_PROBES: tuple[tuple[float, str], ...] = (
    (HOUR_S, "delta"), (-HOUR_S, "delta"), (HOUR_S, "date"), (-HOUR_S, "date"),
)
QUOTA_LIMIT, OUT_OF_BAND_BEFORE, OUT_OF_BAND_DURING, BURST_AFTER = 100, 10, 20, 20
# Provider seconds the provider's reset comes before the governor's day boundary (negative:
# after it): far either way, and near enough to be within RESET_TOLERANCE_US (2 real
# seconds) at a 6 s minute, not at a real one.
RESET_OFFSETS = (30.0, -30.0, 10.0)
RESET_LEFT = 10  # quota the fleet spends before the reset (the rest goes out of band)
TIMEOUT_S, SLEEP_AHEAD_S, ANNOUNCE_AFTER_S, LONG_PAUSE_S = 1.0, 0.8, 0.3, 30
SHORT_PAUSE_S = 2
_WAIT_S = 120.0  # the longest a scenario waits for a worker beyond its planned end


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
    """What every scenario runs on: the pool, the Redis URL, and whether the mock runs in a
    child process (benchmarks: it must not share the parent's GIL) or a thread (tests)."""

    pool: Pool
    redis_url: str
    process_mock: bool = False

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


def _ready(pool: Pool, workers: Sequence[int]) -> None:
    for i in workers:
        if pool.signal(i) != "ready":
            raise BenchmarkError(f"worker {i} did not report ready")


def _mock_now(mock: MockServer) -> tuple[float, float, float]:
    """The mock's virtual now, the monotonic instant it was read at, and its speed."""
    before = time.monotonic()
    clock = mock.admin.clock()
    return clock["virtual_now_s"], (before + time.monotonic()) / 2, clock["speed"]


def _sleep_until(mono_s: float) -> None:
    time.sleep(max(0.0, mono_s - time.monotonic()))


# -- 1. skewed workers ----------------------------------------------------------------------


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
        _ready(pool, [0, *probers.values()])
        pool.tell(0, time.monotonic())
        seen = []
        for skew_s, form in probes:
            pool.tell(probers[skew_s], form)
            probe = pool.signal(probers[skew_s], _WAIT_S)
            seen.append(probe)
            # The observer decides again within an interval of the 429, and is granted the
            # pause's end; the next probe's acquire must not queue for that slot first.
            _sleep_until(probe["received"] + probe["retry_after_s"] * unit + 2 * interval)
        for i in probers.values():
            pool.tell(i, "stop")
            pool.result(i, _WAIT_S)
        pool.tell(0, "stop")
        observed = pool.result(0, _WAIT_S)
    return [_skew_row(p, observed, scale) for p in seen]


def _skew_row(probe: dict[str, Any], observed: dict[str, Any], scale: float) -> Row:
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
                  if probe["observed"] + SCHEDULING_S < back < resume - 0.001)
    detail = (f"worker's clock {probe['skew_seen_s']:+.3f} s off; it read a pause of "
              f"{probe['read_s']:.3f} s; {slipped} observer grants inside the pause")
    if probe["form"] == "delta":
        passed = abs(pause - expected) <= SCHEDULING_S and slipped == 0
        bound = f"pause = Retry-After ({expected:g} s) ± {SCHEDULING_S} s"
    else:
        late = resume - probe["target_mono"]
        passed = -SCHEDULING_S <= late <= unit + SCHEDULING_S and slipped == 0
        bound = (f"resume in [HTTP-date, HTTP-date + 1 provider s (Date's resolution, "
                 f"{unit:g} s)] ± {SCHEDULING_S} s")
        detail += f"; resumed {late:+.3f} s after the provider's clock showed the HTTP-date"
    figure = f"fleet paused {pause:.3f} s"
    return Row(name, scale, figure, bound, passed, detail)


# -- 2. quota truth -------------------------------------------------------------------------


def _clear_of_midnight(scale: float, run_s: float) -> None:
    """Wait past the next quota-day boundary if it falls within ``run_s`` (the aligned mock
    and the governor share it)."""
    day_s = DAY_S * scale / 60.0
    left = day_s - time.time() % day_s
    if left < run_s:
        time.sleep(left + 0.5)


def quota(stage: Stage, scale: float, workers: int = 8) -> list[Row]:
    """8 workers, 100/day, 30 spent out of band: over-quota sends, and what the fleet used."""
    pool, interval = stage.pool, emission_interval_s(scale, "trial")
    left = QUOTA_LIMIT - OUT_OF_BAND_BEFORE - OUT_OF_BAND_DURING
    _clear_of_midnight(scale, QUOTA_LIMIT * interval + 60.0)
    ids = range(workers)
    with stage.mock(scale) as mock:
        fleet = stage.fleet(mock, scale, "trial")
        timeout_s = 3 * workers * interval + 1.0
        for i in ids:
            pool.order(i, quota_sender, fleet=fleet, sends=QUOTA_LIMIT, timeout_s=timeout_s)
        _ready(pool, ids)
        statuses: list[int] = []
        with fleet.client(fleet.filler_token) as other:
            statuses += [other.post("/v1/email", json=email(i)).status_code
                         for i in range(OUT_OF_BAND_BEFORE)]
            start = time.monotonic() + 0.1
            for i in ids:
                pool.tell(i, start)
            name = fleet.account
            deadline = time.monotonic() + QUOTA_LIMIT * interval + _WAIT_S
            while mock.admin.account(name)["quota_used"] < OUT_OF_BAND_BEFORE + BURST_AFTER:
                if time.monotonic() > deadline:
                    raise BenchmarkError("the fleet never got 20 sends accepted")
                time.sleep(0.2 * interval)
            statuses += [other.post("/v1/email", json=email(i)).status_code
                         for i in range(OUT_OF_BAND_DURING)]
        results = [pool.result(i, QUOTA_LIMIT * interval + _WAIT_S) for i in ids]
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
        scale, f"{refused + mock_over} over-quota sends",
        "over-quota sends ≤ requests in flight when the provider's count changed "
        f"≤ min({workers} workers, rate x latency); bar 0",
        refused == 0 and mock_over == 0 and mock_refused == 0,
        f"the mock refused {mock_refused} for quota (#MS42901) and counted {mock_over} over "
        f"it; {len(fleet_codes)} fleet requests, {sum(1 for s, _ in fleet_codes if s == 429)} "
        f"429s; workers stopped: {', '.join(stops)}",
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


# -- 3. the provider's reset ----------------------------------------------------------------


def reset(stage: Stage, scale: float, offsets: Sequence[float] = RESET_OFFSETS
          ) -> list[Row]:
    """The provider's reset ``offset`` provider seconds before the governor's day boundary
    (after it, for a negative one), with the quota spent first: does sending resume right
    after the provider's reset, and never before it? One fleet per offset, all at once on one
    governor day, the pool's workers shared out among them; two rows per offset, in order."""
    pool, workers = stage.pool, min(4, stage.pool.size // len(offsets))
    setup_s = 10.0 if stage.process_mock else 2.5
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
            now_v, at, speed = _mock_now(mock)
            midnight_v = (math.floor(now_v / DAY_S) + 1) * DAY_S
            ids = range(n * workers, (n + 1) * workers)
            for i in ids:
                pool.order(i, reset_sender, fleet=fleet)
            runs.append((ahead_s, ids, mock, midnight_v, at + (midnight_v - now_v) / speed,
                         mock.admin.log(limit=1)["total"]))
        _ready(pool, range(len(offsets) * workers))
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
            results = [pool.result(i, end - time.monotonic() + _WAIT_S) for i in ids]
            log = mock.admin.log(since=first, limit=100_000)["entries"]
            rows += _reset_rows(ahead_s, scale, log, midnight_v, reset_mono - boundary,
                                results, reset_mono + offset, interval)
    finally:
        for mock in mocks:
            mock.stop()
    return rows


def overtaken(results: list[dict[str, Any]]) -> str:
    """How many of the fleet's accepted requests reached the provider after one granted
    later (quota sequence against the mock's log order): each such pair is a call the
    provider had counted that a response's "granted after mine" adds again."""
    sent = sorted((seq, index) for r in results for _, status, _, seq, index in r["records"]
                  if 200 <= status < 300 and index is not None)
    late = sum(1 for (_, a), (_, b) in itertools.combinations(sent, 2) if a > b)
    return f"{late} accepted requests overtaken on the way by one granted after them"


def _reset_rows(ahead_s: float, scale: float, log: list[dict[str, Any]], midnight_v: float,
                gap_s: float, results: list[dict[str, Any]], reset_wall: float,
                interval: float) -> list[Row]:
    unit = scale / 60.0
    before = [e for e in log if e["t"] < midnight_v]
    ok_before = [e["t"] for e in before if 200 <= e["status"] < 300]
    ok_after = [e["t"] for e in log if e["t"] >= midnight_v and 200 <= e["status"] < 300]
    spent_at = max(ok_before, default=-math.inf)
    waiting = [e for e in before if e["t"] > spent_at]
    refused = sum(1 for e in log if e["code"] == "MS42901")
    lag = None if not ok_after else (min(ok_after) - midnight_v) * unit
    slack = unit + 2 * SCHEDULING_S
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
        f"+ {2 * SCHEDULING_S:g} s", lag is not None and 0 <= lag <= interval + slack,
        f"the governor's own boundary {-gap_s:+.1f} s from it; {told}",
    )
    quiet = Row(
        f"{name}: nothing while spent", scale,
        f"{len(waiting)} requests between the quota running out and the reset",
        "= 0 (and 0 refused for quota)", not waiting and refused == 0,
        f"{len(ok_before)} of the {RESET_LEFT} left sent before it ({overtaken(results)}); "
        f"{refused} refused #MS42901; {len(log)} fleet requests in all",
    )
    return [resumed, quiet]


# -- 4. waits: a hard timeout, and sleepers rebooking ---------------------------------------


def timeout(stage: Stage, scale: float) -> list[Row]:
    """``acquire(timeout_s=1)`` sleeping on a slot 0.8 s ahead, while another process observes
    the provider's ``429 Retry-After: 30`` 0.3 s into that sleep."""
    pool = stage.pool
    with stage.mock(scale) as mock:
        fleet = stage.fleet(mock, scale, "starter", limit=10)
        mock.admin.set_reputation(fleet.account, "under_review")  # 10/min: a quick fill
        pool.order(0, timed_sleeper, fleet=fleet, ahead_s=SLEEP_AHEAD_S, timeout_s=TIMEOUT_S)
        _ready(pool, [0])
        pool.tell(0, "go")
        called = pool.signal(0, _WAIT_S)
        with (fleet.governor() as gov, fleet.client() as direct,
              fleet.client(fleet.filler_token) as filler):
            _sleep_until(called + ANNOUNCE_AFTER_S)
            hit = provoke(mock.admin, filler, lambda: direct.post("/v1/email", json=email(0)),
                          LONG_PAUSE_S, fleet.limit)
            gov.observe(EMAIL, hit.response.status_code, hit.response.headers,
                        hit.response.content)
            announced = time.monotonic()
        result = pool.result(0, _WAIT_S)
    first = result["decisions"][0]
    planned_s = first[2] / 1e6
    into = announced - called
    bar = TIMEOUT_S + SCHEDULING_S
    return [Row(
        f"acquire(timeout_s={TIMEOUT_S:g}) asleep on a slot when another process announces "
        f"a {hit.retry_after_s} provider s pause", scale,
        f"{result['outcome']} after {result['elapsed_s']:.3f} s",
        f"≤ timeout + {SCHEDULING_S} s = {bar:g} s",
        result["elapsed_s"] <= bar and 0 < into < planned_s,
        f"its slot was {planned_s:.3f} s ahead; the pause was announced {into:.3f} s into "
        f"the sleep; decisions: {_decisions(result['decisions'])}",
    )]


def _decisions(decisions: list[tuple[bool, int, int, str]]) -> str:
    return "; ".join(f"{'allowed' if a else 'denied'} wait {w / 1e6:.3f} s ({scope})"
                     for a, _, w, scope in decisions)


def sleepers(stage: Stage, scale: float, workers: int = 8) -> list[Row]:
    """8 processes acquire back to back for over a period, then the provider's ``429
    Retry-After: 2`` comes and holds the ones asleep on slots: how many calls in one period
    (every window that holds the pause's end), and how the sleepers went afterwards."""
    pool, unit = stage.pool, scale / 60.0
    period, interval = 60.0 * unit, emission_interval_s(scale)
    ids = range(workers)
    with stage.mock(scale) as mock:
        fleet = stage.fleet(mock, scale, "starter")
        for i in ids:
            pool.order(i, acquire_loop, fleet=fleet)
        _ready(pool, ids)
        go = time.monotonic() + 0.2
        for i in ids:
            pool.tell(i, go)
        with (fleet.governor() as gov, fleet.client() as direct,
              fleet.client(fleet.filler_token) as filler):
            _sleep_until(go + 1.05 * period)
            hit = provoke(mock.admin, filler, lambda: direct.post("/v1/email", json=email(0)),
                          SHORT_PAUSE_S, fleet.limit)
            gov.observe(EMAIL, hit.response.status_code, hit.response.headers,
                        hit.response.content)
            written = time.monotonic()
        # Every window that holds the pause's end starts within the period before it.
        _sleep_until(written + SHORT_PAUSE_S * unit + 0.2 * period + workers * interval)
        for i in ids:
            pool.tell(i, "stop")
        results = [pool.result(i, _WAIT_S) for i in ids]
    return _sleeper_rows(results, hit.received_mono, written, period, interval, scale)


def _most_in(times: list[float], span: float) -> int:
    times = sorted(times)
    return max((bisect_left(times, t + span) - i for i, t in enumerate(times)), default=0)


def _sleeper_rows(results: list[dict[str, Any]], received: float, written: float,
                  period: float, interval: float, scale: float) -> list[Row]:
    grants, sent, held = [], [], 0
    written_us = -math.inf  # the 429's observation, on Redis' clock (each worker's estimate)
    decided: list[tuple[int, int]] = []  # (decided at, granted at): Redis' own microseconds
    for r in results:
        offset = r["offset"]
        written_us = max(written_us, (written + offset) * 1e6)
        for called, now_us, wait_us, back in r["records"]:
            grants.append((now_us + wait_us) / 1e6 - offset)
            sent.append(back)
            decided.append((now_us, now_us + wait_us))
            held += called < written and now_us / 1e6 - offset > written
    resume_us = min(g for n, g in decided if n > written_us)  # the pause's end, as decided
    after = sorted(g for _, g in decided if g >= resume_us)
    resume = resume_us / 1e6 - results[0]["offset"]
    gaps = [(b - a) / 1e6 for a, b in itertools.pairwise(after)]
    most_sent, most_granted = _most_in(sent, period), _most_in(grants, period)
    pause_end = received + SHORT_PAUSE_S * scale / 60.0
    slipped = sum(1 for t in sent if written + SCHEDULING_S < t < pause_end - SCHEDULING_S)
    first = min((t for t in sent if t > written + SCHEDULING_S), default=math.nan)
    name = (f"{len(results)} processes acquiring, a {SHORT_PAUSE_S} provider s pause "
            "holding the sleepers")
    limit = 120
    window = Row(
        f"{name}: calls in one period", scale,
        f"at most {most_sent} sent in any {period:g} s (grants: {most_granted})",
        f"≤ limit ({limit}) in every sliding window of one period",
        most_sent <= limit and most_granted <= limit and held >= 2,
        f"{held} sleepers held by the pause; {slipped} sent inside it; the first after it "
        f"{first - received:.3f} s after the 429",
    )
    spaced = Row(
        f"{name}: after the pause", scale,
        f"grants {min(gaps) * 1000:.1f} ms apart at least",
        f"≥ I ({interval * 1000:.1f} ms): rebooked at the spacing, no burst",
        bool(gaps) and min(gaps) >= interval - 1e-6 and held >= 2,
        f"{len(after)} grants from the first one decided after the 429 was observed "
        f"({resume - written:.3f} s after it) on",
    )
    return [window, spaced]
