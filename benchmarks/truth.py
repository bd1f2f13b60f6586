"""Truth at the edges (issue #12): skewed clocks, out-of-band quota spend, the provider's own
reset, hard timeouts; measured at a real 60 s provider minute and at a 6 s one.

Every scenario of :mod:`benchmarks.truth_fleet`, :mod:`~benchmarks.truth_reset` and
:mod:`~benchmarks.truth_waits` runs on one private embedded Redis, one pool of worker
processes (``spawn``) and, per scenario, a fresh MailerSend mock in a child process; first
with a provider minute of 60 real seconds (real time), then of 6, because a time-scaled run
must not hide what a real minute shows. Each row is one bar: the figure measured from
outside the governor (the mock's log and report, or an unskewed process's grants, all on the
host's monotonic clock), the bound as a formula, and whether it held.

``--quick`` runs the skewed-clock probes (two of them) and the hard timeout at the 6 s minute
only, into a temporary directory: a check that the suite runs, not a measurement.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from benchmarks.harness import Options, Report, Target, environment_line, write_results
from benchmarks.provider import Bar
from benchmarks.truth_fleet import (
    ALL_PROBES,
    HOUR_S,
    OUT_OF_BAND_BEFORE,
    OUT_OF_BAND_DURING,
    QUOTA_LIMIT,
    SCHEDULING_S,
    Row,
    Stage,
    quota,
    skew,
)
from benchmarks.truth_pool import Pool
from benchmarks.truth_reset import RESET_OFFSETS, reset
from benchmarks.truth_waits import sleepers, timeout
from governor.embedded import start_server

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    Scenario = Callable[[Stage, float], list[Row]]

__all__ = ["FULL", "QUICK", "SCALES", "markdown_table", "run"]

SCALES = (60.0, 6.0)
WORKERS = 8


def _quick_skew(stage: Stage, scale: float) -> list[Row]:
    return skew(stage, scale, ((HOUR_S, "delta"), (-HOUR_S, "date")))


FULL: tuple[tuple[str, Scenario], ...] = (
    ("skew", skew), ("quota", quota), ("reset", reset), ("timeout", timeout),
    ("sleepers", sleepers),
)
QUICK: tuple[tuple[str, Scenario], ...] = (("skew", _quick_skew), ("timeout", timeout))
MACHINE = (
    "2 shared cores: the workers, Redis, the mock and the parent share them with other work, "
    "so every wake-up may come late by a scheduling delay"
)


def markdown_table(rows: Sequence[Row]) -> str:
    """One line per bar."""
    lines = [
        "| scenario | provider minute | measured | bound | result | detail |",
        "|---|---:|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r.scenario} | {r.scale:.6g} s | {r.figure} | {r.bound} "
                     f"| {'PASS' if r.passed else 'FAIL'} | {r.detail} |")
    return "\n".join(lines)


def _bar(row: Row) -> Bar:
    text = f"{row.scenario} ({row.scale:.6g} s minute): {row.bound}"
    return Bar(Target(text, "", (), 1.0), float(row.passed), "", row.passed, row.figure)


def _notes(load: tuple[float, float]) -> list[str]:
    probes = ", ".join(f"{s / HOUR_S:+.0f} h {form}" for s, form in ALL_PROBES)
    return [
        "Provider minute: real seconds per provider minute (the time scale). At 60 the mock's "
        "clock is the real one; at 6 it runs 10 times as fast, and every provider duration "
        "(Retry-After, windows, the day) is a tenth as long in real time. The reset rows run "
        "at a scale a few parts per million off 60 or 6 (`midnight_time_scale`), which puts "
        "the governor's day boundary at a chosen instant of the run.",
        "Every 429 is the mock's own: a second token of the same account, which the governor "
        "does not know of, fills the account's fixed window, and the mock's clock is moved "
        "(`admin.jump`) to just before the window ends, so the provider answers `Retry-After: "
        "2` (or 30) to the next request. The only header ever rewritten: the HTTP-date probes "
        "send that 429's `Retry-After` as the HTTP-date `Date + 2`.",
        f"Skewed workers ({probes}): the skewed process moves its wall clock with "
        "`time_machine.travel(..., tick=True)` (time.time and time.time_ns, which the "
        "governor's clock reads; not time.monotonic) and sends through `gov.limit` + "
        "`gov.observe(decision=...)`. The pause is measured by an unskewed process that keeps "
        "acquiring: the first grant it is given after the 429 was observed, minus the moment "
        "the 429 arrived. 'Worker's clock off' is measured (its time.time minus the mock's "
        f"real clock). Scheduling slack: {SCHEDULING_S} s.",
        f"Quota truth: Trial plan ({QUOTA_LIMIT}/day); the other token sends "
        f"{OUT_OF_BAND_BEFORE} before the fleet starts and {OUT_OF_BAND_DURING} at once when "
        "the mock has counted 20 of the fleet's; the 8 workers send through "
        "`GovernedTransport` until the governor refuses for quota. Over-quota sends are the "
        "requests that reached the mock while the day's quota was spent (it refuses them, "
        "#MS42901): the mock's count, and the fleet's own, whichever is larger.",
        f"Provider's reset: {len(RESET_OFFSETS)} fleets of 2 at once, on mocks whose clocks "
        f"are {', '.join(f'{o:+g}' for o in RESET_OFFSETS)} provider s ahead of the "
        "governor's (so their midnight, the quota reset they state in `x-apiquota-reset`, "
        "comes that long before the governor's own day boundary, or after it); 90 of the "
        "100 are spent out of band first, the fleet spends the 10 left, and every acquire "
        "may wait until the run's end. Lag: the mock's first accepted fleet request after "
        "its midnight. The Date header and the stated reset are whole provider seconds, so "
        "one reading may be up to 1 provider s late (never early): that is the slack. 'Its last "
        "decision before it said the day ends': the quota_reset_us of the fleet's last "
        "decision before the provider's reset, minus that reset.",
        "Hard timeout: the sleeper books slots for others until the next free one is 0.8 s "
        "ahead, then calls `acquire(timeout_s=1)`; 0.3 s later the parent observes the "
        "provider's 429 Retry-After: 30 (on a mock account under review, 10/min, so the "
        "window fills in 10 requests). Sleepers: 8 processes acquire back to back for more "
        "than a period before and after the parent observes a 429 Retry-After: 2; 'sent' is "
        "when each acquire returned, 'grants' the instants Redis decided.",
        "One run per row, on a shared machine; the 1-minute load average was "
        f"{load[0]:.1f} before and {load[1]:.1f} after.",
    ]


def run(options: Options) -> Report:
    """Run every scenario at each time scale; write ``truth.md`` into ``options.out_dir``."""
    plan, scales = (QUICK, (6.0,)) if options.quick else (FULL, SCALES)
    load_before = os.getloadavg()[0]
    rows: list[Row] = []
    server = start_server()
    try:
        with Pool(3 if options.quick else WORKERS) as pool:
            stage = Stage(pool, server.url, process_mock=True)
            for scale in scales:
                for name, scenario in plan:
                    started = time.monotonic()
                    got = scenario(stage, scale)
                    rows += got
                    if options.log is not None:
                        passed = sum(r.passed for r in got)
                        options.log(f"{name} at {scale:g} s: {passed} of {len(got)} bars met "
                                    f"in {time.monotonic() - started:.0f} s")
    finally:
        server.stop()
    load = (load_before, os.getloadavg()[0])
    checks = tuple(_bar(r) for r in rows)
    title = "Truth at the edges: skewed clocks, out-of-band spend, the provider's reset, timeouts"
    command = options.command or "python -m benchmarks truth" + (" --quick" if options.quick
                                                                  else "")
    parts = [
        f"# {title}", "", f"Command: `{command}`", "", environment_line(MACHINE), "",
        markdown_table(rows), "", "## Targets", "", *(f"- {c.line()}" for c in checks),
        "", "## How to read it", "", *(f"- {n}" for n in _notes(load)),
    ]
    markdown = "\n".join(parts) + "\n"
    path = write_results(options, "truth.md", markdown)
    return Report(title, (), checks, markdown, path)
