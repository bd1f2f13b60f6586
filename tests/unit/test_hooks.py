"""Hooks and Prometheus metrics: every decision and every response is reported."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import pytest
from prometheus_client import CollectorRegistry

from governor import Governor, ManualClock, Policy, load_profile
from governor.hooks import PrometheusHooks

if TYPE_CHECKING:
    from governor.decision import Decision, Feedback

EMAIL = "POST /v1/email"


class Recorder:
    def __init__(self) -> None:
        self.decisions: list[Decision] = []
        self.feedback: list[tuple[str, int, Feedback]] = []

    def on_decision(self, decision: Decision) -> None:
        self.decisions.append(decision)

    def on_feedback(self, route: str, status: int, feedback: Feedback) -> None:
        self.feedback.append((route, status, feedback))


def mailersend(hooks: object) -> Governor:
    policy = Policy.from_profile(load_profile("mailersend").resolve("starter"))
    return Governor(policy, clock=ManualClock(), hooks=hooks)  # type: ignore[arg-type]


def test_every_decision_and_response_reaches_the_hooks() -> None:
    rec = Recorder()
    gov = mailersend(rec)
    gov.try_acquire(EMAIL)
    gov.try_acquire(EMAIL)  # denied
    d = gov.acquire(EMAIL)
    gov.reserve(EMAIL)
    gov.observe(EMAIL, 202, {"x-ratelimit-limit": "120"}, decision=d)
    assert [x.allowed for x in rec.decisions] == [True, False, True, True]
    assert [(r, s) for r, s, _ in rec.feedback] == [(EMAIL, 202)]


def test_a_broken_hook_never_stops_sending() -> None:
    class Broken:
        def on_decision(self, decision: Decision) -> None:
            raise RuntimeError("exporter down")

        def on_feedback(self, route: str, status: int, feedback: Feedback) -> None:
            raise RuntimeError("exporter down")

    gov = mailersend(Broken())
    assert gov.try_acquire(EMAIL).allowed
    gov.observe(EMAIL, 429, {"retry-after": "3"}, {"message": "#MS42903"})


def test_prometheus_metrics() -> None:
    registry = CollectorRegistry()
    gov = mailersend(PrometheusHooks(registry))
    d = gov.acquire(EMAIL)
    gov.try_acquire(EMAIL)
    reset = str(int(ManualClock().now_s()) + 30)
    gov.observe(EMAIL, 202, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
                decision=d)
    gov.observe(EMAIL, 429, {"retry-after": "3"}, {"message": "#MS42903"}, decision=d)

    def value(name: str, **labels: str) -> float:
        found = registry.get_sample_value(name, labels)
        return 0.0 if found is None else found

    assert value("governor_decisions_total", route=EMAIL, scope="email", result="allowed") == 1
    assert value("governor_decisions_total", route=EMAIL, scope="email", result="denied") == 1
    assert value("governor_wait_seconds_count", route=EMAIL) == 1
    assert value("governor_rate_limited_responses_total", route=EMAIL) == 1
    assert value("governor_responses_total", route=EMAIL, outcome="retry_later") == 1
    assert value("governor_pauses_total", route=EMAIL, scope="email") == 1
    assert value("governor_header_drift_calls_count", route=EMAIL) == 1


def test_prometheus_hooks_without_the_extra_name_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # import fails: not installed
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'quota-governor\[metrics\]'"):
        PrometheusHooks()
