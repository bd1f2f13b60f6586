"""AsyncGovernor: the asyncio shell. Same verbs as :class:`~governor.Governor`, as coroutines;
it only awaits the backend and sleeps; the logic is in ``core``."""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from governor.backends.memory import AsyncMemoryBackend
from governor.clock import Clock, SystemClock
from governor.compose import compose
from governor.core import HIGH, Cancel, Core, Flow, Priority, Sleep, high_priority
from governor.decorator import limited as _limited
from governor.hooks import Hooks, call_hook
from governor.keys import AccountId

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from types import TracebackType

    from governor.backends.base import AsyncBackend
    from governor.decision import Decision, Feedback, Reservation
    from governor.engine import CallSpec
    from governor.headers import Headers
    from governor.outcome import Body
    from governor.policy import Policy
    from governor.settings import GovernorSettings

__all__ = ["AsyncGovernor"]


class AsyncGovernor:
    """The asyncio twin of :class:`~governor.Governor`: every verb is a coroutine, ``limit`` is
    an async context manager, and ``aclose`` closes the backend. See ``Governor`` for the
    semantics, which are the same (one core drives both)."""

    def __init__(
        self,
        policy: Policy,
        backend: AsyncBackend | None = None,
        *,
        account: str | AccountId = "default",
        clock: Clock | None = None,
        hooks: Hooks | None = None,
    ) -> None:
        self.clock: Clock = clock or getattr(backend, "clock", None) or SystemClock()
        self.backend: AsyncBackend = backend or AsyncMemoryBackend(clock=self.clock)
        self.account = account if isinstance(account, AccountId) else AccountId.from_label(account)
        self.policy = policy
        self.hooks = hooks
        self._core = Core(policy, self.account.key, self.clock)
        self._watching = False

    @classmethod
    def from_settings(
        cls, settings: GovernorSettings | None = None, **overrides: Any
    ) -> AsyncGovernor:
        """Build from settings, like :meth:`Governor.from_settings`."""
        parts = compose(settings, overrides, asynchronous=True)
        return cls(parts.policy, parts.backend, account=parts.account, clock=parts.clock)

    async def try_acquire(
        self, route: str = "*", cost: int = 1, *, priority: Priority = "normal"
    ) -> Decision:
        """Spend ``cost`` now if every scope allows it; never waits. See ``Governor``."""
        core = self._core
        if cost == 1:  # the hot path: a dict lookup
            spec = core.cached_spec(route) or core.spec(route)
            cost = 1  # 1.0 and True mean one call, as an int
        else:
            spec = core.spec(route, cost)
        if priority == "low":
            spec = spec.low
        adjustment = core.take_pending(spec) if core.pending else None
        high = HIGH.get(priority)
        if high is None:
            high = high_priority(priority)  # raises: not a priority
        decision = await self.backend.decide(core.account, spec, cost, high, 0, adjustment)
        if self.hooks is not None:
            call_hook(self.hooks.on_decision, decision)
        return decision

    async def reserve(
        self,
        route: str = "*",
        cost: int = 1,
        *,
        priority: Priority = "normal",
        timeout_s: float | None = None,
    ) -> Reservation:
        """Book the earliest slot and return at once. See ``Governor.reserve``."""
        step = self._core.decide_step(route, cost, priority, timeout_s)
        decision = await self.backend.decide(
            self._core.account, step.spec, step.cost, step.high_priority, step.max_wait_us,
            step.adjustment,
        )
        if self.hooks is not None:
            call_hook(self.hooks.on_decision, decision)
        return self._core.reservation(step, decision, timeout_s)

    async def acquire(
        self,
        route: str = "*",
        cost: int = 1,
        *,
        priority: Priority = "normal",
        timeout_s: float | None = None,
    ) -> Decision:
        """Book the slot and sleep until it. See ``Governor.acquire``."""
        return await self._run(self._core.acquire_flow(route, cost, priority, timeout_s))

    async def cancel(self, reservation: Reservation) -> None:
        """Give back what ``reservation`` spent, as far as calls booked after it allow."""
        spec = self._core.spec(reservation.route, reservation.cost)
        await self._refund(spec, reservation.decision)

    @asynccontextmanager
    async def limit(
        self,
        route: str = "*",
        cost: int = 1,
        *,
        priority: Priority = "normal",
        timeout_s: float | None = None,
    ) -> AsyncIterator[Decision]:
        """``async with gov.limit("POST /v1/email"):`` acquires before the block runs."""
        yield await self.acquire(route, cost, priority=priority, timeout_s=timeout_s)

    async def paused_s(self, route: str = "*") -> float:
        """Seconds until the pauses this process knows of (from its own responses and, once
        listening, those other processes announce) let a call of ``route`` go; 0.0: none.
        Costs no round trip. The first call starts listening (Redis pub/sub), as a first
        sleep in ``acquire`` does; a caller that waits off-process (a task queue's ETA)
        checks it before it spends a slot booked earlier."""
        if not self._watching:
            self._watch_pauses()
        return self._core.paused_for(self._core.spec(route)) / 1_000_000

    limited = _limited
    """``@gov.limited``, ``@gov.limited("POST /v1/email", cost=2)``, ``@gov.limited(route=fn)``:
    every call acquires first, has its response observed, and is retried by ``retry``; see
    :func:`governor.decorator.limited`, which this governor is the first argument of."""

    async def observe(
        self,
        route: str,
        status: int,
        headers: Headers | None = None,
        body: Body = None,
        *,
        decision: Decision | None = None,
        sent_at_us: int | None = None,
    ) -> Feedback:
        """Feed a response back: classify it and reconcile the shared state with its headers.

        ``decision`` is the one the call was sent under (it tells how far this worker thinks
        the bucket is spent); ``sent_at_us`` when the request left (default: now). A pause, a
        lower limit or a spent quota is written at once (one round trip); anything else rides
        along with the route's next decision; a response with nothing new writes nothing.
        """
        feedback, urgent = self._core.observe(route, status, headers, body, decision, sent_at_us)
        for spec, adjustment in urgent:
            await self.backend.apply(self._core.account, spec, adjustment)
        if self.hooks is not None:
            call_hook(self.hooks.on_feedback, route, status, feedback)
        return feedback

    async def aclose(self) -> None:
        """Write what reconcile still holds back, then close the backend."""
        for spec, adjustment in self._core.flush():
            await self.backend.apply(self._core.account, spec, adjustment)
        await self.backend.aclose()

    async def __aenter__(self) -> AsyncGovernor:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _run(self, flow: Flow) -> Decision:
        account, backend = self._core.account, self.backend
        try:
            step = next(flow)
            while True:
                if isinstance(step, Sleep):
                    if not self._watching:  # once something sleeps, hear of others' pauses
                        self._watch_pauses()
                    await self.clock.asleep(step.delay_s)
                    step = flow.send(None)
                elif isinstance(step, Cancel):
                    await self._refund(step.spec, step.decision)
                    step = flow.send(None)
                else:
                    decision = await backend.decide(
                        account, step.spec, step.cost, step.high_priority, step.max_wait_us,
                        step.adjustment,
                    )
                    if self.hooks is not None:
                        call_hook(self.hooks.on_decision, decision)
                    step = flow.send(decision)
        except StopIteration as stop:
            result: Decision = stop.value
            return result

    async def _refund(self, spec: CallSpec, decision: Decision) -> None:
        await self.backend.refund(
            self._core.account, spec, decision.cost, decision.marks, decision.priors,
            decision.quota_day,
        )

    def _watch_pauses(self) -> None:
        self._watching = True
        watch = getattr(self.backend, "watch_pauses", None)
        if watch is not None:
            watch(self._core.account, self._core.hear_pause)

    def __repr__(self) -> str:
        return f"AsyncGovernor({self.policy!r}, account={self.account}, backend={self.backend!r})"
