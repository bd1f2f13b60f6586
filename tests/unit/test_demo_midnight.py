"""The midnight scenario's plan (where the fleet's and the provider's midnights fall) and its bar,
read from logs the mock's own rules write for a pretend fleet. Pure: no server, no sleeping."""

from __future__ import annotations

from typing import Any

import pytest

from governor.demo.midnight import (
    LEAD_S,
    STARTUP_S,
    MidnightPlan,
    midnight_event,
    plan_midnight,
)
from governor.demo.scenarios import SCENARIOS, Spend, with_midnight
from governor.mock import Call, MockRules, VirtualClock
from governor.mock.clock import day_of
from governor.settings import GovernorSettings

MIDNIGHT = 1_767_312_000.0  # 2026-01-02T00:00:00Z on the provider's clock
SCALE = 6.0
NOW = 1_795_000_000.0
MIDNIGHT_SCENARIO = SCENARIOS["midnight"]


@pytest.mark.parametrize("time_scale", [3.0, 6.0, 60.0])
@pytest.mark.parametrize("offset_s", [-60.0, 0.0, 60.0])
def test_plan_runs_the_quota_out_just_before_the_first_midnight(
    time_scale: float, offset_s: float
) -> None:
    scenario = with_midnight(MIDNIGHT_SCENARIO, clock_offset_s=offset_s)
    plan = plan_midnight(scenario, time_scale, NOW, 150)
    scale = plan.time_scale
    assert abs(scale - time_scale) / time_scale < 1e-4
    assert plan.reset_s == pytest.approx(plan.fleet_midnight_s - offset_s * scale / 60)
    assert plan.runs_out_s == pytest.approx(min(plan.reset_s, plan.fleet_midnight_s) - LEAD_S)
    assert NOW + STARTUP_S - 1.01 < plan.go_at_s < NOW + STARTUP_S + 0.01
    share_s = 70 / scenario.requests_per_s(scale)  # 100 a day, 30 of it out of band
    (first_s, first), (second_s, second) = plan.spends
    assert (first, second) == (15, 15)
    assert [first_s, second_s] == pytest.approx([plan.go_at_s, plan.go_at_s + share_s / 2])
    assert plan.go_at_s + share_s == pytest.approx(plan.runs_out_s)
    assert plan.ends_by_s > max(plan.reset_s, plan.fleet_midnight_s)
    # The governor's quota day ends at the fleet's midnight ...
    settings = GovernorSettings.load(provider="mailersend", plan="trial", time_scale=scale)
    quota = settings.policy().spec("POST /v1/email").quota
    assert quota is not None
    assert round(plan.fleet_midnight_s * 1e6) % quota.day_us == 0
    # ... and the mock's offset clock starts its day at the provider's reset.
    def provider_day(real_s: float) -> int:
        return day_of(VirtualClock(scale, offset_s=offset_s, wall=lambda: real_s).now_s())

    assert provider_day(plan.reset_s + 0.001) == provider_day(plan.reset_s - 0.001) + 1


def test_midnight_variants_split_the_spend_and_refuse_what_cannot_run() -> None:
    assert with_midnight(MIDNIGHT_SCENARIO) is MIDNIGHT_SCENARIO
    assert MIDNIGHT_SCENARIO.clock_offset_s == -60.0
    assert with_midnight(MIDNIGHT_SCENARIO, out_of_band=7).out_of_band == (
        Spend(0.0, 4), Spend(0.5, 3))
    assert with_midnight(MIDNIGHT_SCENARIO, out_of_band=1).out_of_band == (Spend(0.0, 1),)
    assert with_midnight(MIDNIGHT_SCENARIO, out_of_band=0, clock_offset_s=0).out_of_band == ()
    with pytest.raises(ValueError, match="for the midnight scenario"):
        with_midnight(SCENARIOS["steady"], out_of_band=5)
    with pytest.raises(ValueError, match="leave the fleet part"):
        with_midnight(MIDNIGHT_SCENARIO, out_of_band=100)
    with pytest.raises(ValueError, match="under half a day"):
        with_midnight(MIDNIGHT_SCENARIO, clock_offset_s=50_000)


def provider_log(sends: list[float], spends: list[tuple[float, int]]) -> list[dict[str, Any]]:
    """The mock's log for fleet sends and out-of-band spends at provider times (seconds from
    the provider's midnight)."""
    rules = MockRules("mailersend", time_scale=SCALE)
    rules.accounts.add("demo", "tok", plan="trial")  # 100 requests a day
    events = [(t, 0) for t in sends] + spends
    for t, requests in sorted(events):
        if requests:
            rules.spend("demo", requests, MIDNIGHT + t)
        else:
            rules.handle(Call("POST", "/v1/email", "tok"), MIDNIGHT + t)
    return [e.to_json() for e in rules.log]


def steps(start: float, count: int) -> list[float]:
    return [start + 0.5 * i for i in range(count)]  # 120/min: one each 0.5 provider s


PLAN = MidnightPlan(SCALE, 1_000_006.0, 1_000_000.0, 0.0, 0.0, (), 0.0)
SPENDS = [(-40.0, 15), (-22.1, 15)]
BAR_V = 0.5 + 1.0 + 0.1 * 10  # an interval, the Date header's second, 0.1 real s at 6 s/min


@pytest.mark.parametrize(
    ("case", "before", "after", "met"),
    [
        ("on time", 70, 0.3, True),
        ("just inside the bar", 70, BAR_V - 0.01, True),
        ("just outside the bar", 70, BAR_V + 0.01, False),
        ("at the governor's own midnight", 70, 60.0, False),
        ("quota left unused", 65, 0.3, False),
    ],
)
def test_midnight_bar_reads_the_run_from_the_mocks_log(
    case: str, before: int, after: float, met: bool
) -> None:
    log = provider_log(steps(-39.5, before) + steps(after, 10), SPENDS)
    m = midnight_event(log, PLAN, MIDNIGHT_SCENARIO, started_s=999_990.0)
    assert m is not None
    assert (m["met"], m["out_of_band"], m["sent_before"], m["sent_after"]) == (
        met, 30, before, 10), case
    assert (m["over_quota_sends"], m["tried_before_reset"]) == (0, 0)
    assert m["resumed_after_provider_s"] == pytest.approx(after)
    assert m["resumed_after_s"] == pytest.approx(after / 10, abs=1e-4)
    assert (m["bar_provider_s"], m["bar_s"]) == (pytest.approx(BAR_V), pytest.approx(BAR_V / 10))
    assert (m["reset_at_s"], m["fleet_midnight_after_reset_s"]) == (10.0, 6.0)
    ran_out = m["ran_out_before_reset_s"]
    if before == 70:
        assert ran_out == pytest.approx((39.5 - 0.5 * 69) / 10)  # the 70th send spent the day
        assert m["first_try_after_reset_s"] == pytest.approx(after / 10, abs=1e-4)
    else:
        assert ran_out is None


def test_midnight_bar_counts_every_send_over_the_quota_and_when_it_came() -> None:
    log = provider_log(steps(-39.5, 77) + steps(0.2, 10), SPENDS)  # 7 too many: one per worker
    m = midnight_event(log, PLAN, MIDNIGHT_SCENARIO, started_s=999_990.0)
    assert m is not None
    assert (m["met"], m["sent_before"], m["over_quota_sends"], m["tried_before_reset"]) == (
        False, 70, 7, 7)
    assert m["first_try_after_reset_s"] == pytest.approx((-39.5 + 0.5 * 70) / 10)
    assert m["resumed_after_provider_s"] == pytest.approx(0.2)
    assert midnight_event([], PLAN, MIDNIGHT_SCENARIO, started_s=0.0) is None
