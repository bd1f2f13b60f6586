"""The mock's request log: one entry per request, the ground truth the report is computed from."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["OUT_OF_BAND", "LogEntry"]

OUT_OF_BAND = "(out of band)"
"""The route of an entry that logs quota spent by other senders of the account."""


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One request and what the mock did with it.

    ``t`` is virtual epoch seconds and ``day`` the virtual UTC day number. ``token`` and ``key``
    are short digests (a token is never logged). ``scope`` names whose windows the request was
    checked against (the account, or the token for per-key limits). ``buckets`` lists the
    windows that *counted* it (empty unless admitted), with the ``limits`` and ``periods`` in
    force at that moment. ``quota_cost`` is what it charged to the daily quota of ``day``
    (limit ``quota_limit``); ``delivered`` is how many messages it delivered (0 for a replay).
    ``over_quota`` marks a request refused because ``day``'s quota was spent (MailerSend
    ``#MS42901``): a send over the quota.

    An ``out_of_band`` entry is not a request the mock received: it is quota other senders of
    the account spent (another token, the SMTP relay), ``quota_cost`` of it, logged by an admin
    call; its ``route`` is :data:`OUT_OF_BAND`, its ``status`` 0 and it fills no window.
    """

    index: int
    t: float
    account: str | None
    token: str
    method: str
    path: str
    route: str
    status: int
    code: str | None
    scope: str
    buckets: tuple[str, ...] = ()
    limits: tuple[int, ...] = ()
    periods: tuple[float, ...] = ()
    quota_cost: int = 0
    quota_limit: int | None = None
    day: int = 0
    delivered: int = 0
    key: str | None = None
    replay: bool = False
    over_quota: bool = False
    out_of_band: bool = False

    def to_json(self) -> dict[str, Any]:
        """The entry as a JSON object."""
        return asdict(self)
