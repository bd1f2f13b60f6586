"""Account identity: a keyed hash, never the token itself. Pure.

An account is named either by a label (``"acme-prod"``) or by its API token. Either way the
state is stored under ``HMAC-SHA256(hash_key, kind + ":" + value)`` truncated to 128 bits, so a
token never reaches a key, a value, a log line or an exception. Set a secret ``hash_key`` to
make the mapping from token to key unguessable; the default only separates namespaces.

Redis keys of an account all carry one hash tag, ``{<account key>}``, so one decision touches one
Cluster slot::

    <prefix>:{<account>}:p             the account pause (a string: pause-until, µs epoch)
    <prefix>:{<account>}:q             the daily quota (a hash: day, used, next_used)
    <prefix>:{<account>}:b:<bucket>    one rate bucket (a hash: tat, pause)
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = [
    "DEFAULT_HASH_KEY",
    "AccountId",
    "account_keys",
    "bucket_key",
    "pause_key",
    "quota_key",
]

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


def _tag(prefix: str, account: str) -> str:
    if "{" in prefix or "}" in prefix or "{" in account or "}" in account:
        raise ValueError("a key prefix or account key must not contain braces (the hash tag)")
    return f"{prefix}:{{{account}}}"


def pause_key(prefix: str, account: str) -> str:
    """The key of the account-wide pause."""
    return f"{_tag(prefix, account)}:p"


def quota_key(prefix: str, account: str) -> str:
    """The key of the account's daily quota."""
    return f"{_tag(prefix, account)}:q"


def bucket_key(prefix: str, account: str, bucket: str) -> str:
    """The key of one rate bucket of the account."""
    return f"{_tag(prefix, account)}:b:{bucket}"


def account_keys(prefix: str, account: str, buckets: Iterable[str]) -> list[str]:
    """The keys one decision declares, in the order the Lua scripts expect: pause, quota,
    then one per bucket."""
    tag = _tag(prefix, account)
    return [f"{tag}:p", f"{tag}:q", *(f"{tag}:b:{b}" for b in buckets)]
