"""The mock provider over real HTTP: uvicorn on a loopback port, driven with httpx."""

from __future__ import annotations

import math
import random
import sys
import threading
import time
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from governor.capacity import Latency
from governor.mock.admin import AdminError
from governor.mock.clock import next_midnight_s
from governor.mock.server import MockServer
from tests.integration.slow_start import slow_start_env

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

SCALE = 6.0  # a provider minute lasts 6 s: virtual time runs 10 times faster


@pytest.fixture(scope="module")
def server() -> Iterator[MockServer]:
    with MockServer("mailersend", time_scale=SCALE) as running:
        yield running


@pytest.fixture
def client(server: MockServer) -> Iterator[httpx.Client]:
    """A client of a fresh account, at the start of a virtual minute (6 s before the next)."""
    server.admin.reset(accounts=True)
    server.admin.add_account("acme", "tok-acme", plan="free")
    server.admin.jump(to=math.ceil(server.clock.now_s() / 60) * 60)
    with httpx.Client(base_url=server.url, headers={"Authorization": "Bearer tok-acme"}) as c:
        yield c


def test_send_answers_202_with_virtual_time_headers(
    server: MockServer, client: httpx.Client
) -> None:
    reply = client.post("/v1/email", json={"to": [{"email": "a@example.com"}]})
    assert reply.status_code == 202
    assert len(reply.headers["x-message-id"]) == 24
    assert (reply.headers["x-ratelimit-limit"], reply.headers["x-ratelimit-remaining"]) == (
        "120", "119")
    assert reply.headers["x-apiquota-remaining"] == "99"
    date_s = parsedate_to_datetime(reply.headers["date"]).timestamp()
    assert abs(date_s - server.clock.now_s()) < 10  # the Date header is on the virtual clock
    reset_s = int(reply.headers["x-ratelimit-reset"])
    assert 0 < reset_s - date_s <= 60  # the end of the virtual minute
    unknown = httpx.post(server.url + "/v1/email", headers={"Authorization": "Bearer nope"})
    assert (unknown.status_code, unknown.json()) == (401, {"message": "Unauthenticated."})


def test_bulk_email_over_its_limit_gets_429_with_headers(client: httpx.Client) -> None:
    replies = [client.post("/v1/bulk-email", json=[{}]) for _ in range(11)]
    over = replies[-1]
    assert [r.status_code for r in replies[:10]] == [202] * 10
    assert over.status_code == 429
    assert over.json()["message"].endswith("rate limit of 10 requests/min. Please wait before "
                                           "trying again. #MS42903")
    assert (over.headers["x-ratelimit-limit"], over.headers["x-ratelimit-remaining"]) == ("10", "0")
    assert 1 <= int(over.headers["retry-after"]) <= 60  # virtual seconds, at most a minute


def test_clock_jump_crosses_virtual_midnight(server: MockServer, client: httpx.Client) -> None:
    for _ in range(100):  # the free plan's whole day
        assert client.post("/v1/email").status_code == 202
    spent = client.post("/v1/email")
    assert (spent.status_code, spent.json()["message"][-8:]) == (429, "#MS42901")
    tomorrow = spent.headers["x-apiquota-reset"]
    assert server.admin.jump(to=tomorrow)["virtual_now"] == tomorrow
    fresh = client.post("/v1/email")
    assert (fresh.status_code, fresh.headers["x-apiquota-remaining"]) == (202, "99")
    assert fresh.headers["x-apiquota-reset"] > tomorrow
    with pytest.raises(AdminError, match="409"):
        server.admin.jump(to="2000-01-01T00:00:00Z")


def test_report_and_log_are_computed_from_the_requests(
    server: MockServer, client: httpx.Client
) -> None:
    for _ in range(12):
        client.post("/v1/bulk-email", json=[{}, {}])
    client.get("/v1/api-quota")
    server.admin.set_reputation("acme", "under_review")
    assert client.post("/v1/bulk-email", json=[{}]).status_code == 429
    report = server.admin.report()
    acme = report["accounts"]["acme"]
    assert report["totals"] == {
        "requests": 14, "sent": 11, "rate_limited": 3, "unavailable": 0, "delivered": 20,
        "over_quota_sends": 0, "out_of_band": 0, "duplicates_delivered": 0}
    assert (acme["reputation"], acme["rate_limited"]) == ("under_review", {"MS42903": 3})
    assert acme["buckets"]["bulk_email"]["max_in_fixed_window"] <= 10
    assert acme["quota"]["days"][report["virtual_now"][:10]]["counted"] == 13
    page = server.admin.log(since=12)
    assert (page["total"], page["next"]) == (14, 14)
    assert [e["route"] for e in page["entries"]] == ["GET /v1/api-quota", "POST /v1/bulk-email"]


def test_admin_spends_quota_out_of_band_as_other_senders_would(
    server: MockServer, client: httpx.Client
) -> None:
    spent = server.admin.spend("acme", 30)
    assert (spent["requested"], spent["spent"], spent["account"]["quota_used"]) == (30, 30, 30)
    assert abs(spent["real_at_s"] - time.time()) < 5
    reply = client.post("/v1/email")
    assert (reply.status_code, reply.headers["x-apiquota-remaining"]) == (202, "69")
    assert server.admin.spend("acme", 80)["spent"] == 69  # the rest of the day, no more
    over = client.post("/v1/email")
    assert (over.status_code, over.json()["message"][-8:]) == (429, "#MS42901")
    entries = server.admin.log()["entries"]
    assert [(e["route"], e["status"], e["quota_cost"], e["out_of_band"], e["over_quota"])
            for e in entries] == [
        ("(out of band)", 0, 30, True, False), ("POST /v1/email", 202, 1, False, False),
        ("(out of band)", 0, 69, True, False), ("POST /v1/email", 429, 0, False, True)]
    report = server.admin.report()
    day = report["accounts"]["acme"]["quota"]["days"][report["virtual_now"][:10]]
    assert (day["counted"], day["out_of_band"], day["over_quota"]) == (100, 99, 1)
    assert (report["totals"]["requests"], report["totals"]["over_quota_sends"]) == (2, 1)
    with pytest.raises(AdminError, match="404"):
        server.admin.spend("nobody", 1)
    with pytest.raises(AdminError, match="400 'requests' must be a whole number"):
        server.admin.spend("acme", -1)


@pytest.mark.parametrize("offset_s", [-600.0, 600.0])
def test_an_offset_provider_clock_states_its_own_time_and_midnight(offset_s: float) -> None:
    speed = 60 / SCALE
    with MockServer("mailersend", time_scale=SCALE, clock_offset_s=offset_s,
                    process=True) as server:
        server.admin.add_account("acme", "tok-acme", plan="free")
        server.admin.spend("acme", 100)
        aligned_s = time.time() * speed
        reply = httpx.post(server.url + "/v1/email", headers={"Authorization": "Bearer tok-acme"})
        clock = server.admin.clock()
    assert (clock["offset_s"], clock["aligned"]) == (offset_s, False)
    date_s = parsedate_to_datetime(reply.headers["date"]).timestamp()
    assert abs(date_s - (aligned_s + offset_s)) < 5  # Date is on the provider's own clock
    reset = datetime.fromisoformat(reply.headers["x-apiquota-reset"].replace("Z", "+00:00"))
    assert (reply.status_code, reset.timestamp()) == (429, next_midnight_s(date_s))
    assert abs(int(reply.headers["retry-after"]) - (reset.timestamp() - date_s)) <= 1
    # The provider's clock is the aligned one plus the offset, so its day ends offset / speed
    # real seconds before the fleet's scaled day does (after it, for a negative offset).
    assert clock["virtual_now_s"] - clock["real_now_s"] * speed == pytest.approx(offset_s, abs=0.01)


def test_admin_refuses_bad_requests(server: MockServer, client: httpx.Client) -> None:
    with pytest.raises(AdminError, match="404"):
        server.admin.configure("nobody", plan="starter")
    with pytest.raises(AdminError, match="valid plans"):
        server.admin.add_account("other", "tok-other", plan="platinum")
    with pytest.raises(AdminError, match="400"):
        server.admin.add_account("acme", "tok-again")


def test_sendmux_outage_and_idempotency_over_http() -> None:
    with MockServer("sendmux", time_scale=SCALE) as server:
        server.admin.add_account("team", "smx-1")
        send = server.url + "/api/v1/emails/send"
        headers = {"Authorization": "Bearer smx-1", "Idempotency-Key": "order-42"}
        first = httpx.post(send, headers=headers, json={"to": {"email": "a@x"}})
        again = httpx.post(send, headers=headers, json={"to": {"email": "a@x"}})
        assert (first.status_code, again.json()) == (200, first.json())
        server.admin.schedule_outage(600)  # ten virtual minutes: a minute of real time
        down = httpx.post(send, headers={"Authorization": "Bearer smx-1"}, json={})
        assert down.status_code == 503
        assert down.json()["error"] == {
            "code": "service_unavailable", "message": "A required service is temporarily "
            "unavailable.", "doc_url": "https://sendmux.ai/docs/sending-api/errors#"
            "service_unavailable", "retryable": True}
        assert 599 <= int(down.headers["retry-after"]) <= 600  # virtual seconds
        totals = server.admin.report()["totals"]
        assert (totals["delivered"], totals["duplicates_delivered"], totals["unavailable"]) == (
            1, 0, 1)


def test_process_mode_serves_the_same_api_and_stops_cleanly() -> None:
    server = MockServer("lettr", time_scale=SCALE, process=True)
    with server:
        server.admin.add_account("team", "lt-1", plan="pro")
        reply = httpx.post(server.url + "/api/emails", json={"to": ["a@x"]},
                           headers={"Authorization": "Bearer lt-1"})
        assert (reply.status_code, reply.json()["data"]["accepted"]) == (200, 1)
        assert "x-ratelimit-limit" not in reply.headers  # Lettr's limit is hidden by default
    assert not server.running
    with pytest.raises(httpx.TransportError):
        httpx.get(server.url + "/_admin/health", timeout=0.5)


def test_default_mock_has_no_latency_and_never_sleeps(server: MockServer) -> None:
    assert server.delay.latency is None
    assert server.admin.config()["latency"] is None


def test_reply_waits_the_fixed_latency_after_the_request_is_logged_on_arrival() -> None:
    latency_s = 0.2
    with MockServer("mailersend", time_scale=SCALE, latency=Latency(latency_s)) as server:
        server.admin.add_account("acme", "tok-acme", plan="starter")
        headers = {"Authorization": "Bearer tok-acme"}
        with httpx.Client(base_url=server.url, headers=headers) as client:
            for _ in range(3):
                began = time.perf_counter()
                assert client.post("/v1/email", json={}).status_code == 202
                assert time.perf_counter() - began >= latency_s
                answered_s = server.clock.now_s()
                arrived_s = server.admin.log(since=0)["entries"][-1]["t"]
                assert answered_s - arrived_s >= latency_s * 60 / SCALE  # virtual seconds
            refused = client.post("/v1/email", headers={"Authorization": "Bearer nope"})
            assert refused.status_code == 401
        assert server.admin.config()["latency"] == {
            "median_s": latency_s, "p99_s": None, "mean_s": latency_s, "samples": 0, "seed": 0}


def test_process_mode_draws_the_seeded_log_normal_latency_it_was_given() -> None:
    latency = Latency(0.1, 0.3)
    draw = latency.sampler(random.Random(7))
    expected_s = [draw() for _ in range(3)]  # the child's first draws, in arrival order
    with MockServer("mailersend", time_scale=SCALE, latency=latency, latency_seed=7,
                    process=True) as server:
        assert server.admin.config()["latency"] == {
            "median_s": 0.1, "p99_s": 0.3, "mean_s": latency.mean_s, "samples": 0, "seed": 7}
        server.admin.add_account("acme", "tok-acme", plan="starter")
        headers = {"Authorization": "Bearer tok-acme"}
        with httpx.Client(base_url=server.url, headers=headers) as client:
            for want_s in expected_s:
                began = time.perf_counter()
                assert client.post("/v1/email", json={}).status_code == 202
                assert time.perf_counter() - began >= want_s
    with pytest.raises(ValueError, match="samples"):
        MockServer(latency=Latency.from_samples([0.1, 0.2]), process=True)


def test_stop_leaves_no_thread_and_frees_the_port() -> None:
    server = MockServer("mailersend").start()
    port = server.port
    server.stop()
    server.stop()  # idempotent
    assert not [t for t in threading.enumerate() if t.name == f"governor-mock-{port}"]
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/_admin/health", timeout=0.5)


def _mock_children(port: int) -> list[str]:
    """Command lines of live processes serving the mock on ``port``."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "governor.mock" in cmdline and f"--port {port} " in cmdline:
            found.append(cmdline)
    return found


@pytest.fixture
def slow_children(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[[float], None]:
    """Call it with a delay: every Python child this test starts starts that much late."""
    def slow(delay_s: float) -> None:
        for name, value in slow_start_env(tmp_path, delay_s, spare_first=False).items():
            monkeypatch.setenv(name, value)

    return slow


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_process_mode_waits_for_a_child_slow_to_start(
    slow_children: Callable[[float], None],
) -> None:
    slow_children(3.0)
    began = time.monotonic()
    with MockServer("mailersend", time_scale=SCALE, process=True) as server:
        assert time.monotonic() - began >= 3.0  # the child really was slow, and was waited for
        assert server.admin.config()["provider"] == "mailersend"
    assert _mock_children(server.port) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_child_that_does_not_answer_in_time_is_one_clear_error_and_is_stopped(
    slow_children: Callable[[float], None],
) -> None:
    slow_children(600.0)
    server = MockServer("mailersend", process=True, startup_timeout_s=0.5)
    with pytest.raises(RuntimeError, match=r"did not answer on http://\S+ within 0\.5 s") as err:
        server.start()
    assert "--startup-timeout" in str(err.value)  # and says how to give it longer
    assert not server.running
    assert _mock_children(server.port) == []
