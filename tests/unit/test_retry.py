"""The retry policy, pure: which outcomes and errors are retried, when, and what is never
resent; the fleet's retry budget. Table-driven; no sleeping, no network."""

from __future__ import annotations

import socket

import fakeredis
import httpx
import pytest
import requests
import urllib3.exceptions

from governor import AsyncGovernor, Governor, GovernorError, ManualClock, MemoryBackend, Policy
from governor.backends.memory import AsyncMemoryBackend
from governor.backends.redis import RedisBackend
from governor.decision import Feedback
from governor.errors import ConfigError
from governor.headers import Observation
from governor.outcome import Outcome, OutcomeKind
from governor.retry import (
    AmbiguousFailure,
    ErrorKind,
    RetriesExhausted,
    RetryBudgetExhausted,
    RetryError,
    RetryPolicy,
    RetryVerdict,
    StopUntilReset,
    classify_error,
    give_up_message,
    reset_at,
    retry_budget,
)

NOW_S = 1_767_225_600.0  # 2026-01-01T00:00:00Z
K = OutcomeKind
HALF = RetryPolicy(rng=lambda: 0.5, budget=None)


def feedback(kind: OutcomeKind, *, retry_in_s: float | None = None, hint: str | None = None,
             quota_reset_s: float | None = None) -> Feedback:
    retry_at_us = None if retry_in_s is None else round((NOW_S + retry_in_s) * 1_000_000)
    quota_at_us = None if quota_reset_s is None else round(quota_reset_s * 1_000_000)
    return Feedback(Outcome(kind, scope_hint=hint, message=f"{kind.value}"),
                    Observation(retry_at_us=retry_at_us, quota_reset_at_us=quota_at_us))


def decide(policy: RetryPolicy, fb: Feedback | None = None, error: BaseException | None = None,
           *, attempt: int = 1, safe: bool = False, left_s: float | None = None) -> RetryVerdict:
    return policy.decide(attempt, fb, error, resend_safe=safe, now_s=NOW_S, left_s=left_s)


@pytest.mark.parametrize(("kind", "safe", "retry", "error"), [
    (K.OK, False, False, None),
    (K.FAIL, True, False, None),
    (K.STOP, True, False, None),
    (K.STOP_UNTIL_RESET, True, False, StopUntilReset),
    (K.RETRY_LATER, False, True, None),  # refused by the provider: a resend is safe
    (K.BACKOFF, True, True, None),
    (K.BACKOFF, False, False, None),  # may have been processed: never resent
])
def test_outcomes_are_retried_only_when_the_table_says(
    kind: OutcomeKind, safe: bool, retry: bool, error: type[RetryError] | None
) -> None:
    verdict = decide(HALF, feedback(kind), safe=safe)
    assert (verdict.retry, verdict.error) == (retry, error)


def test_retry_later_waits_for_retry_after() -> None:
    assert decide(HALF, feedback(K.RETRY_LATER, retry_in_s=7.5)).delay_s == 7.5
    assert decide(HALF, feedback(K.RETRY_LATER, retry_in_s=-3)).delay_s == 0.0
    assert decide(HALF, feedback(K.RETRY_LATER)).delay_s == 0.0  # the governor's next slot


def test_a_retry_after_beyond_max_wait_gives_up_with_the_response() -> None:
    verdict = decide(RetryPolicy(max_wait_s=60, budget=None), feedback(K.RETRY_LATER,
                                                                        retry_in_s=61))
    assert (verdict.retry, verdict.error) == (False, None)
    assert "beyond max_wait_s" in verdict.reason


@pytest.mark.parametrize(("fb", "error", "left_s", "retry"), [
    (feedback(K.RETRY_LATER, retry_in_s=30), None, 1.0, False),
    (feedback(K.RETRY_LATER, retry_in_s=0.2), None, 1.0, True),
    (feedback(K.RETRY_LATER, retry_in_s=1.0), None, 1.0, False),  # would start at the deadline
    (feedback(K.RETRY_LATER), None, 0.0, False),  # no time left, not even for the next slot
    (feedback(K.RETRY_LATER, retry_in_s=30), None, None, True),  # no timeout
    (feedback(K.BACKOFF), None, 0.2, False),  # backoff 0.25 s
    (feedback(K.BACKOFF), None, 0.3, True),
    (None, httpx.ConnectError("refused"), 0.25, False),
    (None, httpx.ConnectError("refused"), 0.26, True),
])
def test_a_retry_is_made_only_if_it_starts_before_the_calls_deadline(
    fb: Feedback | None, error: BaseException | None, left_s: float | None, retry: bool
) -> None:
    verdict = decide(HALF, fb, error, safe=True, left_s=left_s)
    assert verdict.retry is retry
    if not retry:
        assert verdict.error is RetriesExhausted
        assert "within the call's timeout_s" in verdict.reason
        assert "timeout_s" in give_up_message("POST /v1/email", verdict, 1, fb)


def test_backoff_is_full_jitter_exponential_and_capped() -> None:
    policy = RetryPolicy(base_delay_s=1.0, max_delay_s=5.0, rng=lambda: 0.5, budget=None)
    assert [policy.backoff_s(n) for n in (1, 2, 3, 4, 100)] == [0.5, 1.0, 2.0, 2.5, 2.5]
    full = RetryPolicy(base_delay_s=1.0, rng=lambda: 0.999, budget=None)
    assert full.backoff_s(2) == pytest.approx(1.998)
    assert RetryPolicy(rng=lambda: 0.0, budget=None).backoff_s(3) == 0.0


def test_retry_ambiguous_opts_in_to_resending_after_a_5xx() -> None:
    policy = RetryPolicy(retry_ambiguous=True, rng=lambda: 0.5, budget=None)
    verdict = decide(policy, feedback(K.BACKOFF))
    assert (verdict.retry, verdict.delay_s) == (True, 0.25)


def test_the_last_attempt_gives_up() -> None:
    policy = RetryPolicy(max_attempts=2, budget=None)
    assert decide(policy, feedback(K.RETRY_LATER), attempt=1).retry
    verdict = decide(policy, feedback(K.RETRY_LATER), attempt=2)
    assert (verdict.retry, verdict.error) == (False, RetriesExhausted)
    assert not decide(RetryPolicy(max_attempts=1), feedback(K.RETRY_LATER)).retry


@pytest.mark.parametrize(("error", "safe", "retry", "raises"), [
    (httpx.ConnectError("refused"), False, True, None),  # never sent: always safe
    (httpx.ReadTimeout("slow"), False, False, AmbiguousFailure),
    (httpx.ReadTimeout("slow"), True, True, None),
    (ConnectionResetError(), False, False, AmbiguousFailure),
    (ValueError("a bug"), True, False, None),  # not a transport failure: re-raised as it is
])
def test_errors_are_retried_by_kind_and_safety(
    error: BaseException, safe: bool, retry: bool, raises: type[RetryError] | None
) -> None:
    verdict = decide(HALF, error=error, safe=safe)
    assert (verdict.retry, verdict.error) == (retry, raises)


def _requests_refused() -> requests.ConnectionError:
    reason = urllib3.exceptions.NewConnectionError(None, "refused")  # type: ignore[arg-type]
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, "/", reason))  # type: ignore[arg-type]


def _sdk_error_from(cause: BaseException) -> Exception:
    try:
        raise RuntimeError("SDK: request failed") from cause
    except RuntimeError as wrapped:
        return wrapped


@pytest.mark.parametrize(("error", "kind"), [
    (ConnectionRefusedError(), ErrorKind.NOT_SENT),
    (socket.gaierror(), ErrorKind.NOT_SENT),
    (TimeoutError(), ErrorKind.AMBIGUOUS),
    (BrokenPipeError(), ErrorKind.AMBIGUOUS),
    (httpx.ConnectTimeout("t"), ErrorKind.NOT_SENT),
    (httpx.PoolTimeout("t"), ErrorKind.NOT_SENT),
    (httpx.WriteTimeout("t"), ErrorKind.AMBIGUOUS),
    (httpx.RemoteProtocolError("t"), ErrorKind.AMBIGUOUS),
    (httpx.UnsupportedProtocol("t"), None),
    (requests.ConnectTimeout(), ErrorKind.NOT_SENT),
    (requests.ReadTimeout(), ErrorKind.AMBIGUOUS),
    (requests.ConnectionError(urllib3.exceptions.ProtocolError("reset")), ErrorKind.AMBIGUOUS),
    (_requests_refused(), ErrorKind.NOT_SENT),
    (_sdk_error_from(httpx.ConnectError("refused")), ErrorKind.NOT_SENT),
    (_sdk_error_from(httpx.ReadTimeout("slow")), ErrorKind.AMBIGUOUS),
    (KeyError("x"), None),
])
def test_errors_are_classified_through_their_wrapping(
    error: BaseException, kind: ErrorKind | None
) -> None:
    assert classify_error(error) is kind


def test_a_custom_classifier_replaces_the_default() -> None:
    policy = RetryPolicy(classify=lambda _error: ErrorKind.NOT_SENT, budget=None)
    assert decide(policy, error=KeyError("x")).retry


@pytest.mark.parametrize("bad", [
    {"max_attempts": 0}, {"base_delay_s": -1.0}, {"base_delay_s": 9.0, "max_delay_s": 1.0},
    {"max_wait_s": -1.0}, {"budget": "lots"},
])
def test_a_malformed_policy_is_refused_at_once(bad: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        RetryPolicy(**bad)  # type: ignore[arg-type]


def test_the_budget_spends_a_whole_minute_at_once_unless_told() -> None:
    assert RetryPolicy(budget="5/minute").budget_rate() == Policy.of(
        {"r": "5/minute burst 5"}).buckets["r"]
    rate = RetryPolicy(budget="5/minute burst 2").budget_rate()
    assert rate is not None
    assert rate.burst == 2
    assert RetryPolicy(budget=None).budget_rate() is None


def test_the_retry_budget_is_shared_by_every_worker_of_the_account() -> None:
    clock = ManualClock(NOW_S)
    backend = MemoryBackend(clock)
    policy = Policy.of({"api": "10/second"})
    one = Governor(policy, backend, account="acme", clock=clock)
    two = Governor(policy, backend, account="acme", clock=clock)
    other = Governor(policy, backend, account="other", clock=clock)
    retries = RetryPolicy(budget="3/minute")
    budgets = [retry_budget(g, retries) for g in (one, two, other)]
    b1, b2, b3 = budgets
    assert b1 is not None
    assert b2 is not None
    assert b3 is not None
    assert (b1.backend, b1.clock) == (backend, clock)
    assert b1.account.key == f"{one.account.key}:retry"
    assert [bool(b.try_acquire()) for b in (b1, b2, b1, b2)] == [True, True, True, False]
    assert b3.try_acquire()  # another account has a budget of its own
    clock.advance(20)  # a third of a minute: one retry more
    assert b2.try_acquire()
    assert not b1.try_acquire()
    assert retry_budget(one, None) is None
    assert retry_budget(one, RetryPolicy(budget=None)) is None


def test_the_retry_budget_lives_on_the_shared_redis_state() -> None:
    backend = RedisBackend(fakeredis.FakeRedis(), prefix="t")
    gov = Governor(Policy.of({"api": "10/second"}), backend, account="acme")
    budget = retry_budget(gov, RetryPolicy(budget="2/minute"))
    assert budget is not None
    assert [bool(budget.try_acquire()) for _ in range(3)] == [True, True, False]
    assert backend.client.keys("*") == [f"t:{{{gov.account.key}:retry}}".encode()]


def test_the_budget_runs_at_the_governor_time_scale() -> None:
    clock = ManualClock(NOW_S)
    gov = Governor(Policy.of({"api": "10/second"}, time_scale=6), clock=clock)
    budget = retry_budget(gov, RetryPolicy(budget="1/minute"))
    assert budget is not None
    assert budget.policy.time_scale == 6
    assert budget.try_acquire()
    assert budget.try_acquire().wait_s == pytest.approx(6.0)


async def test_an_async_governor_gets_an_async_budget() -> None:
    clock = ManualClock(NOW_S)
    agov = AsyncGovernor(Policy.of({"api": "10/second"}), AsyncMemoryBackend(clock=clock),
                         clock=clock)
    budget = retry_budget(agov, RetryPolicy(budget="1/minute"))
    assert isinstance(budget, AsyncGovernor)
    assert await budget.try_acquire()
    assert not await budget.try_acquire()


def test_give_up_errors_are_governor_errors_with_advice() -> None:
    for cls in (RetriesExhausted, RetryBudgetExhausted, AmbiguousFailure, StopUntilReset):
        assert issubclass(cls, RetryError)
        assert issubclass(cls, GovernorError)
    unsafe = RetryVerdict(False, reason="ReadTimeout after sending", error=AmbiguousFailure)
    text = give_up_message("POST /v1/email", unsafe, 1, None)
    assert text.startswith("POST /v1/email: ReadTimeout after sending (attempt 1)")
    assert "idempotency key" in text
    quota = feedback(K.STOP_UNTIL_RESET, hint="quota", quota_reset_s=NOW_S + 86_400)
    stop = RetryVerdict(False, reason="daily quota spent", error=StopUntilReset)
    assert "until 2026-01-02T00:00:00Z" in give_up_message("POST /v1/email", stop, 1, quota)
    assert reset_at(quota) == NOW_S + 86_400
    assert reset_at(feedback(K.STOP_UNTIL_RESET, retry_in_s=30)) == NOW_S + 30
    assert reset_at(feedback(K.STOP_UNTIL_RESET)) is None
