"""The HTTP integrations: ``requests`` (GovernedAdapter) and ``httpx`` (GovernedTransport, sync
and async). First against fakes with real ``Response`` objects (``httpx.MockTransport``, a fake
urllib3 pool under a real adapter) on a ManualClock; then against the real mock provider over
loopback."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import time
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import requests
import urllib3
import urllib3.exceptions
from urllib3.util.retry import Retry

from governor import AsyncGovernor, Governor, ManualClock, Policy, load_profile
from governor.backends.memory import AsyncMemoryBackend, MemoryBackend
from governor.integrations import IDEMPOTENCY_HEADER, route_of
from governor.integrations.aiohttp import governed_session as aiohttp_session
from governor.integrations.httpx import (
    AsyncGovernedTransport,
    GovernedTransport,
    govern_async_client,
    govern_client,
)
from governor.integrations.requests import GovernedAdapter, govern_session, governed_session
from governor.mock.server import MockServer
from governor.retry import AmbiguousFailure, RetriesExhausted, RetryPolicy, StopUntilReset

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

NOW_S = 1_767_225_600.0
API = "https://api.mailersend.com"
RETRY = RetryPolicy(max_attempts=4, rng=lambda: 0.5, budget=None)
RATE_429 = {"message": "Your account reached its rate limit. #MS42903"}
QUOTA_429 = {"message": "Your account reached its API daily quota limit. #MS42901"}


def mailersend_policy(reputation: str | None = None, time_scale: float = 60.0) -> Policy:
    resolved = load_profile("mailersend").resolve("starter", reputation)
    return Policy.from_profile(resolved, time_scale=time_scale)


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


class Provider:
    """A scripted provider for httpx.MockTransport: answers in order (the last one repeats)
    and keeps every request it saw, with its body as sent."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.seen: list[httpx.Request] = []
        self.bodies: list[bytes] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        self.bodies.append(request.read())
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def answer(status: int, body: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body,
                          headers={k.replace("_", "-"): v for k, v in headers.items()})


def client(gov: Governor, provider: Provider, **options: Any) -> httpx.Client:
    transport = GovernedTransport(gov, httpx.MockTransport(provider), **options)
    return httpx.Client(base_url=API, transport=transport)


# -- httpx, sync ---------------------------------------------------------------------------


def test_every_request_acquires_the_route_of_its_path(gov: Governor, clock: ManualClock) -> None:
    routes: list[str] = []

    def route_for(method: str, url: str) -> str:
        routes.append(route_of(method, url))
        return route_of(method, url)

    with client(gov, Provider(answer(202)), route_for=route_for) as http:
        for _ in range(3):
            assert http.post("/v1/email?dry=1", json={}).status_code == 202
    assert routes == ["POST https://api.mailersend.com/v1/email?dry=1"] * 3
    assert clock.slept_s == [0.5, 0.5]  # POST /v1/email: 120/minute
    assert not gov.try_acquire("POST /v1/email")  # the email bucket, not the general one
    assert gov.try_acquire("GET /v1/domains")


def test_a_429_is_retried_after_retry_after_and_the_client_gets_the_success(
    gov: Governor, clock: ManualClock
) -> None:
    provider = Provider(answer(429, RATE_429, retry_after="6"), answer(202))
    with client(gov, provider) as http:
        assert http.post("/v1/email", json={"to": "a"}).status_code == 202
    assert len(provider.seen) == 2
    assert provider.bodies == [b'{"to":"a"}'] * 2
    assert sum(clock.slept_s) == pytest.approx(6.0)


def test_a_post_answered_500_is_handed_back_once_and_readable(gov: Governor) -> None:
    provider = Provider(answer(500, {"message": "Server Error"}), answer(202))
    with client(gov, provider) as http:
        response = http.post("/v1/email", json={})
    assert (response.status_code, response.json(), len(provider.seen)) == (
        500, {"message": "Server Error"}, 1)


def test_a_get_answered_503_then_500_is_retried(gov: Governor) -> None:
    provider = Provider(answer(503, retry_after="1"), answer(500), answer(200, {"data": []}))
    with client(gov, provider) as http:
        assert http.get("/v1/domains").json() == {"data": []}
    assert len(provider.seen) == 3


def test_a_post_that_timed_out_is_not_resent(gov: Governor) -> None:
    provider = Provider(httpx.ReadTimeout("no answer"), answer(202))
    with client(gov, provider) as http, pytest.raises(AmbiguousFailure) as info:
        http.post("/v1/email", json={})
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    assert len(provider.seen) == 1


def test_an_idempotency_key_makes_the_resend_safe_and_stays_the_same(gov: Governor) -> None:
    provider = Provider(httpx.ReadTimeout("no answer"), answer(500), answer(200))
    with client(gov, provider, idempotency_keys=True) as http:
        assert http.post("/api/v1/emails/send", json={}).status_code == 200
    keys = {r.headers[IDEMPOTENCY_HEADER] for r in provider.seen}
    assert (len(provider.seen), len(keys)) == (3, 1)
    mine = Provider(httpx.ReadTimeout("no answer"), answer(200))
    with client(gov, mine) as http:
        http.post("/v1/email", json={}, headers={"idempotency-key": "order-42"})
    assert [r.headers[IDEMPOTENCY_HEADER] for r in mine.seen] == ["order-42", "order-42"]


def test_a_streamed_body_is_sent_whole_on_every_attempt(gov: Governor) -> None:
    provider = Provider(answer(503, retry_after="1"), answer(202))

    def chunks() -> Iterator[bytes]:
        yield b'{"to":'
        yield b'"a"}'

    with client(gov, provider) as http:
        assert http.post("/v1/email", content=chunks()).status_code == 202
    assert provider.bodies == [b'{"to":"a"}'] * 2


def test_a_spent_quota_raises_and_the_fleet_stops(gov: Governor) -> None:
    provider = Provider(answer(429, QUOTA_429, x_apiquota_remaining="0",
                               x_apiquota_reset="2026-01-02T00:00:00Z"))
    with client(gov, provider) as http, pytest.raises(StopUntilReset, match="MS42901"):
        http.post("/v1/email", json={})
    assert len(provider.seen) == 1
    assert gov.try_acquire("POST /v1/email").scope == "quota"


def test_an_encoded_error_body_is_classified_and_handed_on_unread(gov: Governor) -> None:
    raw = gzip.compress(json.dumps(QUOTA_429).encode())

    def gzipped(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"content-encoding": "gzip"},
                              stream=httpx.ByteStream(raw))

    transport = GovernedTransport(gov, httpx.MockTransport(gzipped), retry=None)
    with httpx.Client(base_url=API, transport=transport) as http:
        response = http.post("/v1/email", json={})
        assert response.json() == QUOTA_429  # the client decodes it as usual
        assert response.elapsed.total_seconds() >= 0
    assert gov.try_acquire("POST /v1/email").scope == "quota"  # observed as a spent quota


def test_without_a_policy_responses_are_observed_but_nothing_is_retried(
    gov: Governor, clock: ManualClock
) -> None:
    provider = Provider(answer(429, RATE_429, retry_after="30"))
    with client(gov, provider, retry=None) as http:
        assert http.post("/v1/email", json={}).status_code == 429
    assert len(provider.seen) == 1
    decision = gov.try_acquire("POST /v1/email")
    assert not decision.allowed
    assert decision.wait_s == pytest.approx(30.0)


def test_govern_client_keeps_the_clients_settings_and_never_wraps_twice(
    gov: Governor,
) -> None:
    provider = Provider(answer(202))
    http = httpx.Client(base_url=API, headers={"Authorization": "Bearer t"},
                        transport=httpx.MockTransport(provider), timeout=7.0)
    govern_client(http, gov)
    govern_client(http, gov, retry=None)
    transport = http._transport
    assert isinstance(transport, GovernedTransport)
    assert isinstance(transport.inner, httpx.MockTransport)
    assert transport.governance.retry is None
    http.post("/v1/email", json={})
    seen = provider.seen[0]
    assert (str(seen.url), seen.headers["authorization"]) == (f"{API}/v1/email", "Bearer t")
    assert seen.extensions["timeout"]["read"] == 7.0


# -- httpx, async --------------------------------------------------------------------------


async def test_the_async_transport_retries_a_429_and_never_resends_a_timed_out_post(
    agov: AsyncGovernor, clock: ManualClock
) -> None:
    provider = Provider(answer(429, RATE_429, retry_after="3"), answer(202),
                        httpx.ReadTimeout("no answer"))
    transport = AsyncGovernedTransport(agov, httpx.MockTransport(provider), retry=RETRY)
    async with httpx.AsyncClient(base_url=API, transport=transport) as http:
        assert (await http.post("/v1/email", json={})).status_code == 202
        with pytest.raises(AmbiguousFailure):
            await http.post("/v1/email", json={})
    assert len(provider.seen) == 3
    assert 3.0 in [pytest.approx(s) for s in clock.slept_s]


async def test_an_async_encoded_error_body_is_handed_on_unread(agov: AsyncGovernor) -> None:
    raw = gzip.compress(b'{"message": "Server Error"}')

    async def gzipped(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, headers={"content-encoding": "gzip"},
                              stream=httpx.ByteStream(raw))

    http = govern_async_client(httpx.AsyncClient(base_url=API,
                                                 transport=httpx.MockTransport(gzipped)), agov)
    async with http:
        response = await http.get("/v1/domains")
    assert (response.status_code, response.json()) == (500, {"message": "Server Error"})


# -- requests ------------------------------------------------------------------------------


Answer = tuple[int, dict[str, str], bytes] | Exception


class FakePool:
    """urllib3's side of a connection, scripted: what a real HTTPAdapter sends through."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []

    def urlopen(self, method: str, url: str, **kwargs: Any) -> urllib3.HTTPResponse:
        self.calls.append({"method": method, "url": url, **kwargs})
        reply = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(reply, Exception):
            raise reply
        status, headers, body = reply
        return urllib3.HTTPResponse(body=io.BytesIO(body), status=status, headers=headers,
                                    preload_content=False, decode_content=False)


class FakePoolManager:
    def __init__(self, pool: FakePool) -> None:
        self.pool = pool

    def connection_from_host(self, *args: Any, **kwargs: Any) -> FakePool:
        return self.pool

    def clear(self) -> None: ...


def session_over(pool: FakePool, gov: Governor, **options: Any) -> requests.Session:
    session = governed_session(gov, **options)
    adapter = session.get_adapter("http://api.test/")
    adapter.poolmanager = FakePoolManager(pool)  # type: ignore[attr-defined]  # the fake wire
    return session


def test_the_adapter_never_lets_urllib3_resend(gov: Governor) -> None:
    adapter = GovernedAdapter(gov)
    assert (adapter.max_retries.total, adapter.max_retries.read) == (0, False)
    adapter.max_retries = 0  # an int, as HTTPAdapter takes it: never resend
    with pytest.raises(ValueError, match="never lets urllib3 resend"):
        adapter.max_retries = Retry(3, status_forcelist=[500], allowed_methods=["POST"])
    pool = FakePool((500, {}, b'{"message": "Server Error"}'))
    response = session_over(pool, gov).post("http://api.test/v1/email", json={})
    assert (response.status_code, response.json()) == (500, {"message": "Server Error"})
    assert len(pool.calls) == 1
    assert pool.calls[0]["retries"].total == 0


def test_govern_session_replaces_every_retrying_adapter(gov: Governor) -> None:
    session = requests.Session()
    sdk_like = requests.adapters.HTTPAdapter(max_retries=Retry(3, allowed_methods=["POST"]))
    session.mount("https://", sdk_like)
    session.mount("http://", sdk_like)
    govern_session(session, gov)
    adapters = {session.get_adapter(u) for u in (API, "http://localhost:1/")}
    assert len(adapters) == 1
    assert isinstance(adapters.pop(), GovernedAdapter)
    only = govern_session(requests.Session(), gov, base_url=f"{API}/v1/")
    assert isinstance(only.get_adapter(f"{API}/v1/email"), GovernedAdapter)
    assert not isinstance(only.get_adapter("https://example.com/"), GovernedAdapter)


def test_the_adapter_retries_a_429_and_reads_the_reply(gov: Governor, clock: ManualClock) -> None:
    pool = FakePool((429, {"retry-after": "4"}, json.dumps(RATE_429).encode()),
                    (202, {"x-message-id": "m1"}, b""))
    response = session_over(pool, gov).post("http://api.test/v1/email", json={"to": "a"})
    assert (response.status_code, response.headers["x-message-id"]) == (202, "m1")
    assert [c["body"] for c in pool.calls] == [b'{"to": "a"}'] * 2
    assert sum(clock.slept_s) == pytest.approx(4.0)


@pytest.mark.parametrize(("error", "sends", "raised"), [
    (urllib3.exceptions.ReadTimeoutError(None, "/", "read timed out"),  # type: ignore[arg-type]
     1, AmbiguousFailure),
    (urllib3.exceptions.ProtocolError("Connection aborted.", ConnectionResetError()),
     1, AmbiguousFailure),
    (urllib3.exceptions.MaxRetryError(
        None, "/", urllib3.exceptions.NewConnectionError(None, "refused")),  # type: ignore[arg-type]
     2, None),
])
def test_the_adapter_resends_a_post_only_if_it_never_left(
    gov: Governor, error: Exception, sends: int, raised: type[Exception] | None
) -> None:
    pool = FakePool(error, (202, {}, b""))
    session = session_over(pool, gov)
    if raised is None:
        assert session.post("http://api.test/v1/email", json={}).status_code == 202
    else:
        with pytest.raises(raised) as info:
            session.post("http://api.test/v1/email", json={})
        assert isinstance(info.value.__cause__, requests.RequestException)
    assert len(pool.calls) == sends


def test_a_streamed_requests_body_is_never_replayed(gov: Governor) -> None:
    pool = FakePool((503, {"retry-after": "1"}, b""), (202, {}, b""))
    response = session_over(pool, gov).post("http://api.test/v1/domains",
                                            data=iter([b"a", b"b"]))
    assert (response.status_code, len(pool.calls)) == (503, 1)


# -- timeout_s bounds the whole governed request, on every front end ------------------------

FRONT_ENDS = ["requests", "httpx", "httpx-async"]
REFUSED = "refused"  # a connection that never opened, in each library's own words
Reply = tuple[int, dict[str, str], bytes]


def _refused(front: str) -> Exception:
    if front == "requests":
        return urllib3.exceptions.MaxRetryError(
            None, "/", urllib3.exceptions.NewConnectionError(None, "refused"))  # type: ignore[arg-type]
    return httpx.ConnectError("refused")


def post_through(front: str, gov: Governor, agov: AsyncGovernor, *replies: Reply | str,
                 **options: Any) -> tuple[int, int]:
    """POST /v1/email once through ``front`` against ``replies`` (``REFUSED``, or any text:
    the connection fails); the status handed back and the number of requests the provider
    saw."""
    answers = [_refused(front) if isinstance(r, str) else r for r in replies]
    if front == "requests":
        pool = FakePool(*answers)
        response = session_over(pool, gov, **options).post("http://api.test/v1/email", json={})
        return response.status_code, len(pool.calls)
    provider = Provider(*(a if isinstance(a, Exception) else
                          httpx.Response(a[0], headers=a[1], content=a[2]) for a in answers))
    if front == "httpx":
        with client(gov, provider, **options) as http:
            return http.post("/v1/email", json={}).status_code, len(provider.seen)

    async def post() -> int:
        transport = AsyncGovernedTransport(agov, httpx.MockTransport(provider), **options)
        async with httpx.AsyncClient(base_url=API, transport=transport) as http:
            return (await http.post("/v1/email", json={})).status_code

    return asyncio.run(post()), len(provider.seen)


ACCEPTED: Reply = (202, {}, b"")


@pytest.mark.parametrize("front", FRONT_ENDS)
@pytest.mark.parametrize(("retry_after", "timeout_s", "handed_back", "moved_s"), [
    ("30", 1.0, (429, 1), 0.0),  # past the timeout: the 429 at once, not 30 s later
    ("0.2", 1.0, (202, 2), 0.5),  # fits: retried (Retry-After, then the next slot)
    ("30", None, (202, 2), 30.0),  # no timeout: waited out, as ever
])
def test_a_request_is_retried_only_when_the_retry_fits_in_its_timeout(
    front: str, retry_after: str, timeout_s: float | None, handed_back: tuple[int, int],
    moved_s: float, gov: Governor, agov: AsyncGovernor, clock: ManualClock,
) -> None:
    limited_429 = (429, {"retry-after": retry_after}, json.dumps(RATE_429).encode())
    assert post_through(front, gov, agov, limited_429, ACCEPTED,
                        timeout_s=timeout_s) == handed_back
    assert clock.now_s() - NOW_S == pytest.approx(moved_s)


@pytest.mark.parametrize("front", FRONT_ENDS)
def test_a_refused_connection_with_no_time_to_retry_raises_retries_exhausted(
    front: str, gov: Governor, agov: AsyncGovernor, clock: ManualClock
) -> None:
    slow_backoff = RetryPolicy(base_delay_s=4.0, rng=lambda: 0.5, budget=None)  # 2 s
    with pytest.raises(RetriesExhausted, match="timeout_s") as info:
        post_through(front, gov, agov, REFUSED, ACCEPTED, retry=slow_backoff, timeout_s=1.0)
    assert info.value.attempts == 1
    assert clock.now_s() == NOW_S


# -- the real mock provider ----------------------------------------------------------------

SCALE = 3.0  # a provider minute lasts 3 s


@pytest.fixture
def mailersend() -> Iterator[MockServer]:
    with MockServer("mailersend", time_scale=SCALE) as server:
        server.admin.add_account("acme", "tok-acme", plan="starter", reputation="under_review")
        yield server


def _send_all(send: Callable[[], int], n: int) -> list[int]:
    return [send() for _ in range(n)]


@pytest.mark.slow
def test_the_httpx_transport_learns_a_lower_limit_and_delivers_each_email_once(
    mailersend: MockServer,
) -> None:
    # The governor believes in 120/minute; the account is under review (10/minute). The first
    # response teaches it the lower limit; the call booked before that at the old pace may
    # be one too many for the minute (a 429, retried), never more.
    gov = Governor(mailersend_policy(time_scale=SCALE), account="acme")
    with httpx.Client(base_url=mailersend.url, transport=GovernedTransport(gov),
                      headers={"Authorization": "Bearer tok-acme"}) as http:
        statuses = _send_all(lambda: http.post("/v1/email", json={}).status_code, 14)
    report = mailersend.admin.report()["accounts"]["acme"]
    assert statuses == [202] * 14
    assert (report["sent"], report["delivered"]) == (14, 14)
    assert sum(report["rate_limited"].values()) <= 1
    assert report["buckets"]["email"]["max_in_fixed_window"] <= 10


@pytest.mark.slow
def test_a_governed_requests_session_rides_out_an_outage(mailersend: MockServer) -> None:
    gov = Governor.from_settings(provider="mailersend", plan="starter",
                                 reputation="under_review", time_scale=SCALE)
    session = governed_session(gov)
    session.headers["Authorization"] = "Bearer tok-acme"
    mailersend.admin.schedule_outage(20)  # 20 virtual seconds: one real second
    response = session.post(mailersend.url + "/v1/email", json={})
    totals = mailersend.admin.report()["totals"]
    assert response.status_code == 202
    assert (totals["unavailable"], totals["sent"], totals["delivered"]) == (1, 1, 1)


def test_urls_of_one_route_share_the_profile_route_name(gov: Governor) -> None:
    governance = GovernedTransport(gov, httpx.MockTransport(Provider(answer(200)))).governance
    headers: dict[str, str] = {}
    plans = [governance.plan(m, u, headers, replayable=True) for m, u in [
        ("get", f"{API}/v1/activity/42?page=2"), ("GET", f"{API}/v1/activity/7"),
        ("POST", f"{API}/v1/email"), ("PUT", f"{API}/v1/domains/1")]]
    assert [p.route for p in plans] == ["GET /v1/activity/**", "GET /v1/activity/**",
                                        "POST /v1/email", "* /**"]
    assert [p.resend_safe for p in plans] == [True, True, False, True]
    assert headers == {}  # no idempotency keys unless asked for


# The fakes above are each library's own; over a real server, aiohttp joins (test_aiohttp.py
# mirrors the fake-based tests for it, over a scripted aiohttp server).
REAL_FRONT_ENDS = [*FRONT_ENDS, "aiohttp"]


def post_to(front: str, url: str, gov: Governor, agov: AsyncGovernor, **options: Any) -> int:
    """POST /v1/email once to the real server at ``url`` through ``front``; the status."""
    auth = {"Authorization": "Bearer tok-acme"}
    if front == "aiohttp":
        async def send() -> int:
            async with aiohttp_session(agov, base_url=url, session_options={"headers": auth},
                                       **options) as http, http.post("/v1/email",
                                                                     json={}) as response:
                return response.status

        return asyncio.run(send())
    if front == "requests":
        session = governed_session(gov, **options)
        session.headers.update(auth)
        return session.post(url + "/v1/email", json={}).status_code
    if front == "httpx":
        with httpx.Client(base_url=url, headers=auth,
                          transport=GovernedTransport(gov, **options)) as http:
            return http.post("/v1/email", json={}).status_code

    async def post() -> int:
        async with httpx.AsyncClient(base_url=url, headers=auth,
                                     transport=AsyncGovernedTransport(agov, **options)) as http:
            return (await http.post("/v1/email", json={})).status_code

    return asyncio.run(post())


@pytest.fixture
def down_30s() -> Iterator[MockServer]:
    """The mock at a real minute, in an outage: every request gets ``503 Retry-After: 30``."""
    with MockServer("mailersend") as server:
        server.admin.add_account("acme", "tok-acme", plan="starter")
        server.admin.schedule_outage(30)
        yield server


@pytest.mark.parametrize("front", REAL_FRONT_ENDS)
def test_a_request_given_one_second_returns_within_it_from_a_30s_outage(
    front: str, down_30s: MockServer
) -> None:
    gov = Governor(mailersend_policy(), account="acme")
    agov = AsyncGovernor(mailersend_policy(), account="acme")
    started = time.monotonic()
    status = post_to(front, down_30s.url, gov, agov, timeout_s=1.0)
    elapsed_s = time.monotonic() - started
    assert status == 503
    assert elapsed_s < 1.5  # not the 30 s of Retry-After
    assert down_30s.admin.report()["totals"]["unavailable"] == 1


@pytest.mark.parametrize("front", REAL_FRONT_ENDS)
def test_a_request_given_one_second_rides_out_a_short_outage(
    front: str, mailersend: MockServer
) -> None:
    policy = mailersend_policy("under_review", time_scale=SCALE)
    gov, agov = Governor(policy, account="acme"), AsyncGovernor(policy, account="acme")
    mailersend.admin.schedule_outage(4)  # 4 virtual seconds: 0.2 s, inside the timeout
    started = time.monotonic()
    status = post_to(front, mailersend.url, gov, agov, timeout_s=1.0)
    elapsed_s = time.monotonic() - started
    totals = mailersend.admin.report()["totals"]
    assert (status, totals["unavailable"], totals["delivered"]) == (202, 1, 1)
    assert elapsed_s < 1.5
