"""The fleets the planner benchmark measures (:mod:`benchmarks.planner`): the jobs, the
latency probe, and one fleet run with the plan and the simulation of its job.

A job is a ``steady`` demo run (:func:`governor.demo.runner.run_demo`) with a number of
workers, of messages, and the mock's reply latency. The probe times sends to a mock of its own
first, so the predictions are fed the latency the workers really see (see the suite's module
docstring for how).
"""

from __future__ import annotations

import random
import secrets
import statistics
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import httpx

from benchmarks.harness import BenchmarkError, with_mock_retries
from governor.capacity import CapacityPlan, Latency, Workload, plan
from governor.demo.fleet import ACCOUNT
from governor.demo.report import build_report
from governor.demo.runner import DemoOptions, run_demo
from governor.demo.scenarios import SCENARIOS
from governor.demo.worker import payload
from governor.mock.server import MockServer
from governor.settings import GovernorSettings
from governor.simulation import SimulationResult, simulate

if TYPE_CHECKING:

    from governor.demo.runner import RunFacts
    from governor.demo.scenarios import Scenario
    from governor.demo.tally import Tally
    from governor.policy import Policy

__all__ = ["FULL_JOBS", "QUICK_JOBS", "QUICK_MESSAGES", "SCENARIO", "Job", "Probe", "Row",
           "fleet_row", "last_send_s", "measure_latency", "probe_calls"]

SCENARIO = "steady"
SEED = 0  # of the mock's latency draws (fleet and probe) and of the simulation's
QUICK_MESSAGES = 40
PROBE_CALLS = 50  # sequential sends to a mock that answers at once
PROBE_SECONDS = 5.0  # about this long against a mock with a latency



@dataclass(frozen=True)
class Job:
    """One fleet run to predict: ``workers``, ``messages`` (None: the scenario's), and the
    mock's ``latency`` (None: it answers at once)."""

    workers: int
    messages: int | None = None
    latency: Latency | None = None

    @property
    def label(self) -> str:
        return f"{self.workers} workers, " + (f"{self.latency}" if self.latency else "0 ms")


# About 30 s of sending each; worker-bound at half the limit or less.
FULL_JOBS = (
    Job(2), Job(4), Job(8),  # the scenario's 600 messages at the limit's 19.8 calls/s
    Job(2, 240, Latency(0.250)),  # 2 / 250 ms = 8 calls/s
    Job(4, 300, Latency(0.400)),  # 4 / 400 ms = 10 calls/s
    Job(4, 360, Latency(0.300, 0.900)),  # 4 / 335 ms (the log-normal's mean) = 11.9 calls/s
)
QUICK_JOBS = (Job(2, QUICK_MESSAGES), Job(4, QUICK_MESSAGES),
              Job(2, QUICK_MESSAGES, Latency(0.250)))


class _Acks:
    """A progress display that draws nothing and keeps (real time, messages acknowledged)."""

    def __init__(self) -> None:
        self.points: list[tuple[float, int]] = []

    def start(self, facts: RunFacts, tally: Tally) -> None:
        """Nothing to keep yet."""

    def update(self, tally: Tally, now_s: float) -> None:
        """Keep a point when the count moved."""
        if tally.sent and (not self.points or self.points[-1][1] != tally.sent):
            self.points.append((now_s, tally.sent))

    def stop(self) -> None:
        """Nothing to close."""


@dataclass(frozen=True)
class Probe:
    """``calls`` sequential sends timed against a mock with a job's latency: ``fed`` is the
    latency the predictions get, ``overhead_s`` the mean time per send beyond the mock's draw
    (all of it when the mock answers at once)."""

    fed: Latency
    overhead_s: float
    calls: int


@dataclass(frozen=True)
class Row:
    """One fleet run and the two predictions for its job (drain times in real seconds);
    ``wait_mean_s`` is the workers' mean wait for the governor's decision, per request."""

    job: Job
    messages: int
    probe: Probe
    report: dict[str, Any]
    measured_s: float
    planned: CapacityPlan
    planned_s: float
    simulated: SimulationResult
    simulated_s: float
    wait_mean_s: float
    elapsed_s: float
    acks: tuple[tuple[float, int], ...]

    @property
    def workers(self) -> int:
        return self.job.workers

    @property
    def planned_error(self) -> float:
        """(planned - measured) / measured."""
        return self.planned_s / self.measured_s - 1

    @property
    def simulated_error(self) -> float:
        """(simulated - measured) / measured."""
        return self.simulated_s / self.measured_s - 1

    @property
    def call_s(self) -> float:
        """The mean time a worker spent per call, implied by the measured drain when the
        workers bind (the first ``W`` calls at once, then the other ``N - W``, ``W`` per call
        time)."""
        return self.measured_s * self.workers / max(self.messages - self.workers, 1)


def measure_latency(scenario: Scenario, time_scale: float, calls: int,
                    mock: Latency | None = None) -> Probe:
    """Time ``calls`` sequential sends of ``scenario``'s route (after one untimed send that
    opens the connection) to a mock provider of its own in a child process that answers after
    ``mock`` (drawn with :data:`SEED`, as the fleet's mock draws)."""
    token = f"probe-{secrets.token_hex(8)}"
    samples: list[float] = []
    with MockServer(scenario.provider, time_scale=time_scale, latency=mock, latency_seed=SEED,
                    process=True) as server:
        server.admin.add_account("probe", token, plan=scenario.plan)
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=headers, timeout=30.0) as client:
            for i in range(calls + 1):
                body = payload(scenario.provider, scenario.path, (i,))
                began = time.perf_counter()
                client.request(scenario.method, scenario.path, json=body).raise_for_status()
                samples.append(time.perf_counter() - began)
    if mock is None:
        fed = Latency.from_samples(samples[1:])
        return Probe(fed, fed.mean_s, calls)
    draw = mock.sampler(random.Random(SEED))
    draws = [draw() for _ in samples]  # the mock's, in the order the sends arrived
    overhead_s = statistics.fmean(s - d for s, d in zip(samples[1:], draws[1:], strict=True))
    p99_s = None if mock.p99_s is None else mock.p99_s + overhead_s
    return Probe(Latency(mock.median_s + overhead_s, p99_s), overhead_s, calls)


def probe_calls(latency: Latency | None) -> int:
    return PROBE_CALLS if latency is None else max(10, round(PROBE_SECONDS / latency.mean_s))


def last_send_s(result: CapacityPlan, policy: Policy, route: str) -> float:
    """The analytic plan's last send: its fluid ``drain_s`` less the head start of the calls
    that go at once (the binding bucket's burst, or one per worker when the workers bind)."""
    bursts = {b.name: b.burst for b in policy.spec(route).buckets}
    at_once = result.workers if result.binding == "workers" else bursts.get(result.binding, 1)
    return result.drain_s - min(at_once, result.calls) / result.calls_per_s


def fleet_row(job: Job, probe: Probe) -> Row:
    """One steady run of ``job``, and the plan and simulation of it fed ``probe``'s latency."""
    scenario = SCENARIOS[SCENARIO]
    acks = _Acks()
    mock = job.latency
    options = DemoOptions(
        scenario=SCENARIO, workers=job.workers, messages=job.messages,
        latency_ms=0.0 if mock is None else mock.median_s * 1000,
        latency_p99_ms=None if mock is None or mock.p99_s is None else mock.p99_s * 1000,
        latency_seed=SEED,
    )
    facts, tally = with_mock_retries(lambda: run_demo(options, acks))[0]
    report = build_report(facts, tally)
    account = (facts.server or {}).get("accounts", {}).get(ACCOUNT)
    if facts.errors or facts.interrupted or not account or tally.total is None:
        why = "; ".join(facts.errors) or ("interrupted" if facts.interrupted else "no report")
        raise BenchmarkError(f"the {job.label} fleet did not finish: {why}")
    speed = 60.0 / facts.time_scale  # virtual seconds per real second
    first_send_s = account["first_s"] / speed  # the aligned clock: real epoch seconds
    policy = GovernorSettings.load(
        provider=scenario.provider, plan=scenario.plan, reputation="healthy",
        time_scale=facts.time_scale,
    ).policy()
    workload = Workload(tally.total, single_route=scenario.route)
    start = datetime.fromtimestamp(facts.started_s, tz=timezone.utc)
    planned = plan(policy, workload, job.workers, probe.fed, start)
    simulated = simulate(policy, workload, job.workers, probe.fed, start, seed=SEED)
    points = [*acks.points, (facts.ended_s, tally.sent)]
    return Row(
        job=job,
        messages=tally.total,
        probe=probe,
        report=report,
        measured_s=(account["last_s"] - account["first_s"]) / speed,
        planned=planned,
        planned_s=last_send_s(planned, policy, scenario.route),
        simulated=simulated,
        simulated_s=simulated.timeline[-1][0] - simulated.timeline[1][0],
        wait_mean_s=statistics.fmean(tally.waits) if tally.waits else 0.0,
        elapsed_s=facts.ended_s - facts.started_s,
        acks=tuple((t - first_send_s, n) for t, n in points),
    )
