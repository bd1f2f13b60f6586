"""Retries: whether a governed call may be tried again, when, and when it must not be.

Pure, apart from :func:`retry_budget`, which builds the governor that meters retries. A
:class:`RetryPolicy` reads the :class:`~governor.decision.Feedback` of a response, or the kind
of an exception, and returns a :class:`RetryVerdict`:

``RETRY_LATER`` (429 rate, 503, 421)
    Retry after ``Retry-After`` (``feedback.retry_at``), then at the governor's own next slot
    (every attempt acquires again). The provider refused the call, so a resend is safe.
``BACKOFF`` (other 5xx, 408), an ambiguous exception (read timeout, connection reset)
    Full-jitter exponential backoff; only if a resend is safe (see below).
A connection that never opened (refused, DNS, connect timeout)
    Full-jitter backoff: nothing was sent, so a resend is always safe.
``OK``, ``FAIL``, ``STOP``, any other exception
    Never retried.
``STOP_UNTIL_RESET`` (a spent quota)
    Never retried; raises :class:`StopUntilReset`.

**Safety.** A call that may have reached the provider and failed ambiguously (a 5xx that may
have been processed, a timeout after sending, a reset) is resent only when the call is
idempotent (``GET``, ``PUT``, ... or an ``Idempotency-Key`` reused on every attempt) or the
policy says ``retry_ambiguous=True``: resending a non-idempotent send can deliver an email
twice.

**Bounds.** ``max_attempts`` per call, a retry budget shared by the fleet (one token of a
second governor per retry, on the same backend, under the account's key plus ``":retry"``; no
token: the call gives up), and the call's ``timeout_s``: a retry whose delay would not end
before what is left of it is not slept; the call gives up at once, as after its last attempt
(:class:`RetriesExhausted`).

Giving up after a *response* hands that response back (the caller's status handling applies;
an SDK exception that carries the response is re-raised); giving up after a transport
*exception* raises a :class:`RetryError` from it; an exception the policy does not retry is
re-raised as it is.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, TypeVar

from governor.errors import ConfigError, GovernorError
from governor.keys import AccountId
from governor.limits import Rate, parse_rate
from governor.outcome import OutcomeKind
from governor.policy import Policy

if TYPE_CHECKING:
    from collections.abc import Callable

    from governor.aio import AsyncGovernor
    from governor.client import Governor
    from governor.decision import Feedback

__all__ = [
    "IDEMPOTENT_METHODS",
    "AmbiguousFailure",
    "ErrorKind",
    "RetriesExhausted",
    "RetryBudgetExhausted",
    "RetryError",
    "RetryPolicy",
    "RetryVerdict",
    "StopUntilReset",
    "classify_error",
    "give_up_message",
    "reset_at",
    "retry_budget",
]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
"""HTTP methods whose repetition has the effect of one call (RFC 9110, 9.2.2)."""

G = TypeVar("G", "Governor", "AsyncGovernor")


class RetryError(GovernorError):
    """A governed call was given up. ``attempts`` were made; ``feedback`` is the last
    response's (None after an exception, which is then ``__cause__``)."""

    def __init__(
        self, message: str, *, attempts: int, feedback: Feedback | None = None
    ) -> None:
        self.attempts = attempts
        self.feedback = feedback
        super().__init__(message)


class RetriesExhausted(RetryError):
    """Every attempt the call could make failed: the policy's ``max_attempts``, or as many as
    fit in the call's ``timeout_s``."""


class RetryBudgetExhausted(RetryError):
    """The fleet's retry budget is spent: the call is not retried, so that a failing provider
    is not hammered by every worker at once."""


class AmbiguousFailure(RetryError):
    """The call failed after it may have reached the provider, and it is not idempotent: it is
    not resent, since that could send it twice. Use an idempotency key, or ``retry_ambiguous``
    when a duplicate is acceptable."""


class StopUntilReset(RetryError):
    """The provider says a quota is spent: nothing goes before ``reset_at`` (Unix epoch
    seconds, None when the response did not say)."""

    def __init__(
        self, message: str, *, attempts: int, feedback: Feedback | None = None,
        reset_at: float | None = None,
    ) -> None:
        self.reset_at = reset_at
        super().__init__(message, attempts=attempts, feedback=feedback)


class ErrorKind(enum.Enum):
    """What an exception says about whether the request reached the provider."""

    NOT_SENT = "not_sent"
    """The request never left (connection refused, DNS failure, connect timeout)."""
    AMBIGUOUS = "ambiguous"
    """The request may have reached the provider (read timeout, connection reset)."""


# By class name, so that no HTTP library is imported; matched along the class's MRO.
_ERROR_KINDS = {
    "builtins.ConnectionRefusedError": ErrorKind.NOT_SENT,
    "socket.gaierror": ErrorKind.NOT_SENT,
    "builtins.ConnectionError": ErrorKind.AMBIGUOUS,
    "builtins.TimeoutError": ErrorKind.AMBIGUOUS,
    "httpx.ConnectError": ErrorKind.NOT_SENT,
    "httpx.ConnectTimeout": ErrorKind.NOT_SENT,
    "httpx.PoolTimeout": ErrorKind.NOT_SENT,
    "httpx.TimeoutException": ErrorKind.AMBIGUOUS,
    "httpx.NetworkError": ErrorKind.AMBIGUOUS,
    "httpx.RemoteProtocolError": ErrorKind.AMBIGUOUS,
    "requests.exceptions.ConnectTimeout": ErrorKind.NOT_SENT,
    "requests.exceptions.Timeout": ErrorKind.AMBIGUOUS,
    "requests.exceptions.ConnectionError": ErrorKind.AMBIGUOUS,
    "urllib3.exceptions.NewConnectionError": ErrorKind.NOT_SENT,
    "urllib3.exceptions.NameResolutionError": ErrorKind.NOT_SENT,
    "urllib3.exceptions.ConnectTimeoutError": ErrorKind.NOT_SENT,
    "urllib3.exceptions.ProtocolError": ErrorKind.AMBIGUOUS,
    "urllib3.exceptions.ReadTimeoutError": ErrorKind.AMBIGUOUS,
    "aiohttp.client_exceptions.ClientConnectorError": ErrorKind.NOT_SENT,
    "aiohttp.client_exceptions.ConnectionTimeoutError": ErrorKind.NOT_SENT,
    "aiohttp.client_exceptions.ClientConnectionError": ErrorKind.AMBIGUOUS,
}


def classify_error(error: BaseException) -> ErrorKind | None:
    """Whether ``error`` left the request unsent, ambiguous, or (None) is no transport failure.

    Knows the builtin socket errors, ``httpx``, ``requests``, ``urllib3`` and ``aiohttp``.
    Follows explicit wrapping (``raise ... from``, urllib3's ``reason``, requests' wrapped
    exception) and the innermost known kind wins: an SDK error raised from
    ``httpx.ConnectError`` is NOT_SENT.
    """
    found: ErrorKind | None = None
    current: BaseException | None = error
    for _ in range(8):
        if current is None:
            break
        for cls in type(current).__mro__:
            kind = _ERROR_KINDS.get(f"{cls.__module__}.{cls.__qualname__}")
            if kind is not None:
                found = kind
                break
        current = _wrapped(current)
    return found


def _wrapped(error: BaseException) -> BaseException | None:
    for inner in (error.__cause__, getattr(error, "reason", None),
                  error.args[0] if error.args else None):
        if isinstance(inner, BaseException) and inner is not error:
            return inner
    return None


@dataclass(frozen=True, slots=True)
class RetryVerdict:
    """What to do after an attempt: ``retry`` after ``delay_s``, or stop. ``error`` is the
    :class:`RetryError` to raise when stopping (None: hand back the response, or re-raise the
    exception as it is); ``reason`` says why, for messages."""

    retry: bool
    delay_s: float = 0.0
    reason: str = ""
    error: type[RetryError] | None = None


_DONE = RetryVerdict(False)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When to try a governed call again.

    ``max_attempts``
        Attempts per call, the first included (1: never retry).
    ``budget``
        Retries per minute for the whole fleet and account (``"20/minute"``; a burst of the
        whole minute unless the text says ``burst``), or None for no budget.
    ``base_delay_s``, ``max_delay_s``
        Full-jitter backoff: attempt *n* waits ``rng() * min(max, base * 2 ** (n - 1))``.
    ``max_wait_s``
        A ``Retry-After`` further away than this is not waited for: the call gives up.
    ``retry_ambiguous``
        Resend non-idempotent calls after an ambiguous failure too (duplicates possible).
    ``rng``
        Uniform numbers in [0, 1) for the jitter; inject a fixed one in tests.
    ``classify``
        Exception -> :class:`ErrorKind` or None; default :func:`classify_error`.
    """

    max_attempts: int = 3
    budget: str | None = "20/minute"
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_wait_s: float = 300.0
    retry_ambiguous: bool = False
    rng: Callable[[], float] = field(default=random.random, repr=False, compare=False)
    classify: Callable[[BaseException], ErrorKind | None] = field(
        default=classify_error, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError(f"max_attempts is at least 1, not {self.max_attempts}")
        if not 0 <= self.base_delay_s <= self.max_delay_s or not self.max_wait_s >= 0:
            raise ConfigError("retry delays must satisfy 0 <= base_delay_s <= max_delay_s and "
                              "max_wait_s >= 0")
        self.budget_rate()

    def budget_rate(self) -> Rate | None:
        """The budget as a :class:`~governor.limits.Rate` (None: no budget)."""
        if self.budget is None:
            return None
        try:
            rate = parse_rate(self.budget)
        except ValueError as exc:
            raise ConfigError(f"retry budget: {exc}") from None
        return rate if " burst " in self.budget else rate.with_burst(rate.limit)

    def backoff_s(self, attempt: int) -> float:
        """The full-jitter delay after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.max_delay_s, self.base_delay_s * 2.0 ** min(attempt - 1, 64))
        return self.rng() * ceiling

    def decide(
        self,
        attempt: int,
        feedback: Feedback | None,
        error: BaseException | None,
        *,
        resend_safe: bool,
        now_s: float,
        left_s: float | None = None,
    ) -> RetryVerdict:
        """The verdict after attempt number ``attempt``, which ended in a response (its
        ``feedback``) or, when ``feedback`` is None, in ``error``. ``resend_safe``: the call is
        idempotent; ``now_s``: Unix epoch seconds on the governor's clock; ``left_s``: what is
        left of the call's timeout (None: no timeout). A retry is made only if its delay ends
        before that (``delay_s < left_s``, so ``left_s=0`` never retries): otherwise the call
        gives up at once with :class:`RetriesExhausted` instead of sleeping into its deadline."""
        safe = resend_safe or self.retry_ambiguous
        if feedback is not None:
            outcome = feedback.outcome
            kind = outcome.kind
            if kind is OutcomeKind.STOP_UNTIL_RESET:
                return RetryVerdict(False, reason=outcome.message, error=StopUntilReset)
            if kind is OutcomeKind.RETRY_LATER:
                delay_s = 0.0 if feedback.retry_at is None else max(feedback.retry_at - now_s, 0.0)
                if delay_s > self.max_wait_s:
                    return RetryVerdict(False, reason=f"{outcome.message}; Retry-After is "
                                        f"{delay_s:.0f}s away, beyond max_wait_s")
            elif kind is OutcomeKind.BACKOFF:
                if not safe:
                    return RetryVerdict(False, reason=f"{outcome.message}; it may have been "
                                        "processed and the call is not idempotent")
                delay_s = self.backoff_s(attempt)
            else:
                return _DONE
        elif error is not None:
            failure = self.classify(error)
            if failure is None:
                return _DONE
            if failure is ErrorKind.AMBIGUOUS and not safe:
                return RetryVerdict(False, reason=f"{type(error).__name__} after the request "
                                    "may have been sent, and the call is not idempotent",
                                    error=AmbiguousFailure)
            delay_s = self.backoff_s(attempt)
        else:
            return _DONE
        failed = feedback.outcome.message if feedback is not None else type(error).__name__
        return self._bounded(attempt, delay_s, left_s, failed)

    def _bounded(self, attempt: int, delay_s: float, left_s: float | None,
                 failed: str) -> RetryVerdict:
        """A retry in ``delay_s``, unless ``max_attempts`` or the deadline says no."""
        if attempt >= self.max_attempts:
            return RetryVerdict(False, reason=f"{attempt} attempts failed",
                                error=RetriesExhausted)
        if left_s is not None and delay_s >= left_s:
            return RetryVerdict(False, reason=f"{failed}; a retry in {delay_s:.3f}s would not "
                                f"start within the call's timeout_s ({left_s:.3f}s left)",
                                error=RetriesExhausted)
        return RetryVerdict(True, delay_s)


def reset_at(feedback: Feedback) -> float | None:
    """When a stop-until-reset outcome ends (Unix epoch seconds), as far as the response says."""
    obs = feedback.observation
    hint = feedback.outcome.scope_hint
    at_us = obs.monthly_reset_at_us if hint == "monthly_quota" else obs.quota_reset_at_us
    at_us = at_us if at_us is not None else obs.retry_at_us
    return None if at_us is None else at_us / 1_000_000


def give_up_message(route: str, verdict: RetryVerdict, attempts: int,
                    feedback: Feedback | None) -> str:
    """The message of the :class:`RetryError` a verdict raises."""
    if verdict.error is StopUntilReset and feedback is not None:
        at = reset_at(feedback)
        until = "" if at is None else " until " + datetime.fromtimestamp(
            at, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (f"{route}: the provider says to stop{until}: {verdict.reason}. Nothing more "
                "is sent; wait for the reset or raise the quota.")
    advice = {
        AmbiguousFailure: "not resent, it could be sent twice; use an idempotency key, or "
                          "RetryPolicy(retry_ambiguous=True) if duplicates are acceptable",
        RetriesExhausted: "raise max_attempts or timeout_s, or check the provider's status",
        RetryBudgetExhausted: "the fleet's retry budget is spent; raise RetryPolicy.budget, or "
                              "check the provider's status",
    }.get(verdict.error or RetryError, "given up")
    return f"{route}: {verdict.reason} (attempt {attempts}); {advice}."


def retry_budget(gov: G, policy: RetryPolicy | None) -> G | None:
    """The governor that meters ``policy``'s retry budget for ``gov``'s account, fleet-wide:
    one bucket ``retries`` on the same backend and clock, under the account key plus
    ``":retry"``, at ``gov``'s time scale. None when there is no budget."""
    rate = policy.budget_rate() if policy is not None else None
    if rate is None:
        return None
    budget_policy = Policy.of({"retries": rate}, time_scale=gov.policy.time_scale)
    account = AccountId(f"{gov.account.key}:retry", f"{gov.account}:retry")
    # type(gov): a Governor meters with a Governor, an AsyncGovernor with an AsyncGovernor.
    return type(gov)(budget_policy, gov.backend, account=account, clock=gov.clock)
