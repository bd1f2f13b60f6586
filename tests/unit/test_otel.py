"""OpenTelemetry metrics, read back with the SDK's in-memory reader: names, units, attributes,
and values bounded to route and scope names."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from governor import Governor, ManualClock, Policy, load_profile
from governor.otel import OpenTelemetryHooks

if TYPE_CHECKING:
    from collections.abc import Iterator

EMAIL = "POST /v1/email"
RATE_429 = {"message": "Your account reached its rate limit. #MS42903"}


@pytest.fixture
def reader() -> Iterator[InMemoryMetricReader]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    reader.provider = provider  # type: ignore[attr-defined]  # one provider per reader
    yield reader
    provider.shutdown()


def governed(reader: InMemoryMetricReader, **options: Any) -> Governor:
    policy = Policy.from_profile(load_profile("mailersend").resolve("starter"))
    hooks = OpenTelemetryHooks(reader.provider, **options)  # type: ignore[attr-defined]
    return Governor(policy, clock=ManualClock(1_767_225_600.0), account="acme-secret-key",
                    hooks=hooks)


def points(reader: InMemoryMetricReader) -> dict[str, tuple[str, list[tuple[dict[str, Any],
                                                                            Any]]]]:
    """``{name: (unit, [(attributes, value or histogram count/sum)])}``."""
    data = reader.get_metrics_data()
    assert data is not None
    found: dict[str, tuple[str, list[tuple[dict[str, Any], Any]]]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            assert scope.scope.name == "governor"
            for metric in scope.metrics:
                rows = []
                for p in metric.data.data_points:
                    value = getattr(p, "value", None)
                    if value is None:
                        value = (getattr(p, "count", None), getattr(p, "sum", None))
                    rows.append((dict(p.attributes or {}), value))
                found[metric.name] = (metric.unit or "", rows)
    return found


def test_decisions_are_counted_by_result_scope_and_route(reader: InMemoryMetricReader) -> None:
    gov = governed(reader)
    gov.acquire(EMAIL)
    gov.try_acquire(EMAIL)  # denied: the email bucket
    gov.acquire(EMAIL)  # booked 0.5 s ahead
    got = points(reader)
    unit, rows = got["governor.decisions"]
    assert unit == "{decision}"
    by_result = {(a["governor.result"], a["governor.scope"], a["governor.degraded"]): v
                 for a, v in rows}
    assert by_result == {("allowed", "email", False): 2, ("denied", "email", False): 1}
    assert {a["governor.route"] for a, _ in rows} == {EMAIL}
    unit, waits = got["governor.request.time_in_queue"]
    assert unit == "s"
    [(attributes, (count, total))] = waits
    assert attributes == {"governor.route": EMAIL, "governor.scope": "email"}
    assert (count, total) == (2, pytest.approx(0.5))


def test_429s_and_503s_are_counted_by_scope_with_the_pauses_and_drift(
    reader: InMemoryMetricReader,
) -> None:
    gov = governed(reader)
    d = gov.acquire(EMAIL)
    gov.try_acquire(EMAIL)
    reset = str(gov.clock.now_us() // 1_000_000 + 30)
    gov.observe(EMAIL, 202, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
                decision=d)
    gov.observe(EMAIL, 429, {"retry-after": "3"}, RATE_429, decision=d)
    gov.observe(EMAIL, 503, {"retry-after": "5"}, decision=d)
    got = points(reader)
    unit, rows = got["governor.responses"]
    assert unit == "{response}"
    by_status = {(a["http.response.status_code"], a["governor.outcome"],
                  a["governor.outcome.scope"]): v for a, v in rows}
    assert by_status == {(202, "ok", "request"): 1, (429, "retry_later", "rate"): 1,
                         (503, "retry_later", "service"): 1}
    _, pauses = got["governor.pauses"]
    assert {a["governor.scope"]: v for a, v in pauses} == {"email": 1, "account": 1}
    unit, drift = got["governor.header.drift"]
    assert unit == "{call}"
    [(attributes, (count, total))] = drift
    assert attributes == {"governor.route": EMAIL, "governor.drift.direction": "server_lower"}
    assert (count, total) == (1, 59)  # the provider said 0 left, the local estimate 59


def test_degraded_decisions_say_so(reader: InMemoryMetricReader) -> None:
    hooks = OpenTelemetryHooks(reader.provider)  # type: ignore[attr-defined]
    decision = governed(reader).try_acquire(EMAIL)._replace(degraded=True)
    hooks.on_decision(decision)
    _, rows = points(reader)["governor.decisions"]
    assert sorted((a["governor.degraded"], v) for a, v in rows) == [(False, 1), (True, 1)]


def test_attribute_values_stay_bounded(reader: InMemoryMetricReader) -> None:
    gov = governed(reader)
    gov.acquire("GET /v1/activity/42?page=2")
    gov.observe("GET https://user:pw@api.mailersend.com/v1/activity/7", 200)
    routed = governed(reader, router=gov.policy.router)
    routed.observe("GET https://api.mailersend.com/v1/activity/7?page=3", 200)
    routed.observe("NOT-A-ROUTE", 200)
    values = {str(v) for rows in (r for _, r in points(reader).values())
              for attributes, _ in rows for v in attributes.values()}
    assert "GET /v1/activity/**" in values
    assert "other" in values
    assert not any("acme" in v or "user" in v or "page" in v or "://" in v for v in values)


def test_otel_hooks_without_the_extra_name_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # import fails: not installed
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'quota-governor\[otel\]'"):
        OpenTelemetryHooks()
