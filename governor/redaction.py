"""Provider text as it may be shown: any credential it echoes replaced by ``[redacted]``.

A provider's error body can quote the request back, the API token included (``"Invalid token
mlsn.9f…"``); :func:`~governor.outcome.classify` passes every text it keeps through
:func:`redact`, so an :class:`~governor.outcome.Outcome`, and every message, exception and log
line made from one, never carries it. What counts as a credential, without being told:

- the word after ``Bearer`` (an ``Authorization`` header echoed; ``Basic`` credentials are
  caught by their length, below, since "Basic" is also a plan's name);
- the value after ``api_key``, ``api key``, ``token``, ``password`` or ``secret`` and ``:`` or
  ``=`` (``"api_key": "..."``, ``token=...``);
- the providers' key shapes: MailerSend ``mlsn.…``, Sendmux ``smx_…`` (``smx_mbx_``,
  ``smx_root_``), Lettr ``lttr_…``, each with at least 8 characters after the prefix (the bare
  prefix, as in "keys start with smx_mbx_", stays);
- any other word of 32 or more letters, digits, ``_``, ``-`` and ``.`` that mixes letters and
  digits (the shape of most keys and JWTs), except a UUID, which is an id.

A caller that knows the token passes it in ``secrets`` (each at least 8 characters: a shorter
one would hide ordinary words), which covers a key of any other shape.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["REDACTED", "looks_secret", "redact"]

REDACTED = "[redacted]"
MIN_SECRET = 8

_WORD = r"[A-Za-z0-9_.\-]"
_BEARER = re.compile(r"\b(Bearer)(\s+)[^\s\"',;]+", re.IGNORECASE)
_NAMED = re.compile(
    r"\b(api[ _-]?key|token|password|secret)([\"']?\s*[:=]\s*[\"']?)[^\s\"',;]+", re.IGNORECASE
)
_PROVIDER_KEY = re.compile(rf"(?<!{_WORD})(?:mlsn\.|smx_|lttr_){_WORD}{{{MIN_SECRET},}}")
_LONG_WORD = re.compile(rf"(?<!{_WORD}){_WORD}{{32,}}(?!{_WORD})")
_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
_LETTER, _DIGIT = re.compile("[A-Za-z]"), re.compile("[0-9]")


def _keyish(word: str) -> bool:
    return bool(_LETTER.search(word) and _DIGIT.search(word)) and not _UUID.fullmatch(word)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each of ``secrets`` and everything shaped like a credential (module
    docstring) replaced by ``[redacted]``. Pure; never raises."""
    for secret in secrets:
        if len(secret) >= MIN_SECRET:
            text = text.replace(secret, REDACTED)
    text = _BEARER.sub(rf"\1\2{REDACTED}", text)
    text = _NAMED.sub(rf"\1\2{REDACTED}", text)
    text = _PROVIDER_KEY.sub(REDACTED, text)
    return _LONG_WORD.sub(lambda m: REDACTED if _keyish(m.group()) else m.group(), text)


def looks_secret(word: str, secrets: Iterable[str] = ()) -> bool:
    """Whether :func:`redact` would hide any of ``word`` (for a provider's error code, which
    is shown whole or not at all)."""
    return redact(word, secrets) != word
