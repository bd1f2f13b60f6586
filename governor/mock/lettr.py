"""Lettr's wire format (https://docs.lettr.com/api-reference/rate-limit, status codes page).

``POST /api/emails`` sends one email to at most 50 recipients (``to`` + ``cc`` + ``bcc``) and
answers 200 ``{"message": "Email queued for delivery.", "data": {"request_id", "accepted",
"rejected"}}``. Every request of a team shares 3 requests/second. The limit is *hidden* by
default: no ``X-RateLimit-*`` headers unless the server is configured to send them (Lettr
documents them; the default tests a client that must find the limit from 429s alone). A 429
carries ``Retry-After`` and ``{"message", "error_code": "rate_limit_exceeded"}``. The free
plan's daily quota counts recipients (``daily_quota_exceeded``, with ``X-Daily-Limit``,
``X-Daily-Remaining`` and ``X-Daily-Reset`` (virtual epoch) on the send endpoint).
"""

from __future__ import annotations

import math
from typing import Any

from typing_extensions import override

from governor.mock.wire import Dialect, Reply, SendKind, Snapshot, rate_headers

__all__ = ["MAX_RECIPIENTS", "Lettr"]

MAX_RECIPIENTS = 50
RATE = "Rate limit exceeded. Please slow down your requests."
DAILY = "Daily sending quota exceeded. Try again tomorrow."


def _error(status: int, code: str, message: str, **extra: Any) -> Reply:
    return Reply(status, {"message": message, "error_code": code, **extra}, code)


class Lettr(Dialect):
    """The Lettr dialect: team-wide windows, a daily quota of recipients on the free plan."""

    name = "lettr"
    quota_unit = "message"
    default_rate_headers = False

    @override
    def send_kind(self, method: str, path: str) -> SendKind | None:
        return "single" if method == "POST" and path.rstrip("/") == "/api/emails" else None

    @override
    def count_messages(self, send: SendKind, payload: Any) -> int:
        if not isinstance(payload, dict):
            return 1
        total = 0
        for field in ("to", "cc", "bcc"):
            value = payload.get(field)
            total += len(value) if isinstance(value, list) else int(isinstance(value, str))
        return max(total, 1)

    @override
    def max_messages(self, send: SendKind) -> int | None:
        return MAX_RECIPIENTS

    @override
    def headers(self, reply: Reply, snap: Snapshot) -> dict[str, str]:
        out = rate_headers(snap)
        if snap.quota is not None and snap.send is not None:
            out["X-Daily-Limit"] = str(snap.quota.limit)
            out["X-Daily-Remaining"] = str(snap.quota.remaining)
            out["X-Daily-Reset"] = str(math.ceil(snap.quota.reset_at_s))
        if snap.retry_after_s is not None:
            out["Retry-After"] = str(snap.retry_after_s)
        return out

    @override
    def unauthorized(self, snap: Snapshot) -> Reply:
        return _error(401, "unauthorized", "Invalid or missing API key.")

    @override
    def unavailable(self, code: str, snap: Snapshot) -> Reply:
        return _error(503, code, "The service is temporarily unavailable.")

    @override
    def quota_exceeded(self, snap: Snapshot) -> Reply:
        return _error(429, "daily_quota_exceeded", DAILY)

    @override
    def rate_limited(self, snap: Snapshot) -> Reply:
        return _error(429, "rate_limit_exceeded", RATE)

    @override
    def too_many_messages(self, send: SendKind, count: int, limit: int, snap: Snapshot) -> Reply:
        errors = {"to": [f"At most {limit} recipients (to, cc and bcc combined), not {count}."]}
        return _error(422, "validation_error", "Validation failed.", errors=errors)

    @override
    def allowance_exceeded(self, snap: Snapshot) -> Reply:
        return _error(429, "quota_exceeded", "Monthly sending quota exceeded. Upgrade your plan.")

    @override
    def idempotency_conflict(self, snap: Snapshot) -> Reply:  # pragma: no cover - no keys
        return _error(409, "conflict", "Conflict.")

    @override
    def accepted(self, method: str, path: str, messages: int, snap: Snapshot) -> Reply:
        if self.send_kind(method, path) is not None:
            data = {"request_id": f"{snap.request_id:020d}", "accepted": messages, "rejected": 0}
            return Reply(200, {"message": "Email queued for delivery.", "data": data})
        return Reply(200, {"data": []} if method == "GET" else {"message": "OK"})
