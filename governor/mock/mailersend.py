"""MailerSend's wire format, from ``provider-docs/`` (general resources, 403/422/429 article).

Headers on every authenticated response: ``x-ratelimit-limit``, ``x-ratelimit-remaining``,
``x-ratelimit-reset`` (virtual Unix epoch seconds), ``x-apiquota-remaining``,
``x-apiquota-reset`` (ISO-8601 of the next virtual midnight); ``retry-after`` (virtual seconds) on
429 and 503. Bodies are the documented ones; the error codes end the message (``#MS42903``).
``POST /v1/email`` answers 202 with ``x-message-id`` and no body; ``POST /v1/bulk-email`` takes
a JSON list of at most 500 emails (422 ``#MS42229`` above); ``GET /v1/api-quota`` answers
``{"quota", "remaining", "reset"}``.
"""

from __future__ import annotations

from typing import Any

from typing_extensions import override

from governor.mock.clock import iso_utc
from governor.mock.wire import Dialect, Reply, SendKind, Snapshot, rate_headers

__all__ = ["MAX_BULK", "MailerSend"]

MAX_BULK = 500

RATE = (
    "Your account reached its rate limit of {limit} requests/min. Please wait before trying again."
)
DAILY = "Your account reached its API daily quota limit. Upgrade to increase it."
EMAIL_QUOTA = "Your account reached its email quota limit. Contact support to increase it."
TOO_MANY = "The number of email objects must not be greater than {limit}."


def _message(text: str, code: str) -> dict[str, Any]:
    return {"message": f"{text} #{code}"}


class MailerSend(Dialect):
    """The MailerSend dialect: account-wide windows, a daily quota of requests."""

    name = "mailersend"

    @override
    def send_kind(self, method: str, path: str) -> SendKind | None:
        if method != "POST":
            return None
        path = path.rstrip("/")
        if path == "/v1/email":
            return "single"
        if path == "/v1/bulk-email":
            return "batch"
        return None

    @override
    def count_messages(self, send: SendKind, payload: Any) -> int:
        if send == "batch" and isinstance(payload, list):
            return len(payload)
        return 1

    @override
    def max_messages(self, send: SendKind) -> int | None:
        return MAX_BULK if send == "batch" else None

    @override
    def headers(self, reply: Reply, snap: Snapshot) -> dict[str, str]:
        out = {k.lower(): v for k, v in rate_headers(snap).items()}
        if snap.quota is not None:
            out["x-apiquota-remaining"] = str(snap.quota.remaining)
            out["x-apiquota-reset"] = iso_utc(snap.quota.reset_at_s)
        if snap.retry_after_s is not None:
            out["retry-after"] = str(snap.retry_after_s)
        return out

    @override
    def unauthorized(self, snap: Snapshot) -> Reply:
        return Reply(401, {"message": "Unauthenticated."}, "unauthenticated")

    @override
    def unavailable(self, code: str, snap: Snapshot) -> Reply:
        return Reply(503, {"message": "Service Unavailable"}, code)

    @override
    def quota_exceeded(self, snap: Snapshot) -> Reply:
        return Reply(429, _message(DAILY, "MS42901"), "MS42901")

    @override
    def rate_limited(self, snap: Snapshot) -> Reply:
        limit = snap.rate.limit if snap.rate is not None else 0
        return Reply(429, _message(RATE.format(limit=limit), "MS42903"), "MS42903")

    @override
    def too_many_messages(self, send: SendKind, count: int, limit: int, snap: Snapshot) -> Reply:
        text = f"{TOO_MANY.format(limit=limit)} #MS42229"
        return Reply(422, {"message": text, "errors": {"emails": [text]}}, "MS42229")

    @override
    def allowance_exceeded(self, snap: Snapshot) -> Reply:
        return Reply(422, _message(EMAIL_QUOTA, "MS42204"), "MS42204")

    @override
    def idempotency_conflict(self, snap: Snapshot) -> Reply:  # pragma: no cover - no keys
        return Reply(409, {"message": "Conflict."}, "conflict")

    @override
    def accepted(self, method: str, path: str, messages: int, snap: Snapshot) -> Reply:
        object_id = f"{snap.request_id:024x}"
        send = self.send_kind(method, path)
        if send == "single":
            return Reply(202, None, headers={"x-message-id": object_id})
        if send == "batch":
            body = {"message": "The bulk email is being processed.", "bulk_email_id": object_id}
            return Reply(202, body)
        if method == "GET" and path.rstrip("/") == "/v1/api-quota" and snap.quota is not None:
            quota = snap.quota
            answer: dict[str, Any] = {
                "quota": quota.limit, "remaining": quota.remaining,
                "reset": iso_utc(quota.reset_at_s),
            }
            return Reply(200, answer)
        if method == "POST":
            return Reply(201, {"data": {"id": object_id}})
        if method == "DELETE":
            return Reply(204)
        return Reply(200, {"data": []} if method == "GET" else {"data": {"id": object_id}})
