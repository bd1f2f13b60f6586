"""The official SDKs, governed, against the real mock provider over loopback: the ``mailersend``
2.2.0 and ``lettr`` 1.7.0 packages as published, nothing faked.

The SDK modules are loaded with ``pytest.importorskip`` (``mailersend`` ships no type
information; the tests only skip where the packages are not installed).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import httpx
import pytest
import requests

from governor import AsyncGovernor, Governor
from governor.integrations.httpx import AsyncGovernedTransport, GovernedTransport
from governor.integrations.requests import GovernedAdapter
from governor.integrations.sdk import govern_async_mailersend, govern_lettr, govern_mailersend
from governor.mock.server import MockServer

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

mailersend = pytest.importorskip("mailersend", minversion="2.2.0")
mailersend_errors = pytest.importorskip("mailersend.exceptions")
lettr = pytest.importorskip("lettr", minversion="1.7.0")

SCALE = 3.0  # a provider minute lasts 3 s: under review, POST /v1/email takes one every 0.3 s
TOKEN = "tok-acme"


def email() -> Any:
    return mailersend.EmailRequest.model_validate({
        "from": {"email": "shop@example.com"}, "to": [{"email": "ann@example.com"}],
        "subject": "Your order", "text": "Thanks!",
    })


def at_a_minute_start(server: MockServer) -> None:
    """Wait until a provider minute begins on the mock. Its windows are fixed minutes, and a
    governor pacing at exactly the limit fills each one; started mid-minute, a request that
    arrives a millisecond late at the end of a minute would spill into the next, which can
    then take one too many. (The governor corrects for that from ``x-ratelimit-reset``, but
    not under a time scale yet: the scaled mock's epoch, past the year 2286, is not read as
    one.)"""
    virtual = server.clock.now_s()
    time.sleep(server.clock.scale.to_real_s(60 - virtual % 60) + 0.005)


@pytest.fixture
def mailersend_mock() -> Iterator[MockServer]:
    with MockServer("mailersend", time_scale=SCALE) as server:
        server.admin.add_account("acme", TOKEN, plan="starter", reputation="under_review")
        yield server


def under_review(asynchronous: bool = False) -> Any:
    settings: dict[str, Any] = {"provider": "mailersend", "plan": "starter",
                                "reputation": "under_review", "account": "acme",
                                "time_scale": SCALE}
    return (AsyncGovernor if asynchronous else Governor).from_settings(**settings)


@pytest.mark.slow
def test_a_governed_mailersend_client_sends_20_emails_without_a_429(
    mailersend_mock: MockServer,
) -> None:
    client = mailersend.MailerSendClient(api_key=TOKEN, base_url=mailersend_mock.url + "/v1/")
    assert govern_mailersend(client, under_review()) is client
    at_a_minute_start(mailersend_mock)
    ids = {client.emails.send(email())["id"] for _ in range(20)}  # two minutes' worth
    report = mailersend_mock.admin.report()["accounts"]["acme"]
    assert len(ids) == 20
    assert (report["requests"], report["sent"], report["delivered"]) == (20, 20, 20)
    assert report["rate_limited"] == {}
    assert report["buckets"]["email"]["max_in_fixed_window"] == 10  # each minute used fully


def test_govern_mailersend_replaces_the_sdks_retrying_adapters(
    mailersend_mock: MockServer,
) -> None:
    client = mailersend.MailerSendClient(api_key=TOKEN, base_url=mailersend_mock.url + "/v1/")
    before = client.session.get_adapter(client.base_url)
    assert before.max_retries.total == 3  # the SDK's urllib3 retries, POSTs on 5xx included
    assert "POST" in before.max_retries.allowed_methods
    govern_mailersend(client, under_review())
    for url in (client.base_url, "https://api.mailersend.com/v1/email"):
        adapter = client.session.get_adapter(url)
        assert isinstance(adapter, GovernedAdapter)
        assert adapter.max_retries.total == 0
    with pytest.raises(TypeError, match="MailerSendClient"):
        govern_mailersend(object(), under_review())


class _Failing(BaseHTTPRequestHandler):
    """Answers every POST with 500 and counts them."""

    posts = 0

    def do_POST(self) -> None:
        type(self).posts += 1
        self.rfile.read(int(self.headers.get("content-length", 0)))
        body = b'{"message": "Server Error"}'
        self.send_response(500)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def failing() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Failing.posts = 0
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.slow
def test_a_post_answered_500_is_sent_once_when_governed_and_four_times_when_not(
    failing: ThreadingHTTPServer,
) -> None:
    url = f"http://127.0.0.1:{failing.server_address[1]}/v1/"
    plain = mailersend.MailerSendClient(api_key=TOKEN, base_url=url)
    with pytest.raises(mailersend_errors.MailerSendError):
        plain.emails.send(email())
    assert _Failing.posts == 4  # urllib3 resent the email three times: duplicates

    _Failing.posts = 0
    governed = govern_mailersend(mailersend.MailerSendClient(api_key=TOKEN, base_url=url),
                                 under_review())
    with pytest.raises(mailersend_errors.ServerError):
        governed.emails.send(email())
    assert _Failing.posts == 1  # it may have been processed: never resent


def test_a_governed_mailersend_client_waits_out_an_outage(mailersend_mock: MockServer) -> None:
    client = govern_mailersend(
        mailersend.MailerSendClient(api_key=TOKEN, base_url=mailersend_mock.url + "/v1/"),
        under_review())
    mailersend_mock.admin.schedule_outage(15)  # 15 virtual seconds: 0.75 s
    assert client.emails.send(email())["id"]
    totals = mailersend_mock.admin.report()["totals"]
    assert (totals["unavailable"], totals["sent"], totals["delivered"]) == (1, 1, 1)


@pytest.mark.slow
async def test_a_governed_async_mailersend_client_gets_no_429(
    mailersend_mock: MockServer,
) -> None:
    client = mailersend.AsyncMailerSendClient(api_key=TOKEN,
                                              base_url=mailersend_mock.url + "/v1/")
    assert govern_async_mailersend(client, under_review(asynchronous=True)) is client
    assert client.max_retries == 0  # the SDK's own resend loop is off
    assert isinstance(client._client._transport, AsyncGovernedTransport)
    at_a_minute_start(mailersend_mock)
    async with client:
        for _ in range(12):
            await client.emails.send(email())
    report = mailersend_mock.admin.report()["accounts"]["acme"]
    assert (report["requests"], report["delivered"], report["rate_limited"]) == (12, 12, {})
    with pytest.raises(TypeError, match="AsyncMailerSendClient"):
        govern_async_mailersend(object(), under_review(asynchronous=True))


LETTR_SCALE = 6.0  # 3 requests per (virtual) second: 30 a real second


@pytest.fixture
def lettr_mock() -> Iterator[MockServer]:
    # Lettr documents its X-RateLimit-* headers; the mock sends them when asked.
    with MockServer("lettr", time_scale=LETTR_SCALE, rate_headers=True) as server:
        server.admin.add_account("team", "lttr_team", plan="pro")
        yield server


@pytest.mark.slow
def test_a_governed_lettr_client_sends_12_emails_without_a_429() -> None:
    # Real time: 3 a second, and the governor reconciles with every response's headers.
    with MockServer("lettr", rate_headers=True) as lettr_mock:
        lettr_mock.admin.add_account("team", "lttr_team", plan="pro")
        client = lettr.Lettr("lttr_team", base_url=lettr_mock.url + "/api", timeout=9.0)
        gov = Governor.from_settings(provider="lettr", plan="pro", account="team")
        assert govern_lettr(client, gov) is client
        sent = [client.emails.send(from_email="shop@example.com", to=["ann@example.com"],
                                   subject="Hi", text="Hello", idempotency_key=f"order-{n}")
                for n in range(12)]
        report = lettr_mock.admin.report()["accounts"]["team"]
    assert [s.accepted for s in sent] == [1] * 12
    assert (report["requests"], report["delivered"], report["rate_limited"]) == (12, 12, {})
    assert report["buckets"]["api"]["max_in_fixed_window"] == 3  # every second used fully


def test_govern_lettr_keeps_the_sdks_client_and_wraps_its_transport(
    lettr_mock: MockServer,
) -> None:
    client = lettr.Lettr("lttr_team", base_url=lettr_mock.url + "/api", timeout=9.0)
    http = client._client._http
    inner = http._transport
    gov = Governor.from_settings(provider="lettr", plan="pro", account="team",
                                 time_scale=LETTR_SCALE)
    govern_lettr(client, gov)
    govern_lettr(client._client, gov)  # an ApiClient too; governing again does not nest
    assert client._client._http is http
    assert isinstance(http._transport, GovernedTransport)
    assert http._transport.inner is inner
    assert (str(http.base_url), http.timeout.read) == (lettr_mock.url + "/api/", 9.0)
    assert http.headers["authorization"] == "Bearer lttr_team"
    with pytest.raises(TypeError, match=r"lettr\.Lettr"):
        govern_lettr(httpx.Client(), gov)


def test_a_governed_lettr_client_rides_out_an_outage(lettr_mock: MockServer) -> None:
    client = lettr.Lettr("lttr_team", base_url=lettr_mock.url + "/api")
    govern_lettr(client, Governor.from_settings(provider="lettr", plan="pro", account="team",
                                                time_scale=LETTR_SCALE))
    lettr_mock.admin.schedule_outage(5)  # 5 virtual seconds: half a real second
    assert client.emails.send(from_email="shop@example.com", to=["ann@example.com"],
                              subject="Hi", text="Hello").accepted == 1
    totals = lettr_mock.admin.report()["totals"]
    assert (totals["unavailable"], totals["delivered"]) == (1, 1)


def test_requests_is_the_transport_of_the_sync_mailersend_client() -> None:
    client = mailersend.MailerSendClient(api_key=TOKEN)
    assert isinstance(client.session, requests.Session)
    assert client.base_url == "https://api.mailersend.com/v1/"


# -- timeout_s bounds one SDK call ----------------------------------------------------------

SDKS = ["mailersend", "mailersend-async", "lettr"]
SDK_ERRORS = {"mailersend": mailersend_errors.ServerError,
              "mailersend-async": mailersend_errors.ServerError, "lettr": lettr.ServerError}


@contextlib.contextmanager
def provider_of(sdk: str, time_scale: float) -> Iterator[MockServer]:
    """The mock provider ``sdk`` talks to, with its account."""
    provider = "lettr" if sdk == "lettr" else "mailersend"
    with MockServer(provider, time_scale=time_scale) as server:
        if provider == "lettr":
            server.admin.add_account("team", "lttr_team", plan="pro")
        else:
            server.admin.add_account("acme", TOKEN, plan="starter")
        yield server


def governed_send(sdk: str, server: MockServer, **options: Any) -> Callable[[], Any]:
    """Send one email through the ``sdk`` client, governed with ``options``, to ``server``."""
    if sdk == "lettr":
        gov = Governor.from_settings(provider="lettr", plan="pro", account="team",
                                     time_scale=server.time_scale)
        client = govern_lettr(lettr.Lettr("lttr_team", base_url=server.url + "/api"), gov,
                              **options)
        return lambda: client.emails.send(from_email="shop@example.com", to=["ann@example.com"],
                                          subject="Hi", text="Hello")
    settings: dict[str, Any] = {"provider": "mailersend", "plan": "starter", "account": "acme",
                                "time_scale": server.time_scale}
    if sdk == "mailersend":
        sync = govern_mailersend(mailersend.MailerSendClient(
            api_key=TOKEN, base_url=server.url + "/v1/"), Governor.from_settings(**settings),
            **options)
        return lambda: sync.emails.send(email())

    async def send() -> Any:
        client = govern_async_mailersend(mailersend.AsyncMailerSendClient(
            api_key=TOKEN, base_url=server.url + "/v1/"),
            AsyncGovernor.from_settings(**settings), **options)
        async with client:
            return await client.emails.send(email())

    return lambda: asyncio.run(send())


@pytest.mark.parametrize("sdk", SDKS)
def test_an_sdk_call_given_one_second_raises_within_it_during_a_30s_outage(sdk: str) -> None:
    with provider_of(sdk, time_scale=60.0) as server:  # a real minute: Retry-After: 30
        send = governed_send(sdk, server, timeout_s=1.0)
        server.admin.schedule_outage(30)
        started = time.monotonic()
        with pytest.raises(SDK_ERRORS[sdk]):
            send()
        elapsed_s = time.monotonic() - started
        assert server.admin.report()["totals"]["unavailable"] == 1
    assert elapsed_s < 1.5  # the SDK's own error for the 503, not 30 s later


@pytest.mark.parametrize("sdk", SDKS)
def test_an_sdk_call_given_one_second_rides_out_a_short_outage(sdk: str) -> None:
    with provider_of(sdk, time_scale=6.0) as server:  # a virtual second lasts 0.1 s
        send = governed_send(sdk, server, timeout_s=1.0)
        server.admin.schedule_outage(2)
        started = time.monotonic()
        assert send()
        elapsed_s = time.monotonic() - started
        totals = server.admin.report()["totals"]
    assert (totals["unavailable"], totals["delivered"]) == (1, 1)
    assert elapsed_s < 1.5
