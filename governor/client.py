"""Governor: the synchronous shell. It only talks to the backend and sleeps; see ``core``."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from governor.backends.memory import MemoryBackend
from governor.clock import Clock, SystemClock
from governor.compose import compose
from governor.core import HIGH, Cancel, Core, Flow, Priority, Sleep, high_priority
from governor.decorator import limited as _limited
from governor.hooks import Hooks, call_hook
from governor.keys import AccountId

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import TracebackType

    from governor.backends.base import Backend
    from governor.decision import Decision, Feedback, Reservation
    from governor.engine import CallSpec
    from governor.headers import Headers
    from governor.outcome import Body
    from governor.policy import Policy
    from governor.settings import GovernorSettings

__all__ = ["Governor"]


class Governor:
    """Keeps calls of one account within its provider's limits, across every process that
    shares the backend.

    >>> from governor import Governor, Policy
    >>> gov = Governor(Policy.of({"api": "2/second"}))
    >>> gov.try_acquire().allowed
    True

    Three verbs over one atomic decision: :meth:`try_acquire` never waits, :meth:`reserve`
    books a slot and returns when it is, :meth:`acquire` books and sleeps until it. Build one
    from settings with :meth:`from_settings`, or from parts: a :class:`~governor.Policy`, a
    backend (default: in-process memory), an account label or :class:`~governor.AccountId`,
    and a clock (default: the system clock; the memory backend's clock when one is given).
    """

    def __init__(
        self,
        policy: Policy,
        backend: Backend | None = None,
        *,
        account: str | AccountId = "default",
        clock: Clock | None = None,
        hooks: Hooks | None = None,
    ) -> None:
        self.clock: Clock = clock or getattr(backend, "clock", None) or SystemClock()
        self.backend: Backend = backend or MemoryBackend(self.clock)
        self.account = account if isinstance(account, AccountId) else AccountId.from_label(account)
        self.policy = policy
        self.hooks = hooks
        self._core = Core(policy, self.account.key, self.clock)
        self._watching = False

    @classmethod
    def from_settings(
        cls, settings: GovernorSettings | None = None, **overrides: Any
    ) -> Governor:
        """Build from :class:`~governor.GovernorSettings` (environment, ``.env``, TOML file),
        with keyword ``overrides`` of any setting: ``Governor.from_settings(plan="starter")``."""
        parts = compose(settings, overrides, asynchronous=False)
        return cls(parts.policy, parts.backend, account=parts.account, clock=parts.clock)

    def try_acquire(
        self, route: str = "*", cost: int = 1, *, priority: Priority = "normal"
    ) -> Decision:
        """Spend ``cost`` now if every scope of ``route`` allows it; never waits, never raises
        for a denial. A denied decision (falsy) says which scope bound it and for how long."""
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
        decision = self.backend.decide(core.account, spec, cost, high, 0, adjustment)
        if self.hooks is not None:
            call_hook(self.hooks.on_decision, decision)
        return decision

    def reserve(
        self,
        route: str = "*",
        cost: int = 1,
        *,
        priority: Priority = "normal",
        timeout_s: float | None = None,
    ) -> Reservation:
        """Book the earliest slot for the call and return at once; the caller waits until
        ``reservation.ready_at``. Raises :class:`~governor.errors.WaitTooLong` (spending nothing)
        when the slot is further away than ``timeout_s`` (its :class:`~governor.errors.
        QueueTooDeep` when the call's lane or the pace may not book it that far ahead), or
        :class:`~governor.errors.QuotaExhausted`."""
        step = self._core.decide_step(route, cost, priority, timeout_s)
        decision = self.backend.decide(
            self._core.account, step.spec, step.cost, step.high_priority, step.max_wait_us,
            step.adjustment,
        )
        if self.hooks is not None:
            call_hook(self.hooks.on_decision, decision)
        return self._core.reservation(step, decision, timeout_s)

    def acquire(
        self,
        route: str = "*",
        cost: int = 1,
        *,
        priority: Priority = "normal",
        timeout_s: float | None = None,
    ) -> Decision:
        """Book the call's slot and sleep until it (one sleep, no polling). With ``timeout_s``,
        fails at once, spending nothing, if the wait would be longer."""
        return self._run(self._core.acquire_flow(route, cost, priority, timeout_s))

    def cancel(self, reservation: Reservation) -> None:
        """Give back what ``reservation`` spent, as far as calls booked after it allow."""
        spec = self._core.spec(reservation.route, reservation.cost)
        self._refund(spec, reservation.decision)

    @contextmanager
    def limit(
        self,
        route: str = "*",
        cost: int = 1,
        *,
        priority: Priority = "normal",
        timeout_s: float | None = None,
    ) -> Iterator[Decision]:
        """``with gov.limit("POST /v1/email"):`` acquires before the block runs."""
        yield self.acquire(route, cost, priority=priority, timeout_s=timeout_s)

    def paused_s(self, route: str = "*") -> float:
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

    def observe(
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
            self.backend.apply(self._core.account, spec, adjustment)
        if self.hooks is not None:
            call_hook(self.hooks.on_feedback, route, status, feedback)
        return feedback

    def close(self) -> None:
        """Write what reconcile still holds back, then close the backend."""
        for spec, adjustment in self._core.flush():
            self.backend.apply(self._core.account, spec, adjustment)
        self.backend.close()

    def __enter__(self) -> Governor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _run(self, flow: Flow) -> Decision:
        account, backend = self._core.account, self.backend
        try:
            step = next(flow)
            while True:
                if isinstance(step, Sleep):
                    if not self._watching:  # once something sleeps, hear of others' pauses
                        self._watch_pauses()
                    self.clock.sleep(step.delay_s)
                    step = flow.send(None)
                elif isinstance(step, Cancel):
                    self._refund(step.spec, step.decision)
                    step = flow.send(None)
                else:
                    decision = backend.decide(
                        account, step.spec, step.cost, step.high_priority, step.max_wait_us,
                        step.adjustment,
                    )
                    if self.hooks is not None:
                        call_hook(self.hooks.on_decision, decision)
                    step = flow.send(decision)
        except StopIteration as stop:
            result: Decision = stop.value
            return result

    def _refund(self, spec: CallSpec, decision: Decision) -> None:
        self.backend.refund(
            self._core.account, spec, decision.cost, decision.marks, decision.priors,
            decision.quota_day,
        )

    def _watch_pauses(self) -> None:
        self._watching = True
        watch = getattr(self.backend, "watch_pauses", None)
        if watch is not None:
            watch(self._core.account, self._core.hear_pause)

    def __repr__(self) -> str:
        return f"Governor({self.policy!r}, account={self.account}, backend={self.backend!r})"
