"""The public surface is a promise: pinned here, and the two shells kept twins."""

from __future__ import annotations

import inspect

import pytest

import governor
from governor import AsyncGovernor, Governor

PUBLIC = {
    "AccountId", "AmbiguousFailure", "RetriesExhausted", "RetryBudgetExhausted", "RetryError",
    "RetryPolicy", "StopUntilReset", "AsyncGovernor", "AsyncMemoryBackend", "AsyncRedisBackend",
    "BackendError",
    "BackendUnavailable", "Clock", "ConfigError", "CostTooLarge", "DailyQuota", "Decision",
    "Feedback", "Governor", "GovernorError", "GovernorSettings", "Hooks", "IndeterminateOutcome",
    "PrometheusHooks",
    "LimitExceeded", "RedisBackend",
    "ManualClock", "MemoryBackend", "Policy", "Profile", "ProfileError", "QuotaExhausted", "Rate",
    "Reservation", "SettingsError", "SystemClock", "UnknownRoute", "WaitTooLong", "__version__",
    "load_profile", "parse_quota", "parse_rate",
}

TWINS = {"close": "aclose", "__enter__": "__aenter__", "__exit__": "__aexit__"}


def test_all_is_pinned() -> None:
    assert set(governor.__all__) == PUBLIC
    for name in governor.__all__:
        assert getattr(governor, name) is not None


def test_every_public_name_has_a_docstring() -> None:
    for name in governor.__all__:
        obj = getattr(governor, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__, name
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and inspect.isfunction(member):
                    assert member.__doc__ or attr in {"now_us", "monotonic", "sleep", "asleep",
                                                      "decide", "refund", "apply", "close",
                                                      "aclose"}, (
                        f"{name}.{attr}")


def _public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {
        n: inspect.signature(m)
        for n, m in vars(cls).items()
        if callable(m) and (not n.startswith("_") or n in TWINS or n in TWINS.values())
        and n != "from_settings"
    }


def test_sync_and_async_shells_have_the_same_verbs_and_signatures() -> None:
    sync, aio = _public_methods(Governor), _public_methods(AsyncGovernor)
    assert {TWINS.get(n, n) for n in sync} == set(aio)
    for name, sig in sync.items():
        twin = aio[TWINS.get(name, name)]
        if name in TWINS:
            continue
        assert [(p.name, p.kind, p.default) for p in sig.parameters.values()] == [
            (p.name, p.kind, p.default) for p in twin.parameters.values()], name
        assert inspect.iscoroutinefunction(getattr(AsyncGovernor, name)) or name in (
            "limit", "limited")


def test_errors_carry_their_decision() -> None:
    gov = Governor(governor.Policy.of({"api": "1/second"}), clock=governor.ManualClock())
    gov.acquire()
    with pytest.raises(governor.WaitTooLong, match="timeout") as info:
        gov.acquire(timeout_s=0.1)
    assert info.value.decision.scope == "api"
    assert info.value.wait_s == 1.0
