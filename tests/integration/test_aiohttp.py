"""The aiohttp integration (``GovernedMiddleware``) passes the suite the httpx transport passes
(``test_integrations.py``), request for request: against a scripted aiohttp server on loopback
with the governor on a ManualClock (the wire is real, the governor's waits take no time), then
against the real mock provider (the shared front-end tests of ``test_integrations.py`` run
aiohttp too)."""

from __future__ import annotations

import asyncio
import gzip
import json
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from governor import AsyncGovernor, ManualClock
from governor.backends.memory import AsyncMemoryBackend
from governor.integrations import IDEMPOTENCY_HEADER, route_of
from governor.integrations.aiohttp import GovernedMiddleware, governed_session
from governor.mock.server import MockServer
from governor.retry import (
    AmbiguousFailure,
    ErrorKind,
    RetriesExhausted,
    RetryPolicy,
    StopUntilReset,
    classify_error,
)
from tests.integration.test_integrations import (
    NOW_S,
    QUOTA_429,
    RATE_429,
    RETRY,
    SCALE,
    mailersend_policy,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from multidict import CIMultiDict

STALL = "stall"  # the server holds the request past the client's read timeout
Reply = tuple[int, dict[str, Any] | bytes | None, dict[str, str]]


def reply(status: int, body: dict[str, Any] | bytes | None = None, **headers: str) -> Reply:
    return status, body, {k.replace("_", "-"): v for k, v in headers.items()}


class Script:
    """A provider that answers in order (the last answer repeats) and keeps every request it
    saw: method, URL path, headers and body as received."""

    def __init__(self) -> None:
        self.answers: list[Reply | str] = [reply(202)]
        self.seen: list[tuple[str, str, CIMultiDict[str], bytes]] = []

    def script(self, *answers: Reply | str) -> None:
        self.answers = list(answers)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append((request.method, request.path_qs, request.headers.copy(),
                          await request.read()))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, str):
            await asyncio.sleep(1.0)
            return web.Response(status=202)
        status, body, headers = answer
        if isinstance(body, dict):
            return web.json_response(body, status=status, headers=headers)
        return web.Response(status=status, body=body, headers=headers)

    @property
    def bodies(self) -> list[bytes]:
        return [body for *_, body in self.seen]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW_S)


@pytest.fixture
def agov(clock: ManualClock) -> AsyncGovernor:
    return AsyncGovernor(mailersend_policy(), AsyncMemoryBackend(clock=clock), account="acme",
                         clock=clock)


@pytest.fixture
async def provider() -> AsyncIterator[tuple[Script, str]]:
    script = Script()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", script.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield script, str(server.make_url("")).rstrip("/")
    await server.close()


def session(agov: AsyncGovernor, url: str, **options: Any) -> aiohttp.ClientSession:
    timeout = aiohttp.ClientTimeout(sock_read=0.3)
    return aiohttp.ClientSession(url, timeout=timeout,
                                 middlewares=(GovernedMiddleware(agov, **options),))


async def status_of(response: aiohttp.ClientResponse) -> int:
    async with response:
        return response.status


async def test_every_request_acquires_the_route_of_its_path(
    agov: AsyncGovernor, clock: ManualClock, provider: tuple[Script, str]
) -> None:
    _, url = provider
    routes: list[str] = []

    def route_for(method: str, target: str) -> str:
        routes.append(route_of(method, target))
        return route_of(method, target)

    async with session(agov, url, route_for=route_for) as http:
        for _ in range(3):
            assert await status_of(await http.post("/v1/email?dry=1", json={})) == 202
    assert routes == [f"POST {url}/v1/email?dry=1"] * 3
    assert clock.slept_s == [0.5, 0.5]  # POST /v1/email: 120/minute
    assert not await agov.try_acquire("POST /v1/email")
    assert await agov.try_acquire("GET /v1/domains")


async def test_a_429_is_retried_after_retry_after_and_the_client_gets_the_success(
    agov: AsyncGovernor, clock: ManualClock, provider: tuple[Script, str]
) -> None:
    script, url = provider
    script.script(reply(429, RATE_429, retry_after="6"), reply(202))
    async with session(agov, url) as http:
        assert await status_of(await http.post("/v1/email", json={"to": "a"})) == 202
    assert script.bodies == [b'{"to": "a"}'] * 2
    assert sum(clock.slept_s) == pytest.approx(6.0)


async def test_a_post_answered_500_is_handed_back_once_and_readable(
    agov: AsyncGovernor, provider: tuple[Script, str]
) -> None:
    script, url = provider
    script.script(reply(500, {"message": "Server Error"}), reply(202))
    async with session(agov, url) as http, http.post("/v1/email", json={}) as response:
        assert (response.status, await response.json()) == (500, {"message": "Server Error"})
    assert len(script.seen) == 1


async def test_a_get_answered_503_then_500_is_retried(
    agov: AsyncGovernor, provider: tuple[Script, str]
) -> None:
    script, url = provider
    script.script(reply(503, retry_after="1"), reply(500), reply(200, {"data": []}))
    async with session(agov, url) as http, http.get("/v1/domains") as response:
        assert await response.json() == {"data": []}
    assert len(script.seen) == 3


async def test_a_post_that_timed_out_is_not_resent(
    agov: AsyncGovernor, provider: tuple[Script, str]
) -> None:
    script, url = provider
    script.script(STALL, reply(202))
    async with session(agov, url) as http:
        with pytest.raises(AmbiguousFailure) as info:
            await http.post("/v1/email", json={})
    assert isinstance(info.value.__cause__, aiohttp.SocketTimeoutError)
    assert len(script.seen) == 1


async def test_an_idempotency_key_makes_the_resend_safe_and_stays_the_same(
    agov: AsyncGovernor, provider: tuple[Script, str]
) -> None:
    script, url = provider
    script.script(STALL, reply(500), reply(200))
    async with session(agov, url, idempotency_keys=True) as http:
        assert await status_of(await http.post("/api/v1/emails/send", json={})) == 200
    keys = {headers[IDEMPOTENCY_HEADER] for _, _, headers, _ in script.seen}
    assert (len(script.seen), len(keys)) == (3, 1)
    script.seen.clear()
    script.script(STALL, reply(200))
    async with session(agov, url) as http:
        await status_of(await http.post("/v1/email", json={},
                                        headers={"idempotency-key": "order-42"}))
    assert [h[IDEMPOTENCY_HEADER] for _, _, h, _ in script.seen] == ["order-42", "order-42"]


async def test_a_streamed_body_is_sent_whole_on_every_attempt(
    agov: AsyncGovernor, provider: tuple[Script, str]
) -> None:
    script, url = provider
    script.script(reply(503, retry_after="1"), reply(202))

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"to":'
        yield b'"a"}'

    async with session(agov, url) as http:
        assert await status_of(await http.post("/v1/email", data=chunks())) == 202
    assert script.bodies == [b'{"to":"a"}'] * 2


async def test_a_spent_quota_raises_and_the_fleet_stops(
    agov: AsyncGovernor, provider: tuple[Script, str]
) -> None:
    script, url = provider
    script.script(reply(429, QUOTA_429, x_apiquota_remaining="0",
                        x_apiquota_reset="2026-01-02T00:00:00Z"))
    async with session(agov, url) as http:
        with pytest.raises(StopUntilReset, match="MS42901"):
            await http.post("/v1/email", json={})
    assert len(script.seen) == 1
    assert (await agov.try_acquire("POST /v1/email")).scope == "quota"


async def test_an_encoded_error_body_is_classified_and_handed_on_readable(
    agov: AsyncGovernor, provider: tuple[Script, str]
) -> None:
    script, url = provider
    script.script(reply(429, gzip.compress(json.dumps(QUOTA_429).encode()),
                        content_encoding="gzip", content_type="application/json"))
    async with session(agov, url, retry=None) as http, http.post("/v1/email", json={}) as r:
        assert await r.json() == QUOTA_429  # the client reads it as usual
    assert (await agov.try_acquire("POST /v1/email")).scope == "quota"


async def test_without_a_policy_responses_are_observed_but_nothing_is_retried(
    agov: AsyncGovernor, provider: tuple[Script, str]
) -> None:
    script, url = provider
    script.script(reply(429, RATE_429, retry_after="30"))
    async with session(agov, url, retry=None) as http:
        assert await status_of(await http.post("/v1/email", json={})) == 429
    assert len(script.seen) == 1
    decision = await agov.try_acquire("POST /v1/email")
    assert not decision.allowed
    assert decision.wait_s == pytest.approx(30.0)


async def test_the_middleware_retries_a_429_and_never_resends_a_timed_out_post(
    agov: AsyncGovernor, clock: ManualClock, provider: tuple[Script, str]
) -> None:
    script, url = provider
    script.script(reply(429, RATE_429, retry_after="3"), reply(202), STALL)
    async with session(agov, url, retry=RETRY) as http:
        assert await status_of(await http.post("/v1/email", json={})) == 202
        with pytest.raises(AmbiguousFailure):
            await http.post("/v1/email", json={})
    assert len(script.seen) == 3
    assert 3.0 in [pytest.approx(s) for s in clock.slept_s]


async def test_governed_session_keeps_the_sessions_settings(
    agov: AsyncGovernor, provider: tuple[Script, str]
) -> None:
    script, url = provider
    options = {"headers": {"Authorization": "Bearer t"}}
    async with governed_session(agov, base_url=url, session_options=options,
                                retry=None) as http:
        assert await status_of(await http.post("/v1/email", json={})) == 202
    assert script.seen[0][2]["Authorization"] == "Bearer t"
    with pytest.raises(TypeError, match="middlewares"):
        governed_session(agov, session_options={"middlewares": ()})


@pytest.mark.parametrize(("retry_after", "timeout_s", "handed_back", "moved_s"), [
    ("30", 1.0, (429, 1), 0.0),  # past the timeout: the 429 at once, not 30 s later
    ("0.2", 1.0, (202, 2), 0.5),  # fits: retried (Retry-After, then the next slot)
    ("30", None, (202, 2), 30.0),  # no timeout: waited out, as ever
])
async def test_a_request_is_retried_only_when_the_retry_fits_in_its_timeout(
    retry_after: str, timeout_s: float | None, handed_back: tuple[int, int], moved_s: float,
    agov: AsyncGovernor, clock: ManualClock, provider: tuple[Script, str],
) -> None:
    script, url = provider
    script.script(reply(429, RATE_429, retry_after=retry_after), reply(202))
    async with session(agov, url, timeout_s=timeout_s) as http:
        status = await status_of(await http.post("/v1/email", json={}))
    assert (status, len(script.seen)) == handed_back
    assert clock.now_s() - NOW_S == pytest.approx(moved_s)


async def test_a_refused_connection_with_no_time_to_retry_raises_retries_exhausted(
    agov: AsyncGovernor, clock: ManualClock, unused_tcp_port: int
) -> None:
    slow_backoff = RetryPolicy(base_delay_s=4.0, rng=lambda: 0.5, budget=None)  # 2 s
    async with session(agov, f"http://127.0.0.1:{unused_tcp_port}", retry=slow_backoff,
                       timeout_s=1.0) as http:
        with pytest.raises(RetriesExhausted, match="timeout_s") as info:
            await http.post("/v1/email", json={})
    assert info.value.attempts == 1
    assert isinstance(info.value.__cause__, aiohttp.ClientConnectorError)
    assert clock.now_s() == NOW_S


async def test_a_refused_post_is_resent_once_the_connection_opens(
    agov: AsyncGovernor, unused_tcp_port: int
) -> None:
    policy = RetryPolicy(max_attempts=2, rng=lambda: 0.0, budget=None)
    async with session(agov, f"http://127.0.0.1:{unused_tcp_port}", retry=policy) as http:
        with pytest.raises(RetriesExhausted) as info:
            await http.post("/v1/email", json={})
    assert info.value.attempts == 2  # never sent, so resent


@pytest.mark.parametrize(("error", "kind"), [
    (aiohttp.ClientConnectorError(None, OSError(111, "refused")),  # type: ignore[arg-type]
     ErrorKind.NOT_SENT),
    (aiohttp.ConnectionTimeoutError("connect"), ErrorKind.NOT_SENT),
    (aiohttp.SocketTimeoutError("read"), ErrorKind.AMBIGUOUS),
    (aiohttp.ServerDisconnectedError(), ErrorKind.AMBIGUOUS),
    (aiohttp.ClientOSError(104, "reset"), ErrorKind.AMBIGUOUS),
    (aiohttp.InvalidURL("x"), None),
])
def test_aiohttp_errors_say_whether_the_request_left(
    error: Exception, kind: ErrorKind | None
) -> None:
    assert classify_error(error) == kind


# -- the real mock provider ----------------------------------------------------------------


@pytest.fixture
def mailersend() -> Iterator[MockServer]:
    with MockServer("mailersend", time_scale=SCALE) as server:
        server.admin.add_account("acme", "tok-acme", plan="starter", reputation="under_review")
        yield server


@pytest.mark.slow
async def test_the_session_learns_a_lower_limit_and_delivers_each_email_once(
    mailersend: MockServer,
) -> None:
    agov = AsyncGovernor(mailersend_policy(time_scale=SCALE), account="acme")
    statuses = []
    async with governed_session(agov, base_url=mailersend.url, session_options={
            "headers": {"Authorization": "Bearer tok-acme"}}) as http:
        for _ in range(14):
            statuses.append(await status_of(await http.post("/v1/email", json={})))
    report = mailersend.admin.report()["accounts"]["acme"]
    assert statuses == [202] * 14
    assert (report["sent"], report["delivered"]) == (14, 14)
    assert sum(report["rate_limited"].values()) <= 1
    assert report["buckets"]["email"]["max_in_fixed_window"] <= 10
