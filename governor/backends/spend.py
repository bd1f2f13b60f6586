"""What a process spent on its own while the shared backend was away, until it is written back.

:class:`Ledger` is the bookkeeping of :class:`~governor.backends.local.LocalFallback`; pure and
thread-safe (one lock; the threads of a process share one ledger). Instants are on this
process's clock; a write-back is stamped with it, so the backend moves them onto its own.

What it keeps, per account:

* **Quota spend** per local quota day (calendar days on this process's clock): calls this
  process sent on its own, not yet counted by the shared state.
* **Bucket spend** per route (:class:`~governor.engine.CallSpec`): the tokens of the route's
  buckets granted locally and when the first of them went. Written back, the shared buckets
  count them as if granted from then on (``tat = max(tat, first) + tokens * I``): a process
  that comes back after deciding alone does not find a bucket that forgot its calls, so a
  flapping connection cannot add a fresh local share at every failure.
* **The last shared grant** per route: the first local decision after shared ones starts from
  it (the local share's buckets count it), so switching to local decisions costs no burst.

A write-back (:meth:`Ledger.take`) is taken once: a debit whose reply was lost is not sent
again (it may have counted); one that surely did not reach the backend is put back
(:meth:`Ledger.put_back`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from governor.engine import CallSpec

__all__ = ["Ledger", "Spend"]


@dataclass(frozen=True, slots=True)
class Spend:
    """One write-back: ``quota`` calls of today; ``tokens`` of a route's buckets, the first
    granted at ``first_us``, ``on_top`` of the shared grants (all decided on isolated failures)
    or in their place (some in a spell the breaker was open for)."""

    quota: int = 0
    tokens: int = 0
    first_us: int = 0
    on_top: bool = True


class Ledger:
    """Local spend not yet written back, and each route's last shared grant (see module doc)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._quota: dict[str, dict[int, int]] = {}
        self._quota_spec: dict[str, CallSpec] = {}  # a route the account's quota spend goes by
        self._tokens: dict[tuple[str, CallSpec], tuple[int, int, bool]] = {}
        self._last: dict[tuple[str, CallSpec], tuple[int, int]] = {}

    def __bool__(self) -> bool:
        """Whether anything spent locally is still to be written back."""
        return bool(self._quota or self._tokens)

    def shared_grant(self, account: str, spec: CallSpec, at_us: int, cost: int) -> None:
        """A shared decision granted ``cost`` at ``at_us`` (the hot path: one dict write)."""
        self._last[account, spec] = (at_us, cost)

    def take_last_grant(self, account: str, spec: CallSpec) -> tuple[int, int] | None:
        """The route's last shared grant ``(at_us, cost)`` not yet carried into the local share,
        taken: the first local decision after shared ones carries it."""
        return self._last.pop((account, spec), None)

    def spent(self, account: str, spec: CallSpec, at_us: int, tokens: int, quota_day: int,
              on_top: bool = True) -> None:
        """A local decision granted ``tokens`` at ``at_us`` (``quota_day``: the local quota day
        it was charged to, or -1), ``on_top`` of the shared grants (an isolated failure) or in
        their place (a spell). Negative ``tokens``: a local reservation given back."""
        with self._lock:
            if spec.buckets:
                self._add_tokens(account, spec, tokens, at_us, on_top)
            if quota_day >= 0:
                self._count_quota(account, spec, quota_day, tokens)

    def put_back(self, account: str, spec: CallSpec, day: int, spend: Spend) -> None:
        """A write-back that surely did not reach the backend, to go with the next one."""
        with self._lock:
            if spend.tokens > 0:
                self._add_tokens(account, spec, spend.tokens, spend.first_us, spend.on_top)
            if spend.quota > 0:
                self._count_quota(account, spec, day, spend.quota)

    def _add_tokens(self, account: str, spec: CallSpec, tokens: int, at_us: int,
                    on_top: bool) -> None:
        count, first, all_on_top = self._tokens.get((account, spec), (0, at_us, True))
        count += tokens
        if count > 0:
            self._tokens[account, spec] = (count, min(first, at_us), all_on_top and on_top)
        else:
            self._tokens.pop((account, spec), None)

    def _count_quota(self, account: str, spec: CallSpec, day: int, calls: int) -> None:
        days = self._quota.setdefault(account, {})
        days[day] = max(days.get(day, 0) + calls, 0)
        self._quota_spec[account] = spec

    def take(self, account: str, spec: CallSpec, today: int | None) -> Spend | None:
        """What the next shared call of ``spec`` carries back: the route's bucket spend and,
        when it spends quota (``today``: the local quota day; None: it spends none), today's
        quota spend of the account. Earlier days' quota spend no longer matters and is
        dropped; a later day's waits for its day."""
        if not self:
            return None
        with self._lock:
            tokens, first, on_top = self._tokens.pop((account, spec), (0, 0, True))
            calls = 0
            days = self._quota.get(account) if today is not None else None
            if days and today is not None:
                calls = days.pop(today, 0)
                for day in [d for d in days if d < today]:
                    del days[day]
                if not days:
                    del self._quota[account]
        if tokens <= 0 and calls <= 0:
            return None
        return Spend(max(calls, 0), max(tokens, 0), first, on_top)

    def routes(self) -> list[tuple[str, CallSpec]]:
        """Every (account, route) with spend to write back: routes with bucket spend, and for
        an account with quota spend only, a route its quota was spent by."""
        with self._lock:
            pending = list(self._tokens)
            for account, spec in self._quota_spec.items():
                if account in self._quota and (account, spec) not in self._tokens:
                    pending.append((account, spec))
        return pending
