"""The backend protocols: what the shells need from wherever the shared state lives.

A backend applies :func:`governor.engine.decide` and :func:`governor.engine.refund` to one
account's state atomically (one lock, or one Redis script call) and on its own clock (the
process clock for memory, the server's ``TIME`` for Redis). ``account`` is a key derived from
the account (a keyed hash, never an API token).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Sequence

    from governor.decision import Decision
    from governor.engine import CallSpec
    from governor.reconcile import Adjustment

__all__ = ["AsyncBackend", "Backend"]


@runtime_checkable
class Backend(Protocol):
    """A synchronous backend."""

    def decide(
        self,
        account: str,
        spec: CallSpec,
        cost: int,
        high_priority: bool,
        max_wait_us: int,
        adjustment: Adjustment | None = None,
    ) -> Decision:
        """Apply ``adjustment`` (a response's reconcile riding along), then decide one call
        atomically; spend from every scope only if it is allowed."""
        ...

    def refund(
        self,
        account: str,
        spec: CallSpec,
        cost: int,
        marks: Sequence[int],
        priors: Sequence[int],
        quota_day: int,
    ) -> None:
        """Give back what a cancelled reservation spent, as far as it is safe."""
        ...

    def apply(self, account: str, spec: CallSpec, adjustment: Adjustment) -> None:
        """Apply a reconcile adjustment to the call's scopes at once (an urgent one)."""
        ...

    def close(self) -> None:
        """Release connections; the backend is not used again."""
        ...


@runtime_checkable
class AsyncBackend(Protocol):
    """An asyncio backend: the same operations as :class:`Backend`, as coroutines."""

    async def decide(
        self,
        account: str,
        spec: CallSpec,
        cost: int,
        high_priority: bool,
        max_wait_us: int,
        adjustment: Adjustment | None = None,
    ) -> Decision:
        """Apply ``adjustment``, then decide one call atomically (see :class:`Backend`)."""
        ...

    async def refund(
        self,
        account: str,
        spec: CallSpec,
        cost: int,
        marks: Sequence[int],
        priors: Sequence[int],
        quota_day: int,
    ) -> None:
        """Give back what a cancelled reservation spent, as far as it is safe."""
        ...

    async def apply(self, account: str, spec: CallSpec, adjustment: Adjustment) -> None:
        """Apply a reconcile adjustment to the call's scopes at once (an urgent one)."""
        ...

    async def aclose(self) -> None:
        """Release connections; the backend is not used again."""
        ...
