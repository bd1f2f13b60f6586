"""Sendmux's Sending API wire format, from ``provider-docs/sendmux-sending-api-errors.txt``.

Routes (the provider's own paths; the ``/api`` prefix is optional here):
``POST /api/v1/emails/send`` (one message) and ``POST /api/v1/emails/send/batch`` (a JSON list,
or ``{"emails": [...]}`` / ``{"messages": [...]}``, at most 100 messages; a batch is one
request). Every reply carries ``X-Request-Id``; errors use the envelope
``{"ok": false, "error": {"code", "message", "doc_url", "retryable"}, "meta": {"request_id"}}``;
429 and 503 carry ``Retry-After``. An ``Idempotency-Key`` (header, or ``idempotency_key`` in the
body) replays the first response for 24 h without sending again (marked by the header
``Idempotent-Replayed: true``); the same key with another body is a 409
``idempotency_conflict``. Windows are per API key. The docs say rate-limit headers come on
every response without naming them: the mock sends ``X-RateLimit-Limit``,
``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (virtual epoch seconds).
"""

from __future__ import annotations

from typing import Any

from typing_extensions import override

from governor.mock.wire import Dialect, Reply, SendKind, Snapshot, rate_headers

__all__ = ["MAX_BATCH", "Sendmux", "request_id"]

MAX_BATCH = 100
DOCS = "https://sendmux.ai/docs/sending-api/errors#"
MESSAGES = {
    "authentication_required": "The API key is missing, invalid, expired or revoked.",
    "rate_limit_exceeded": "You have exceeded the rate limit of {limit} requests per minute.",
    "service_unavailable": "A required service is temporarily unavailable.",
    "no_active_providers": "Your team has no active sending account.",
    "insufficient_credits": "Your team's balance is too low to send this email or batch.",
    "idempotency_conflict": "The Idempotency-Key was used with a different request body.",
    "validation_error": "Batch exceeds {limit} messages ({count} given).",
}
RETRYABLE = {"rate_limit_exceeded", "service_unavailable", "no_active_providers"}


def request_id(index: int) -> str:
    """The ``req_...`` id of the request with log index ``index``."""
    return f"req_mock{index:021d}"


def _error(
    status: int, code: str, snap: Snapshot, param: str | None = None, **fields: Any
) -> Reply:
    error: dict[str, Any] = {"code": code, "message": MESSAGES[code].format(**fields)}
    if param is not None:
        error["param"] = param
    error |= {"doc_url": DOCS + code, "retryable": code in RETRYABLE}
    meta = {"request_id": request_id(snap.request_id)}
    return Reply(status, {"ok": False, "error": error, "meta": meta}, code)


class Sendmux(Dialect):
    """The Sendmux dialect: windows per API key, no daily quota, idempotency keys honoured."""

    name = "sendmux"
    rate_scope = "token"
    idempotent = True

    @override
    def send_kind(self, method: str, path: str) -> SendKind | None:
        if method != "POST":
            return None
        path = path.rstrip("/").removeprefix("/api")
        if path == "/v1/emails/send":
            return "single"
        if path == "/v1/emails/send/batch":
            return "batch"
        return None

    @override
    def count_messages(self, send: SendKind, payload: Any) -> int:
        if send == "single":
            return 1
        if isinstance(payload, dict):
            payload = payload.get("emails", payload.get("messages"))
        return len(payload) if isinstance(payload, list) else 1

    @override
    def max_messages(self, send: SendKind) -> int | None:
        return MAX_BATCH if send == "batch" else None

    @override
    def headers(self, reply: Reply, snap: Snapshot) -> dict[str, str]:
        out = {"X-Request-Id": request_id(snap.request_id), "Cache-Control": "no-store"}
        out |= rate_headers(snap)
        if snap.retry_after_s is not None:
            out["Retry-After"] = str(snap.retry_after_s)
        return out

    @override
    def unauthorized(self, snap: Snapshot) -> Reply:
        return _error(401, "authentication_required", snap)

    @override
    def unavailable(self, code: str, snap: Snapshot) -> Reply:
        return _error(503, code if code in MESSAGES else "service_unavailable", snap)

    @override
    def quota_exceeded(self, snap: Snapshot) -> Reply:  # pragma: no cover - no daily quota
        return self.allowance_exceeded(snap)

    @override
    def rate_limited(self, snap: Snapshot) -> Reply:
        limit = snap.rate.limit if snap.rate is not None else 0
        return _error(429, "rate_limit_exceeded", snap, limit=limit)

    @override
    def too_many_messages(self, send: SendKind, count: int, limit: int, snap: Snapshot) -> Reply:
        return _error(422, "validation_error", snap, "emails", limit=limit, count=count)

    @override
    def allowance_exceeded(self, snap: Snapshot) -> Reply:
        return _error(402, "insufficient_credits", snap)

    @override
    def idempotency_conflict(self, snap: Snapshot) -> Reply:
        return _error(409, "idempotency_conflict", snap)

    @override
    def accepted(self, method: str, path: str, messages: int, snap: Snapshot) -> Reply:
        meta = {"request_id": request_id(snap.request_id)}
        send = self.send_kind(method, path)
        if send is None:
            return Reply(200, {"ok": True, "data": {}, "meta": meta})
        ids = [f"eml_mock{snap.request_id:012d}{i:04d}" for i in range(messages)]
        if send == "single":
            data: dict[str, Any] = {"message_id": ids[0], "status": "queued"}
        else:
            data = {"messages": [{"message_id": m, "status": "queued"} for m in ids]}
        return Reply(200, {"ok": True, "data": data, "meta": meta})
