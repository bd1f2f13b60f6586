"""When the shared backend fails: a circuit breaker and the policy the user chose.

:class:`FallbackBackend` (sync) and :class:`AsyncFallbackBackend` wrap a primary backend
(Redis). While the primary answers, they add nothing but a breaker check. When it fails
(:class:`~governor.errors.BackendUnavailable` or
:class:`~governor.errors.IndeterminateOutcome`), the call is decided by the policy:

``degrade`` (default)
    Decide locally, in this process, with every limit divided by ``fleet_size`` (the number of
    processes that share the account): the fleet as a whole stays within the limits as long as
    ``fleet_size`` is right. Decisions say ``degraded=True``.
``closed``
    Raise :class:`~governor.errors.BackendUnavailable`: no call goes without the shared state.
``open``
    Allow every call at once (``degraded=True``): the provider's own limits are the only guard.

After ``threshold`` failures in a row the breaker opens and the primary is not asked at all
(no stall per call); every ``reset_s`` one call probes it, and the first success closes the
breaker. Each transition is logged once (logger ``governor``) and counted in :attr:`stats`.

The daily quota survives a degraded spell: a process spends only its share of what the fleet
had left, and writes its local spend back on recovery (see :mod:`governor.backends.local`).
"""

from __future__ import annotations

import atexit
import contextlib
import weakref
from typing import TYPE_CHECKING

from governor.backends.local import FailurePolicy, FallbackStats, LocalFallback, with_debit
from governor.breaker import CircuitBreaker
from governor.clock import Clock, SystemClock

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from governor.backends.base import AsyncBackend, Backend
    from governor.decision import Decision
    from governor.engine import CallSpec
    from governor.reconcile import Adjustment
    from governor.status import Snapshot

__all__ = ["AsyncFallbackBackend", "FailurePolicy", "FallbackBackend", "FallbackStats"]

# Open backends, so that local spend not yet written back is not lost at interpreter exit.
_OPEN: weakref.WeakSet[FallbackBackend] = weakref.WeakSet()
_OPEN_ASYNC: weakref.WeakSet[AsyncFallbackBackend] = weakref.WeakSet()


@atexit.register
def _at_exit() -> None:
    """Write back what sync backends spent alone; an asyncio one needs ``aclose`` (no loop
    runs at exit), so it only says what it leaves unwritten."""
    for backend in list(_OPEN):
        with contextlib.suppress(Exception):  # exit must go on, whatever the backend does
            backend.write_back()
    for backend in _OPEN:
        backend._fb.log_unwritten()
    for abackend in _OPEN_ASYNC:
        abackend._fb.log_unwritten()


class FallbackBackend:
    """A backend that keeps deciding when its primary fails (see the module docstring)."""

    def __init__(
        self,
        primary: Backend,
        *,
        mode: FailurePolicy = "degrade",
        fleet_size: int = 1,
        breaker: CircuitBreaker | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.primary = primary
        self.clock: Clock = clock or getattr(primary, "clock", None) or SystemClock()
        self._fb = LocalFallback(mode, fleet_size, breaker or CircuitBreaker(), self.clock)
        _OPEN.add(self)

    @property
    def stats(self) -> FallbackStats:
        """Degraded decisions, failures and breaker openings so far."""
        return self._fb.stats

    def decide(
        self,
        account: str,
        spec: CallSpec,
        cost: int,
        high_priority: bool,
        max_wait_us: int,
        adjustment: Adjustment | None = None,
    ) -> Decision:
        fb = self._fb
        if fb.use_primary():
            debit = fb.take_debit(account, spec, self.clock.now_us())
            asking = fb.asking(account, debit, spec)
            with asking:
                decision = self.primary.decide(
                    account, spec, cost, high_priority, max_wait_us,
                    adjustment if debit is None else with_debit(adjustment, debit),
                )
                fb.succeeded(account, spec, decision)
                if fb.ledger:  # back after deciding alone: the rest of it goes back at once
                    self.write_back()
                return decision
            return fb.decide(account, spec, cost, high_priority, max_wait_us, adjustment,
                             asking.error)
        return fb.decide(account, spec, cost, high_priority, max_wait_us, adjustment)

    def refund(
        self,
        account: str,
        spec: CallSpec,
        cost: int,
        marks: Sequence[int],
        priors: Sequence[int],
        quota_day: int,
    ) -> None:
        # A refund the primary does not take is tokens left unused, never more spent.
        fb = self._fb
        if fb.is_local(marks):
            fb.refund_local(account, spec, cost, marks, priors, quota_day)
        elif fb.use_primary():
            with fb.asking():
                self.primary.refund(account, spec, cost, marks, priors, quota_day)
                fb.succeeded()

    def apply(self, account: str, spec: CallSpec, adjustment: Adjustment) -> None:
        fb = self._fb
        fb.apply_local(account, spec, adjustment)
        if fb.use_primary():
            with fb.asking(account):
                self.primary.apply(account, spec, adjustment)
                fb.succeeded()

    def watch_pauses(self, account: str, on_pause: Callable[[str, int], None]) -> None:
        """The primary's ``watch_pauses``, where it has one."""
        watch = getattr(self.primary, "watch_pauses", None)
        if watch is not None:
            watch(account, on_pause)

    def snapshot(self, account: str) -> Snapshot:
        """The primary's state of the account (its ``snapshot``)."""
        read: Callable[[str], Snapshot] = self.primary.snapshot  # type: ignore[attr-defined]
        return read(account)

    def write_back(self) -> None:
        """Write what this process spent on its own back to the shared state now (every
        route's bucket spend, today's quota spend), if the breaker lets a call through; what
        does not get there stays for the next shared call. Done on recovery, on
        :meth:`close` and at interpreter exit."""
        fb = self._fb
        for account, spec, debit in fb.write_backs(self.clock.now_us()):
            if not fb.use_primary():
                fb.ledger.put_back(account, spec, fb.debit_day(spec, debit), fb.spend_of(debit))
                continue
            with fb.asking(account, debit, spec):
                self.primary.apply(account, spec, debit)
                fb.succeeded()

    def close(self) -> None:
        """Write local spend back (see :meth:`write_back`), then close the primary."""
        self.write_back()
        _OPEN.discard(self)
        self._fb.log_unwritten()
        self.primary.close()

    def __repr__(self) -> str:
        return f"FallbackBackend({self.primary!r}, mode={self._fb.mode!r}, {self._fb.breaker!r})"


class AsyncFallbackBackend:
    """The asyncio face of :class:`FallbackBackend`, over an asyncio primary."""

    def __init__(
        self,
        primary: AsyncBackend,
        *,
        mode: FailurePolicy = "degrade",
        fleet_size: int = 1,
        breaker: CircuitBreaker | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.primary = primary
        self.clock: Clock = clock or getattr(primary, "clock", None) or SystemClock()
        self._fb = LocalFallback(mode, fleet_size, breaker or CircuitBreaker(), self.clock)
        _OPEN_ASYNC.add(self)

    @property
    def stats(self) -> FallbackStats:
        """Degraded decisions, failures and breaker openings so far."""
        return self._fb.stats

    async def decide(
        self,
        account: str,
        spec: CallSpec,
        cost: int,
        high_priority: bool,
        max_wait_us: int,
        adjustment: Adjustment | None = None,
    ) -> Decision:
        fb = self._fb
        if fb.use_primary():
            debit = fb.take_debit(account, spec, self.clock.now_us())
            asking = fb.asking(account, debit, spec)
            with asking:
                decision = await self.primary.decide(
                    account, spec, cost, high_priority, max_wait_us,
                    adjustment if debit is None else with_debit(adjustment, debit),
                )
                fb.succeeded(account, spec, decision)
                if fb.ledger:  # back after deciding alone: the rest of it goes back at once
                    await self.write_back()
                return decision
            return fb.decide(account, spec, cost, high_priority, max_wait_us, adjustment,
                             asking.error)
        return fb.decide(account, spec, cost, high_priority, max_wait_us, adjustment)

    async def refund(
        self,
        account: str,
        spec: CallSpec,
        cost: int,
        marks: Sequence[int],
        priors: Sequence[int],
        quota_day: int,
    ) -> None:
        # A refund the primary does not take is tokens left unused, never more spent.
        fb = self._fb
        if fb.is_local(marks):
            fb.refund_local(account, spec, cost, marks, priors, quota_day)
        elif fb.use_primary():
            with fb.asking():
                await self.primary.refund(account, spec, cost, marks, priors, quota_day)
                fb.succeeded()

    async def apply(self, account: str, spec: CallSpec, adjustment: Adjustment) -> None:
        fb = self._fb
        fb.apply_local(account, spec, adjustment)
        if fb.use_primary():
            with fb.asking(account):
                await self.primary.apply(account, spec, adjustment)
                fb.succeeded()

    def watch_pauses(self, account: str, on_pause: Callable[[str, int], None]) -> None:
        """The primary's ``watch_pauses``, where it has one."""
        watch = getattr(self.primary, "watch_pauses", None)
        if watch is not None:
            watch(account, on_pause)

    async def snapshot(self, account: str) -> Snapshot:
        """The primary's state of the account (its ``snapshot``)."""
        read: Callable[[str], Awaitable[Snapshot]] = self.primary.snapshot  # type: ignore[attr-defined]
        return await read(account)

    async def write_back(self) -> None:
        """Write local spend back now; see :meth:`FallbackBackend.write_back`."""
        fb = self._fb
        for account, spec, debit in fb.write_backs(self.clock.now_us()):
            if not fb.use_primary():
                fb.ledger.put_back(account, spec, fb.debit_day(spec, debit), fb.spend_of(debit))
                continue
            with fb.asking(account, debit, spec):
                await self.primary.apply(account, spec, debit)
                fb.succeeded()

    async def aclose(self) -> None:
        """Write local spend back (see :meth:`write_back`), then close the primary."""
        await self.write_back()
        _OPEN_ASYNC.discard(self)
        self._fb.log_unwritten()
        await self.primary.aclose()

    def __repr__(self) -> str:
        return (
            f"AsyncFallbackBackend({self.primary!r}, mode={self._fb.mode!r}, "
            f"{self._fb.breaker!r})"
        )
