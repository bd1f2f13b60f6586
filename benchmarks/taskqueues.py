"""``python -m benchmarks taskqueues``: the issue's full-size task-queue fleets.

Celery: 4 worker processes (prefork) of 2 slots; RQ: 8 one-job worker processes with the
scheduler. Each sends 600 messages through governed tasks to the mock MailerSend (starter,
120/min on ``POST /v1/email``), its minute compressed (Celery 12 s, RQ 20 s: a queue's ETA is
late by a fraction of a second whatever the minute's length), and the account's reputation
drops to ``under_review`` (10/min) once 97% of them are delivered. Bars: 0 lost, 0 sent
twice, 0 429s before the drop and at most one per worker process after, at least 97% of
the binding limit over whole provider minutes, and the workers' slots free (not sleeping for
a slot) at least 90% of the run. ``--quick``: 120 messages each.
"""

from __future__ import annotations

import os
import time

from benchmarks.harness import Options, Report, Target, environment_line, write_results
from benchmarks.provider import Bar
from benchmarks.taskfleet import FleetResult, run_fleet

__all__ = ["run"]

MACHINE = "2 shared cores, with other work running; the mock and the workers share them"
SHAPES = {"celery": 12.0, "rq": 20.0}


def _bars(r: FleetResult) -> list[Bar]:
    worst = max(r.limited_by_pid.values(), default=0)
    used = r.utilisation
    rows = [
        (f"{r.kind}: nothing lost or sent twice", r.lost == 0 and r.sent_twice == 0,
         f"{r.lost} lost, {r.sent_twice} sent twice of {r.messages}"),
        (f"{r.kind}: no 429 before the drop", r.limited_before_drop == 0,
         f"{r.limited_before_drop} before, {r.limited_after_drop} after"),
        (f"{r.kind}: at most one 429 per worker process after the drop", worst <= 1,
         f"worst process: {worst}"),
        (f"{r.kind}: at least 97% of the binding limit", used is not None and used >= 0.97,
         "no whole minute" if used is None else
         f"{used:.1%} over {r.windows_measured} whole provider minutes"),
        (f"{r.kind}: slots free at least 90% of the run", r.slots_free >= 0.90,
         f"{r.slots_free:.1%} ({r.slept_s:.1f} s slept for slots over "
         f"{r.workers * r.concurrency} slots x {r.elapsed_s:.1f} s)"),
    ]
    return [Bar(Target(text, "", (), 1.0), float(ok), "", ok, detail)
            for text, ok, detail in rows]


def run(options: Options) -> Report:
    """Run both fleets; write ``taskqueues.md``."""
    messages = 120 if options.quick else 600
    load_before = os.getloadavg()[0]
    lines: list[str] = []
    bars: list[Bar] = []
    for kind, scale_s in SHAPES.items():
        started = time.monotonic()
        result = run_fleet(kind, workers=4, concurrency=2, messages=messages, scale_s=scale_s,
                           drop_at=0.97, deadline_s=600.0)
        if options.log is not None:
            options.log(f"{kind}: {time.monotonic() - started:.0f} s")
        lines += result.lines()
        bars += _bars(result)
    title = "Task-queue fleets: Celery and RQ tasks that wait without holding a worker"
    command = options.command or "python -m benchmarks taskqueues"
    parts = [
        f"# {title}", "", f"Command: `{command}`", "", environment_line(MACHINE), "",
        "```", *lines, "```", "", "## Targets", "", *(f"- {b.line()}" for b in bars), "",
        "## How to read it", "",
        f"- Load average {load_before:.1f} before the run, {os.getloadavg()[0]:.1f} after.",
        "- Slots free: one minus the time runs slept in the worker for their slot (at most "
        "threshold_s; a re-scheduled task is due lead_s early) over slots x run time. RQ's "
        "scheduler stores a due time in whole seconds and looks once a second, so its jobs "
        "come back up to a second early and sleep the rest: that, not the governor, is what "
        "its figure measures.",
        "- Binding limit: the email bucket's admissions over whole provider minutes (aligned "
        "as the mock counts them) between the first minute with a send and the drop.",
    ]
    markdown = "\n".join(parts) + "\n"
    path = write_results(options, "taskqueues.md", markdown)
    return Report(title, (), tuple(bars), markdown, path)
