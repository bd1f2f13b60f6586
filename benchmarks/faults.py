"""Redis half-failing under running fleets (issue #13): what the provider receives through every
fault of :mod:`benchmarks.faults_fleet`, at a real 60 s provider minute and at a 6 s one, with
fleets of 4 and 8 worker processes.

Every fault of the matrix runs at once on fleets of its own (its own account on one mock, its
own Redis server, Sentinel group or Cluster, its own worker processes): a fault's run takes
its fault's length plus about three provider minutes, so one pass of the matrix at a real
minute takes about five minutes, not forty. Then the daily quota's scenario, with and without
a worker that never saw the day's count before the outage. Each row is one fleet through one
fault, judged from the mock's log against the bound the README states.

``--quick`` runs the flapping connection alone, 2 workers, at a 3 s minute, into a temporary
directory: a check that the suite runs, not a measurement.
"""

from __future__ import annotations

import os
import time
from functools import partial
from typing import TYPE_CHECKING

from benchmarks.faults_fleet import (
    FAULTS,
    LIMIT,
    QUOTA_LIMIT,
    QUOTA_SPENT,
    Fault,
    FaultRow,
    QuotaRow,
    Stage,
    faults,
    quota_restart,
    run_faults,
    together,
)
from benchmarks.harness import (
    Options,
    Report,
    Target,
    environment_line,
    with_mock_retries,
    write_results,
)
from benchmarks.provider import Bar
from benchmarks.truth_pool import Pool
from governor.mock.server import MockServer

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["SCALES", "fault_table", "quota_table", "run"]

SCALES = (60.0, 6.0)
FLEETS = (4, 8)
COMPRESSED_RESET_S = 1.0  # the breaker's probe interval at a compressed minute (default 5 s)
COMPRESSED_AT_ONCE = 3  # fleets run together at a compressed minute
QUICK_SCALE = 3.0
MACHINE = (
    "2 shared cores: every fleet's workers, the Redis servers, the mock and the parent share "
    "them, so wake-ups come late by a scheduling delay"
)


def _matrix(scale: float) -> tuple[Fault, ...]:
    if scale >= 60.0:
        return FAULTS
    return faults(short_s=2.0, window_s=scale, partition_s=12.0, flap_s=scale * 2 / 3)


def _stage(pool: Pool, scale: float) -> tuple[Stage, MockServer]:
    mock, _ = with_mock_retries(lambda: MockServer(
        "mailersend", time_scale=scale, process=True, startup_timeout_s=60.0).start())
    reset = None if scale >= 60.0 else COMPRESSED_RESET_S
    return Stage(pool, mock, breaker_reset_s=reset), mock


def _quota_rows(stage: Stage, fleets: Sequence[int]) -> list[QuotaRow]:
    """The quota scenario for each fleet size, warm and with one cold worker, at once."""
    plan, start = [], 0
    for n in fleets:
        for cold in (0, 1):
            plan.append((list(range(start, start + n)), cold))
            start += n
    down_s = 2.0 if stage.scale >= 60.0 else 0.5
    return together([partial(quota_restart, stage, ids, cold, down_s) for ids, cold in plan])


def fault_table(rows: Sequence[FaultRow]) -> str:
    """One line per fleet through one fault."""
    lines = [
        "| fault | provider minute | workers | busiest minute (limit 120) | 429s "
        "| degraded decisions | sent while it lasted | bound | result |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        f = r.fault
        lasted = f"{r.sent_during} in {f.duration_s:g} s" if f.duration_s else "(an event)"
        lines.append(
            f"| {f.title} | {r.scale:g} s | {r.workers} | {r.busiest} ({r.over:+d} over; "
            f"{r.before} before) | {r.too_many} ({r.too_many_during} while it lasted) "
            f"| {r.degraded} | {lasted} "
            f"| <= {LIMIT + r.workers} a minute, <= {r.workers} 429s "
            f"| {'PASS' if r.passed else 'FAIL'} |")
    return "\n".join(lines)


def summary_table(rows: Sequence[FaultRow]) -> str:
    """The README's table: per fault, the busiest minute's requests over the limit and the
    429s, for each provider minute and fleet size measured."""
    return _summary([(r.fault.key, r.fault.title, r.fault.duration_s, r.scale, r.workers,
                      r.over, r.too_many, r.passed) for r in rows])


def _summary(cells: Sequence[tuple[str, str, float, float, int, int, int, bool]]) -> str:
    columns = sorted({(c[3], c[4]) for c in cells}, key=lambda c: (-c[0], c[1]))
    got = {(c[0], c[3], c[4]): c for c in cells}
    head = " | ".join(f"{s:g} s minute, {n} workers" for s, n in columns)
    lines = [f"| fault | {head} |", "|---|" + "---:|" * len(columns)]
    for key in dict.fromkeys(c[0] for c in cells):
        mine = [c for c in cells if c[0] == key]
        lasted = {c[3]: c[2] for c in mine if c[2]}  # scale -> duration
        label = mine[0][1]
        if len(set(lasted.values())) > 1:  # named by the duration at the real minute
            label = label.split(" later")[0].rsplit(" ", 2)[0] if "later" in label else label
            label += " (" + ", ".join(f"{d:g} s at the {s:g} s minute"
                                      for s, d in sorted(lasted.items(), reverse=True)) + ")"
        elif lasted and "later" not in label:
            label += f" ({next(iter(lasted.values())):g} s)"
        row = [got.get((key, s, n)) for s, n in columns]
        lines.append(f"| {label} | " + " | ".join(
            "-" if c is None else f"{c[5]:+d}, {c[6]} 429s" + ("" if c[7] else " FAIL")
            for c in row) + " |")
    bound = " | ".join(f"<= +{n}, <= {n} 429s" for _, n in columns)
    lines.append(f"| **bound: `limit + N` a minute, `N` 429s** | {bound} |")
    return "\n".join(lines)


def quota_table(rows: Sequence[QuotaRow]) -> str:
    """One line per quota run."""
    lines = [
        "| fleet | provider minute | sent for the day | provider's count | a new process is "
        "offered | left | bound | result |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        who = f"{r.workers} workers" + (f", {r.cold} cold" if r.cold else "")
        lines.append(
            f"| {who} | {r.scale:g} s | {r.sent} | {r.counted} | {r.offered} | {r.left} "
            f"| sent <= {QUOTA_LIMIT + r.workers - 1}, offered = left "
            f"| {'PASS' if r.passed else 'FAIL'} |")
    return "\n".join(lines)


def _bar(text: str, passed: bool, figure: str) -> Bar:
    return Bar(Target(text, "", (), 1.0), float(passed), "", passed, figure)


def _notes(load: tuple[float, float]) -> list[str]:
    return [
        "Each fleet: N worker processes (spawned) of one MailerSend account on the mock "
        "(Starter plan: `POST /v1/email` 120 per provider minute, fixed windows), each with "
        "`Governor.from_settings(failure_policy='degrade', fleet_size=N)` and the settings' "
        "defaults (1 s Redis timeout, breaker opening after 3 failures in a row; it probes "
        "every 5 s at the real minute, every 1 s at the 6 s one), sending back to back through "
        "`GovernedTransport` (every response observed). The fault strikes 35% into the second "
        "provider minute after the fleet started (2% later for each fleet started with it, so "
        "that one fault's burst of work, a process spawned or a failover, does not delay the "
        "other fleets' requests at the same instant); the fleet runs on for a minute and 2 s "
        "after it healed. The control row is a fleet with no fault.",
        "Busiest minute: the most requests the provider received in one of its fixed minutes "
        "(429s included) over the whole run, with the busiest whole minute before the fault "
        "beside it. 429s: every 429 of the run, and those while the fault lasted. Degraded "
        "decisions: calls decided without Redis. Sent while it lasted: requests that went "
        "between the fault's start and its healing (the limit allows 2 a second at the real "
        "minute, 20 at the 6 s one): a black hole or a 2 s latency costs every worker 3 "
        "timeouts (3 s) before its breaker opens, and a timeout per probe after.",
        "The bound, for every fault: no provider minute holds more than `limit + N` requests "
        "and at most `N` are answered 429, whatever the outage's length D and the window W. Why"
        " it does not grow with D or W: a worker that goes local starts from its last shared "
        "grant (no burst) and spends 1/N of every limit, so the fleet's local shares add up to "
        "the limit; what it spent alone is written into the shared buckets when Redis answers "
        "(filling the time the buckets had free, or on top of the shared grants after an "
        "isolated failure), so coming back costs at most the one call per worker the shared "
        "state had not heard of; a worker cut off alone follows the provider's "
        "`x-ratelimit-remaining` and `reset` on its local share (its share of what is left, "
        "none when fewer than N are left), and the connected ones see its calls in the same "
        "headers. What is left over is what no header can stop: the slots the connected workers"
        " had booked before a response told them (one each at most) and the cut-off worker's "
        "call in flight.",
        f"Daily quota: Trial plan ({QUOTA_LIMIT}/day), the fleet spends {QUOTA_SPENT} through "
        "Redis, Redis is killed and started again empty 2 s later (0.5 s at the 6 s minute, "
        "where the local shares would run out sooner), every worker sends until its governor "
        "first refuses for quota and then closes it; a cold worker makes its first call only "
        "once Redis is down (it never saw the day's count). Then a new process counts the calls"
        " its governor grants before it refuses (nothing sent): it must be exactly what is left"
        " by the provider's count (`quota - count`). Bound: sent <= `quota + N - 1`.",
        f"One run per row, on a shared machine; the 1-minute load average was {load[0]:.1f} "
        f"before and {load[1]:.1f} after.",
    ]


def run(options: Options) -> Report:
    """Run the matrix at each scale and fleet size, then the quota scenario; write
    ``faults.md`` into ``options.out_dir``."""
    load_before = os.getloadavg()[0]
    scales, fleets = ((QUICK_SCALE,), (2,)) if options.quick else (SCALES, FLEETS)
    fault_rows: list[FaultRow] = []
    quota_rows: list[QuotaRow] = []
    per_pass = max(sum(fleets) * len(FAULTS), 2 * sum(fleets))
    with Pool(2 if options.quick else per_pass) as pool:
        for scale in scales:
            stage, mock = _stage(pool, scale)
            try:
                matrix = _matrix(scale)
                if options.quick:
                    matrix = tuple(f for f in matrix if f.key == "flap")
                plan, start = [], 0
                for n in fleets:
                    for fault in matrix:
                        plan.append((fault, list(range(start, start + n))))
                        start += n
                started = time.monotonic()
                # At a compressed minute each fleet sends ten times as fast: a few at a time,
                # or the one mock (a single process) and the two cores hold them back.
                got = run_faults(stage, plan, settle=1 if options.quick else 2,
                                 at_once=0 if scale >= 60.0 else COMPRESSED_AT_ONCE)
                fault_rows += got
                if options.log is not None:
                    options.log(f"faults at {scale:g} s: {sum(r.passed for r in got)} of "
                                f"{len(got)} met in {time.monotonic() - started:.0f} s")
                if not options.quick:
                    started = time.monotonic()
                    quota_rows += _quota_rows(stage, fleets)
                    if options.log is not None:
                        options.log(f"quota at {scale:g} s in "
                                    f"{time.monotonic() - started:.0f} s")
            finally:
                mock.stop()
    load = (load_before, os.getloadavg()[0])
    checks = tuple(
        [_bar(f"{r.fault.key}, {r.workers} workers, {r.scale:g} s minute: <= limit + N a "
              f"minute, <= N 429s", r.passed, f"{r.over:+d}, {r.too_many} 429s")
         for r in fault_rows]
        + [_bar(f"quota, {r.workers} workers ({r.cold} cold), {r.scale:g} s minute: sent <= "
                f"quota + N - 1, offered = left", r.passed,
                f"sent {r.sent}, offered {r.offered} of {r.left}") for r in quota_rows])
    title = "Faults: Redis half-failing under running fleets"
    command = options.command or "python -m benchmarks faults" + (
        " --quick" if options.quick else "")
    parts = [
        f"# {title}", "", f"Command: `{command}`", "", environment_line(MACHINE), "",
        "Requests over the limit in the busiest provider minute of the run, and the run's 429s "
        "(the README's table):", "", summary_table(fault_rows), "", "## Every run", "",
        fault_table(fault_rows), "",
    ]
    if quota_rows:
        parts += ["## The daily quota across an empty restart", "", quota_table(quota_rows), ""]
    parts += ["## Targets", "", *(f"- {c.line()}" for c in checks), "", "## How to read it",
              "", *(f"- {n}" for n in _notes(load))]
    markdown = "\n".join(parts) + "\n"
    path = write_results(options, "faults.md", markdown)
    return Report(title, (), checks, markdown, path)
