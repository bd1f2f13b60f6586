"""Capacity planning: hand-worked analytic cases; the real engine on a virtual clock agrees."""

from __future__ import annotations

import json
import math
import sys
from datetime import datetime, timezone
from typing import TYPE_CHECKING

import pytest
from typer.testing import CliRunner

from governor.capacity import Latency, Workload, plan, sweep
from governor.cli import app
from governor.policy import Policy
from governor.profile import load_profile
from governor.simulation import simulate, useful_workers

if TYPE_CHECKING:
    from pathlib import Path

START = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)


def policy(plan_name: str, reputation: str | None = None) -> Policy:
    return Policy.from_profile(load_profile("mailersend").resolve(plan_name, reputation))


def test_rate_bound_starter_email() -> None:
    # 8 workers at 3 s could make 2.67 calls/s; POST /v1/email allows 120/min = 2/s.
    p = plan(policy("starter"), Workload(1_000), 8, Latency(3.0), START)
    assert p.binding == "email"
    assert (p.calls_per_s, p.messages_per_s) == (2.0, 2.0)
    assert p.worker_calls_per_s == pytest.approx(8 / 3)
    assert p.drain_s == pytest.approx(500.0)
    assert p.useful_workers == 7  # 2/s x 3 s x 1.1 = 6.6
    assert p.days == 1
    assert p.quota_runs_out_at is None
    assert p.redis_commands_per_s == pytest.approx((2.0, 2.2))


def test_worker_bound_when_workers_are_too_few() -> None:
    p = plan(policy("starter"), Workload(1_000), 2, Latency(3.0), START)
    assert p.binding == "workers"
    assert p.calls_per_s == pytest.approx(2 / 3)
    assert p.drain_s == pytest.approx(1_500.0)
    assert p.rate_calls_per_s == 2.0


def test_hobby_quota_spans_three_calendar_days() -> None:
    # 1,000 calls a day at 2/s: day 1 from 15:00 runs out at 15:08:20, day 2 sends 1,000 from
    # midnight, day 3 the last 500 in 250 s.
    p = plan(policy("hobby"), Workload(2_500), 8, Latency(0.3), START)
    assert p.days == 3
    assert p.quota_per_day == 1_000
    assert p.quota_runs_out_at == datetime(2026, 11, 23, 15, 8, 20, tzinfo=timezone.utc)
    assert p.finish == datetime(2026, 11, 25, 0, 4, 10, tzinfo=timezone.utc)
    assert p.drain_s == pytest.approx(9 * 3600 + 86_400 + 250)
    assert p.sending_s == pytest.approx(1_250)
    assert p.quota_binds


def test_quota_already_used_runs_out_sooner() -> None:
    p = plan(policy("hobby"), Workload(700), 8, Latency(0.3), START, quota_used=400)
    assert p.quota_runs_out_at == datetime(2026, 11, 23, 15, 5, tzinfo=timezone.utc)
    assert p.finish == datetime(2026, 11, 24, 0, 0, 50, tzinfo=timezone.utc)
    assert p.days == 2


def test_starter_250k_runs_out_on_the_second_day() -> None:
    p = plan(policy("starter"), Workload(250_000), 8, Latency(0.3), START)
    # 9 h to midnight at 2/s = 64,800; day 2: 100,000 by 13:53:20; day 3: 85,200 by 11:50.
    assert p.quota_runs_out_at == datetime(2026, 11, 24, 13, 53, 20, tzinfo=timezone.utc)
    assert p.finish == datetime(2026, 11, 25, 11, 50, tzinfo=timezone.utc)
    assert p.days == 3


def test_bulk_calls_bind_on_the_bulk_bucket() -> None:
    # Professional: bulk-email 30/min (0.5/s) and general 60/min; 10,000 messages in 200 calls.
    p = plan(policy("professional"), Workload(10_000, 1.0, 50), 4, Latency(0.3), START)
    assert p.calls == 200
    assert p.binding == "bulk_email"
    assert (p.calls_per_s, p.messages_per_s) == (0.5, 25.0)
    assert p.drain_s == pytest.approx(400.0)


def test_mixed_job_shares_the_rate_by_call_share() -> None:
    # 10,000 single calls and 100 bulk calls: email carries 10,000/10,100 of the calls.
    p = plan(policy("starter"), Workload(20_000, 0.5, 100), 50, Latency(0.3), START)
    assert [(r.route, r.calls) for r in p.routes] == [
        ("POST /v1/email", 10_000), ("POST /v1/bulk-email", 100)]
    assert p.binding == "email"
    assert p.calls_per_s == pytest.approx(2 * 10_100 / 10_000)
    assert p.drain_s == pytest.approx(5_000.0)


def test_sweep_shows_where_more_workers_stop_helping() -> None:
    plans = sweep(policy("starter"), Workload(1_000), [1, 2, 4, 8, 16], Latency(3.0), START)
    assert [p.binding for p in plans] == ["workers"] * 3 + ["email"] * 2
    assert plans[3].drain_s == plans[4].drain_s


def test_plan_json_is_iso_utc() -> None:
    data = plan(policy("hobby"), Workload(2_500), 8, Latency(0.3), START).to_dict()
    text = json.dumps(data)
    assert data["finish"] == "2026-11-25T00:04:10Z"
    assert data["quota_runs_out_at"] == "2026-11-23T15:08:20Z"
    assert data["redis_commands_per_s"] == {"min": 2.0, "max": pytest.approx(2.2)}
    assert "timeline" not in text


def test_latency_models() -> None:
    assert Latency(0.3).mean_s == 0.3
    lognormal = Latency(0.3, 1.2)  # sigma = ln(4) / z99
    assert lognormal.mean_s == pytest.approx(0.3 * math.exp((math.log(4) / 2.3263478740) ** 2 / 2))
    assert Latency.from_samples([0.1, 0.2, 0.6]).mean_s == pytest.approx(0.3)
    with pytest.raises(ValueError, match="below the median"):
        Latency(0.3, 0.2)


def test_inputs_are_checked() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        plan(policy("starter"), Workload(10), 1, Latency(0.3), datetime(2026, 11, 23))
    with pytest.raises(ValueError, match="workload"):
        Workload(10, bulk_share=1.5)


CASES = [  # (plan, reputation, workload, workers, latency)
    ("starter", None, Workload(2_000), 8, Latency(0.3)),
    ("starter", None, Workload(2_000), 1, Latency(1.0)),
    ("starter", None, Workload(2_000), 1, Latency(2.0, 4.0)),
    ("starter", None, Workload(2_000), 20, Latency(3.0, 6.0)),
    ("hobby", None, Workload(2_500), 8, Latency(0.3, 0.9)),
    ("professional", None, Workload(10_000, 1.0, 50), 3, Latency(0.3, 1.0)),
    ("starter", None, Workload(20_000, 0.5, 100), 2_000, Latency(0.3, 1.0)),
    ("starter", "under_review", Workload(500), 2_000, Latency(3.0, 6.0)),
    # latencies about one spacing (0.5 s) and spread: calls bunch and wait for their slot
    ("starter", None, Workload(2_000), 1, Latency(0.3, 1.5)),
    ("starter", None, Workload(2_000), 2, Latency(1.0, 2.0)),
]


@pytest.mark.parametrize(("plan_name", "reputation", "workload", "workers", "latency"), CASES)
def test_simulation_agrees_with_the_plan(
    plan_name: str, reputation: str | None, workload: Workload, workers: int, latency: Latency
) -> None:
    pol = policy(plan_name, reputation)
    expected = plan(pol, workload, workers, latency, START)
    got = simulate(pol, workload, workers, latency, START, seed=7)
    assert got.messages == workload.messages
    assert got.calls == expected.calls
    assert got.drain_s == pytest.approx(expected.drain_s, rel=0.02)
    assert got.days == expected.days
    assert got.decisions >= got.calls


def test_simulated_quota_runs_out_when_planned() -> None:
    pol = policy("hobby")
    expected = plan(pol, Workload(2_500), 8, Latency(0.3), START)
    got = simulate(pol, Workload(2_500), 8, Latency(0.3), START)
    assert got.quota_runs_out_at is not None
    assert expected.quota_runs_out_at is not None
    gap = abs((got.quota_runs_out_at - expected.quota_runs_out_at).total_seconds())
    assert gap <= 1.0
    assert got.timeline[-1][1] == 2_500


def test_latency_spread_needs_more_workers_than_littles_law() -> None:
    pol = policy("starter")
    assert useful_workers(pol, Workload(10_000), Latency(0.3), START) == 1
    spread = Latency(0.3, 1.2)
    assert plan(pol, Workload(10_000), 1, spread, START).useful_workers == 2  # as simulated
    assert useful_workers(pol, Workload(10_000), spread, START) == 2


@pytest.mark.parametrize("latency", [
    Latency(0.3), Latency(3.0), Latency(0.3, 0.6), Latency(0.3, 1.2), Latency(0.3, 3.0),
    Latency(1.0, 1.5), Latency(3.0, 10.0), Latency(0.05, 2.0),
    Latency.from_samples([0.1, 0.2, 0.9]),
])
@pytest.mark.parametrize("workers", [1, 8])
def test_workers_worth_having_agrees_with_the_table_of_more_workers(
    latency: Latency, workers: int
) -> None:
    pol, job = policy("starter"), Workload(10_000)
    useful = plan(pol, job, workers, latency, START).useful_workers
    table = {p.workers: p.calls_per_s for p in sweep(pol, job, range(1, 4 * useful + 3),
                                                     latency, START)}
    best = max(table.values())
    fewest = min(w for w, calls_per_s in table.items() if calls_per_s >= 0.995 * best)
    # The table's fewest workers that get the throughput (within 0.5%), and 10% headroom.
    assert fewest <= useful <= math.ceil(1.11 * fewest)


runner = CliRunner()


def test_plan_command_json() -> None:
    result = runner.invoke(app, [
        "plan", "--plan", "hobby", "--messages", "2500", "--workers", "8",
        "--latency-ms", "300", "--start", "2026-11-23T15:00:00Z", "--simulate", "--json",
    ])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["plan"]["days"] == data["simulation"]["days"] == 3
    assert data["plan"]["binding"] == "email"
    assert data["workers"][0]["workers"] == 1
    assert data["simulation"]["useful_workers"] == 1


def test_plan_command_table_and_errors() -> None:
    result = runner.invoke(app, ["plan", "--plan", "starter", "--messages", "250000"])
    assert result.exit_code == 0, result.output
    assert "binding limit" in result.output
    assert "email" in result.output
    bad = runner.invoke(app, ["plan", "--plan", "gold", "--messages", "10"])
    assert bad.exit_code == 2
    assert "unknown plan" in bad.output


def test_plan_command_plot(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "plan.png"
    result = runner.invoke(app, [
        "plan", "--plan", "hobby", "--messages", "2500", "--start", "2026-11-23T15:00Z",
        "--plot", str(out),
    ])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 1_000


def test_plan_command_says_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = runner.invoke(app, ["plan", "--messages", "10", "--plot", str(tmp_path / "x.png")])
    assert result.exit_code == 2
    assert "pip install matplotlib" in result.output
    bad = runner.invoke(app, ["plan", "--messages", "10", "--start", "yesterday"])
    assert bad.exit_code == 2
    assert "ISO-8601" in bad.output


def test_a_latency_spread_costs_a_lone_worker_its_calls_over_a_spacing() -> None:
    latency = Latency(0.3, 1.5)
    p = plan(policy("starter"), Workload(2_000), 1, latency, START)  # one call per 0.505 s
    spacing = 0.5
    # The lone worker's cycle is max(latency, spacing): a spacing plus the excess over it.
    assert p.calls_per_s == pytest.approx(1 / (spacing + latency.excess_s(spacing)), rel=1e-4)
    assert Latency(0.3).excess_s(0.2) == pytest.approx(0.1)
    assert Latency.from_samples([0.1, 0.7]).excess_s(0.5) == pytest.approx(0.1)



def paced(plan_name: str, until_h: float = 24.0, reserve: int = 0) -> Policy:
    return Policy.from_profile(load_profile("mailersend").resolve(plan_name),
                               quota_reserve=reserve, pacing=True, pace_until_h=until_h)


def test_a_paced_quota_spreads_the_job_over_what_is_left_of_each_day() -> None:
    # Hobby, 1,000 a day paced over the whole day, from 15:00: day 1 spreads 1,000 over the 9
    # hours left, day 2 over all 24, the last 500 take half of day 3.
    p = plan(paced("hobby"), Workload(2_500), 8, Latency(0.3), START)
    assert p.paced_until_h == 24.0
    assert p.quota_runs_out_at == datetime(2026, 11, 24, 0, 0, tzinfo=timezone.utc)
    assert p.finish == datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
    assert p.days == 3
    assert p.sending_s == pytest.approx(45 * 3600)  # it sends all along, slowly
    timeline = dict(p.timeline)
    assert timeline[9 * 3600] == pytest.approx(1_000)


def test_a_pace_until_an_hour_ends_each_days_spend_at_that_hour() -> None:
    p = plan(paced("hobby", until_h=18.0), Workload(2_500), 8, Latency(0.3), START)
    assert p.quota_runs_out_at == datetime(2026, 11, 23, 18, 0, tzinfo=timezone.utc)
    assert p.finish == datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)


def test_a_job_slower_than_the_line_is_not_held_by_it() -> None:
    # Starter: 100,000 a day over the 9 hours left is 3.1 calls/s; POST /v1/email allows 2/s.
    p = plan(paced("starter"), Workload(1_000), 8, Latency(3.0), START)
    assert p.drain_s == pytest.approx(500.0)
    assert p.quota_runs_out_at is None


def test_what_the_reserve_costs_in_drain_time() -> None:
    # 2,000 on Hobby fit in two days' quota; with 100 a day held back the last 200 wait for a
    # third day's midnight.
    free = plan(policy("hobby"), Workload(2_000), 8, Latency(0.3), START)
    held = plan(Policy.from_profile(load_profile("mailersend").resolve("hobby"),
                                    quota_reserve=100), Workload(2_000), 8, Latency(0.3), START)
    assert (free.quota_reserve, free.reserve_cost_s) == (0, 0.0)
    assert held.quota_reserve == 100
    assert held.finish == datetime(2026, 11, 25, 0, 1, 40, tzinfo=timezone.utc)
    assert held.reserve_cost_s == pytest.approx(86_400 - 500 + 100)
    assert plan(policy("starter"), Workload(1_000), 8, Latency(3.0), START).reserve_cost_s == 0


def test_simulation_agrees_with_the_paced_plan() -> None:
    pol = paced("hobby")
    expected = plan(pol, Workload(2_500), 8, Latency(0.3), START)
    got = simulate(pol, Workload(2_500), 8, Latency(0.3), START)
    assert got.calls == 2_500
    assert got.drain_s == pytest.approx(expected.drain_s, rel=0.01)
    assert got.days == expected.days


def test_plan_command_accounts_for_pacing_and_the_reserve() -> None:
    args = ["plan", "--plan", "hobby", "--messages", "2000", "--latency-ms", "300",
            "--start", "2026-11-23T15:00:00Z", "--pacing", "--pace-until-hour", "18",
            "--priority-reserve", "100"]
    data = json.loads(runner.invoke(app, [*args, "--json"]).output)["plan"]
    assert (data["paced_until_h"], data["quota_reserve"]) == (18.0, 100)
    assert data["quota_runs_out_at"] == "2026-11-23T18:00:00Z"  # 900 spread from 15:00
    assert data["finish"] == "2026-11-25T04:00:00Z"  # 200 of day 3's 900, by 18 h x 2/9
    assert data["reserve_cost_s"] == pytest.approx(10 * 3600)  # without it: 18:00 of day 2
    table = runner.invoke(app, args)
    assert table.exit_code == 0, table.output
    assert "spread until 18:00" in table.output
    assert "+10 h of drain time" in table.output
    off = json.loads(runner.invoke(app, [*args[:9], "--json"]).output)["plan"]
    assert (off["paced_until_h"], off["reserve_cost_s"]) == (None, 0.0)
