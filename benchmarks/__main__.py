"""``python -m benchmarks <suite|all> [--quick] [--rounds R] [--calls N] [--out DIR] [--strict]``.

A suite is a function from :class:`~benchmarks.harness.Options` to a
:class:`~benchmarks.harness.Report`; add one to :data:`SUITES` to make it runnable here.
``all`` runs every suite in turn, in name order, with the same options (``--calls`` and
``--rounds`` then mean each suite's own thing), and writes each one's results file; with
``--strict`` it exits with status 1 when any suite missed a target.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks import faults, memory, model, pacing, planner, provider, redis, taskqueues, truth
from benchmarks.harness import Options, Report

__all__ = ["RESULTS_DIR", "SUITES", "main"]

Suite = Callable[[Options], Report]

SUITES: dict[str, Suite] = {
    "faults": faults.run,
    "memory": memory.run,
    "model": model.run,
    "pacing": pacing.run,
    "planner": planner.run,
    "provider": provider.run,
    "redis": redis.run,
    "taskqueues": taskqueues.run,
    "truth": truth.run,
}

RESULTS_DIR = Path(__file__).resolve().parent / "results"
ALL = "all"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="Measure governor against its peers."
    )
    parser.add_argument(
        "suite", choices=[*sorted(SUITES), ALL], help="which benchmark to run (all: each in turn)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny counts, to check the suite runs; writes nothing unless --out is given",
    )
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default: the suite's)")
    parser.add_argument("--calls", type=int, help="calls per round (default: the suite's)")
    parser.add_argument(
        "--out", type=Path, help=f"directory for the results file (default: {RESULTS_DIR})"
    )
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 when a target is missed"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite named on the command line (or every one); print tables and targets."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(args_list)
    out: Path | None = args.out
    if out is None and not args.quick:
        out = RESULTS_DIR
    names = sorted(SUITES) if args.suite == ALL else [args.suite]
    passed = True
    for name in names:
        rest = list(args_list)
        rest[rest.index(args.suite)] = name  # each results file names its own suite
        options = Options(
            calls=args.calls,
            rounds=args.rounds,
            quick=args.quick,
            out_dir=out,
            command=" ".join(["python -m benchmarks", *rest]),
            log=None if args.quick else _log,
        )
        report = SUITES[name](options)
        print(report.markdown)
        met = sum(c.passed for c in report.checks)
        print(f"targets met: {met} of {len(report.checks)}")
        if report.path is not None:
            print(f"wrote {report.path}")
        passed = passed and report.passed
    return 1 if args.strict and not passed else 0


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
