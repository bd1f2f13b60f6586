"""The planner's two answers against each other: the analytic ``governor plan`` and ``--simulate``.

A grid of jobs on MailerSend's Starter ``POST /v1/email`` (120/min less the settings' 1%
headroom), at two clock speeds (a provider minute of 60 s, and of 6 s: limits ten times faster
against the same latencies), 1 to 16 workers, and seven latencies from well under one spacing of
the limit to heavy-tailed (fixed, and log-normal through a median and a p99). For each, the
throughput of :func:`governor.capacity.plan` (a fluid model, corrected for calls queueing on
the limiter when latencies vary) against :func:`governor.simulation.simulate` (the real engine
on a virtual clock, seeded): ``analytic / simulated - 1``. Pure computation: no servers, about a
minute. The issue's target is within 2%; the table lists every case outside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from benchmarks.harness import Options, Report, Target, environment_line, write_results
from benchmarks.provider import Bar
from governor.capacity import Latency, Workload, plan
from governor.settings import GovernorSettings
from governor.simulation import simulate

if TYPE_CHECKING:
    from governor.policy import Policy

__all__ = ["LATENCIES", "TOLERANCE", "Case", "run"]

TOLERANCE = 0.02
START = datetime(2026, 11, 23, 15, tzinfo=timezone.utc)
SCALES = (60.0, 6.0)
WORKERS = (1, 2, 3, 4, 6, 8, 12, 16)
QUICK_WORKERS = (1, 4)
LATENCIES = (
    Latency(0.3),
    Latency(0.05, 0.2),
    Latency(0.1, 0.3),
    Latency(0.3, 0.9),
    Latency(0.3, 1.5),
    Latency(0.5, 0.6),
    Latency(0.2, 2.0),
    Latency(1.0, 2.0),
)
SEED = 7
MACHINE = "pure computation; the machine only sets how long it takes"


@dataclass(frozen=True)
class Case:
    """One job and the two throughputs (calls per second)."""

    scale: float
    workers: int
    latency: Latency
    analytic: float
    simulated: float
    binding: str
    fluid: float  # the analytic answer without the queueing correction

    @property
    def fluid_error(self) -> float:
        """fluid / simulated - 1."""
        return self.fluid / self.simulated - 1

    @property
    def error(self) -> float:
        """analytic / simulated - 1."""
        return self.analytic / self.simulated - 1


def case(policy: Policy, scale: float, workers: int, latency: Latency, calls: int) -> Case:
    """Both answers for ``calls`` single sends by ``workers`` at ``latency``."""
    workload = Workload(calls)
    predicted = plan(policy, workload, workers, latency, START)
    simulated = simulate(policy, workload, workers, latency, START, seed=SEED)
    fluid = min(predicted.rate_calls_per_s, predicted.worker_calls_per_s)
    return Case(scale, workers, latency, predicted.calls_per_s, simulated.calls_per_s,
                predicted.binding, fluid)


def run(options: Options) -> Report:
    """Compute the grid; write ``model.md`` into ``options.out_dir`` if set. ``--calls`` sets
    the calls of each job (default 1,500; 300 with ``--quick``)."""
    calls = options.calls or (300 if options.quick else 1_500)
    cases = []
    for scale in SCALES:
        policy = GovernorSettings.load(plan="starter", time_scale=scale).policy()
        for workers in QUICK_WORKERS if options.quick else WORKERS:
            for latency in LATENCIES:
                cases.append(case(policy, scale, workers, latency, calls))
    within = [c for c in cases if abs(c.error) <= TOLERANCE]
    worst = max(cases, key=lambda c: abs(c.error))
    fluid_within = sum(abs(c.fluid_error) <= TOLERANCE for c in cases)
    fluid_worst = max(cases, key=lambda c: abs(c.fluid_error)).fluid_error
    checks = (
        Bar(Target(f"analytic throughput within {TOLERANCE:.0%} of the simulation, every case",
                   "", (), TOLERANCE), abs(worst.error), "", len(within) == len(cases),
            f"{len(within)} of {len(cases)} cases; worst {worst.error:+.2%} ({worst.workers} "
            f"workers, {worst.latency}, a minute of {worst.scale:g} s)"),
    )
    title = "Capacity model: analytic plan against the simulation"
    command = options.command or "python -m benchmarks model" + (" --quick" if options.quick
                                                                   else "")
    outside = sorted((c for c in cases if abs(c.error) > TOLERANCE), key=lambda c: -abs(c.error))
    lines = [
        f"# {title}", "", f"Command: `{command}`", "", environment_line(MACHINE), "",
        f"{len(cases)} jobs of {calls:,} calls: {len(within)} within {TOLERANCE:.0%}, "
        f"worst {worst.error:+.2%}. Cases outside {TOLERANCE:.0%}:", "",
        "| minute | workers | latency | binding | analytic calls/s | simulated calls/s | error |",
        "|---:|---:|---|---|---:|---:|---:|",
        *(f"| {c.scale:g} s | {c.workers} | {c.latency} | {c.binding} | {c.analytic:.3f} "
          f"| {c.simulated:.3f} | {c.error:+.2%} |" for c in outside),
        "", "## Targets", "", *(f"- {c.line()}" for c in checks), "",
        "## How to read it", "",
        "- Throughput is compared, not drain time: the simulation's drain ends when the last "
        "call's reply arrives, the plan's when it is sent, which is a latency apart.",
        "- With a fixed latency the workers fall into step and the fluid model is exact; with a "
        "spread the plan adds the wait for the limiter's spacing by mean value analysis "
        f"(without it, the fluid model alone: {fluid_within} of these {len(cases)} within "
        f"{TOLERANCE:.0%}, worst {fluid_worst:+.0%}). The "
        "cases outside the target are mostly workers that together could just about fill the "
        "limit with a wide spread, where the approximation is optimistic by a few percent; a "
        "narrow spread can come out pessimistic, as such workers nearly fall into step. There, "
        "`governor plan --simulate` is the answer to use.",
    ]
    markdown = "\n".join(lines) + "\n"
    path = write_results(options, "model.md", markdown)
    return Report(title, (), checks, markdown, path)
