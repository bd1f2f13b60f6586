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
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from governor.backends.memory import MemoryBackend
from governor.breaker import CircuitBreaker
from governor.clock import Clock, SystemClock
from governor.decision import Decision
from governor.engine import BucketSpec, CallSpec, QuotaSpec
from governor.errors import BackendError, BackendUnavailable

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from governor.backends.base import AsyncBackend, Backend
    from governor.reconcile import Adjustment
    from governor.status import Snapshot

__all__ = ["AsyncFallbackBackend", "FailurePolicy", "FallbackBackend", "FallbackStats"]

FailurePolicy = Literal["degrade", "closed", "open"]
log = logging.getLogger("governor")
_REMEMBERED = 4096  # local reservations remembered, so a cancel goes where the call was decided


@dataclass
class FallbackStats:
    """Counts since start: decisions made without the shared state, backend failures, and how
    often the breaker opened."""

    degraded: int = 0
    failures: int = 0
    opened: int = 0


class _Fallback:
    """The I/O-free part both faces share: the breaker, local specs and local decisions."""

    def __init__(
        self, mode: FailurePolicy, fleet_size: int, breaker: CircuitBreaker, clock: Clock
    ) -> None:
        if mode not in ("degrade", "closed", "open"):
            raise ValueError(f"the failure policy is 'degrade', 'closed' or 'open', not {mode!r}")
        if fleet_size < 1:
            raise ValueError(f"fleet_size is at least 1, not {fleet_size}")
        self.mode = mode
        self.fleet_size = fleet_size
        self.breaker = breaker
        self.clock = clock
        self.local = MemoryBackend(clock)
        self.stats = FallbackStats()
        self._specs: dict[CallSpec, CallSpec] = {}
        self._local_marks: OrderedDict[tuple[int, ...], None] = OrderedDict()

    def use_primary(self) -> bool:
        return self.breaker.allow(self.clock.monotonic())

    def succeeded(self) -> None:
        if self.breaker.success():
            log.warning("governor: the shared backend is back; decisions are shared again")

    def failed(self, exc: BackendError) -> None:
        self.stats.failures += 1
        if self.breaker.failure(self.clock.monotonic()):
            self.stats.opened += 1
            log.warning(
                "governor: the shared backend failed %d times in a row (%s); deciding with "
                "policy %r until it answers again (probing every %.1fs)",
                self.breaker.threshold, exc, self.mode, self.breaker.reset_s,
            )

    def local_spec(self, spec: CallSpec) -> CallSpec:
        """``spec`` with every limit divided by the fleet size: this process's share."""
        local = self._specs.get(spec)
        if local is None:
            n = self.fleet_size
            buckets = tuple(
                BucketSpec(b.name, b.interval_us * n, max(b.burst // n, 1), max(b.limit // n, 1))
                for b in spec.buckets
            )
            q = spec.quota
            quota = None if q is None else QuotaSpec(
                max(q.limit // n, 1), min(q.reserve // n, max(q.limit // n, 1) - 1), q.day_us
            )
            local = self._specs[spec] = CallSpec(spec.route, buckets, quota)
        return local

    def decide(
        self,
        account: str,
        spec: CallSpec,
        cost: int,
        high_priority: bool,
        max_wait_us: int,
        adjustment: Adjustment | None,
    ) -> Decision:
        """Decide without the shared state, by the failure policy."""
        if self.mode == "closed":
            raise BackendUnavailable(
                f"{spec.route}: the shared backend is unavailable and the failure policy is "
                "'closed'; no call is allowed until it answers again"
            )
        self.stats.degraded += 1
        if self.mode == "open":
            now_us = self.clock.now_us()
            return Decision(True, now_us, 0, "", 0, now_us, route=spec.route, cost=cost,
                            degraded=True)
        local = self.local_spec(spec)
        cost = min(cost, local.max_cost)
        decision = self.local.decide(account, local, cost, high_priority, max_wait_us, adjustment)
        if decision.marks:
            self._local_marks[decision.marks] = None
            if len(self._local_marks) > _REMEMBERED:
                self._local_marks.popitem(last=False)
        return decision._replace(degraded=True)

    def is_local(self, marks: Sequence[int]) -> bool:
        """Whether a reservation with these marks was decided locally."""
        return tuple(marks) in self._local_marks


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
        self._fb = _Fallback(mode, fleet_size, breaker or CircuitBreaker(), self.clock)

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
            try:
                decision = self.primary.decide(
                    account, spec, cost, high_priority, max_wait_us, adjustment
                )
            except BackendError as exc:
                fb.failed(exc)
            else:
                fb.succeeded()
                return decision
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
        fb = self._fb
        if fb.is_local(marks):
            fb.local.refund(account, fb.local_spec(spec), cost, marks, priors, quota_day)
        elif fb.use_primary():
            try:
                self.primary.refund(account, spec, cost, marks, priors, quota_day)
            except BackendError as exc:  # a refund not given is tokens left unused, never more
                fb.failed(exc)
            else:
                fb.succeeded()

    def apply(self, account: str, spec: CallSpec, adjustment: Adjustment) -> None:
        fb = self._fb
        fb.local.apply(account, fb.local_spec(spec), adjustment)
        if fb.use_primary():
            try:
                self.primary.apply(account, spec, adjustment)
            except BackendError as exc:
                fb.failed(exc)
            else:
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

    def close(self) -> None:
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
        self._fb = _Fallback(mode, fleet_size, breaker or CircuitBreaker(), self.clock)

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
            try:
                decision = await self.primary.decide(
                    account, spec, cost, high_priority, max_wait_us, adjustment
                )
            except BackendError as exc:
                fb.failed(exc)
            else:
                fb.succeeded()
                return decision
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
        fb = self._fb
        if fb.is_local(marks):
            fb.local.refund(account, fb.local_spec(spec), cost, marks, priors, quota_day)
        elif fb.use_primary():
            try:
                await self.primary.refund(account, spec, cost, marks, priors, quota_day)
            except BackendError as exc:
                fb.failed(exc)
            else:
                fb.succeeded()

    async def apply(self, account: str, spec: CallSpec, adjustment: Adjustment) -> None:
        fb = self._fb
        fb.local.apply(account, fb.local_spec(spec), adjustment)
        if fb.use_primary():
            try:
                await self.primary.apply(account, spec, adjustment)
            except BackendError as exc:
                fb.failed(exc)
            else:
                fb.succeeded()

    async def snapshot(self, account: str) -> Snapshot:
        """The primary's state of the account (its ``snapshot``)."""
        read: Callable[[str], Awaitable[Snapshot]] = self.primary.snapshot  # type: ignore[attr-defined]
        return await read(account)

    async def aclose(self) -> None:
        await self.primary.aclose()

    def __repr__(self) -> str:
        return (
            f"AsyncFallbackBackend({self.primary!r}, mode={self._fb.mode!r}, "
            f"{self._fb.breaker!r})"
        )
