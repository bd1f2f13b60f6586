"""Throughput measurement every benchmark suite shares: interleaved rounds, ratios, markdown.

A :class:`Candidate` is a name and a ``setup`` that returns the operation to time (a
zero-argument callable). :func:`measure` runs every candidate as a tight loop of ``calls``
operations, in interleaved rounds (A round 1, B round 1, ..., A round 2, ...) so that noise from
a shared machine hits every candidate alike. A :class:`Result` keeps each round's elapsed time;
figures are calls per second (median of rounds, and best) and ratios against a baseline
measured in the same run. Absolute numbers mean little on a shared machine; ratios within one
run do.

Per round and candidate: ``setup()`` (untimed, so each round starts from fresh state), a short
untimed warm-up, ``gc.collect()``, the timed loop (``time.perf_counter_ns``; the loop's own
overhead is included, alike for all), then one untimed call checked by ``expect``: a benchmark
of decision cost must not be measuring refusals. Resources shared by all rounds (a server, a
client) belong to the suite, opened around :func:`measure`.
"""

from __future__ import annotations

import gc
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from itertools import repeat
from pathlib import Path
from typing import TypeVar

__all__ = [
    "MOCK_ATTEMPTS",
    "BenchmarkError",
    "Candidate",
    "Check",
    "Op",
    "Options",
    "Report",
    "Result",
    "Target",
    "environment_line",
    "find",
    "markdown_table",
    "measure",
    "ratio",
    "render_report",
    "with_mock_retries",
    "write_results",
]

Op = Callable[[], object]
T = TypeVar("T")
"""One timed operation: a zero-argument callable whose result is ignored inside the loop."""

_NS = 1_000_000_000


class BenchmarkError(RuntimeError):
    """A benchmark could not measure what it claims to (a refused call, an unknown name)."""


@dataclass(frozen=True)
class Options:
    """What the command line asked for; a suite fills unset counts with its own defaults.

    ``out_dir`` None means print only, write nothing.
    """

    calls: int | None = None
    rounds: int | None = None
    quick: bool = False
    out_dir: Path | None = None
    command: str = ""
    log: Callable[[str], None] | None = None

    def counts(self, full: tuple[int, int], quick: tuple[int, int]) -> tuple[int, int]:
        """``(calls, rounds)``: the explicit values, else the suite's quick or full defaults."""
        calls, rounds = quick if self.quick else full
        return (
            calls if self.calls is None else self.calls,
            rounds if self.rounds is None else self.rounds,
        )


@dataclass(frozen=True)
class Candidate:
    """Something to time. ``setup`` runs before every round and returns the operation;
    ``expect`` (if given) must hold for the result of a call made right after each round."""

    name: str
    setup: Callable[[], Op]
    note: str = ""
    expect: Callable[[object], bool] | None = None


@dataclass(frozen=True)
class Result:
    """``calls`` operations per round, timed ``round_ns`` (one entry per round)."""

    name: str
    calls: int
    round_ns: tuple[int, ...]
    note: str = ""

    @property
    def rates(self) -> tuple[float, ...]:
        """Calls per second of each round."""
        return tuple(self.calls * _NS / max(ns, 1) for ns in self.round_ns)

    @property
    def median_rate(self) -> float:
        """Calls per second, median of the rounds: the figure to compare."""
        return statistics.median(self.rates)

    @property
    def best_rate(self) -> float:
        """Calls per second of the fastest round: the least disturbed by the machine."""
        return max(self.rates)

    @property
    def spread(self) -> float:
        """(fastest - slowest) / median round rate: how noisy the run was for this candidate."""
        rates = self.rates
        return (max(rates) - min(rates)) / self.median_rate

    @property
    def median_us(self) -> float:
        """Microseconds per call at the median rate."""
        return 1_000_000 / self.median_rate


def measure(
    candidates: Sequence[Candidate],
    *,
    calls: int,
    rounds: int,
    warmup: int | None = None,
    log: Callable[[str], None] | None = None,
) -> list[Result]:
    """Time every candidate over ``rounds`` interleaved rounds of ``calls`` operations.

    ``warmup`` untimed calls precede each timed loop (default: a tenth of ``calls``, at most
    1,000). Raises :class:`BenchmarkError` when a candidate's ``expect`` fails.
    """
    if calls < 1 or rounds < 1:
        raise BenchmarkError(f"need at least 1 call and 1 round, not {calls} and {rounds}")
    names = [c.name for c in candidates]
    if len(set(names)) != len(names):
        raise BenchmarkError(f"candidate names must be unique: {names}")
    warm = max(1, min(calls // 10, 1_000)) if warmup is None else warmup
    timings: dict[str, list[int]] = {c.name: [] for c in candidates}
    for r in range(1, rounds + 1):
        for cand in candidates:
            timings[cand.name].append(_time_round(cand, calls, warm, r))
        if log is not None:
            line = ", ".join(f"{n} {calls * _NS / t[-1]:,.0f}/s" for n, t in timings.items())
            log(f"round {r}/{rounds}: {line}")
    return [Result(c.name, calls, tuple(timings[c.name]), c.note) for c in candidates]


def _time_round(cand: Candidate, calls: int, warmup: int, round_no: int) -> int:
    op = cand.setup()
    for _ in repeat(None, warmup):
        op()
    gc.collect()
    start = time.perf_counter_ns()
    for _ in repeat(None, calls):
        op()
    elapsed = time.perf_counter_ns() - start
    if cand.expect is not None and not cand.expect(op()):
        raise BenchmarkError(
            f"{cand.name}: the call after round {round_no} was refused; this benchmark times "
            "allowed calls, so raise the candidate's limits"
        )
    return elapsed


def find(results: Sequence[Result], name: str) -> Result:
    """The result called ``name``."""
    for res in results:
        if res.name == name:
            return res
    raise BenchmarkError(f"no result named {name!r}; have {[r.name for r in results]}")


def ratio(results: Sequence[Result], name: str, baseline: str) -> float:
    """Median rate of ``name`` over the median rate of ``baseline`` (same run)."""
    return find(results, name).median_rate / find(results, baseline).median_rate


@dataclass(frozen=True)
class Target:
    """A bar: ``subject`` runs at least ``factor`` times the fastest of ``versus`` (medians)."""

    text: str
    subject: str
    versus: tuple[str, ...]
    factor: float

    def check(self, results: Sequence[Result]) -> Check:
        """Measure this target against ``results``."""
        reference = max((find(results, n) for n in self.versus), key=lambda r: r.median_rate)
        got = find(results, self.subject).median_rate / reference.median_rate
        return Check(self, got, reference.name, got >= self.factor)


@dataclass(frozen=True)
class Check:
    """A target's outcome: the measured ratio and the candidate it was measured against."""

    target: Target
    ratio: float
    reference: str
    passed: bool

    def line(self) -> str:
        """``PASS  <target>: 2.31x <reference> (needs 2x)``."""
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"{verdict}  {self.target.text}: {self.ratio:.2f}x {self.reference} "
            f"(needs {self.target.factor:g}x)"
        )


@dataclass(frozen=True)
class Report:
    """What a suite hands back: results, target checks, the markdown, and where it went."""

    title: str
    results: tuple[Result, ...]
    checks: tuple[Check, ...]
    markdown: str
    path: Path | None = None

    @property
    def passed(self) -> bool:
        """Every target met."""
        return all(c.passed for c in self.checks)


def markdown_table(results: Sequence[Result], baseline: str) -> str:
    """A markdown table: rates (median, best), microseconds per call, ratio to ``baseline``."""
    base = find(results, baseline).median_rate
    lines = [
        "| candidate | calls/s (median) | calls/s (best) | µs/call "
        f"| ratio to {baseline} | spread | note |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for res in results:
        lines.append(
            f"| {res.name} | {res.median_rate:,.0f} | {res.best_rate:,.0f} | "
            f"{res.median_us:.2f} | {res.median_rate / base:.2f} | {res.spread:.0%} | "
            f"{res.note} |"
        )
    return "\n".join(lines)


def environment_line(machine: str) -> str:
    """Date, code revision, Python and platform, and a note on the machine."""
    today = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    impl = platform.python_implementation()
    version = sys.version.split()[0]
    return (
        f"{today} · git {code_revision()} · {impl} {version} · {platform.system()} "
        f"{platform.machine()} · {os.cpu_count()} CPUs · {machine}"
    )


def code_revision() -> str:
    """The checkout's short commit, with ``+dirty`` for uncommitted changes to tracked files."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
        )
        return done.stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit}+dirty" if dirty else commit


def render_report(
    title: str,
    *,
    command: str,
    machine: str,
    results: Sequence[Result],
    baseline: str,
    checks: Sequence[Check],
    notes: Sequence[str] = (),
) -> str:
    """The markdown of a results file: title, command, environment, table, targets, notes."""
    parts = [
        f"# {title}",
        "",
        f"Command: `{command}`",
        "",
        environment_line(machine),
        "",
        markdown_table(results, baseline),
    ]
    if checks:
        parts += ["", "## Targets", ""]
        parts += [f"- {c.line()}" for c in checks]
    if notes:
        parts += ["", "## How to read it", ""]
        parts += [f"- {n}" for n in notes]
    return "\n".join(parts) + "\n"


def write_results(options: Options, name: str, markdown: str) -> Path | None:
    """Write ``markdown`` as ``name`` in the options' results directory (made if need be),
    and return its path; None, writing nothing, when the options name no directory."""
    if options.out_dir is None:
        return None
    options.out_dir.mkdir(parents=True, exist_ok=True)
    path = options.out_dir / name
    path.write_text(markdown, encoding="utf-8")
    return path


MOCK_ATTEMPTS = 3


def with_mock_retries(start: Callable[[], T]) -> tuple[T, int]:
    """``start()`` and the attempt that worked: tried again, up to :data:`MOCK_ATTEMPTS`
    times, while a mock provider fails to start (it has 10 s, which a busy 2-core machine
    spawning a fleet can miss)."""
    attempt = 1
    while True:
        try:
            return start(), attempt
        except RuntimeError as exc:
            if attempt >= MOCK_ATTEMPTS or "mock server" not in str(exc):
                raise
            attempt += 1

