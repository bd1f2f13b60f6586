"""What goes in and out of the mock's rules, and what a provider dialect must render. Pure.

The rules (:mod:`governor.mock.rules`) decide *whether* a request passes; a :class:`Dialect`
(one module per provider) decides *how that looks*: status, headers, JSON body. A
:class:`Snapshot` carries everything a dialect may report: the limit that matters for this
reply, the daily quota, the wait.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

__all__ = [
    "Call", "Dialect", "QuotaView", "RateView", "Reply", "SendKind", "Snapshot", "rate_headers",
]

SendKind = Literal["single", "batch"]


@dataclass(frozen=True, slots=True)
class Call:
    """One request as the rules see it. ``token`` is the bearer token (None: none sent)."""

    method: str
    path: str
    token: str | None = None
    body: bytes = b""
    idempotency_key: str | None = None


@dataclass(slots=True)
class Reply:
    """A response: status, JSON body (None: empty), the provider's error code, headers."""

    status: int
    body: Any = None
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RateView:
    """One bucket as a reply reports it; ``reset_at_s`` is virtual epoch seconds."""

    bucket: str
    limit: int
    remaining: int
    reset_at_s: float


@dataclass(frozen=True, slots=True)
class QuotaView:
    """The daily quota as a reply reports it; ``reset_at_s`` is the next virtual midnight."""

    limit: int
    used: int
    reset_at_s: float

    @property
    def remaining(self) -> int:
        """Calls (or messages) left today, never negative."""
        return max(0, self.limit - self.used)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one reply may tell the client.

    ``rate`` is the route's binding bucket on a rate-limit 429, else its most constraining one
    (fewest remaining); ``retry_after_s`` is in virtual seconds (None: no Retry-After);
    ``request_id`` is unique per request (the log index, formatted by the dialect).
    """

    now_s: float
    rate: RateView | None
    quota: QuotaView | None
    retry_after_s: int | None
    request_id: int
    send: SendKind | None
    rate_headers: bool


class Dialect(ABC):
    """A provider's wire format and the few rules that differ between providers."""

    name: ClassVar[str]
    rate_scope: ClassVar[Literal["account", "token"]] = "account"
    """Whose windows a request fills: the account's (shared by its tokens) or the token's."""
    quota_unit: ClassVar[Literal["request", "message"]] = "request"
    """What the daily quota counts: every request, or the messages a send delivers."""
    idempotent: ClassVar[bool] = False
    """Whether an ``Idempotency-Key`` replays the first response instead of sending again."""
    default_rate_headers: ClassVar[bool] = True
    """Whether rate-limit headers are sent unless the server is told otherwise."""

    @abstractmethod
    def send_kind(self, method: str, path: str) -> SendKind | None:
        """Whether a request sends mail (one message, or a batch), or None."""

    @abstractmethod
    def count_messages(self, send: SendKind, payload: Any) -> int:
        """How many messages (or recipients, for a per-recipient quota) a send carries."""

    @abstractmethod
    def max_messages(self, send: SendKind) -> int | None:
        """The most messages one request may carry (None: no limit)."""

    @abstractmethod
    def headers(self, reply: Reply, snap: Snapshot) -> dict[str, str]:
        """The headers this provider puts on ``reply``."""

    @abstractmethod
    def unauthorized(self, snap: Snapshot) -> Reply:
        """401: no token or an unknown one."""

    @abstractmethod
    def unavailable(self, code: str, snap: Snapshot) -> Reply:
        """503 during a scheduled outage (``code`` as scheduled, e.g. service_unavailable)."""

    @abstractmethod
    def quota_exceeded(self, snap: Snapshot) -> Reply:
        """429: the daily quota is spent."""

    @abstractmethod
    def rate_limited(self, snap: Snapshot) -> Reply:
        """429: a window of the route is full."""

    @abstractmethod
    def too_many_messages(self, send: SendKind, count: int, limit: int, snap: Snapshot) -> Reply:
        """422: a request carries more messages than allowed."""

    @abstractmethod
    def allowance_exceeded(self, snap: Snapshot) -> Reply:
        """The account's own cap on delivered messages is reached (e.g. MailerSend #MS42204)."""

    @abstractmethod
    def idempotency_conflict(self, snap: Snapshot) -> Reply:
        """409: a key reused with another body (only where keys are honoured)."""

    @abstractmethod
    def accepted(self, method: str, path: str, messages: int, snap: Snapshot) -> Reply:
        """The success reply (for a send, or any other endpoint)."""


def rate_headers(snap: Snapshot, prefix: str = "X-RateLimit-") -> dict[str, str]:
    """``{prefix}Limit``, ``{prefix}Remaining`` and ``{prefix}Reset`` (virtual epoch seconds,
    rounded up) for the snapshot's bucket, when the server sends rate headers at all."""
    if snap.rate is None or not snap.rate_headers:
        return {}
    return {
        f"{prefix}Limit": str(snap.rate.limit),
        f"{prefix}Remaining": str(snap.rate.remaining),
        f"{prefix}Reset": str(math.ceil(snap.rate.reset_at_s)),
    }
