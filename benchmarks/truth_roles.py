"""What the truth scenarios' worker processes do: each function is one order of a
:class:`~benchmarks.truth_pool.Pool` worker, run with a :class:`~benchmarks.truth_pool.Link`.

Every worker builds its own governor from settings, as a user's process does
(``Governor.from_settings``: the MailerSend profile, the plan, the time scale, a Redis URL and the
account's API token), and sends the way users send: through
:class:`~governor.integrations.httpx.GovernedTransport`, or ``with gov.limit(...)`` and
``gov.observe(..., decision=...)`` as the demo's workers do. Every instant a worker reports is
``time.monotonic()`` (shared by every process of the host), or a decision's own instants on
the Redis clock; results are plain values.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from benchmarks.truth_pool import (
    EMAIL,
    email,
    http_date,
    mock_now,
    provoke,
    sleep_until,
    wall_minus_mono,
)
from governor.client import Governor
from governor.errors import QuotaExhausted, WaitTooLong
from governor.integrations.httpx import GovernedTransport
from governor.mock.admin import MockAdmin
from governor.retry import StopUntilReset

if TYPE_CHECKING:
    from benchmarks.truth_pool import Link
    from governor.decision import Decision, Feedback

__all__ = [
    "Fleet",
    "acquire_loop",
    "quota_sender",
    "reset_sender",
    "skewed_prober",
    "timed_sleeper",
]

_CODE = re.compile(rb"#(MS\d{5})")
_US = 1_000_000


@dataclass(frozen=True)
class Fleet:
    """Where a worker sends and how its governor is set up (plain values, for any process)."""

    mock_url: str
    redis_url: str
    key_prefix: str
    time_scale: float
    token: str
    plan: str = "starter"
    filler_token: str = ""
    limit: int = 120  # the route's provider limit per minute, as the mock enforces it
    account: str = ""  # the account's name on the mock (for its admin API)

    def governor(self) -> Governor:
        """This worker's governor, built as a user builds one."""
        return Governor.from_settings(
            provider="mailersend", plan=self.plan, reputation="healthy",
            redis_url=self.redis_url, key_prefix=self.key_prefix,
            time_scale=self.time_scale, api_token=self.token,
        )

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        """An HTTP client of the mock, authenticated with ``token`` (default: the fleet's)."""
        auth = {"Authorization": f"Bearer {token or self.token}"}
        return httpx.Client(base_url=self.mock_url, headers=auth, timeout=30.0, **kwargs)


class _Decisions:
    """Hooks that keep every decision (the instants the governor planned, on Redis' clock)."""

    def __init__(self) -> None:
        self.seen: list[Decision] = []

    def on_decision(self, decision: Decision) -> None:
        self.seen.append(decision)

    def on_feedback(self, route: str, status: int, feedback: Feedback) -> None:
        pass


def _code(body: bytes) -> str | None:
    found = _CODE.search(body)
    return found[1].decode() if found else None


def _seq(hooks: _Decisions) -> int:
    """The quota sequence of the last allowed decision: the request just sent."""
    return next((d.quota_seq for d in reversed(hooks.seen) if d.allowed), -1)


def _log_index(response: httpx.Response) -> int | None:
    """Where the mock logged the request: its ``x-message-id`` is the log index."""
    value = response.headers.get("x-message-id")
    return None if value is None else int(value, 16)


def acquire_loop(link: Link, fleet: Fleet) -> dict[str, Any]:
    """Acquire ``POST /v1/email`` back to back from "go" until told to stop; nothing is sent.
    Returns every call as ``(called, now_us, wait_us, returned)``: when it asked and when it
    came back (monotonic), and the decision it came back with (Redis clock)."""
    records: list[tuple[float, int, int, float]] = []
    with fleet.governor() as gov:
        gov.acquire(EMAIL)  # connected, scripts loaded
        link.signal("ready")
        sleep_until(link.wait())
        offset = wall_minus_mono()
        while not link.pending():
            called = time.monotonic()
            d = gov.acquire(EMAIL)
            records.append((called, d.now_us, d.wait_us, time.monotonic()))
        link.wait()
    return {"offset": (offset + wall_minus_mono()) / 2, "records": records}


def skewed_prober(link: Link, fleet: Fleet, skew_s: float) -> list[dict[str, Any]]:
    """With this process's wall clock ``skew_s`` off, answer each "delta" or "date" from the
    parent with one probe: a governed send the provider answers ``429 Retry-After: 2`` (its
    window filled by the filler token, its clock moved to 2 s before the window ends), observed
    as it came (delta) or with its ``Retry-After`` written as the HTTP-date ``Date + 2`` (date).
    Signals each probe's facts; returns them all when told to stop."""
    import time_machine  # noqa: PLC0415 - a dev dependency, only in this worker

    travel = time_machine.travel(time.time() + skew_s, tick=True)
    travel.start()
    time.time()  # time_machine's clock starts ticking at its first reading, not at start()
    probes: list[dict[str, Any]] = []
    try:
        with (fleet.governor() as gov, fleet.client() as client,
              fleet.client(fleet.filler_token) as filler, MockAdmin(fleet.mock_url) as admin):
            link.signal("ready")
            while (form := link.wait()) != "stop":
                probes.append(_probe(gov, client, filler, admin, fleet, str(form), skew_s))
                link.signal(probes[-1])
    finally:
        travel.stop()
    return probes


def _probe(gov: Governor, client: httpx.Client, filler: httpx.Client, admin: MockAdmin,
           fleet: Fleet, form: str, skew_s: float) -> dict[str, Any]:
    sent_at: list[int] = []

    def send() -> httpx.Response:
        sent_at.append(gov.clock.now_us())
        return client.post("/v1/email", json=email(0))

    with gov.limit(EMAIL) as decision:
        hit = provoke(admin, filler, send, 2, fleet.limit)
    headers = httpx.Headers(hit.response.headers)
    target_s = hit.date_s + hit.retry_after_s  # the provider's instant the pause ends at
    if form == "date":
        headers["retry-after"] = http_date(target_s)
    local_us = gov.clock.now_us()
    feedback = gov.observe(EMAIL, 429, headers, hit.response.content, decision=decision,
                           sent_at_us=sent_at[0])
    observed = time.monotonic()
    now_v, at, speed = mock_now(admin)
    retry_at = feedback.observation.retry_at_us
    return {
        "form": form, "skew_s": skew_s, "status": hit.response.status_code,
        "code": feedback.outcome.code, "retry_after": headers["retry-after"],
        "retry_after_s": hit.retry_after_s, "received": hit.received_mono,
        "observed": observed,
        # When the provider's clock shows the pause's end (the window's), on our monotonic.
        "target_mono": at + (target_s - now_v) / speed,
        "read_s": None if retry_at is None else (retry_at - local_us) / _US,
        "skew_seen_s": time.time() - admin.clock()["real_now_s"],  # the mock is unskewed
    }


def quota_sender(link: Link, fleet: Fleet, sends: int, timeout_s: float) -> dict[str, Any]:
    """From "go", send up to ``sends`` emails through :class:`GovernedTransport` (``timeout_s``
    per call) until the governor says the quota is spent. Returns each response as
    ``(returned, status, code, quota_seq, log index)`` and why the worker stopped."""
    records: list[tuple[float, int, str | None, int, int | None]] = []
    stopped = "sent all"
    hooks = _Decisions()
    with fleet.governor() as gov:
        transport = GovernedTransport(gov, timeout_s=timeout_s)
        with fleet.client(transport=transport) as client:
            gov.try_acquire("GET /v1/api-quota")  # connected, scripts loaded
            gov.hooks = hooks  # one allowed decision per request (no retries happen here)
            link.signal("ready")
            sleep_until(link.wait())
            for i in range(sends):
                try:
                    response = client.post("/v1/email", json=email(i))
                except QuotaExhausted:
                    stopped = "quota spent (governor)"
                    break
                except StopUntilReset:
                    records.append((time.monotonic(), 429, "MS42901", _seq(hooks), None))
                    stopped = "quota spent (provider's 429)"
                    break
                records.append((time.monotonic(), response.status_code, _code(response.content),
                                _seq(hooks), _log_index(response)))
    return {"records": records, "stopped": stopped}


def reset_sender(link: Link, fleet: Fleet) -> dict[str, Any]:
    """From "go" (a monotonic instant) to "end", send emails with ``gov.limit`` and
    ``gov.observe``, each acquire given what is left until the end: a spent quota whose reset
    falls before it is slept out in ``acquire``. Returns each response as ``(returned, status,
    code, quota_seq, log index)`` and every decision's ``(now_us, quota_reset_us)``: when the
    governor thought the day ends, and when it thought so (Redis' clock)."""
    records: list[tuple[float, int, str | None, int, int | None]] = []
    hooks = _Decisions()
    with fleet.governor() as gov, fleet.client() as client:
        gov.try_acquire("GET /v1/api-quota")
        gov.hooks = hooks
        link.signal("ready")
        start, end = link.wait()
        sleep_until(start)
        i = 0
        while (left := end - time.monotonic()) > 0:
            try:
                with gov.limit(EMAIL, timeout_s=left) as decision:
                    sent_at = gov.clock.now_us()
                    response = client.post("/v1/email", json=email(i))
            except (QuotaExhausted, WaitTooLong):
                break
            i += 1
            back = time.monotonic()
            feedback = gov.observe(EMAIL, response.status_code, response.headers,
                                   response.content, decision=decision, sent_at_us=sent_at)
            records.append((back, response.status_code, feedback.outcome.code,
                            decision.quota_seq, _log_index(response)))
    ends = [(d.now_us, d.quota_reset_us) for d in hooks.seen if d.quota_reset_us > 0]
    return {"records": records, "day_ends_us": ends}


def timed_sleeper(link: Link, fleet: Fleet, ahead_s: float, timeout_s: float) -> dict[str, Any]:
    """On "go", book slots (for other callers) until the next free one is ``ahead_s`` away,
    signal the time, then ``acquire(timeout_s=timeout_s)``: it sleeps on that slot. Returns how
    long the acquire took, how it ended, and the decisions it was given."""
    hooks = _Decisions()
    with fleet.governor() as gov:
        gov.acquire(EMAIL)
        gov.acquire(EMAIL)  # one sleep: this process now hears the pauses others announce
        link.signal("ready")
        link.wait()
        interval_s = gov.policy.interval_us("email") / _US
        while True:
            booked = gov.reserve(EMAIL)
            free_s = booked.ready_at + interval_s  # Redis' clock is this host's wall clock
            if free_s - time.time() >= ahead_s:
                break
        time.sleep(max(0.0, free_s - ahead_s - time.time()))
        gov.hooks = hooks
        called = time.monotonic()
        link.signal(called)
        try:
            gov.acquire(EMAIL, timeout_s=timeout_s)
            outcome = "returned"
        except WaitTooLong:
            outcome = "raised WaitTooLong"
        done = time.monotonic()
    return {
        "elapsed_s": done - called, "called": called, "outcome": outcome,
        "decisions": [(d.allowed, d.now_us, d.wait_us, d.scope) for d in hooks.seen],
    }
