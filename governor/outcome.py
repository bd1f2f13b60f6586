"""A response -> an :class:`Outcome`: go on, retry later, back off, stop until reset, stop, fail.

Pure, no I/O. The provider's error code decides when it is known; otherwise the status does:

``OK``
    1xx-3xx.
``RETRY_LATER``
    429 rate limit, 503, 421 (maintenance), Sendmux 409 ``idempotency_conflict`` (the same
    key still in flight). Sendmux's 503 ``no_active_providers`` is retryable by its envelope
    but about the ``"account"``: retries fail until a person activates a provider.
``BACKOFF``
    Other 5xx, 408.
``STOP_UNTIL_RESET``
    A quota spent: MailerSend ``#MS42901``, Lettr ``daily_quota_exceeded`` / ``quota_exceeded``
    (monthly), or a 429 without a code whose headers say no quota is left.
``STOP``
    Sending must stop until a person acts: MailerSend ``#MS42204`` (custom quota),
    ``#MS42222`` (trial domain quota), ``#MS40302`` / ``#MS40303`` / ``#MS40304`` (access
    switched off, account not authorized, suspended); 402 (Sendmux ``insufficient_credits``).
``FAIL``
    Every other 4xx (400, 401, 403, 404, 405, 413, 422, 451, ...): do not retry.

Codes come from MailerSend's ``#MS\\d+`` in ``message`` and ``errors``, Sendmux's envelope
``{"ok": false, "error": {"code", "retryable"}}`` and Lettr's ``error_code`` (top level or
``error.code``). An envelope's ``retryable`` flag wins over the table: ``false`` turns a retry
into ``FAIL`` (a 409 for a reused key with another body), ``true`` turns a ``FAIL`` into
``BACKOFF``. ``STOP`` and ``STOP_UNTIL_RESET`` are never ``retryable``: the wait is until a
reset or a person, not a retry policy's business.

``scope_hint`` says what the outcome is about: ``"rate"``, ``"quota"`` (daily),
``"monthly_quota"``, ``"account"``, ``"service"`` (the provider as a whole; a fleet-wide pause),
or None (this request only). ``BACKOFF`` after a send is ambiguous (it may have been sent):
whether to resend is the retry policy's call, not this module's.

A body is read defensively: at most 64 KiB, any encoding; a body that is no JSON object (or
is longer) is scanned as text for ``#MS`` codes. Classifying never raises.

An outcome never carries a credential the body echoes: the provider's words in ``message``
pass through :func:`~governor.redaction.redact` (bearer tokens, the providers' key shapes,
long key-like words, and the ``secrets`` the caller passes), and a ``code`` that looks like
one is dropped.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from governor.headers import Headers, exhausted_quota
from governor.redaction import looks_secret, redact

__all__ = ["Body", "Outcome", "OutcomeKind", "classify", "quota_in_body"]

Body = bytes | str | Mapping[str, object] | None
"""A response body as :func:`classify` reads it: raw, text, or already decoded JSON."""

_MAX_BODY = 64 * 1024
_MAX_MESSAGE = 160
_MS_CODE = re.compile(r"#(MS[0-9]{3,8})\b")
_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


class OutcomeKind(enum.Enum):
    """What the caller should do next; see the module docstring for the table."""

    OK = "ok"
    RETRY_LATER = "retry_later"
    BACKOFF = "backoff"
    STOP_UNTIL_RESET = "stop_until_reset"
    STOP = "stop"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Outcome:
    """The classification of one response.

    ``code`` is the provider's code (``"MS42903"``, ``"rate_limit_exceeded"``) or None;
    ``retryable`` whether a retry policy may try the call again; ``scope_hint`` what the outcome
    is about (module docstring); ``message`` a short human summary, the provider's words
    included, credentials redacted.
    """

    kind: OutcomeKind
    code: str | None = None
    retryable: bool = False
    scope_hint: str | None = None
    message: str = ""


_K = OutcomeKind
_CODES: dict[str, tuple[OutcomeKind, str | None, str]] = {
    "MS42903": (_K.RETRY_LATER, "rate", "rate limit reached"),
    "MS42901": (_K.STOP_UNTIL_RESET, "quota", "daily API quota spent until midnight UTC"),
    "MS42204": (_K.STOP, "account", "custom email quota reached; contact MailerSend support"),
    "MS42222": (_K.STOP, "account", "trial domain email quota reached"),
    "MS40302": (_K.STOP, "account", "API/SMTP access switched off; see the account status"),
    "MS40303": (_K.STOP, "account", "account not authorized to send; see the account status"),
    "MS40304": (_K.STOP, "account", "account suspended"),
    "rate_limit_exceeded": (_K.RETRY_LATER, "rate", "rate limit reached"),
    "service_unavailable": (_K.RETRY_LATER, "service", "service temporarily unavailable"),
    "no_active_providers": (
        _K.RETRY_LATER, "account", "no active sending provider; retries fail until one is"),
    "idempotency_conflict": (_K.RETRY_LATER, None, "Idempotency-Key conflict"),
    "internal_error": (_K.BACKOFF, "service", "provider internal error"),
    "insufficient_credits": (_K.STOP, "account", "balance too low to send; top it up"),
    "daily_quota_exceeded": (_K.STOP_UNTIL_RESET, "quota", "daily quota spent"),
    "quota_exceeded": (_K.STOP_UNTIL_RESET, "monthly_quota", "monthly quota spent"),
}
_SEVERITY = (_K.STOP, _K.STOP_UNTIL_RESET, _K.RETRY_LATER, _K.BACKOFF)
_RETRYABLE = frozenset({_K.RETRY_LATER, _K.BACKOFF})


def classify(
    status: int,
    headers: Headers | None,
    body: bytes | str | Mapping[str, object] | None,
    dialect: str = "generic",
    secrets: Iterable[str] = (),
) -> Outcome:
    """Classify one response from its status, headers, body and the provider's header dialect.

    ``body`` may be raw bytes, text, already-decoded JSON, or None. ``secrets`` are texts the
    outcome must never show, such as the API token when the caller has it (each at least 8
    characters); the providers' key shapes are redacted without them. Never raises.
    """
    try:
        status = int(status)
    except (TypeError, ValueError, OverflowError):
        status = 0
    if 100 <= status < 400:
        return Outcome(_K.OK, message=f"{status} ok")
    data, text = _read(body)
    secrets = tuple(s for s in (secrets or ()) if isinstance(s, str))
    codes, retryable, texts = _codes(data, text)
    codes = [c for c in codes if not looks_secret(c, secrets)]
    known = sorted((c for c in codes if c in _CODES), key=lambda c: _SEVERITY.index(_CODES[c][0]))
    code = known[0] if known else (codes[0] if codes else None)
    if known:
        kind, scope, summary = _CODES[known[0]]
    else:
        kind, scope, summary = _by_status(status, headers, dialect)
    if retryable is False and kind in _RETRYABLE:
        kind, summary = _K.FAIL, f"{summary}; the provider says not retryable"
    elif retryable is True and kind is _K.FAIL:
        kind, summary = _K.BACKOFF, f"{summary}; the provider says retryable"
    said = next((t for t in texts if code and code in t), texts[0] if texts else "")
    said = _clean(redact(said, secrets))  # whole, before it is cut: no key is shown in part
    message = f"{status} {summary}" + (f" ({code})" if code else "") + (f": {said}" if said else "")
    return Outcome(kind, code, kind in _RETRYABLE, scope, message)


def _by_status(status: int, headers: Headers | None, dialect: str) -> tuple[
        OutcomeKind, str | None, str]:
    if status == 429:
        spent = exhausted_quota(dialect, headers)
        if spent is not None:
            return _K.STOP_UNTIL_RESET, spent, f"{spent.replace('_', ' ')} spent"
        return _K.RETRY_LATER, "rate", "rate limited"
    if status in (421, 503):
        return _K.RETRY_LATER, "service", "service unavailable"
    if status == 408 or 500 <= status < 600:
        return _K.BACKOFF, "service", "server error"
    if status == 402:
        return _K.STOP, "account", "payment required"
    if 400 <= status < 500:
        return _K.FAIL, None, "request refused"
    return _K.FAIL, None, "unexpected status"


def _read(body: object) -> tuple[Mapping[object, object] | None, str]:
    """The body as a JSON object (when it is one and small enough) and as text (its head)."""
    if isinstance(body, Mapping):
        return body, ""
    if isinstance(body, (bytes, bytearray, memoryview)):
        head = bytes(body[: _MAX_BODY + 1])
        text, whole = head[:_MAX_BODY].decode("utf-8", errors="replace"), len(head) <= _MAX_BODY
    elif isinstance(body, str):
        text, whole = body[:_MAX_BODY], len(body) <= _MAX_BODY
    else:
        return None, ""
    if whole:
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or nested too deep to bother
            data = None
        if isinstance(data, Mapping):
            return data, text
    return None, text


def _codes(data: Mapping[object, object] | None, text: str) -> tuple[
        list[str], bool | None, list[str]]:
    """Every provider code in the body, the envelope's ``retryable`` flag, its messages."""
    if data is None:
        return _MS_CODE.findall(text), None, []
    found: list[object] = []
    retryable = None
    messages = [data.get("message")]
    error = data.get("error")
    if isinstance(error, Mapping):
        found.append(error.get("code"))
        messages.insert(0, error.get("message"))
        flag = error.get("retryable")
        retryable = flag if isinstance(flag, bool) else None
    found.append(data.get("error_code"))
    texts = [m for m in messages if isinstance(m, str)]
    errors = data.get("errors")
    if isinstance(errors, Mapping):
        for value in errors.values():
            texts.extend(v for v in (value if isinstance(value, list) else [value])
                         if isinstance(v, str))
    found.extend(code for t in texts for code in _MS_CODE.findall(t))
    codes = [c for c in found if isinstance(c, str) and _CODE.fullmatch(c)]
    return list(dict.fromkeys(codes)), retryable, texts


def _clean(text: str) -> str:
    words = " ".join("".join(ch if ch.isprintable() else " " for ch in text[:1000]).split())
    return words if len(words) <= _MAX_MESSAGE else words[: _MAX_MESSAGE - 3] + "..."


def quota_in_body(body: Body) -> tuple[int | None, int | None, str | None]:
    """``(quota, remaining, reset)`` from a quota endpoint's body, such as MailerSend's
    ``GET /v1/api-quota`` (``{"quota": 100000, "remaining": 99000, "reset":
    "2026-11-24T00:00:00Z"}``; the reset as written, to be read like a header's), or
    ``(None, None, None)``. Never raises; a count that is not a non-negative whole number, or a
    reset that is not a short text, is ignored."""
    data, _ = _read(body)
    if data is None:
        return None, None, None

    def count(name: str) -> int | None:
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**12:
            return None
        return value

    remaining = count("remaining")
    if remaining is None:
        return None, None, None
    reset = data.get("reset")
    return count("quota"), remaining, reset if isinstance(reset, str) and len(reset) < 64 else None
