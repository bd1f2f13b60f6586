"""Account identity: a keyed hash, never the token itself. Pure.

An account is named either by a label (``"acme-prod"``) or by its API token. Either way the
state is stored under ``HMAC-SHA256(hash_key, kind + ":" + value)`` truncated to 128 bits, so a
token never reaches a key, a value, a log line or an exception. Set a secret ``hash_key`` to
make the mapping from token to key unguessable; the default only separates namespaces.

In Redis an account's whole state is one hash, ``<prefix>:{<account key>}``: a decision is one
script call that reads and writes that key with a few commands (TIME, HMGET, HSET), whatever the
number of scopes, and the hash tag keeps anything else ever stored for the account in the same
Cluster slot. Fields (integers; times in µs since the Unix epoch, on the Redis server's clock)::

    pause                       the account pause: no call before this time
    quota.day                   the quota day counted (``(now - shift) // day_us``)
    quota.used                  calls spent that day
    quota.next_used             calls already booked on the following day
    quota.shift                 where quota days start, µs past an epoch-aligned day (0: at
                                00:00 UTC; a provider that states its reset moves it)
    quota.seq                   every quota call ever granted (reconcile counts from it)
    quota.pace                  where normal traffic stands on the pace line (pacing only)
    <bucket>.tat                the bucket's theoretical arrival time (GCRA)
    <bucket>.pause              the bucket's pause
    <bucket>.interval           a learned emission interval in µs (0 or absent: the configured)
    <bucket>.learned_at         when that interval was learned (the response's send time)
    <bucket>.relax              responses since then that showed the configured limit again
    expires                     when the key's TTL runs out: scripts extend it, never shorten it

Constant size per bucket; the key expires once none of it matters any more (see
``lua/acquire.lua``).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

__all__ = ["DEFAULT_HASH_KEY", "AccountId", "account_key"]

DEFAULT_HASH_KEY = b"governor/account/v1"


@dataclass(frozen=True, slots=True)
class AccountId:
    """An account's storage key and a printable label; built by :meth:`from_label` or
    :meth:`from_token`."""

    key: str
    label: str = field(default="")

    @classmethod
    def from_label(cls, label: str, hash_key: bytes = DEFAULT_HASH_KEY) -> AccountId:
        """The account named ``label`` (not secret; shown in status and logs)."""
        if not label:
            raise ValueError("an account label must not be empty")
        return cls(_digest(hash_key, "label", label), label)

    @classmethod
    def from_token(
        cls, token: str, hash_key: bytes = DEFAULT_HASH_KEY, label: str | None = None
    ) -> AccountId:
        """The account that owns API ``token``; the token is hashed here and not kept."""
        if not token:
            raise ValueError("an API token must not be empty")
        key = _digest(hash_key, "token", token)
        return cls(key, label or f"token:{key[:8]}")

    def __str__(self) -> str:
        return self.label or self.key


def _digest(hash_key: bytes, kind: str, value: str) -> str:
    mac = hmac.new(hash_key, f"{kind}:{value}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def account_key(prefix: str, account: str) -> str:
    """The Redis key holding the state of ``account`` (an :attr:`AccountId.key`)."""
    if "{" in prefix or "}" in prefix or "{" in account or "}" in account:
        raise ValueError("a key prefix or account key must not contain braces (the hash tag)")
    return f"{prefix}:{{{account}}}"
