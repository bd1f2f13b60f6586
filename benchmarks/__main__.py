"""``python -m benchmarks <suite> [--quick] [--rounds R] [--calls N] [--out DIR] [--strict]``.

A suite is a function from :class:`~benchmarks.harness.Options` to a
:class:`~benchmarks.harness.Report`; add one to :data:`SUITES` to make it runnable here.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks import memory, provider, redis
from benchmarks.harness import Options, Report

__all__ = ["RESULTS_DIR", "SUITES", "main"]

Suite = Callable[[Options], Report]

SUITES: dict[str, Suite] = {
    "memory": memory.run,
    "provider": provider.run,
    "redis": redis.run,
}

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="Measure governor against its peers."
    )
    parser.add_argument("suite", choices=sorted(SUITES), help="which benchmark to run")
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
    """Run the suite named on the command line; print its table and targets."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(args_list)
    out: Path | None = args.out
    if out is None and not args.quick:
        out = RESULTS_DIR
    options = Options(
        calls=args.calls,
        rounds=args.rounds,
        quick=args.quick,
        out_dir=out,
        command=" ".join(["python -m benchmarks", *args_list]),
        log=None if args.quick else _log,
    )
    report = SUITES[args.suite](options)
    print(report.markdown)
    met = sum(c.passed for c in report.checks)
    print(f"targets met: {met} of {len(report.checks)}")
    if report.path is not None:
        print(f"wrote {report.path}")
    return 1 if args.strict and not report.passed else 0


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
