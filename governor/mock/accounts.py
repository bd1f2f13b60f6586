"""Accounts of the mock provider: their standing (plan, reputation) and their counters.

Tokens are never kept: the book maps the SHA-256 digest of each token to its account, and the
log names a token by the first ten hex digits of that digest.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from governor.profile import Profile, ResolvedProfile

__all__ = ["UNSET", "Account", "AccountBook", "short_digest", "token_digest"]


class _Unset(Enum):
    UNSET = 0


UNSET = _Unset.UNSET
"""Marks a setting :meth:`AccountBook.configure` leaves as it is."""


def token_digest(token: str) -> str:
    """The SHA-256 hex digest of a token (or an idempotency key)."""
    return hashlib.sha256(token.encode()).hexdigest()


def short_digest(digest: str) -> str:
    """The short form of a digest the log and reports show."""
    return digest[:10]


@dataclass
class Account:
    """One account (a MailerSend account, a Sendmux or Lettr team).

    ``limits`` are the profile resolved for the account's plan and reputation; changing
    either swaps them at once (counts already in the windows stay). ``email_quota`` is an
    optional cap on messages delivered in total (MailerSend's custom quota, ``#MS42204``).
    ``quota_used`` counts the daily quota of virtual day ``quota_day``.
    """

    name: str
    limits: ResolvedProfile
    tokens: set[str] = field(default_factory=set)
    email_quota: int | None = None
    delivered_total: int = 0
    quota_day: int = 0
    quota_used: int = 0

    @property
    def plan(self) -> str | None:
        """The account's plan (None: the profile has no plans)."""
        return self.limits.plan

    @property
    def quota_limit(self) -> int | None:
        """The daily quota of the account's plan (None: no daily quota)."""
        quota = self.limits.quota
        return quota.limit if quota is not None else None

    @property
    def reputation(self) -> str:
        """``"healthy"`` or a reputation of the profile, e.g. ``"under_review"``."""
        return self.limits.reputation

    def use_day(self, day: int) -> None:
        """Start counting virtual day ``day`` if it is a new one: the quota resets at midnight."""
        if day != self.quota_day:
            self.quota_day, self.quota_used = day, 0

    def spend_quota(self, day: int, units: int) -> int:
        """Spend up to ``units`` of virtual day ``day``'s quota as other senders of the account
        would; returns what was spent. What the day has no room for is not spent (the provider
        refused those senders). Raises ValueError for a negative amount or a plan without a
        daily quota."""
        limit = self.quota_limit
        if limit is None:
            raise ValueError(f"account {self.name!r} has no daily quota to spend")
        if units < 0:
            raise ValueError(f"cannot spend {units} requests of the quota")
        self.use_day(day)
        spent = min(units, max(0, limit - self.quota_used))
        self.quota_used += spent
        return spent

    def describe(self) -> dict[str, Any]:
        """The account as JSON (token digests in short form only)."""
        return {
            "name": self.name,
            "plan": self.plan,
            "reputation": self.reputation,
            "buckets": {name: str(rate) for name, rate in self.limits.buckets.items()},
            "quota": self.quota_limit,
            "quota_used": self.quota_used,
            "quota_day": self.quota_day,
            "email_quota": self.email_quota,
            "delivered_total": self.delivered_total,
            "tokens": sorted(short_digest(t) for t in self.tokens),
        }


class AccountBook:
    """The accounts of one mock server, found by name or by token digest. Thread-safe."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self._accounts: dict[str, Account] = {}
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def add(
        self,
        name: str,
        tokens: str | Iterable[str],
        *,
        plan: str | None = None,
        reputation: str | None = None,
        email_quota: int | None = None,
    ) -> Account:
        """Create an account with its tokens; raises ValueError for a name or token in use,
        and :class:`~governor.errors.ProfileError` for an unknown plan or reputation."""
        digests = {token_digest(t) for t in ([tokens] if isinstance(tokens, str) else tokens)}
        limits = self.profile.resolve(plan, reputation)
        with self._lock:
            if name in self._accounts:
                raise ValueError(f"account {name!r} exists; configure it instead")
            if not digests or any(d in self._tokens for d in digests):
                raise ValueError("an account needs at least one token, and tokens are unique")
            account = self._accounts[name] = Account(name, limits, digests, email_quota)
            self._tokens.update(dict.fromkeys(digests, name))
            return account

    def configure(
        self,
        name: str,
        *,
        plan: str | _Unset | None = UNSET,
        reputation: str | _Unset | None = UNSET,
        email_quota: int | _Unset | None = UNSET,
    ) -> Account:
        """Change an account's plan, reputation (e.g. ``"under_review"``: 10/min on
        ``/v1/email`` from the next request on) or email cap; ``UNSET`` keeps a setting.
        Raises KeyError for an unknown account."""
        with self._lock:
            account = self._accounts[name]
            account.limits = self.profile.resolve(
                account.plan if plan is UNSET else plan,
                account.reputation if reputation is UNSET else reputation,
            )
            if email_quota is not UNSET:
                account.email_quota = email_quota
            return account

    def by_token(self, digest: str) -> Account | None:
        """The account a token digest belongs to."""
        name = self._tokens.get(digest)
        return None if name is None else self._accounts[name]

    def reset_counters(self) -> None:
        """Zero every account's counters (settings stay)."""
        with self._lock:
            for account in self._accounts.values():
                account.delivered_total = account.quota_day = account.quota_used = 0

    def clear(self) -> None:
        """Forget every account."""
        with self._lock:
            self._accounts.clear()
            self._tokens.clear()

    def describe(self) -> dict[str, dict[str, Any]]:
        """Every account as JSON, by name."""
        with self._lock:
            return {name: a.describe() for name, a in self._accounts.items()}

    def __getitem__(self, name: str) -> Account:
        return self._accounts[name]

    def __contains__(self, name: object) -> bool:
        return name in self._accounts

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._accounts))

    def __len__(self) -> int:
        return len(self._accounts)
