"""Governed calls: acquire, call, observe the response, retry per policy; and ``limited``, the
decorator that governs a function that way.

One attempt is always the same sequence: ``acquire`` the route (sleeping once if the slot is
ahead), make the call, read ``(status, headers, body)`` from its result, ``observe`` it (which
classifies it and reconciles the shared state), then ask the :class:`~governor.retry.RetryPolicy`
whether to go again. :func:`call_governed` and :func:`acall_governed` are the sync and async
shells of that loop; every decision is made by the pure :func:`next_step`, :func:`settle` and
:func:`settle_denied`. The HTTP integrations (:mod:`governor.integrations`) drive the same shells
around a transport's send.

**One deadline per call.** ``timeout_s`` bounds the whole governed call, not each attempt: it
starts when the call does (on the governor's monotonic clock), every ``acquire`` gets only what
is left of it, and a retry whose delay (``Retry-After`` or backoff) would not end before it is
not slept: the call gives up at once. The time the call itself takes (the HTTP request) counts
against the deadline but is not interrupted: the HTTP library's own timeout bounds it, so a
call returns within ``timeout_s`` plus at most one request. Giving up for time is giving up
like any other: the last response is handed back, or
:class:`~governor.retry.RetriesExhausted` is raised from the last exception.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING,
    Any,
    Generic,
    ParamSpec,
    TypeAlias,
    TypedDict,
    TypeVar,
    cast,
    overload,
)

from typing_extensions import Unpack

from governor.errors import WaitTooLong
from governor.headers import Headers
from governor.outcome import Body
from governor.retry import (
    IDEMPOTENT_METHODS,
    RetriesExhausted,
    RetryBudgetExhausted,
    RetryVerdict,
    StopUntilReset,
    give_up_message,
    reset_at,
    retry_budget,
)
from governor.routing import split_route

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

    from governor.aio import AsyncGovernor
    from governor.client import Governor
    from governor.core import Priority
    from governor.decision import Feedback
    from governor.retry import RetryPolicy

__all__ = [
    "Attempt",
    "CallPlan",
    "LimitOptions",
    "ResponseParts",
    "acall_governed",
    "call_governed",
    "limited",
    "next_step",
    "response_parts",
    "settle",
    "settle_denied",
]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

ResponseParts: TypeAlias = tuple[int, Headers | None, Body]
"""``(status, headers, body)`` of a response, as :meth:`Governor.observe` takes them."""


@dataclass(frozen=True, slots=True)
class CallPlan:
    """One logical call: its route, cost and priority, its ``timeout_s`` (the whole call's,
    every attempt and retry delay included; None: none), whether it may be resent after an
    ambiguous failure (``resend_safe``: idempotent) and at all (``resendable``: a streamed
    body cannot be replayed)."""

    route: str
    cost: int = 1
    priority: Priority = "normal"
    timeout_s: float | None = None
    resend_safe: bool = False
    resendable: bool = True

    def left_s(self, elapsed_s: float) -> float | None:
        """What is left of ``timeout_s`` once the call has taken ``elapsed_s``: never negative;
        None without a timeout."""
        return None if self.timeout_s is None else max(self.timeout_s - elapsed_s, 0.0)


@dataclass(slots=True)
class Attempt(Generic[T]):
    """How attempt ``number`` ended: a ``result`` or an ``error``, the response ``parts`` read
    from either (None: not a response), and the ``feedback`` observing them gave."""

    number: int
    result: T | None = None
    error: Exception | None = None
    parts: ResponseParts | None = None
    feedback: Feedback | None = None


def response_parts(obj: object) -> ResponseParts | None:
    """``(status, headers, body)`` of anything shaped like a response (an int ``status_code``
    and a ``headers`` mapping: ``requests``, ``httpx``, the MailerSend SDK's ``APIResponse``),
    else None. The body is read only for error statuses, and only if it is already available."""
    status = getattr(obj, "status_code", None)
    headers = getattr(obj, "headers", None)
    if isinstance(status, bool) or not isinstance(status, int) or not isinstance(
            headers, Mapping):
        return None
    body: Body = None
    if status >= 400:
        try:
            content = getattr(obj, "content", None)
        except Exception:  # an unread stream (httpx.ResponseNotRead): classify without it
            content = None
        body = content if isinstance(content, (bytes, str)) else None
    return status, headers, body


def _record(number: int, result: T | None, error: Exception | None,
            read: Callable[[T], ResponseParts | None]) -> Attempt[T]:
    if error is not None:
        # An SDK error that carries the response (requests.HTTPError, MailerSendError).
        return Attempt(number, None, error, response_parts(getattr(error, "response", None)))
    return Attempt(number, result, None, read(cast("T", result)))


_BUDGET_SPENT = RetryVerdict(False, reason="the retry budget is spent", error=RetryBudgetExhausted)
_NOT_REPLAYABLE = RetryVerdict(False, reason="the request body is a stream that cannot be replayed")


def next_step(policy: RetryPolicy | None, plan: CallPlan, attempt: Attempt[Any],
              now_us: int, elapsed_s: float = 0.0) -> RetryVerdict:
    """The policy's verdict on ``attempt`` (no policy: stop), the call having taken
    ``elapsed_s`` so far: no retry is slept into the call's deadline (see
    :meth:`RetryPolicy.decide <governor.retry.RetryPolicy.decide>`'s ``left_s``)."""
    if policy is None:
        return RetryVerdict(False)
    verdict = policy.decide(attempt.number, attempt.feedback, attempt.error,
                            resend_safe=plan.resend_safe, now_s=now_us / 1_000_000,
                            left_s=plan.left_s(elapsed_s))
    if verdict.retry and not plan.resendable:
        return _NOT_REPLAYABLE
    return verdict


def settle_denied(plan: CallPlan, attempt: Attempt[T] | None, denied: WaitTooLong) -> T:
    """End a call whose next acquire was ``denied``: no slot within what is left of its
    timeout. Before any attempt the denial propagates; after ``attempt``, the call ends with
    that attempt as if the policy had given up (:func:`settle` with a
    :class:`~governor.retry.RetriesExhausted` verdict naming the timeout): its response is
    handed back, or ``RetriesExhausted`` is raised from its exception (the denial is the
    raised error's ``__context__``)."""
    if attempt is None:
        raise denied
    verdict = RetryVerdict(False, reason=f"the retry's slot is {denied.wait_s:.3f}s away and "
                           f"the call's timeout_s of {plan.timeout_s}s leaves "
                           f"{denied.timeout_s:.3f}s", error=RetriesExhausted)
    return settle(plan, attempt, verdict)


def settle(plan: CallPlan, attempt: Attempt[T], verdict: RetryVerdict) -> T:
    """End the call: return its result, or raise. A spent quota raises
    :class:`~governor.retry.StopUntilReset`; giving up after a bare exception raises the
    verdict's :class:`~governor.retry.RetryError` from it; any other exception is re-raised
    as it is; a response is handed back whatever its status."""
    feedback = attempt.feedback
    if verdict.error is StopUntilReset and feedback is not None:
        raise StopUntilReset(
            give_up_message(plan.route, verdict, attempt.number, feedback),
            attempts=attempt.number, feedback=feedback, reset_at=reset_at(feedback),
        ) from attempt.error
    if attempt.error is not None:
        if verdict.error is not None and attempt.parts is None:
            raise verdict.error(
                give_up_message(plan.route, verdict, attempt.number, None),
                attempts=attempt.number,
            ) from attempt.error
        raise attempt.error
    return cast("T", attempt.result)


def _close(result: object) -> None:
    close = getattr(result, "close", None)
    if response_parts(result) is not None and callable(close):
        close()


async def _aclose(result: object) -> None:
    aclose = getattr(result, "aclose", None)
    if response_parts(result) is not None and callable(aclose):
        await aclose()
    else:
        _close(result)


def call_governed(
    gov: Governor,
    plan: CallPlan,
    send: Callable[[], T],
    *,
    retry: RetryPolicy | None = None,
    budget: Governor | None = None,
    read: Callable[[T], ResponseParts | None] = response_parts,
    discard: Callable[[T], object] = _close,
) -> T:
    """Make one governed call: acquire, ``send()``, observe what ``read`` finds in the result,
    and retry per ``retry``, spending one token of ``budget`` (see
    :func:`~governor.retry.retry_budget`) per retry; ``discard`` releases a result that is
    retried (default: close a response) once its retry has a slot. Returns the last result or
    raises (see :func:`settle`), within ``plan.timeout_s`` (see the module docstring).
    :class:`~governor.errors.WaitTooLong` from the first acquire, and ``QuotaExhausted`` from
    any, propagate; a retry denied its slot within the time left ends the call with the
    attempt before it (:func:`settle_denied`)."""
    started_s = gov.clock.monotonic()
    attempt: Attempt[T] | None = None
    while True:
        try:
            decision = gov.acquire(plan.route, plan.cost, priority=plan.priority,
                                   timeout_s=plan.left_s(gov.clock.monotonic() - started_s))
        except WaitTooLong as denied:
            return settle_denied(plan, attempt, denied)
        if attempt is not None and attempt.result is not None:
            discard(attempt.result)
        number = 1 if attempt is None else attempt.number + 1
        sent_at_us = gov.clock.now_us()
        try:
            result = send()
        except Exception as exc:
            attempt = _record(number, None, exc, read)
        else:
            attempt = _record(number, result, None, read)
        if attempt.parts is not None:
            attempt.feedback = gov.observe(plan.route, *attempt.parts, decision=decision,
                                           sent_at_us=sent_at_us)
        verdict = next_step(retry, plan, attempt, gov.clock.now_us(),
                            gov.clock.monotonic() - started_s)
        if verdict.retry and budget is not None and not budget.try_acquire():
            verdict = _BUDGET_SPENT
        if not verdict.retry:
            return settle(plan, attempt, verdict)
        gov.clock.sleep(verdict.delay_s)


async def acall_governed(
    gov: AsyncGovernor,
    plan: CallPlan,
    send: Callable[[], Awaitable[T]],
    *,
    retry: RetryPolicy | None = None,
    budget: AsyncGovernor | None = None,
    read: Callable[[T], ResponseParts | None] = response_parts,
    discard: Callable[[T], Awaitable[object]] = _aclose,
) -> T:
    """The asyncio twin of :func:`call_governed`."""
    started_s = gov.clock.monotonic()
    attempt: Attempt[T] | None = None
    while True:
        try:
            decision = await gov.acquire(plan.route, plan.cost, priority=plan.priority,
                                         timeout_s=plan.left_s(gov.clock.monotonic() - started_s))
        except WaitTooLong as denied:
            return settle_denied(plan, attempt, denied)
        if attempt is not None and attempt.result is not None:
            await discard(attempt.result)
        number = 1 if attempt is None else attempt.number + 1
        sent_at_us = gov.clock.now_us()
        try:
            result = await send()
        except Exception as exc:
            attempt = _record(number, None, exc, read)
        else:
            attempt = _record(number, result, None, read)
        if attempt.parts is not None:
            attempt.feedback = await gov.observe(plan.route, *attempt.parts, decision=decision,
                                                 sent_at_us=sent_at_us)
        verdict = next_step(retry, plan, attempt, gov.clock.now_us(),
                            gov.clock.monotonic() - started_s)
        if verdict.retry and budget is not None and not await budget.try_acquire():
            verdict = _BUDGET_SPENT
        if not verdict.retry:
            return settle(plan, attempt, verdict)
        await gov.clock.asleep(verdict.delay_s)


class LimitOptions(TypedDict, total=False):
    """The options of :func:`limited`, all by keyword and all optional."""

    cost: int | Callable[..., int]
    """Slots one call spends: an int (default 1) or a function of the call's arguments."""
    priority: Priority
    """As :meth:`~governor.Governor.acquire` takes it (default ``"normal"``)."""
    timeout_s: float | None
    """Bounds the whole call, its retries included (default None: no bound)."""
    retry: RetryPolicy | None
    """Retries failed calls (default None: never)."""
    extract: Callable[[Any], ResponseParts | None] | None
    """Reads ``(status, headers, body)`` from a result (default :func:`response_parts`)."""
    idempotent: bool | None
    """Whether a call may be resent after an ambiguous failure (default: its method is)."""


@overload
def limited(gov: Governor | AsyncGovernor, fn: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def limited(
    gov: Governor | AsyncGovernor, route: str = "*", /, **options: Unpack[LimitOptions]
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


@overload
def limited(
    gov: Governor | AsyncGovernor, /, *, route: str | Callable[..., str],
    **options: Unpack[LimitOptions],
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def limited(
    gov: Governor | AsyncGovernor,
    fn_or_route: Callable[..., Any] | str | None = None,
    /,
    *,
    route: str | Callable[..., str] | None = None,
    **options: Unpack[LimitOptions],
) -> Any:
    """Govern every call of the decorated function (sync with a :class:`~governor.Governor`,
    ``async def`` with an :class:`~governor.AsyncGovernor`)::

        @limited(gov, "POST /v1/email", cost=lambda batch: len(batch))
        def send(batch: list[Email]) -> requests.Response: ...

        @limited(gov, route=lambda path, body: f"POST {path}")
        def post(path: str, body: dict[str, object]) -> requests.Response: ...

        @limited(gov)                   # or bare: @limited(gov, ping), as in @gov.limited
        def ping() -> requests.Response: ...

    Each call acquires its route, a text given positionally or as ``route=``, or a function of
    the call's arguments returning one, given **only** as ``route=``: a function given
    positionally is the function to govern, so ``@gov.limited`` and ``@gov.limited()`` are the
    same (route ``"*"``, the profile's catch-all) and a bare use takes no options (a
    ``TypeError`` says so). The options (:class:`LimitOptions`): ``cost`` (an int or such a
    function) and ``priority`` as :meth:`~governor.Governor.acquire` takes them; ``timeout_s``
    bounds the whole call, its retries included: each acquire gets what is left, and a retry
    that cannot start in time is not waited for (the function's own running time counts but is
    not cut short; see the module docstring). A route text is resolved to the name of the
    profile route it matches (a fixed text at once: an unknown route or a text without a method
    raises :class:`~governor.errors.UnknownRoute` when decorating). The result is observed when
    it looks like a response (:func:`response_parts`), or as ``extract(result)`` says
    (``(status, headers, body)``, or None: nothing to observe); so is an exception carrying a
    ``response``. With ``retry``, failed calls are retried by that
    :class:`~governor.retry.RetryPolicy`; a call is resent after an ambiguous failure only if
    ``idempotent`` (default: the method of the route text is, e.g. ``GET``). The wrapped
    function keeps its signature; a method's route and cost functions receive ``self`` first.
    """
    if callable(fn_or_route):
        if route is not None or options:
            name = getattr(fn_or_route, "__name__", repr(fn_or_route))
            raise TypeError(
                f"limited() was given the function {name} positionally, with options: a "
                "function given positionally is the one governed, as bare @gov.limited is; "
                f"pass a route function by keyword: limited(gov, route={name}, ...)"
            )
        return _decorator(gov, "*", {})(fn_or_route)
    if fn_or_route is not None and route is not None:
        raise TypeError("limited() takes the route once: positionally or as route=, not both")
    chosen = route if route is not None else fn_or_route
    return _decorator(gov, "*" if chosen is None else chosen, options)


def _decorator(
    gov: Governor | AsyncGovernor, route: str | Callable[..., str], options: LimitOptions
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    unknown = set(options) - LimitOptions.__optional_keys__  # what a signature would refuse
    if unknown:
        raise TypeError(f"limited() got unknown options {sorted(unknown)}; it takes "
                        f"{sorted(LimitOptions.__optional_keys__)}")
    cost = options.get("cost", 1)
    priority, timeout_s = options.get("priority", "normal"), options.get("timeout_s")
    retry, idempotent = options.get("retry"), options.get("idempotent")
    read = options.get("extract") or response_parts
    router = gov.policy.router
    fixed = None if callable(route) else router.resolve(route).name  # fails fast

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        asynchronous = inspect.iscoroutinefunction(fn)
        if asynchronous != inspect.iscoroutinefunction(gov.acquire):
            need = "an AsyncGovernor" if asynchronous else "a Governor"
            kind = "a coroutine function" if asynchronous else "a plain function"
            raise TypeError(f"{getattr(fn, '__qualname__', fn)!r} is {kind}: govern it with "
                            f"{need}, not {type(gov).__name__}")

        def plan(args: tuple[Any, ...], kwargs: dict[str, Any]) -> CallPlan:
            text = route(*args, **kwargs) if callable(route) else route
            # The profile's route name: one name (and one cache entry) per route, not per text.
            name = fixed or router.resolve(text).name
            weight = cost(*args, **kwargs) if callable(cost) else cost
            safe = split_route(text)[0] in IDEMPOTENT_METHODS if idempotent is None \
                else idempotent
            return CallPlan(name, weight, priority, timeout_s, safe)

        if asynchronous:
            agov = cast("AsyncGovernor", gov)
            abudget = retry_budget(agov, retry)
            afn = cast("Callable[P, Coroutine[Any, Any, Any]]", fn)

            @functools.wraps(fn)
            async def agoverned(*args: P.args, **kwargs: P.kwargs) -> Any:
                return await acall_governed(agov, plan(args, kwargs), lambda: afn(*args, **kwargs),
                                            retry=retry, budget=abudget, read=read)

            return cast("Callable[P, R]", agoverned)
        sgov = cast("Governor", gov)
        budget = retry_budget(sgov, retry)

        @functools.wraps(fn)
        def governed(*args: P.args, **kwargs: P.kwargs) -> R:
            return call_governed(sgov, plan(args, kwargs), lambda: fn(*args, **kwargs),
                                 retry=retry, budget=budget, read=read)

        return governed

    return decorate
