"""Spending the day wisely (#16), measured: worker processes on a real Redis against the mock.

Two runs, each of spawned worker processes (``Governor.from_settings``, the Redis backend on a
private server, sending ``POST /v1/email`` to the MailerSend mock and observing every reply):

``line``
    A compressed quota day (``day_s`` real seconds; the mock and the governor agree on its
    boundaries) with pacing on and a backlog that could spend the quota in a fraction of the
    day. The parent reads the mock's count for the day at every provider hour and compares it
    with the pace line: from the count when the fleet started to the spendable quota at the
    day's end (a fleet that starts in the middle of the day spreads what is left over what is
    left; one that starts late in the day waits for the next). Bars: within 2% of the line at
    every hour from the second on (the first hour's line is a handful of calls), and within
    1% of the quota at the end.
``lanes``
    Low-priority workers saturating the email bucket (no pacing: the bucket binds), lanes on
    (a horizon of one emission interval), and one worker sending high-priority calls at
    random moments. Bar: the high lane's waits (from asking to being let go, real time) have
    a p99 of at most 2 emission intervals; the low lane still keeps the bucket busy.

The profile is the built-in MailerSend one with a plan of its own (the quota and the email
rate sized so that the run is short and the pace, not the bucket, binds in ``line``).
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import random
import secrets
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.harness import BenchmarkError, Check, Options, Report, Target, write_results
from governor.embedded import start_server
from governor.mock.server import MockServer
from governor.profile import builtin_profiles

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

__all__ = ["LanesResult", "LineResult", "Setup", "lanes", "line", "profile_file", "run"]

EMAIL = "POST /v1/email"
WARM_UP = "GET /v1/api-quota"
PLAN = "paced_bench"
LEAD_S = 0.5  # real seconds from every worker being up to the fleet's start
# A compressed day's pace interval is a few ms, of the order of a worker's wake-up lateness;
# a burst of 2 lets a call that wakes late within one interval keep its slot on the line
# (with 1, each such lateness is lost and the fleet trails the line by its share).
PACE_BURST = 2
MIN_DAY_SHARE = 0.6  # a fleet up later in the day than this waits for the next day
_MIDNIGHT_S = 1_767_225_600.0  # 2026-01-01T00:00:00Z, a virtual midnight of the mock
START_TIMEOUT_S = 180.0  # a busy 2-core machine spawning a fleet must not fail a start-up race


def profile_file(directory: Path, quota: int, email_per_minute: int) -> Path:
    """The MailerSend profile with a plan :data:`PLAN` of ``quota`` a day and that email rate."""
    text = builtin_profiles()["mailersend"].read_text(encoding="utf-8")
    text += (f'\n[plans.{PLAN}]\nquota = "{quota}/day"\n'
             f'buckets = {{ email = "{email_per_minute}/minute" }}\n')
    path = directory / "mailersend-bench.toml"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass(frozen=True)
class Setup:
    """Plain values a worker process builds its governor and client from."""

    profile: str
    mock_url: str
    redis_url: str
    prefix: str
    token: str
    time_scale: float
    pacing: bool
    lane_horizon: float | None
    pace_burst: int | None = None


def _worker(setup: Setup, priority: str, gap_s: float, seed: int, conn: Connection) -> None:
    """Build the governor and the client, say ``"ready"``, then wait for ``(go_wall,
    until_mono)``: send from the first until the second, and hand the records back."""
    import httpx  # noqa: PLC0415 - in the spawned worker

    from governor.client import Governor  # noqa: PLC0415
    from governor.errors import LimitExceeded  # noqa: PLC0415

    rng = random.Random(seed)
    records: list[tuple[float, float, int, str]] = []
    statuses: dict[int, int] = {}
    gov = Governor.from_settings(
        provider=setup.profile, plan=PLAN, redis_url=setup.redis_url, key_prefix=setup.prefix,
        time_scale=setup.time_scale, api_token=setup.token, pacing=setup.pacing,
        lane_horizon=setup.lane_horizon, pace_burst=setup.pace_burst,
    )
    auth = {"Authorization": f"Bearer {setup.token}"}
    body = {"from": {"email": "pace@example.com"}, "to": [{"email": "u@example.com"}],
            "subject": "paced", "text": "Sent by the pacing benchmark."}
    try:
        with gov, httpx.Client(base_url=setup.mock_url, headers=auth, timeout=30.0) as client:
            gov.acquire(WARM_UP)  # loads the script and opens the connections: the first
            client.get("/v1/api-quota")  # measured call is not a cold one (neither counts)
            conn.send("ready")
            go_wall, until_mono = conn.recv()
            time.sleep(max(go_wall - time.time(), 0))
            while time.monotonic() < until_mono:
                if gap_s:
                    time.sleep(rng.uniform(0.5, 1.5) * gap_s)
                asked = time.monotonic()
                left = until_mono - asked
                if left <= 0:
                    break
                try:
                    d = gov.acquire(EMAIL, priority=priority, timeout_s=left)  # type: ignore[arg-type]
                except LimitExceeded:  # the run's end came first
                    break
                let_go = time.monotonic()
                r = client.post("/v1/email", json=body)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                gov.observe(EMAIL, r.status_code, r.headers, decision=d)
                records.append((asked, let_go, d.wait_us, d.scope))
    finally:
        conn.send({"priority": priority, "records": records, "statuses": statuses})


class _Fleet:
    """Spawned workers (one :func:`_worker` each), started and waited for until every one has
    built its governor and client: a busy machine may take many seconds to spawn a fleet, and
    a measured window that opens before a worker is up would measure without it."""

    def __init__(self, setup: Setup, roles: list[tuple[str, float]]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.conns: list[Connection] = []
        self.procs = []
        for i, (priority, gap) in enumerate(roles):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(setup, priority, gap, i, child), daemon=True)
            proc.start()
            self.conns.append(parent)
            self.procs.append(proc)
        for i, conn in enumerate(self.conns):
            try:
                said = conn.recv() if conn.poll(START_TIMEOUT_S) else None
            except EOFError:  # it died starting: its traceback is on stderr
                said = None
            if said != "ready":
                raise BenchmarkError(f"pacing worker {i} said {said!r} instead of 'ready'")

    def go(self, go_wall: float, until_mono: float) -> None:
        """Every worker sends from ``go_wall`` (epoch s) until ``until_mono`` (monotonic s)."""
        for conn in self.conns:
            conn.send((go_wall, until_mono))

    def collect(self, until_mono: float) -> list[dict[str, Any]]:
        """Each worker's records, once the run has ended."""
        results = []
        for i, conn in enumerate(self.conns):
            if not conn.poll(max(until_mono - time.monotonic(), 0) + 120):
                raise BenchmarkError(f"pacing worker {i} sent no records")
            results.append(conn.recv())
        for p in self.procs:
            p.join(timeout=30)
        return results


@dataclass(frozen=True)
class LineResult:
    """The day's count against the pace line, sampled at every provider hour."""

    samples: tuple[tuple[float, int, float], ...]  # (hour of the day, count, line)
    spendable: int
    end_count: int
    statuses: dict[int, int]

    @property
    def worst_hourly_pct(self) -> float:
        """The largest |count - line| / line over the samples from the second hour on."""
        later = [abs(c - ln) / ln for h, c, ln in self.samples[1:] if ln > 0]
        return 100 * max(later, default=0.0)

    @property
    def end_pct(self) -> float:
        return 100 * abs(self.end_count - self.spendable) / self.spendable


def line(day_s: float, quota: int, email_per_minute: int, workers: int = 4,
         redis_url: str | None = None) -> LineResult:
    """The ``line`` run (see the module doc); on the server at ``redis_url`` if given (a key
    prefix of its own), else on a private one."""
    time_scale = day_s / 1440
    hour_s = day_s / 24
    speed = 60 / time_scale
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        profile = profile_file(Path(tmp), quota, email_per_minute)
        if redis_url is None:
            server = start_server()
            stack.callback(server.stop)
            redis_url = server.url
        # The governor's quota days are its scaled ones (multiples of ``day_s`` real seconds
        # since the epoch); a clock aligned to them would be past the year 9999 at this speed
        # (its Date header is then too far off to trust), so the mock's clock is set to the
        # same time of day instead: both agree on when the day ends.
        real_day = time.time() // day_s * day_s
        mock = MockServer(str(profile), time_scale=time_scale,
                          start_s=_MIDNIGHT_S + (time.time() - real_day - 1) * speed).start()
        stack.callback(mock.stop)
        clock = mock.admin.clock()
        mock.admin.jump(to=_MIDNIGHT_S + (clock["real_now_s"] - real_day) * speed)
        token = "mlsn." + secrets.token_hex(32)
        mock.admin.add_account("paced", token, plan=PLAN)
        setup = Setup(str(profile), mock.url, redis_url, "pace" + secrets.token_hex(4),
                      token, time_scale, True, None, PACE_BURST)
        fleet = _Fleet(setup, [("normal", 0.0)] * workers)
        first = time.time() + LEAD_S
        day_end = (first // day_s + 1) * day_s
        if day_end - first < day_s * MIN_DAY_SHARE:  # too little left of this day: the next
            first, day_end = day_end + LEAD_S, day_end + day_s
        until = time.monotonic() + (day_end - time.time()) - hour_s / 20
        fleet.go(first, until)
        samples = []
        t = first + hour_s
        while t < day_end - hour_s / 10:
            time.sleep(max(t - time.time(), 0))
            asked = time.time()
            count = mock.admin.account("paced")["quota_used"]
            at = (asked + time.time()) / 2  # the count is of some instant during the call
            line_at = quota * (at - first) / (day_end - first)  # from none spent at the start
            samples.append((round(24 - (day_end - at) / hour_s, 2), count, line_at))
            t += hour_s
        results = fleet.collect(until)
        time.sleep(max(day_end - hour_s / 40 - time.time(), 0))
        end_count = mock.admin.account("paced")["quota_used"]
    statuses: dict[int, int] = {}
    for r in results:
        for code, n in r["statuses"].items():
            statuses[code] = statuses.get(code, 0) + n
    return LineResult(tuple(samples), quota, end_count, statuses)


@dataclass(frozen=True)
class LanesResult:
    """The high lane's waits (real seconds) and the low lane's throughput."""

    interval_s: float
    high_waits_s: tuple[float, ...]
    sent: int
    seconds: float
    statuses: dict[int, int]

    def p(self, q: float) -> float:
        waits = sorted(self.high_waits_s)
        if not waits:  # the workers started too late for the window: a miss, said as such
            return math.inf
        return waits[min(len(waits) - 1, math.ceil(q * len(waits)) - 1)]

    @property
    def utilization(self) -> float:
        return self.sent * self.interval_s / self.seconds


def lanes(seconds: float, email_per_minute: int, low_workers: int = 6,
          redis_url: str | None = None, high_gap: float = 8.0) -> LanesResult:
    """The ``lanes`` run (see the module doc): real time (time scale 60); on the server at
    ``redis_url`` if given (a key prefix of its own), else on a private one. The high worker
    asks about every ``high_gap`` emission intervals."""
    interval_s = 60 / email_per_minute
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        profile = profile_file(Path(tmp), 10_000_000, email_per_minute)
        if redis_url is None:
            server = start_server()
            stack.callback(server.stop)
            redis_url = server.url
        mock = stack.enter_context(MockServer(str(profile)).start())
        token = "mlsn." + secrets.token_hex(32)
        mock.admin.add_account("lanes", token, plan=PLAN)
        setup = Setup(str(profile), mock.url, redis_url, "lane" + secrets.token_hex(4),
                      token, 60.0, False, 1.0)
        fleet = _Fleet(setup, [("low", 0.0)] * low_workers + [("high", high_gap * interval_s)])
        warm = 1.0  # the low lane fills the bucket's queue before the window opens
        until = time.monotonic() + warm + seconds
        fleet.go(time.time(), until)
        results = fleet.collect(until)
    start = until - seconds
    high = [let_go - asked for r in results if r["priority"] == "high"
            for asked, let_go, _, _ in r["records"] if asked >= start]
    sent = sum(1 for r in results for asked, _, _, _ in r["records"] if asked >= start)
    statuses: dict[int, int] = {}
    for r in results:
        for code, n in r["statuses"].items():
            statuses[code] = statuses.get(code, 0) + n
    return LanesResult(interval_s, tuple(high), sent, seconds, statuses)


def _check(text: str, got: float, bound: float, unit: str, passed: bool) -> Check:
    return Check(Target(text, "", (), bound), got, unit, passed)


def run(options: Options) -> Report:
    """Both runs; writes ``pacing.md`` into ``options.out_dir`` if set."""
    day_s, quota, rate = (24.0, 2400, 6000) if options.quick else (240.0, 12_000, 6000)
    lane_s, lane_rate = (6.0, 600) if options.quick else (60.0, 600)
    paced = line(day_s, quota, rate)
    laned = lanes(lane_s, lane_rate)
    p99 = laned.p(0.99) / laned.interval_s
    checks = (
        _check("paced day within 2% of its line at every hour (from the second)",
               paced.worst_hourly_pct, 2.0, "% off at worst", paced.worst_hourly_pct <= 2.0),
        _check("paced day ends within 1% of the quota", paced.end_pct, 1.0, "% off",
               paced.end_pct <= 1.0),
        _check("no 429 from the provider", float(paced.statuses.get(429, 0)
                                                  + laned.statuses.get(429, 0)), 0, "429s",
               not paced.statuses.get(429) and not laned.statuses.get(429)),
        _check("high lane waits p99 <= 2 emission intervals (low lane saturating)", p99, 2.0,
               "intervals", p99 <= 2.0),
    )
    rows = "\n".join(f"| {h:g} | {c:,} | {ln:,.1f} | {100 * (c - ln) / ln if ln else 0:+.2f}% |"
                     for h, c, ln in paced.samples)
    lines_md = [
        "# Pacing and lanes on a real Redis against the mock (#16)",
        "",
        f"Command: `{options.command or 'python -m benchmarks pacing'}`",
        "",
        "## Targets",
        "",
        *(f"- {'PASS' if c.passed else 'FAIL'}  {c.target.text}: {c.ratio:.2f} {c.reference}"
          for c in checks),
        "",
        f"## A paced day: {quota:,} a day, a day of {day_s:g} s, 4 workers with a backlog "
        f"(a pace burst of {PACE_BURST})",
        "",
        f"Email bucket {rate}/minute (the backlog could spend the day in "
        f"{quota / (rate / 60 / (day_s / 1440)) / day_s * 24:.1f} provider hours); replies: "
        f"{dict(sorted(paced.statuses.items()))}; the day's count at its end: "
        f"{paced.end_count:,} of {quota:,}.",
        "",
        "| provider hour | mock's count | pace line | off by |",
        "|---:|---:|---:|---:|",
        rows,
        "",
        f"## Lanes: 6 low workers saturating {lane_rate}/minute, 1 high worker, {lane_s:g} s",
        "",
        f"Emission interval {laned.interval_s * 1000:.0f} ms; lane horizon 1 interval (low "
        f"lanes 0.5). High calls: {len(laned.high_waits_s)}; their waits p50 "
        f"{laned.p(0.5) * 1000:.1f} ms, p99 {laned.p(0.99) * 1000:.1f} ms ({p99:.2f} intervals),"
        f" max {max(laned.high_waits_s, default=math.inf) * 1000:.1f} ms. Bucket use: "
        f"{100 * laned.utilization:.1f}% of the limit; replies: "
        f"{dict(sorted(laned.statuses.items()))}.",
        "",
        "Waits are real time in the worker, from calling `acquire(priority='high')` to its "
        "return (a Redis round trip and the sleep included). Without lanes, the same high call "
        "would queue behind every reservation the low workers booked.",
        "",
    ]
    markdown = "\n".join(lines_md)
    path = write_results(options, "pacing.md", markdown)
    return Report("pacing", (), checks, markdown, path)
