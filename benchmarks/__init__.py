"""Benchmarks of governor itself: decision cost, and later Redis round trips and fleet runs.

Run one suite with ``python -m benchmarks <name> [--quick] [--rounds R] [--calls N]``; the
suites are listed in ``benchmarks/__main__.py``. Results go to ``benchmarks/results/*.md``.
The shared machinery (interleaved rounds, ratios, markdown) is in :mod:`benchmarks.harness`.
"""
