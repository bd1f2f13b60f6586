"""OpenTelemetry metrics from a fleet on a real Redis: two governors (two workers) on one
account report their decisions, and the pause one worker's 429 set, through one meter."""

from __future__ import annotations

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from governor import Governor, Policy, RedisBackend, load_profile
from governor.otel import OpenTelemetryHooks

EMAIL = "POST /v1/email"


def test_a_fleet_on_redis_reports_through_one_meter(redis_url: str, key_prefix: str) -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    hooks = OpenTelemetryHooks(provider)
    policy = Policy.from_profile(load_profile("mailersend").resolve("starter"))
    workers = [Governor(policy, RedisBackend.from_url(redis_url, prefix=key_prefix),
                        account="acme", hooks=hooks) for _ in range(2)]
    try:
        assert workers[0].try_acquire(EMAIL)
        assert not workers[1].try_acquire(EMAIL)  # the other worker spent the slot
        workers[1].observe(EMAIL, 429, {"retry-after": "30"},
                           {"message": "Your account reached its rate limit. #MS42903"})
        paused = workers[0].try_acquire(EMAIL)
        assert not paused.allowed
        assert paused.wait_s > 25  # the email bucket paused for the fleet (30 provider s)
        data = reader.get_metrics_data()
        assert data is not None
        metrics = {m.name: m for r in data.resource_metrics for s in r.scope_metrics
                   for m in s.metrics}
        counts = {(dict(p.attributes or {})["governor.result"],
                   dict(p.attributes or {})["governor.scope"]): p.value  # type: ignore[union-attr]
                  for p in metrics["governor.decisions"].data.data_points}
        assert counts == {("allowed", "email"): 1, ("denied", "email"): 2}
        assert [dict(p.attributes or {})["http.response.status_code"]
                for p in metrics["governor.responses"].data.data_points] == [429]
        assert [dict(p.attributes or {})["governor.scope"]
                for p in metrics["governor.pauses"].data.data_points] == ["email"]
    finally:
        for gov in workers:
            gov.close()
        provider.shutdown()
