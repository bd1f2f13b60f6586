"""Idempotency keys, as Sendmux honours them: a key replays its first reply for 24 hours. Pure.

A key belongs to an account (a team). The first *processed* request under a key is kept with a
fingerprint of its body; a later request with the same key and body within 24 h (virtual) gets
a copy of that reply and delivers nothing; the same key with another body is a conflict. Keys
expire 24 h after their first use; expired keys are dropped as the store grows.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from enum import Enum

from governor.limits import DAY_S
from governor.mock.wire import Reply

__all__ = ["CONFLICT", "IdempotencyStore", "fingerprint"]


class _Conflict(Enum):
    CONFLICT = 0


CONFLICT = _Conflict.CONFLICT
"""What :meth:`IdempotencyStore.lookup` returns for a key reused with another body."""


def fingerprint(body: bytes) -> str:
    """The fingerprint of a request body."""
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True, slots=True)
class _Kept:
    first_s: float
    fingerprint: str
    reply: Reply


class IdempotencyStore:
    """First replies by (account, key), kept ``ttl_s`` virtual seconds."""

    def __init__(self, ttl_s: float = DAY_S, prune_at: int = 100_000) -> None:
        self.ttl_s = ttl_s
        self._prune_at = prune_at
        self._kept: dict[tuple[str, str], _Kept] = {}

    def lookup(
        self, account: str, key: str, body_fingerprint: str, now_s: float
    ) -> Reply | _Conflict | None:
        """A copy of the first reply under ``key``, ``CONFLICT``, or None (not seen, or expired)."""
        kept = self._kept.get((account, key))
        if kept is None or now_s - kept.first_s >= self.ttl_s:
            return None
        if kept.fingerprint != body_fingerprint:
            return CONFLICT
        first = kept.reply
        return Reply(first.status, copy.deepcopy(first.body), first.code, dict(first.headers))

    def remember(
        self, account: str, key: str, body_fingerprint: str, reply: Reply, now_s: float
    ) -> None:
        """Keep ``reply`` (a copy: the caller may add headers) as the first under ``key``."""
        if len(self._kept) >= self._prune_at:
            self._kept = {k: v for k, v in self._kept.items() if now_s - v.first_s < self.ttl_s}
        kept = Reply(reply.status, copy.deepcopy(reply.body), reply.code, dict(reply.headers))
        self._kept[(account, key)] = _Kept(now_s, body_fingerprint, kept)

    def clear(self) -> None:
        """Forget every key."""
        self._kept.clear()

    def __len__(self) -> int:
        return len(self._kept)
