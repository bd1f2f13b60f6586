"""The demo's scenarios: which provider, plan and route the fleet sends to, what the mock does to
it mid-run, and the bar the run is measured against. Data (and :func:`with_midnight`, the
midnight scenario's variants); ``runner`` plays them and ``report`` checks their bars.

Every number is a provider number (virtual time on the mock, see :mod:`governor.mock.clock`);
at the default time scale a provider minute lasts 6 s, so 120/min is 20 sends a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from governor.limits import DAY_S

__all__ = ["SCENARIOS", "Check", "Outage", "Scenario", "Spend", "with_midnight"]

Check = Literal["no_429", "utilisation", "drop", "midnight", "intact", "outage", "pace"]
"""A bar of the run (see ``governor.demo.report``):

``no_429``       the server answered no 429 at all
``utilisation``  at least 97% of the binding limit used while saturated
``drop``         after the reputation drop, at most one 429 per worker
``midnight``     no send over the daily quota (none refused ``#MS42901``), the day's quota
                 used to the last request, out-of-band spend included; no request between
                 the quota running out and the provider's reset, and sending resumed within
                 one emission interval after it, plus a slack (``governor.demo.midnight``)
``intact``       every message acknowledged once: nothing lost, nothing failed, none
                 delivered twice
``outage``       the outages ridden out: at most one 503 per worker per outage
``pace``         the backlog's spend on the pace line: at every provider minute from the
                 second on, no more than the line plus the burst allowance (and one call in
                 flight), no less than the line less 2% (or two calls); the high-priority
                 sends' waits p99 at most two emission intervals (``governor.demo.pace``)
"""

UTILISATION_BAR = 0.97


@dataclass(frozen=True, slots=True)
class Outage:
    """A 503 outage the mock starts once ``at`` of the messages are acknowledged, for
    ``duration_s`` provider seconds."""

    at: float
    duration_s: float
    code: str = "service_unavailable"


@dataclass(frozen=True, slots=True)
class Spend:
    """``requests`` of the day's quota spent out of band (other senders of the account: another
    token, the SMTP relay), ``at`` a share of the way from the fleet's start to the moment its
    part of the day should run out (0: as the fleet starts, before its first send)."""

    at: float
    requests: int


@dataclass(frozen=True, slots=True)
class Scenario:
    """One demo run's setup and bar.

    ``batch`` messages go in one request (a bulk send); ``bucket`` is the bucket whose limit
    the live view compares the rate with; ``drop_at`` is the share of messages acknowledged
    when the account's reputation drops to ``under_review``; ``lose_every`` makes a worker
    treat every n-th success as a lost reply and send the message again (with its
    ``Idempotency-Key``, so the server replays instead of delivering twice).

    A ``midnight`` run crosses the provider's midnight with the daily ``quota`` spent just
    before it; ``clock_offset_s`` is how many provider seconds the provider's clock runs ahead
    of the fleet's (negative: behind), so its midnight comes that much earlier (later) than
    the governor's; ``out_of_band`` is what other senders spend of the same day's quota.

    A ``pace_per_min`` run has pacing on (a burst allowance of ``pace_burst``), lanes on (a
    horizon of one emission interval) and its backlog sent as ``priority="low"``; as it starts,
    other senders spend as much of the day's quota as leaves that many requests a provider
    minute for the rest of the provider day (``governor.demo.pace``). With ``high_every_s``,
    worker 0 sends ``priority="high"`` (a password reset) about once every that many
    provider seconds instead.
    """

    name: str
    summary: str
    goal: str
    provider: str
    plan: str | None
    path: str
    bucket: str
    limit: int
    period_s: float
    messages: int
    checks: tuple[Check, ...]
    method: str = "POST"
    batch: int = 1
    rate_headers: bool | None = None
    idempotency: bool = False
    drop_at: float | None = None
    outages: tuple[Outage, ...] = field(default=())
    lose_every: int = 0
    midnight: bool = False
    quota: int | None = None
    clock_offset_s: float = 0.0
    out_of_band: tuple[Spend, ...] = field(default=())
    pace_per_min: float | None = None
    high_every_s: float | None = None
    pace_burst: int | None = None

    @property
    def route(self) -> str:
        """The governor's route text, ``"POST /v1/email"``."""
        return f"{self.method} {self.path}"

    def requests_per_s(self, time_scale: float) -> float:
        """The binding limit in requests per real second at ``time_scale``."""
        return self.limit / (self.period_s * time_scale / 60.0)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            "steady", "MailerSend POST /v1/email on the Starter plan: 120/min binds",
            "zero 429s and at least 97% of the binding limit used",
            "mailersend", "starter", "/v1/email", "email", 120, 60.0, 600,
            ("no_429", "utilisation", "intact"),
        ),
        Scenario(
            "reputation-drop",
            "MailerSend POST /v1/email; mid-run the account goes under review: 120 -> 10/min",
            "the fleet follows the drop: at most one 429 per worker after it, then none",
            "mailersend", "starter", "/v1/email", "email", 120, 60.0, 260,
            ("drop", "intact"), drop_at=0.92,
        ),
        Scenario(
            "midnight",
            "MailerSend Trial plan (100 requests/day), part of it spent by other senders, "
            "across a provider midnight that is not the fleet's",
            "no send over the daily quota; sending resumes within one decision after the "
            "provider's reset, never before it",
            "mailersend", "trial", "/v1/email", "email", 120, 60.0, 150,
            ("no_429", "midnight", "intact"), midnight=True, quota=100, clock_offset_s=-60.0,
            out_of_band=(Spend(0.0, 15), Spend(0.5, 15)),
        ),
        Scenario(
            "bulk", "MailerSend POST /v1/bulk-email, 25 emails a request, Starter: 15/min binds",
            "zero 429s and at least 97% of the binding limit used",
            "mailersend", "starter", "/v1/bulk-email", "bulk_email", 15, 60.0, 1500,
            ("no_429", "utilisation", "intact"), batch=25,
        ),
        Scenario(
            "sendmux-outage",
            "Sendmux with two 503 outages (Retry-After) and replies lost on purpose",
            "outages ridden out; nothing lost, nothing delivered twice (Idempotency-Key)",
            "sendmux", None, "/api/v1/emails/send", "api", 1800, 60.0, 1200,
            ("no_429", "outage", "intact"), idempotency=True, lose_every=40,
            outages=(Outage(0.25, 20.0), Outage(0.6, 10.0, "no_active_providers")),
        ),
        Scenario(
            "paced",
            "MailerSend Starter with pacing on: a low-priority backlog spread over what other "
            "senders left of the day (60 requests a minute), password resets (high) arriving",
            "the backlog follows the pace line within its burst allowance; the resets bypass "
            "it and wait at most two emission intervals (p99); zero 429s",
            "mailersend", "starter", "/v1/email", "email", 120, 60.0, 300,
            ("no_429", "pace", "intact"), pace_per_min=60.0, high_every_s=5.0, pace_burst=5,
        ),
        Scenario(
            "lettr-hidden", "Lettr: a 3/s limit and no rate headers; the profile knows it",
            "zero 429s", "lettr", "pro", "/api/emails", "api", 3, 1.0, 600,
            ("no_429", "intact"),
        ),
    )
}


def with_midnight(
    scenario: Scenario, *, clock_offset_s: float | None = None, out_of_band: int | None = None
) -> Scenario:
    """``scenario`` with the provider's clock ``clock_offset_s`` ahead of the fleet's, and
    ``out_of_band`` requests spent by other senders (half as the fleet starts, the rest halfway
    through its part of the day); None keeps the scenario's. Raises ValueError unless it is a
    midnight scenario and the values leave the fleet part of a day and one midnight nearest."""
    if clock_offset_s is None and out_of_band is None:
        return scenario
    if not scenario.midnight or scenario.quota is None:
        raise ValueError(f"a clock offset and out-of-band spend are for the midnight scenario, "
                         f"not {scenario.name!r}")
    spends = scenario.out_of_band
    if out_of_band is not None:
        if not 0 <= out_of_band < scenario.quota:
            raise ValueError(f"out-of-band spend must leave the fleet part of the day's "
                             f"{scenario.quota}, not {out_of_band}")
        halves = (Spend(0.0, out_of_band - out_of_band // 2), Spend(0.5, out_of_band // 2))
        spends = tuple(s for s in halves if s.requests)
    offset_s = scenario.clock_offset_s if clock_offset_s is None else clock_offset_s
    if not abs(offset_s) < DAY_S / 2:
        raise ValueError(f"the provider's clock offset must be under half a day, not {offset_s}")
    return replace(scenario, clock_offset_s=offset_s, out_of_band=spends)
