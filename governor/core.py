"""The logic both shells share: requests, decisions, and the blocking flow as a generator.

:class:`Governor` and :class:`AsyncGovernor` only do I/O and sleeping. The flow of a blocking
``acquire`` is written once here as a generator that yields :class:`Decide` and :class:`Sleep`
steps; each shell drives it with its own backend call and its own sleep (the pattern of
``httpcore``'s I/O-free core).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Generator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from governor.decision import Decision, Feedback, Reservation
from governor.engine import NO_LIMIT_US, QUOTA, BucketSpec, CallSpec
from governor.errors import CostTooLarge, LimitExceeded, QuotaExhausted, WaitTooLong
from governor.headers import parse_headers, scaled
from governor.outcome import classify, quota_in_body
from governor.reconcile import plan, split

if TYPE_CHECKING:
    from governor.clock import Clock
    from governor.headers import Headers
    from governor.outcome import Body
    from governor.policy import Policy
    from governor.reconcile import Adjustment

__all__ = ["Core", "Decide", "Priority", "Sleep", "Step"]

Priority = Literal["normal", "high"]
"""``"high"`` may spend the daily quota's reserve (a password reset); ``"normal"`` may not."""

_US = 1_000_000
_ACCOUNT = BucketSpec("", 1, 1, 1)  # the key of account-wide pauses in Core.paused


@dataclass(frozen=True, slots=True)
class Decide:
    """Step: ask the backend to decide this call (applying ``adjustment`` first)."""

    spec: CallSpec
    cost: int
    high_priority: bool
    max_wait_us: int
    adjustment: Adjustment | None = None


@dataclass(frozen=True, slots=True)
class Sleep:
    """Step: sleep this long, then resume the flow."""

    delay_s: float


Step = Decide | Sleep
Flow = Generator[Step, Decision | None, Decision]


HIGH: dict[str, bool] = {"normal": False, "high": True}
"""Whether a priority may spend the quota's reserve (a lookup for the hot path)."""


def high_priority(priority: Priority) -> bool:
    """``True`` for ``"high"``; refuses anything but ``"normal"`` and ``"high"``."""
    if priority == "normal":
        return False
    if priority == "high":
        return True
    raise ValueError(f"priority is 'normal' or 'high', not {priority!r}")


def _max_wait_us(timeout_s: float | None) -> int:
    if timeout_s is None:
        return NO_LIMIT_US
    if math.isnan(timeout_s) or timeout_s < 0:
        raise ValueError(f"a timeout is a number of seconds >= 0 or None, not {timeout_s}")
    return min(int(timeout_s * _US), NO_LIMIT_US)


class Core:
    """Route resolution, cost checks and decision building for one account and policy."""

    __slots__ = (
        "_lock", "_pause_lock", "account", "cached_spec", "clock", "learned", "paused",
        "pending", "policy", "stopped_day",
    )

    def __init__(self, policy: Policy, account: str, clock: Clock) -> None:
        self.policy = policy
        self.account = account
        self.clock = clock
        # The spec of a route already seen (cost 1 always fits), or None: one dict lookup.
        self.cached_spec = policy.cached_spec
        # Reconcile adjustments that ride along with the next decision of their route (one
        # per route: a route's texts share its CallSpec). Taken with an atomic pop; merged
        # under the lock.
        self.pending: dict[CallSpec, Adjustment] = {}
        self._lock = threading.Lock()
        self._pause_lock = threading.Lock()
        # Pauses this process has learned, by bucket ("" = the account): a caller that wakes
        # from its sleep checks them before it goes (no round trip).
        self.paused: dict[str, int] = {}
        # What this process already wrote at once, so that a response repeating it (every
        # response of an account under review says 10/min) rides along instead: the learned
        # interval per bucket, and the day whose quota was found spent.
        self.learned: dict[str, int] = {}
        self.stopped_day = -1

    def spec(self, route: str, cost: int = 1) -> CallSpec:
        """The scopes of ``route``; refuses a cost no scope could ever grant."""
        spec = self.policy.spec(route)
        if cost != 1 and not 1 <= cost <= spec.max_cost:
            if cost < 1:
                raise CostTooLarge(f"{spec.route}: a call costs at least 1, not {cost}")
            raise CostTooLarge(
                f"{spec.route}: a cost of {cost} exceeds what one call may ever be granted "
                f"({spec.max_cost}); split the call or raise the bucket's burst"
            )
        return spec

    def decide_step(
        self, route: str, cost: int, priority: Priority, timeout_s: float | None
    ) -> Decide:
        """The single decide step of ``reserve``."""
        spec = self.spec(route, cost)
        adjustment = self.take_pending(spec) if self.pending else None
        return Decide(spec, cost, high_priority(priority), _max_wait_us(timeout_s), adjustment)

    @staticmethod
    def denial(decision: Decision, timeout_s: float | None) -> LimitExceeded:
        """The exception for a denied decision."""
        if decision.scope == QUOTA:
            return QuotaExhausted(decision)
        return WaitTooLong(decision, 0.0 if timeout_s is None else timeout_s)

    def reservation(
        self, step: Decide, decision: Decision, timeout_s: float | None
    ) -> Reservation:
        """A reservation for an allowed decision; raises the denial otherwise."""
        if not decision.allowed:
            raise self.denial(decision, timeout_s)
        return Reservation(
            decision, (decision.now_us + decision.wait_us) / _US, step.high_priority
        )

    def acquire_flow(
        self, route: str, cost: int, priority: Priority, timeout_s: float | None
    ) -> Flow:
        """Decide, sleep once if the call was reserved ahead, and return the decision.

        A wait longer than the timeout fails at once and spends nothing. A spent quota is waited
        out (until its reset) only when the reset falls within the timeout. A pause this
        process learned while the caller slept (a 429 seen by another thread or task) holds the
        caller until it ends.
        """
        step = self.decide_step(route, cost, priority, timeout_s)
        deadline = None if timeout_s is None else self.clock.monotonic() + timeout_s
        while True:
            decision = yield step
            assert decision is not None
            if decision.allowed:
                if decision.wait_s > 0:
                    yield Sleep(decision.wait_s)
                    held_us = self.paused_for(step.spec)
                    if held_us > 0:
                        yield Sleep(held_us / _US)
                return decision
            left_s = None if deadline is None else deadline - self.clock.monotonic()
            if decision.scope != QUOTA or (left_s is not None and decision.wait_s > left_s):
                raise self.denial(decision, timeout_s)
            yield Sleep(decision.wait_s)
            left_s = None if deadline is None else max(deadline - self.clock.monotonic(), 0.0)
            step = Decide(step.spec, cost, step.high_priority, _max_wait_us(left_s))

    def paused_for(self, spec: CallSpec) -> int:
        """Microseconds until the pauses this process knows of let a call of ``spec`` go."""
        if not self.paused:
            return 0
        paused = self.paused.copy()  # another thread may add a pause meanwhile
        until = max(paused.get(b.name, 0) for b in (*spec.buckets, _ACCOUNT))
        return max(until - self.clock.now_us(), 0)

    def observe(
        self,
        route: str,
        status: int,
        headers: Headers | None,
        body: Body,
        decision: Decision | None,
        sent_at_us: int | None,
    ) -> tuple[Feedback, list[tuple[CallSpec, Adjustment]]]:
        """Classify a response and plan its reconcile.

        Returns the feedback and the adjustments to apply at once (urgent ones: a pause, a
        lower limit, a spent quota), each with the spec to apply it through; any other is kept
        in :attr:`pending` and rides along with a later decision (the route's part with the
        route's next one, the quota's part with the next that spends quota), so it costs no
        round trip.
        """
        spec = self.spec(route)
        policy = self.policy
        now_us = self.clock.now_us()
        factor = policy.time_scale / 60.0
        observation = scaled(
            parse_headers(policy.dialect, headers or {}, round(now_us / factor)), factor
        )
        outcome = classify(status, headers, body, policy.dialect)
        if observation.quota_remaining is None and 200 <= status < 300:
            quota, remaining = quota_in_body(body)  # e.g. GET /v1/api-quota seeds the quota
            if remaining is not None:
                observation = replace(observation, quota_limit=quota, quota_remaining=remaining)
        marks = decision.marks if decision is not None else ()
        adjustment = plan(
            spec,
            observation,
            outcome,
            sent_at_us=sent_at_us if sent_at_us is not None else now_us,
            now_us=now_us,
            scale=policy.rate_scale,
            max_pause_us=round(policy.max_pause_s * _US),
            local_tat_us=marks[0] if marks else None,
            quota=policy.quota_call.quota if policy.quota_call is not None else spec.quota,
        )
        feedback = Feedback(outcome, observation, adjustment)
        if adjustment is None:
            return feedback, []
        adjustment = replace(adjustment, relax_after=policy.relax_after)
        carrier = policy.quota_call
        limit = carrier.quota.limit if carrier is not None and carrier.quota else None
        route_part, quota_part = split(adjustment, limit)
        urgent: list[tuple[CallSpec, Adjustment]] = []
        if route_part is not None and self._hold(spec, route_part):
            urgent.append((spec, route_part))
        if carrier is not None and quota_part is not None and self._hold(carrier, quota_part):
            urgent.append((carrier, quota_part))
        return feedback, urgent

    def take_pending(self, spec: CallSpec) -> Adjustment | None:
        """What rides along with a decision of ``spec``: its route's pending adjustment and,
        when it spends quota, the account's quota news."""
        own = self.pending.pop(spec, None)
        quota = self.policy.quota_call
        if spec.quota is not None and quota is not None:
            shared = self.pending.pop(quota, None)
            if shared is not None:
                own = shared if own is None else own.merge(shared)
        return own

    def _hold(self, spec: CallSpec, adjustment: Adjustment) -> bool:
        """Keep ``adjustment`` to ride along, or say it is to be applied now (True)."""
        with self._lock:
            earlier = self.pending.pop(spec, None)
            if earlier is not None:
                adjustment = earlier.merge(adjustment)
            if adjustment.urgent and self._known(adjustment, spec):
                adjustment = replace(adjustment, urgent=False)
            if not adjustment.urgent:
                self.pending[spec] = adjustment
                return False
        self._remember(spec, adjustment)
        return True

    def _remember(self, spec: CallSpec, adjustment: Adjustment) -> None:
        """Note what an urgent adjustment writes, so a response repeating it rides along."""
        if adjustment.bucket_pause_us:
            self.learn_pause(adjustment.bucket, adjustment.bucket_pause_us)
        if adjustment.account_pause_us:
            self.learn_pause("", adjustment.account_pause_us)
        if adjustment.interval_us:
            known = self.learned.get(adjustment.bucket, 0)
            self.learned[adjustment.bucket] = max(known, adjustment.interval_us)
        if spec.quota is not None and adjustment.quota_used_floor >= spec.quota.limit:
            self.stopped_day = max(self.stopped_day, adjustment.quota_day)

    def _known(self, adj: Adjustment, spec: CallSpec) -> bool:
        """Whether everything urgent in ``adj`` was already written by this process."""
        stop = spec.quota is not None and adj.quota_used_floor >= spec.quota.limit
        return (
            adj.interval_us <= self.learned.get(adj.bucket, 0)
            and adj.bucket_pause_us <= self.paused.get(adj.bucket, 0)
            and adj.account_pause_us <= self.paused.get("", 0)
            and (not stop or adj.quota_day <= self.stopped_day)
        )

    def learn_pause(self, scope: str, until_us: int) -> None:
        """Note a pause of a bucket (``""``: the account) until ``until_us``: from this
        process's responses, or announced by another process (``watch_pauses``)."""
        now_us = self.clock.now_us()
        with self._pause_lock:
            self.paused[scope] = max(self.paused.get(scope, 0), until_us)
            for name in [n for n, t in self.paused.items() if t <= now_us]:
                del self.paused[name]
