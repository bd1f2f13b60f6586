"""The demo's scenarios: which provider, plan and route the fleet sends to, what the mock does to
it mid-run, and the bar the run is measured against. Data only; ``runner`` plays them and
``report`` checks their bars.

Every number is a provider number (virtual time on the mock, see :mod:`governor.mock.clock`);
at the default time scale a provider minute lasts 6 s, so 120/min is 20 sends a second.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["SCENARIOS", "Check", "Outage", "Scenario", "midnight_time_scale"]

Check = Literal["no_429", "utilisation", "drop", "midnight", "intact", "outage"]
"""A bar of the run (see ``governor.demo.report``):

``no_429``       the server answered no 429 at all
``utilisation``  at least 97% of the binding limit used while saturated
``drop``         after the reputation drop, at most one 429 per worker
``midnight``     no send over the daily quota; sending resumed right after midnight
``intact``       every message acknowledged once: nothing lost, nothing failed, none
                 delivered twice
``outage``       the outages ridden out: at most one 503 per worker per outage
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
class Scenario:
    """One demo run's setup and bar.

    ``batch`` messages go in one request (a bulk send); ``bucket`` is the bucket whose limit
    the live view compares the rate with; ``drop_at`` is the share of messages acknowledged
    when the account's reputation drops to ``under_review``; ``lose_every`` makes a worker
    treat every n-th success as a lost reply and send the message again (with its
    ``Idempotency-Key``, so the server replays instead of delivering twice).
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
            "MailerSend Trial plan (100 requests/day) across a UTC midnight",
            "no send over the daily quota; sending resumes right after the reset",
            "mailersend", "trial", "/v1/email", "email", 120, 60.0, 150,
            ("no_429", "midnight", "intact"), midnight=True, quota=100,
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
            "lettr-hidden", "Lettr: a 3/s limit and no rate headers; the profile knows it",
            "zero 429s", "lettr", "pro", "/api/emails", "api", 3, 1.0, 600,
            ("no_429", "intact"),
        ),
    )
}


def midnight_time_scale(time_scale: float, midnight_at_s: float) -> tuple[float, float]:
    """A time scale close to ``time_scale`` at which a provider midnight falls at about real
    epoch second ``midnight_at_s`` (a fraction of a second earlier), and that midnight.

    The mock's aligned clock and the governor's quota days both start a provider day at every
    multiple of ``1440 * time_scale`` real seconds since the epoch; nudging the scale by a few
    parts in a million moves one of those multiples to the moment wanted. The day length is
    kept a whole number of microseconds, as the governor stores it.
    """
    day_us = 1440 * time_scale * 1_000_000
    days = max(1, round(midnight_at_s * 1_000_000 / day_us))
    exact_day_us = math.floor(midnight_at_s * 1_000_000 / days)
    return exact_day_us / 1440e6, days * exact_day_us / 1_000_000
