"""The fleet against the built-in mock provider: 429s, utilisation, fairness, waits, round trips.

Each run is one ``governor demo`` run, driven through :func:`governor.demo.runner.run_demo`: a
private embedded Redis, the mock provider in a child process, and N worker processes sending
MailerSend ``POST /v1/email`` (Starter: 120/min binds) through the governor. The figures come
from the demo's report (:func:`governor.demo.report.build_report`): 429s and the binding
limit's utilisation as the mock counted them, waits as the workers timed them, and Redis round
trips as the server counted its script calls while the fleet was sending. Fairness is Jain's
index over the messages each worker sent: 1.0 when all sent alike, 1/N when one sent all.

``steady`` runs once per fleet size; one ``reputation-drop`` run (the account goes under review
mid-run, 120 -> 10/min) shows how many 429s each worker took after the drop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from benchmarks.harness import (
    Check,
    Options,
    Report,
    Target,
    environment_line,
    with_mock_retries,
    write_results,
)
from governor.demo.progress import NoProgress
from governor.demo.report import build_report
from governor.demo.runner import DemoOptions, run_demo
from governor.demo.scenarios import SCENARIOS, UTILISATION_BAR

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

__all__ = ["ROUND_TRIPS_BAR", "Bar", "Row", "jain_index", "run"]

ROUND_TRIPS_BAR = 1.1
FULL_WORKERS = (2, 4, 8, 16)
QUICK_WORKERS = (2, 4)
QUICK_MESSAGES = 60
DROP_WORKERS = 8
MACHINE = (
    "2 shared cores: a 16-process fleet (plus Redis, the mock and the parent) on 2 cores "
    "measures the governor under CPU contention, not a fleet spread over machines"
)


def jain_index(counts: Sequence[int]) -> float | None:
    """Jain's fairness index ``(sum x)^2 / (n * sum x^2)``; None when nothing was sent."""
    squares = sum(x * x for x in counts)
    return sum(counts) ** 2 / (len(counts) * squares) if squares else None


@dataclass(frozen=True)
class Row:
    """One fleet run, from the demo's report."""

    scenario: str
    workers: int
    report: dict[str, Any]
    attempt: int = 1

    @property
    def sent_by_worker(self) -> list[int]:
        """Messages each worker sent, a zero for a worker that sent none."""
        per = self.report["per_worker"]
        return [int(per.get(str(w), {}).get("sent", 0)) for w in range(self.workers)]

    @property
    def fairness(self) -> float | None:
        """Jain's index over :attr:`sent_by_worker`."""
        return jain_index(self.sent_by_worker)

    @property
    def utilisation(self) -> float | None:
        """Share of the binding limit used in the mock's saturated windows (None: none)."""
        binding = self.report["binding"] or {}
        used = binding.get("utilisation")
        return None if used is None else float(used)

    @property
    def round_trips(self) -> float | None:
        """Redis script calls per request the mock received."""
        value = self.report["redis_round_trips_per_request"]
        return None if value is None else float(value)

    @property
    def after_drop(self) -> list[int] | None:
        """429s each worker received after the reputation drop (None: no drop in the run)."""
        drop = self.report["events"].get("reputation_drop")
        return None if drop is None else list(drop["limited_after_by_worker"].values())


@dataclass(frozen=True)
class Bar(Check):
    """A bar that is a threshold on one run's figure, not a ratio between candidates."""

    detail: str = ""

    def line(self) -> str:
        """``PASS  <bar>: <what was measured>``."""
        return f"{'PASS' if self.passed else 'FAIL'}  {self.target.text}: {self.detail}"


def _bar(text: str, passed: bool, detail: str) -> Bar:
    return Bar(Target(text, "", (), 1.0), 1.0 if passed else 0.0, "", passed, detail)


def fleet_run(scenario: str, workers: int, messages: int | None) -> Row:
    """One demo run of ``scenario`` with ``workers`` processes, quietly, to its end.

    A run whose mock provider does not start is tried again (see
    :func:`~benchmarks.harness.with_mock_retries`).
    """
    options = DemoOptions(scenario=scenario, workers=workers, messages=messages)
    (facts, tally), attempt = with_mock_retries(lambda: run_demo(options, NoProgress()))
    return Row(scenario, workers, build_report(facts, tally), attempt)


def _checks(row: Row, *, quick: bool) -> list[Bar]:
    r, name = row.report, f"{row.scenario}, {row.workers} workers"
    bars = [
        _bar(f"{name}: {c['name']}", c["ok"], c["detail"])
        for c in r["checks"]
        if c["name"] in ("completed", "nothing lost")
    ]
    if row.scenario == "steady":
        n = r["rate_limited_total"]
        bars.append(_bar(f"{name}: zero 429s", n == 0, f"{n} 429s"))
        used = row.utilisation
        if not (quick and used is None):  # a quick run is too short to fill a window
            bars.append(
                _bar(
                    f"{name}: at least {UTILISATION_BAR:.0%} of the binding limit used",
                    used is not None and used >= UTILISATION_BAR,
                    "no whole provider window saturated" if used is None else f"{used:.1%}",
                )
            )
    else:
        drop = r["events"].get("reputation_drop") or {}
        after = row.after_drop or []
        bars.append(
            _bar(
                f"{name}: at most one 429 per worker after the drop, none before",
                bool(after) and max(after) <= 1 and drop.get("limited_before", 1) == 0,
                f"after, by worker {after}; before {drop.get('limited_before', '-')}",
            )
        )
    trips = row.round_trips
    bars.append(
        _bar(
            f"{name}: at most {ROUND_TRIPS_BAR} Redis round trips per request",
            trips is not None and trips <= ROUND_TRIPS_BAR,
            "not counted" if trips is None else f"{trips:.3f}",
        )
    )
    return bars


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def markdown_table(rows: Sequence[Row]) -> str:
    """One line per run."""
    lines = [
        "| scenario | workers | messages | requests | 429s | utilisation | fairness (Jain) "
        "| wait p50 | wait p99 | round trips / request | 429s after drop, by worker | elapsed |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for row in rows:
        r, waits = row.report, row.report["waits_s"]
        after = row.after_drop
        lines.append(
            f"| {row.scenario} | {row.workers} | {r['messages']} | {r['requests']} "
            f"| {r['rate_limited_total']} | {_fmt(row.utilisation, '.1%')} "
            f"| {_fmt(row.fairness, '.4f')} | {_fmt(waits['p50'], '.3f')} s "
            f"| {_fmt(waits['p99'], '.3f')} s | {_fmt(row.round_trips, '.3f')} "
            f"| {'-' if after is None else ' '.join(map(str, after))} "
            f"| {_fmt(r['elapsed_s'], '.1f')} s |"
        )
    return "\n".join(lines)


def _notes(rows: Sequence[Row], messages: int | None, load: tuple[float, float]) -> list[str]:
    steady, drop = SCENARIOS["steady"], SCENARIOS["reputation-drop"]
    scale = rows[0].report["time_scale"] if rows else 6.0
    minute_s = scale  # the mock's clock runs 60 / scale times faster than real time
    notes = [
        f"Scenario `steady`: {steady.summary}; {messages or steady.messages} messages a run. "
        f"A provider minute lasts {minute_s:g} s (time scale {scale:g}), so 120/min is "
        f"{120 / minute_s:g} sends a second.",
        f"Scenario `reputation-drop` ({DROP_WORKERS} workers, {drop.messages} messages): "
        f"{drop.summary}; the drop comes once {drop.drop_at:.0%} of the messages are "
        "acknowledged. Its utilisation column is the mock's figure for the run's binding limit.",
        "429s and utilisation are the mock's own count: utilisation is the most requests admitted "
        "in one provider window over the limit, over the whole windows in which the fleet was "
        "saturated.",
        "Fairness: Jain's index over the messages each worker sent (1.0: all alike; 1/N: one "
        "worker sent everything).",
        "Waits: the time a worker spent between asking the governor and being allowed "
        "(nearest-rank percentiles over every request). With N workers queued behind a 20/s "
        "limit, each waits about N / 20 s: a wait is the rate limit doing its job.",
        "Round trips: EVALSHA/EVAL calls the private Redis ran while the fleet was sending "
        "(acquire and reconcile; the workers' final flush after the last message is left out), "
        "over requests the mock received.",
        "One run per row, so the figures carry the noise of one run on a shared machine; the "
        f"1-minute load average was {load[0]:.1f} before the runs and {load[1]:.1f} after "
        "(other work on the machine included).",
    ]
    retried = [f"{r.scenario} with {r.workers} workers" for r in rows if r.attempt > 1]
    if retried:
        notes.append(
            f"Started again because the mock provider did not answer within the runner's 10 s: "
            f"{', '.join(retried)} (the runner has no setting for that timeout)."
        )
    return notes


def _plot(rows: Sequence[Row], path: Path) -> bool:
    """Utilisation and round trips against fleet size; False when matplotlib is missing."""
    try:
        import matplotlib as mpl  # noqa: PLC0415 - optional, only for the figure

        mpl.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        return False
    steady = [r for r in rows if r.scenario == "steady"]
    workers = [r.workers for r in steady]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    left.plot(workers, [100 * (r.utilisation or 0.0) for r in steady], "o-", label="measured")
    left.axhline(100 * UTILISATION_BAR, color="red", ls="--", label="bar 97%")
    left.set(
        title="binding limit used (steady)",
        xlabel="worker processes",
        ylabel="utilisation, %",
        ylim=(90, 101),
    )
    right.plot(workers, [r.round_trips or 0.0 for r in steady], "o-", label="steady")
    drops = [r for r in rows if r.scenario != "steady"]
    right.plot(
        [r.workers for r in drops],
        [r.round_trips or 0.0 for r in drops],
        "s",
        label="reputation-drop",
    )
    right.axhline(ROUND_TRIPS_BAR, color="red", ls="--", label=f"bar {ROUND_TRIPS_BAR}")
    right.set(
        title="Redis round trips per request",
        xlabel="worker processes",
        ylabel="round trips / request",
        ylim=(0.9, 1.2),
    )
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_xticks(workers, [str(w) for w in workers])
        ax.legend(fontsize="small")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def run(options: Options) -> Report:
    """Run the fleets, render the markdown, write ``provider.md`` and ``provider.png`` into
    ``options.out_dir`` if set. ``--calls`` sets the messages of each steady run."""
    quick = options.quick
    messages = options.calls if options.calls is not None else (QUICK_MESSAGES if quick else None)
    plan = [("steady", w) for w in (QUICK_WORKERS if quick else FULL_WORKERS)]
    if not quick:
        plan.append(("reputation-drop", DROP_WORKERS))
    rows: list[Row] = []
    load_before = os.getloadavg()[0]
    for scenario, workers in plan:
        row = fleet_run(scenario, workers, messages if scenario == "steady" else None)
        rows.append(row)
        if options.log is not None:
            r = row.report
            options.log(
                f"{scenario}, {workers} workers: {r['requests']} requests, "
                f"{r['rate_limited_total']} 429s, utilisation "
                f"{_fmt(row.utilisation, '.1%')}, {r['elapsed_s']} s"
            )
    load = (load_before, os.getloadavg()[0])
    checks = tuple(bar for row in rows for bar in _checks(row, quick=quick))
    title = "Fleet against the mock provider: 429s, utilisation, fairness, round trips"
    command = options.command or "python -m benchmarks provider" + (" --quick" if quick else "")
    png = None
    if options.out_dir is not None:
        options.out_dir.mkdir(parents=True, exist_ok=True)
        png = options.out_dir / "provider.png"
        if not _plot(rows, png):
            png = None
    parts = [
        f"# {title}",
        "",
        f"Command: `{command}`",
        "",
        environment_line(MACHINE),
        "",
        markdown_table(rows),
    ]
    if png is not None:
        parts += ["", f"![utilisation and round trips against fleet size]({png.name})"]
    parts += [
        "",
        "## Targets",
        "",
        *(f"- {c.line()}" for c in checks),
        "",
        "## How to read it",
        "",
        *(f"- {n}" for n in _notes(rows, messages, load)),
    ]
    markdown = "\n".join(parts) + "\n"
    path = write_results(options, "provider.md", markdown)
    return Report(title, (), checks, markdown, path)
