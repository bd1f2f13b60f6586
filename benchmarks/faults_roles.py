"""What the fault scenarios' worker processes do: each function is one order of a
:class:`~benchmarks.truth_pool.Pool` worker (see :mod:`benchmarks.faults_fleet`).

Every worker builds its governor from settings, as a user's process does
(``Governor.from_settings``: the MailerSend profile, a plan, the time scale, ``failure_policy=
"degrade"`` with the fleet's size, the Redis URL it reaches Redis by, and the account's API
token), and sends through :class:`~governor.integrations.httpx.GovernedTransport`, so every
response is observed: a worker cut off from Redis still learns what the provider says.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from benchmarks.truth_pool import EMAIL, email, sleep_until
from governor.client import Governor
from governor.errors import QuotaExhausted, WaitTooLong
from governor.integrations.httpx import GovernedTransport
from governor.retry import StopUntilReset

if TYPE_CHECKING:
    from benchmarks.truth_pool import Link
    from governor.decision import Decision, Feedback

__all__ = ["FaultFleet", "offered", "sender"]

_ACQUIRE_TIMEOUT_S = 300.0  # longer than any pause a scenario provokes: a stuck call shows


@dataclass(frozen=True)
class FaultFleet:
    """How a fault scenario's workers set up their governors (plain values, for any process).
    ``breaker_reset_s`` and ``redis_timeout_s`` of None keep the settings' defaults."""

    mock_url: str
    key_prefix: str
    time_scale: float
    token: str
    fleet_size: int
    plan: str = "starter"
    breaker_reset_s: float | None = None
    redis_timeout_s: float | None = None

    def governor(self, redis_url: str) -> Governor:
        """A worker's governor, built as a user builds one, reaching Redis by ``redis_url``."""
        extra: dict[str, Any] = {}
        if self.breaker_reset_s is not None:
            extra["breaker_reset_s"] = self.breaker_reset_s
        if self.redis_timeout_s is not None:
            extra["redis_timeout_s"] = self.redis_timeout_s
        return Governor.from_settings(
            provider="mailersend", plan=self.plan, reputation="healthy",
            redis_url=redis_url, key_prefix=self.key_prefix, time_scale=self.time_scale,
            api_token=self.token, failure_policy="degrade", fleet_size=self.fleet_size,
            **extra,
        )

    def client(self, gov: Governor) -> httpx.Client:
        """An HTTP client of the mock whose every request is governed by ``gov``."""
        transport = GovernedTransport(gov, timeout_s=_ACQUIRE_TIMEOUT_S)
        return httpx.Client(base_url=self.mock_url, transport=transport, timeout=30.0,
                            headers={"Authorization": f"Bearer {self.token}"})


class _Degraded:
    """Hooks that keep whether the last allowed decision was made without Redis, and count
    the 429s answered (to calls decided without Redis, and in all)."""

    def __init__(self) -> None:
        self.last = False
        self.count = 0
        self.too_many = [0, 0]  # [shared, degraded]

    def on_decision(self, decision: Decision) -> None:
        if decision.allowed:
            self.last = decision.degraded
            self.count += decision.degraded

    def on_feedback(self, route: str, status: int, feedback: Feedback) -> None:  # noqa: ARG002
        if status == 429:
            self.too_many[self.last] += 1


def sender(link: Link, fleet: FaultFleet, redis_url: str, warm: bool = True,
           stop_at_refusal: bool = False) -> dict[str, Any]:
    """Send ``POST /v1/email`` from "go" (a monotonic instant) until told to stop, or, with
    ``stop_at_refusal``, until the governor first refuses for quota (then close: the governor's
    context exit writes back what it spent alone). ``warm``: make one decision before "ready"
    (connected, scripts loaded, the day's count seen); a cold worker makes its first at "go".
    Returns each response as ``(returned, status, degraded)``, how the worker stopped, and the
    failures it met (none expected: a fault must not reach the caller)."""
    records: list[tuple[float, int, bool]] = []
    errors: list[str] = []
    stopped = "told to stop"
    hooks = _Degraded()
    with fleet.governor(redis_url) as gov, fleet.client(gov) as client:
        if warm:
            gov.try_acquire("GET /v1/api-quota")
        gov.hooks = hooks
        link.signal("ready")
        sleep_until(link.wait())
        i = 0
        while stop_at_refusal or not link.pending():
            try:
                response = client.post("/v1/email", json=email(i))
            except (QuotaExhausted, StopUntilReset):
                stopped = "refused for quota"
                break
            except (WaitTooLong, httpx.HTTPError) as exc:  # reported, never raised here
                errors.append(f"{type(exc).__name__}: {exc}")
                continue
            i += 1
            records.append((time.monotonic(), response.status_code, hooks.last))
    closed_at = time.monotonic()  # the governor closed: what it spent alone is written back
    if not stop_at_refusal:
        link.wait()  # the "stop" that ended the loop
    return {"records": records, "stopped": stopped, "errors": errors,
            "degraded": hooks.count, "closed_at": closed_at, "too_many": hooks.too_many}


def offered(_link: Link, fleet: FaultFleet, redis_url: str) -> int:
    """A new process after the fleet: how many calls its governor grants before it refuses for
    quota (nothing is sent: each grant is what it would have been offered)."""
    grants = 0
    with fleet.governor(redis_url) as gov:
        try:
            while grants < 10_000:
                gov.acquire(EMAIL, timeout_s=_ACQUIRE_TIMEOUT_S)
                grants += 1
        except QuotaExhausted:
            return grants
    return grants
