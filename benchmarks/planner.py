"""Planner accuracy: the drain time ``governor plan`` predicts against a measured fleet run.

Each row is one ``steady`` run of the demo (:func:`governor.demo.runner.run_demo`: a private
Redis, the mock provider in a child process, N worker processes sending MailerSend
``POST /v1/email`` on the Starter plan, 120/min) and, for the same job, the analytic
:func:`governor.capacity.plan` and the engine on a virtual clock,
:func:`governor.simulation.simulate` (``governor plan --simulate``). Same job means: the run's
messages and workers, the policy the workers enforce (built by the same
:meth:`GovernorSettings.policy <governor.settings.GovernorSettings.policy>` as
``governor plan``'s, so the run's time scale and the settings' 1% headroom), and the latency
the workers see. Two regimes:

* **rate-bound**: the mock answers at once; 2, 4 and 8 workers send the scenario's 600
  messages and the 19.8 calls/s of the email bucket bind;
* **worker-bound**: the mock waits before it answers (:mod:`governor.mock.latency`, real
  seconds), so workers / latency (Little's law) stays well under the limit: 2 workers at
  250 ms (8 calls/s), 4 at 400 ms (10 calls/s), and 4 at a log-normal latency through a median
  of 300 ms and a p99 of 900 ms (about 12 calls/s).

``--quick`` runs 2 and 4 rate-bound workers and 2 workers at 250 ms, 40 messages each.

**Drain time** is measured the same way on every side: from the first call sent to the last.

* measured: the mock's arrival times of the account's first and last request (its report's
  ``first_s`` and ``last_s``, virtual seconds, over the clock's speed);
* analytic: the plan's throughput ``X`` (a fluid model; with a latency spread, corrected for
  calls queueing on the limiter), ``N`` calls in ``N / X`` (its ``drain_s``). The first ``b``
  calls go at once, then one per ``1 / X``, so the last call leaves at ``drain_s - b / X``:
  the figure compared. ``b`` is the bucket's burst when a rate
  binds, the worker count when the workers do (each sends its first call at once);
* simulated: the last grant in the simulation's timeline (its ``drain_s`` adds that call's
  latency).

**Latency fed to the predictions**: what a worker sees, measured. Before the fleets, a probe
times sequential sends from this process to a mock of its own (a child process, like the
fleet's) with the job's latency and seed. Without a mock latency the predictions get the
probe's samples. With one, they get the mock's latency with the probe's mean overhead (each
timed send less the mock's draw for it: HTTP, and the sleep's overshoot) added to its median
and p99; the simulation, seeded like the mock, then draws the same latencies in the same order
as the fleet met them.
"""

from __future__ import annotations

import os
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from benchmarks.harness import (
    Options,
    Report,
    Target,
    environment_line,
    with_mock_retries,
    write_results,
)
from benchmarks.provider import Bar
from governor.demo.runner import DemoOptions
from governor.demo.scenarios import SCENARIOS
from governor.settings import GovernorSettings

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

from benchmarks.planner_fleet import (
    FULL_JOBS,
    QUICK_JOBS,
    QUICK_MESSAGES,
    SCENARIO,
    Job,
    Row,
    fleet_row,
    measure_latency,
    probe_calls,
)

__all__ = ["FULL_JOBS", "QUICK_JOBS", "QUICK_MESSAGES", "TOLERANCE", "Job", "Row", "run"]

TOLERANCE = 0.05
MACHINE = "2 shared cores: the fleet, Redis, the mock and the parent share them"


def _check(row: Row, side: str, error: float, predicted_s: float) -> Bar:
    text = (f"{row.job.label}, {row.messages} messages: {side} drain within "
            f"{TOLERANCE:.0%} of measured")
    detail = f"{error:+.3%} ({predicted_s:.4f} s against {row.measured_s:.4f} s)"
    passed = abs(error) <= TOLERANCE
    return Bar(Target(text, "", (), TOLERANCE), abs(error), "", passed, detail)


def markdown_table(rows: Sequence[Row]) -> str:
    """One line per fleet run."""
    lines = [
        "| workers | mock latency | latency fed (mean) | messages | 429s | measured drain "
        "| planned drain | planned error | simulated drain | simulated error | binding limit |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        p = row.planned
        lines.append(
            f"| {row.workers} | {row.job.latency or '0 ms'} "
            f"| {row.probe.fed.mean_s * 1000:.2f} ms | {row.messages} "
            f"| {row.report['rate_limited_total']} "
            f"| {row.measured_s:.4f} s | {row.planned_s:.4f} s | {row.planned_error:+.3%} "
            f"| {row.simulated_s:.4f} s | {row.simulated_error:+.3%} "
            f"| {p.binding} ({p.calls_per_s:.2f} calls/s) |"
        )
    return "\n".join(lines)


def _notes(rows: Sequence[Row], load: tuple[float, float], headroom: float) -> list[str]:
    scale = rows[0].report["time_scale"]
    rated = [r for r in rows if r.planned.binding != "workers"]
    bound = [r for r in rows if r.planned.binding == "workers"]
    rate = rows[0].planned.rate_calls_per_s
    notes = [
        f"Scenario `{SCENARIO}`: {SCENARIOS[SCENARIO].summary}. A provider minute lasts "
        f"{scale:g} s, and the workers' policy spaces calls {headroom:.0%} wider than the "
        f"limit (the settings' headroom), so the limit allows {rate:.3f} calls/s, one call "
        f"every {1e6 / rate:,.0f} µs (the engine's interval, rounded up). `governor plan` "
        "builds its policy the same way (`GovernorSettings.load(...).policy()`); a plan of "
        f"the bare limit would come out {headroom:.0%} short on every rate-bound row.",
        "Drain time, on every side, runs from the first call sent to the last. Measured: the "
        "mock's arrival times of the account's first and last request (the mock decides on "
        "arrival, then waits its latency). Planned: the analytic plan is a fluid model (N "
        "calls in N / X, its `drain_s`); the first calls go at once (the bucket's burst of 1 "
        "when the rate binds, one per worker when the workers bind), so the last one leaves "
        "that many calls' time earlier: `drain_s` less that is the planned figure. Simulated: "
        "the last grant in `simulate`'s timeline.",
    ]
    if rated:
        residual_ms = 1000 * max(abs(r.planned_s - r.measured_s) for r in rated)
        notes.append(
            "Rate-bound rows (the mock answers at once): the latency fed is the probe's "
            f"samples (mean {rated[0].probe.fed.mean_s * 1000:.2f} ms over "
            f"{rated[0].probe.calls} sequential sends). It only decides whether the workers "
            f"bind: {rated[0].workers} workers could make "
            f"{rated[0].planned.worker_calls_per_s:,.0f} calls/s; it does not enter a "
            f"first-to-last-send drain. What is left, at most {residual_ms:.1f} ms, is the "
            "jitter between a grant and the request's arrival at the mock.")
    if bound:
        per_row = "; ".join(
            f"{r.job.label}: {r.call_s * 1000:.1f} ms = {r.probe.fed.mean_s * 1000:.1f} ms fed "
            f"({r.probe.overhead_s * 1000:.1f} ms of it the probe's overhead) + "
            f"{r.wait_mean_s * 1000:.1f} ms mean wait for the governor's decision + "
            f"{(r.call_s - r.probe.fed.mean_s - r.wait_mean_s) * 1000:.1f} ms rest"
            for r in bound)
        notes.append(
            "Worker-bound rows (the mock waits before it answers, in real seconds): the "
            "latency fed is the mock's, with the probe's mean overhead per send (HTTP, and the "
            "sleep's overshoot of the event loop's timer) added to its median and p99; the "
            "simulation draws with the mock's seed, so it replays the fleet's latencies in "
            "order. A worker's mean time per call, implied by the measured drain "
            f"(W x drain / (N - W)), and what it is made of: {per_row}. At a fixed latency "
            "the wait is the decision's Redis round trip and the workers' first calls going "
            "one interval apart; the rest is the worker's own work per call (observing the "
            "reply, the queues to the parent) on 2 shared cores. The analytic plan leaves out "
            "both; the simulation runs the engine's waits but not the round trip or the rest: "
            "both come out a little short.")
    for r in bound:
        if r.job.latency is not None and r.job.latency.p99_s is not None:
            notes.append(
                f"{r.job.label}: with latency spread, calls bunch up and the engine spaces "
                f"them {1e3 / rate:.1f} ms apart, so a decision waits {r.wait_mean_s * 1e3:.1f} "
                f"ms on average (p90 {_wait_ms(r, 'p90')}, against "
                f"{min(x.wait_mean_s for x in bound) * 1e3:.1f} ms at a fixed latency). The "
                "analytic plan counts these waits when the latency has a spread (mean value "
                "analysis of the workers queueing for the limiter's spacing; W / mean(L) alone "
                "would leave them out) and is "
                f"{r.planned_error:+.1%} off; the simulation runs the real engine over the same "
                f"draws and lands {r.simulated_error:+.1%} off.")
    notes += [
        "End to end, from the start signal to the parent seeing the last acknowledgement "
        "(worker start-up, the last call's latency and the event's trip included), the fleets "
        "took " + ", ".join(f"{r.elapsed_s:.3f} s" for r in rows) + " against the plans' "
        "`drain_s` (N / X) of " + ", ".join(f"{r.planned.drain_s:.3f} s" for r in rows) + ".",
        "Errors are (predicted - measured) / measured; the target is within "
        f"{TOLERANCE:.0%}. One run per row on a shared machine; the 1-minute load average was "
        f"{load[0]:.1f} before the runs and {load[1]:.1f} after.",
    ]
    return notes


def _wait_ms(row: Row, key: str) -> str:
    value = row.report["waits_s"].get(key)
    return "-" if value is None else f"{value * 1000:.2f} ms"


def _plot(rows: Sequence[Row], path: Path) -> bool:
    """Cumulative sends of the largest fleet of each regime, and every row's errors; False
    without matplotlib."""
    try:
        import matplotlib as mpl  # noqa: PLC0415 - optional, only for the figure

        mpl.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        return False
    shown = {r.planned.binding == "workers": r for r in rows}  # the last of each regime
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for i, row in enumerate(shown.values()):
        tag = f"{row.job.label}: "
        left.plot([t for t, _ in row.acks], [n for _, n in row.acks], drawstyle="steps-post",
                  lw=4, alpha=0.4, color=f"C{i}", label=tag + "measured (acknowledged)")
        left.plot([t for t, _ in row.planned.timeline], [m for _, m in row.planned.timeline],
                  "--", color=f"C{i}", label=tag + "analytic (fluid)")
        left.plot([t for t, _ in row.simulated.timeline],
                  [m for _, m in row.simulated.timeline], ":", color="k", lw=1,
                  drawstyle="steps-post", label=tag + "simulated (granted)")
    left.set(title="messages sent", xlabel="seconds since first send", ylabel="messages")
    ticks = range(len(rows))
    right.plot(ticks, [100 * r.planned_error for r in rows], "o", label="analytic")
    right.plot(ticks, [100 * r.simulated_error for r in rows], "s", label="simulated")
    for bound in (-100 * TOLERANCE, 100 * TOLERANCE):
        right.axhline(bound, color="red", ls="--")
    worst = max(abs(e) for r in rows for e in (r.planned_error, r.simulated_error))
    limit = max(100 * TOLERANCE, 100 * worst) + 1
    right.set(title="drain time error against the fleet", ylabel="error, %",
              ylim=(-limit, limit))
    right.set_xticks(list(ticks), [r.job.label.replace(", ", "\n") for r in rows],
                     fontsize="small")
    for ax in (left, right):
        ax.legend(fontsize="x-small")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def run(options: Options) -> Report:
    """Run the fleets, predict each job, write ``planner.md`` and ``planner.png`` into
    ``options.out_dir`` if set. ``--calls`` sets the messages of each run."""
    quick = options.quick
    jobs = [job if options.calls is None else replace(job, messages=options.calls)
            for job in (QUICK_JOBS if quick else FULL_JOBS)]
    scenario = SCENARIOS[SCENARIO]
    time_scale = DemoOptions().time_scale
    load_before = os.getloadavg()[0]
    probes = {
        latency: with_mock_retries(partial(measure_latency, scenario, time_scale,
                                           probe_calls(latency), latency))[0]
        for latency in dict.fromkeys(job.latency for job in jobs)
    }
    rows: list[Row] = []
    for job in jobs:
        row = fleet_row(job, probes[job.latency])
        rows.append(row)
        if options.log is not None:
            options.log(
                f"{job.label}: measured {row.measured_s:.4f} s, planned "
                f"{row.planned_s:.4f} s ({row.planned_error:+.3%}), simulated "
                f"{row.simulated_s:.4f} s ({row.simulated_error:+.3%})"
            )
    load = (load_before, os.getloadavg()[0])
    checks = tuple(
        check
        for r in rows
        for check in (_check(r, "planned", r.planned_error, r.planned_s),
                      _check(r, "simulated", r.simulated_error, r.simulated_s))
    )
    headroom = GovernorSettings.load(provider=scenario.provider, plan=scenario.plan).headroom
    title = "Planner accuracy: predicted against measured drain time"
    command = options.command or "python -m benchmarks planner" + (" --quick" if quick else "")
    png = None
    if options.out_dir is not None:
        options.out_dir.mkdir(parents=True, exist_ok=True)
        png = options.out_dir / "planner.png"
        if not _plot(rows, png):
            png = None
    parts = [
        f"# {title}", "", f"Command: `{command}`", "", environment_line(MACHINE), "",
        markdown_table(rows),
    ]
    if png is not None:
        parts += ["", f"![cumulative sends and drain time errors]({png.name})"]
    parts += [
        "", "## Targets", "", *(f"- {c.line()}" for c in checks),
        "", "## How to read it", "", *(f"- {n}" for n in _notes(rows, load, headroom)),
    ]
    markdown = "\n".join(parts) + "\n"
    path = write_results(options, "planner.md", markdown)
    return Report(title, (), checks, markdown, path)
