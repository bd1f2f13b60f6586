"""``limited``: a governed function acquires before it runs, has its response observed and is
retried by the policy, sync and async, on a ManualClock (no sleeping, no network)."""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import requests

from governor import AsyncGovernor, Governor, ManualClock, Policy, load_profile
from governor.backends.memory import AsyncMemoryBackend, MemoryBackend
from governor.decorator import limited, response_parts
from governor.errors import UnknownRoute, WaitTooLong
from governor.retry import (
    AmbiguousFailure,
    RetriesExhausted,
    RetryBudgetExhausted,
    RetryPolicy,
    StopUntilReset,
)

if TYPE_CHECKING:
    from collections.abc import Callable

NOW_S = 1_767_225_600.0
RETRY = RetryPolicy(max_attempts=4, rng=lambda: 0.5, budget=None)
RATE_429 = {"message": "Your account reached its rate limit. #MS42903"}
QUOTA_429 = {"message": "Your account reached its API daily quota limit. #MS42901"}


def mailersend_policy() -> Policy:
    return Policy.from_profile(load_profile("mailersend").resolve("starter"))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW_S)


@pytest.fixture
def gov(clock: ManualClock) -> Governor:
    return Governor(mailersend_policy(), MemoryBackend(clock), account="acme", clock=clock)


@pytest.fixture
def agov(clock: ManualClock) -> AsyncGovernor:
    return AsyncGovernor(mailersend_policy(), AsyncMemoryBackend(clock=clock), account="acme",
                         clock=clock)


def reply(status: int, body: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers={k.replace("_", "-"): v
                                                       for k, v in headers.items()})


class Script:
    """A fake provider call: answers from a script, counts the calls."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> httpx.Response:
        self.calls += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_each_call_acquires_its_slot_first(gov: Governor, clock: ManualClock) -> None:
    @limited(gov, "POST /v1/email")
    def send(to: str) -> str:
        return f"sent to {to}"

    assert [send("a"), send("b"), send("c")] == ["sent to a", "sent to b", "sent to c"]
    assert clock.slept_s == [0.5, 0.5]  # 120/minute: one slot every half second


def test_the_wrapped_function_keeps_its_name_doc_and_signature(gov: Governor) -> None:
    def send(to: str, *, subject: str = "hi") -> int:
        """Send one email."""
        return 1

    governed = limited(gov, "POST /v1/email")(send)
    assert (governed.__name__, governed.__doc__) == ("send", "Send one email.")
    assert inspect.signature(governed) == inspect.signature(send)
    assert governed.__wrapped__ is send  # type: ignore[attr-defined]
    assert governed("a", subject="x") == 1


def test_route_and_cost_may_depend_on_the_arguments(gov: Governor, clock: ManualClock) -> None:
    routes: list[str] = []

    @limited(gov, route=lambda path, _batch: f"POST {path}",
             cost=lambda _path, batch: len(batch))
    def post(path: str, batch: list[str]) -> None:
        routes.append(path)

    post("/v1/email", ["a", "b", "c"])
    post("/v1/email", ["d"])
    assert clock.slept_s == [1.5]  # three slots were spent by the first call
    decision = gov.try_acquire("POST /v1/email")
    assert not decision
    assert decision.scope == "email"


def test_limited_without_a_route_governs_the_catch_all_route(clock: ManualClock) -> None:
    gov = Governor(Policy.of({"api": "1/second"}), clock=clock)

    @limited(gov)
    def ping() -> str:
        return "pong"

    assert [ping(), ping()] == ["pong", "pong"]
    assert clock.slept_s == [1.0]


def test_a_function_given_positionally_is_governed_as_it_is(
    gov: Governor, clock: ManualClock
) -> None:
    def send(to: str, *, subject: str = "hi") -> str:
        """Send one email."""
        return f"sent to {to}"

    governed = limited(gov, send)  # what bare @gov.limited does
    assert (governed("a"), governed("b")) == ("sent to a", "sent to b")
    assert clock.slept_s == [1.0]  # the catch-all: 60/minute
    assert (governed.__name__, inspect.signature(governed)) == ("send", inspect.signature(send))


def test_a_route_function_given_positionally_with_options_is_refused(gov: Governor) -> None:
    def route(path: str) -> str:
        return f"POST {path}"

    with pytest.raises(TypeError, match=r"by keyword: limited\(gov, route=route, \.\.\.\)"):
        limited(gov, route, cost=2)  # type: ignore[call-overload]  # the mistake it catches
    with pytest.raises(TypeError, match="route once"):
        limited(gov, "POST /v1/email", route=route)  # type: ignore[call-overload]  # same


def test_an_unknown_option_is_refused(gov: Governor) -> None:
    with pytest.raises(TypeError, match=r"unknown options \['cots'\]; it takes \['cost'"):
        limited(gov, "POST /v1/email", cots=2)  # type: ignore[call-overload]  # the typo


def test_a_route_text_without_a_method_is_refused_when_decorating(gov: Governor) -> None:
    with pytest.raises(UnknownRoute, match="'POST /v1/email'"):
        limited(gov, "/v1/email")


def test_a_429_is_observed_and_retried_after_retry_after(
    gov: Governor, clock: ManualClock
) -> None:
    call = Script(reply(429, RATE_429, retry_after="7"), reply(202))
    send = limited(gov, "POST /v1/email", retry=RETRY)(call)
    assert send().status_code == 202
    assert call.calls == 2
    assert sum(clock.slept_s) == pytest.approx(7.0)  # Retry-After, then the slot is free


def test_a_post_answered_500_is_not_resent(gov: Governor) -> None:
    call = Script(reply(500), reply(202))
    response = limited(gov, "POST /v1/email", retry=RETRY)(call)()
    assert (response.status_code, call.calls) == (500, 1)  # it may have been sent


def test_a_get_answered_500_is_retried_with_backoff(gov: Governor, clock: ManualClock) -> None:
    call = Script(reply(500), reply(503), reply(200))
    response = limited(gov, "GET /v1/domains", retry=RETRY)(call)()
    assert (response.status_code, call.calls) == (200, 3)
    assert clock.slept_s[0] == 0.25  # full jitter: rng 0.5 x 0.5 s


def test_an_idempotent_post_is_resent_after_a_500(gov: Governor) -> None:
    call = Script(reply(500), reply(202))
    send = limited(gov, "POST /v1/email", retry=RETRY, idempotent=True)(call)
    assert (send().status_code, call.calls) == (202, 2)


def test_a_timeout_after_sending_a_post_is_never_resent(gov: Governor) -> None:
    call = Script(httpx.ReadTimeout("no answer"), reply(202))
    with pytest.raises(AmbiguousFailure, match="idempotency key") as info:
        limited(gov, "POST /v1/email", retry=RETRY)(call)()
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    assert (info.value.attempts, call.calls) == (1, 1)


def test_a_connection_that_never_opened_is_retried_even_for_a_post(gov: Governor) -> None:
    call = Script(httpx.ConnectError("refused"), reply(202))
    assert limited(gov, "POST /v1/email", retry=RETRY)(call)().status_code == 202
    assert call.calls == 2


def test_giving_up_after_errors_raises_and_after_responses_returns(gov: Governor) -> None:
    refused = Script(httpx.ConnectError("refused"))
    with pytest.raises(RetriesExhausted, match="4 attempts failed") as info:
        limited(gov, "POST /v1/email", retry=RETRY)(refused)()
    assert (info.value.attempts, refused.calls) == (4, 4)
    limited_429 = Script(reply(429, RATE_429))
    last = limited(gov, "POST /v1/email", retry=RETRY)(limited_429)()
    assert (last.status_code, limited_429.calls) == (429, 4)


def test_an_error_the_policy_does_not_know_is_raised_as_it_is(gov: Governor) -> None:
    call = Script(KeyError("bug"))
    with pytest.raises(KeyError):
        limited(gov, "GET /v1/domains", retry=RETRY)(call)()
    assert call.calls == 1


def test_without_a_policy_nothing_is_retried(gov: Governor) -> None:
    timeout = Script(httpx.ReadTimeout("slow"))
    with pytest.raises(httpx.ReadTimeout):
        limited(gov, "GET /v1/domains")(timeout)()
    rate = Script(reply(429, RATE_429, retry_after="5"))
    assert limited(gov, "GET /v1/domains")(rate)().status_code == 429
    assert (timeout.calls, rate.calls) == (1, 1)


def test_a_spent_quota_stops_with_its_reset_time(gov: Governor, clock: ManualClock) -> None:
    call = Script(reply(429, QUOTA_429, x_apiquota_reset="2026-01-02T00:00:00Z",
                        x_apiquota_remaining="0"))
    with pytest.raises(StopUntilReset, match="until 2026-01-02T00:00:00Z") as info:
        limited(gov, "POST /v1/email", retry=RETRY)(call)()
    assert info.value.reset_at == NOW_S + 86_400
    assert call.calls == 1
    decision = gov.try_acquire("POST /v1/email")  # the fleet's state knows it too
    assert (decision.allowed, decision.scope) == (False, "quota")


def test_the_retry_budget_is_shared_by_every_governed_function(gov: Governor) -> None:
    policy = RetryPolicy(max_attempts=10, budget="3/minute", rng=lambda: 0.0)
    first = Script(httpx.ConnectError("refused"), reply(200))
    second = Script(httpx.ConnectError("refused"))
    assert limited(gov, "GET /v1/domains", retry=policy)(first)().status_code == 200
    with pytest.raises(RetryBudgetExhausted, match="retry budget") as info:
        limited(gov, "GET /v1/domains", retry=policy)(second)()
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert (first.calls, second.calls) == (2, 3)  # one retry, then the two left


def test_an_sdk_error_carrying_the_response_is_observed(gov: Governor) -> None:
    limited_response = requests.Response()
    limited_response.status_code = 429
    limited_response.headers["Retry-After"] = "2"
    error = requests.HTTPError("429", response=limited_response)
    call = Script(error, reply(202))
    assert limited(gov, "POST /v1/email", retry=RETRY)(call)().status_code == 202
    giving_up = Script(error)
    with pytest.raises(requests.HTTPError):  # the SDK's own error, once retries are over
        limited(gov, "POST /v1/email", retry=RETRY)(giving_up)()
    assert giving_up.calls == 4


def test_extract_reads_results_that_are_not_responses(gov: Governor, clock: ManualClock) -> None:
    answers = iter([{"status": 429, "retry": "3"}, {"status": 202, "retry": "0"}])

    def extract(result: dict[str, Any]) -> tuple[int, dict[str, str], None]:
        return result["status"], {"retry-after": result["retry"]}, None

    @limited(gov, "POST /v1/email", retry=RETRY, extract=extract)
    def send() -> dict[str, Any]:
        return next(answers)

    assert send()["status"] == 202
    assert 3.0 in clock.slept_s


def test_the_acquire_timeout_fails_fast(gov: Governor) -> None:
    send = limited(gov, "POST /v1/bulk-email", timeout_s=1.0)(lambda: None)
    send()
    with pytest.raises(WaitTooLong):
        send()


def test_a_governor_of_the_wrong_kind_is_refused(gov: Governor, agov: AsyncGovernor) -> None:
    async def coroutine() -> None: ...

    with pytest.raises(TypeError, match="AsyncGovernor"):
        limited(gov, "POST /v1/email")(coroutine)
    with pytest.raises(TypeError, match="a Governor"):
        limited(agov, "POST /v1/email")(lambda: None)


def test_response_parts_reads_anything_shaped_like_a_response() -> None:
    assert response_parts(reply(202)) == (202, reply(202).headers, None)
    status, _, body = response_parts(reply(422, {"message": "bad"})) or (0, None, None)
    assert (status, body) == (422, b'{"message":"bad"}')
    assert response_parts({"status_code": 200}) is None
    assert response_parts(None) is None


async def test_an_async_function_is_governed_the_same_way(
    agov: AsyncGovernor, clock: ManualClock
) -> None:
    calls: list[str] = []
    answers = iter([reply(429, RATE_429, retry_after="4"), reply(202), reply(202)])

    @limited(agov, "POST /v1/email", retry=RETRY)
    async def send(to: str) -> httpx.Response:
        """Send one email."""
        calls.append(to)
        return next(answers)

    assert inspect.iscoroutinefunction(send)
    assert send.__doc__ == "Send one email."
    assert (await send("a")).status_code == 202
    assert (await send("b")).status_code == 202
    assert calls == ["a", "a", "b"]
    assert clock.slept_s[0] == pytest.approx(4.0)


async def test_an_async_post_is_never_resent_after_a_timeout(agov: AsyncGovernor) -> None:
    calls = 0

    @limited(agov, "POST /v1/email", retry=RETRY)
    async def send() -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ReadTimeout("no answer")

    with pytest.raises(AmbiguousFailure):
        await send()
    assert calls == 1


async def test_the_async_retry_budget_bounds_retries(agov: AsyncGovernor) -> None:
    calls = 0

    @limited(agov, "GET /v1/domains", retry=RetryPolicy(max_attempts=9, budget="2/minute",
                                                         rng=lambda: 0.0))
    async def fetch() -> httpx.Response:
        nonlocal calls
        calls += 1
        raise httpx.ConnectError("refused")

    with pytest.raises(RetryBudgetExhausted):
        await fetch()
    assert calls == 3


def test_an_unknown_route_is_refused_when_decorating(clock: ManualClock) -> None:
    gov = Governor(Policy.of({"email": "10/second"}, routes={"POST /v1/email": ["email"]}),
                   clock=clock)
    with pytest.raises(UnknownRoute, match="GET /v1/domains"):
        limited(gov, "GET /v1/domains")(lambda: None)


def test_route_texts_are_named_by_the_profile_route_they_match(gov: Governor) -> None:
    seen: list[str] = []

    @limited(gov, route=lambda item: f"GET /v1/activity/{item}?page=2", retry=RETRY)
    def activity(item: int) -> httpx.Response:
        return reply(503, retry_after="1") if not seen else reply(200)

    original = gov.observe

    def spy(route: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(route)
        return original(route, *args, **kwargs)

    gov.observe = spy  # type: ignore[method-assign]  # to see the route each response is filed under
    assert activity(41).status_code == 200  # a GET: retried
    assert seen == ["GET /v1/activity/**", "GET /v1/activity/**"]


def test_the_shells_offer_the_decorator_as_a_method(
    gov: Governor, agov: AsyncGovernor, clock: ManualClock
) -> None:
    @gov.limited("POST /v1/email")
    def send(to: str) -> httpx.Response:
        return reply(202)

    @agov.limited("POST /v1/email")
    async def asend(to: str) -> httpx.Response:
        return reply(202)

    assert send("a@example.com").status_code == 202
    assert list(inspect.signature(send).parameters) == ["to"]
    assert asyncio.run(asend("b@example.com")).status_code == 202


def test_the_methods_work_bare_as_with_parentheses(
    gov: Governor, agov: AsyncGovernor, clock: ManualClock
) -> None:
    @gov.limited
    def send(to: str) -> str:
        return f"sent to {to}"

    @agov.limited
    async def asend(to: str) -> str:
        return f"sent to {to}"

    @agov.limited()
    async def aping() -> str:
        return "pong"

    assert (send("a"), asyncio.run(asend("b")), asyncio.run(aping())) == (
        "sent to a", "sent to b", "pong")
    assert list(inspect.signature(asend).parameters) == ["to"]
    assert inspect.iscoroutinefunction(asend)
    assert clock.slept_s == [1.0]  # the async shell's second call on the catch-all, 60/minute


# -- timeout_s bounds the whole governed call -----------------------------------------------


@pytest.fixture(params=["sync", "async"])
def govern(request: pytest.FixtureRequest, gov: Governor,
           agov: AsyncGovernor) -> Callable[..., Callable[[], Any]]:
    """``govern(fn, route, **options)``: ``fn`` governed by ``limited``, through the sync or
    the async shell, as a plain function that makes one governed call."""
    def sync(fn: Callable[[], Any], route: str, **options: Any) -> Callable[[], Any]:
        return limited(gov, route, **options)(fn)

    def asynchronous(fn: Callable[[], Any], route: str, **options: Any) -> Callable[[], Any]:
        async def call() -> Any:
            return fn()

        governed = limited(agov, route, **options)(call)
        return lambda: asyncio.run(governed())

    return sync if request.param == "sync" else asynchronous


def test_a_retry_after_past_the_timeout_hands_back_the_429_at_once(
    govern: Callable[..., Callable[[], Any]], clock: ManualClock
) -> None:
    call = Script(reply(429, RATE_429, retry_after="30"), reply(202))
    response = govern(call, "POST /v1/email", retry=RETRY, timeout_s=1.0)()
    assert (response.status_code, response.json(), call.calls) == (429, RATE_429, 1)
    assert clock.now_s() - NOW_S <= 1.0  # not 30 s


def test_a_retry_that_fits_in_the_timeout_still_happens(
    govern: Callable[..., Callable[[], Any]], clock: ManualClock
) -> None:
    call = Script(reply(429, RATE_429, retry_after="0.2"), reply(202))
    assert govern(call, "POST /v1/email", retry=RETRY, timeout_s=1.0)().status_code == 202
    assert call.calls == 2
    assert clock.now_s() - NOW_S == pytest.approx(0.5)  # Retry-After, then the next slot


def test_without_a_timeout_a_far_retry_after_is_waited_for(
    govern: Callable[..., Callable[[], Any]], clock: ManualClock
) -> None:
    call = Script(reply(429, RATE_429, retry_after="30"), reply(202))
    assert govern(call, "POST /v1/email", retry=RETRY)().status_code == 202
    assert clock.now_s() - NOW_S == pytest.approx(30.0)


def test_a_backoff_past_the_timeout_raises_retries_exhausted_from_the_error(
    govern: Callable[..., Callable[[], Any]], clock: ManualClock
) -> None:
    slow_backoff = RetryPolicy(max_attempts=4, base_delay_s=4.0, rng=lambda: 0.5, budget=None)
    call = Script(httpx.ConnectError("refused"), reply(202))
    with pytest.raises(RetriesExhausted, match=r"timeout_s \(1\.000s left\)") as info:
        govern(call, "POST /v1/email", retry=slow_backoff, timeout_s=1.0)()
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert (info.value.attempts, call.calls, clock.now_s()) == (1, 1, NOW_S)


def test_the_calls_own_time_counts_against_the_timeout(
    govern: Callable[..., Callable[[], Any]], clock: ManualClock
) -> None:
    answers = Script(reply(503, retry_after="0.2"), reply(202))

    def slow() -> httpx.Response:
        clock.advance(0.9)  # a request on the wire for 0.9 s: 0.1 s left, less than 0.2
        return answers()

    assert govern(slow, "POST /v1/email", retry=RETRY, timeout_s=1.0)().status_code == 503
    assert answers.calls == 1


def test_a_retry_denied_its_slot_by_the_timeout_ends_with_the_attempt_before(
    govern: Callable[..., Callable[[], Any]], clock: ManualClock
) -> None:
    # Bulk email on Starter: 15/minute, a slot every 4 s. The 503 asks for 0.2 s, which fits
    # in the timeout; the slot after it does not.
    outage = Script(reply(503, {"message": "down"}, retry_after="0.2"), reply(202))
    response = govern(outage, "POST /v1/bulk-email", retry=RETRY, timeout_s=1.0)()
    assert (response.status_code, response.json(), outage.calls) == (503, {"message": "down"}, 1)
    clock.advance(4.0)  # the next slot: the call above took its own
    refused = Script(httpx.ConnectError("refused"), reply(202))
    with pytest.raises(RetriesExhausted, match=r"slot is 3\.750s away") as info:
        govern(refused, "POST /v1/bulk-email", retry=RETRY, timeout_s=1.0)()
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert isinstance(info.value.__context__, WaitTooLong)
    assert "timeout_s of 1.0s" in str(info.value)
    assert refused.calls == 1
    assert clock.now_s() - NOW_S == pytest.approx(4.0 + 0.2 + 0.25)  # Retry-After, backoff
