"""A backend made at its first use: a process may start while its Redis Cluster is down.

redis-py's sync Cluster client connects when it is made (it learns the slots), so
``RedisBackend.from_url`` raises :class:`~governor.errors.BackendUnavailable` when no startup
node answers. :class:`DeferredBackend` holds the making instead: every call that finds no
backend yet tries to make it, and raises ``BackendUnavailable`` while it cannot, which the
failure policy (:mod:`governor.backends.fallback`) handles like any outage, breaker included:
the process starts, decides by its policy, and moves to the shared state once a node answers.
(A Cluster backend has no pause announcements, so there is none to defer.)
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from governor.backends.base import Backend
    from governor.decision import Decision
    from governor.engine import CallSpec
    from governor.reconcile import Adjustment
    from governor.status import Snapshot

__all__ = ["DeferredBackend"]


class DeferredBackend:
    """The backend ``make()`` returns, made at the first call that can make it."""

    def __init__(self, make: Callable[[], Backend]) -> None:
        self._make = make
        self._backend: Backend | None = None
        self._lock = threading.Lock()

    @property
    def backend(self) -> Backend:
        """The backend, made now if it is not yet (``BackendUnavailable`` while it cannot)."""
        backend = self._backend
        if backend is None:
            with self._lock:
                backend = self._backend
                if backend is None:
                    backend = self._backend = self._make()
        return backend

    def decide(
        self,
        account: str,
        spec: CallSpec,
        cost: int,
        high_priority: bool,
        max_wait_us: int,
        adjustment: Adjustment | None = None,
    ) -> Decision:
        return self.backend.decide(account, spec, cost, high_priority, max_wait_us, adjustment)

    def refund(
        self,
        account: str,
        spec: CallSpec,
        cost: int,
        marks: Sequence[int],
        priors: Sequence[int],
        quota_day: int,
    ) -> None:
        self.backend.refund(account, spec, cost, marks, priors, quota_day)

    def apply(self, account: str, spec: CallSpec, adjustment: Adjustment) -> None:
        self.backend.apply(account, spec, adjustment)

    def snapshot(self, account: str) -> Snapshot:
        read: Callable[[str], Snapshot] = self.backend.snapshot  # type: ignore[attr-defined]
        return read(account)

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()

    def __repr__(self) -> str:
        made = "not yet made" if self._backend is None else repr(self._backend)
        return f"DeferredBackend({made})"
