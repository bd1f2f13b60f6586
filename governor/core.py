"""The logic both shells share: requests, decisions, and the blocking flow as a generator.

:class:`Governor` and :class:`AsyncGovernor` only do I/O and sleeping. The flow of a blocking
``acquire`` is written once here as a generator that yields :class:`Decide`, :class:`Cancel`
and :class:`Sleep` steps; each shell drives it with its own backend calls and its own sleep
(the pattern of ``httpcore``'s I/O-free core).

Whose clock: the core reads only this process's clock (``Core.clock``), for deadlines and for
the pauses it knows of. Reconcile adjustments are planned on it and stamped with it when they
are handed to the backend, which moves them onto its own clock (see
:class:`~governor.reconcile.Adjustment`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Generator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from governor.decision import Decision, Feedback, Reservation
from governor.engine import NO_LIMIT_US, QUOTA, RESET_TOLERANCE_US, BucketSpec, CallSpec
from governor.errors import (
    CostTooLarge,
    LimitExceeded,
    QueueTooDeep,
    QuotaExhausted,
    WaitTooLong,
)
from governor.headers import DateOffset, decode_time, parse_headers, scaled
from governor.outcome import classify, quota_in_body
from governor.reconcile import plan, split

if TYPE_CHECKING:
    from governor.clock import Clock
    from governor.headers import Headers, Observation
    from governor.outcome import Body
    from governor.policy import Policy
    from governor.reconcile import Adjustment

__all__ = ["Cancel", "Core", "Decide", "Priority", "Sleep", "Step"]

Priority = Literal["low", "normal", "high"]
"""A call's lane. ``"high"`` (a password reset) may spend the daily quota's reserve, bypasses
the pace and books wherever its slot is; ``"normal"`` may not, and with lanes on books at most
the policy's ``lane_horizon`` ahead; ``"low"`` (a newsletter) books only the first part of that
horizon, yielding the rest to higher lanes (see *Lanes* in :mod:`governor.engine`)."""

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
class Cancel:
    """Step: give back what ``decision`` (allowed, for ``spec``) spent; the flow goes on."""

    spec: CallSpec
    decision: Decision


@dataclass(frozen=True, slots=True)
class Sleep:
    """Step: sleep this long, then resume the flow."""

    delay_s: float


Step = Decide | Cancel | Sleep
Flow = Generator[Step, Decision | None, Decision]


HIGH: dict[str, bool] = {"normal": False, "high": True, "low": False}
"""Whether a priority may spend the quota's reserve (a lookup for the hot path)."""


def high_priority(priority: Priority) -> bool:
    """``True`` for ``"high"``; refuses anything but ``"low"``, ``"normal"`` and ``"high"``."""
    high = HIGH.get(priority) if isinstance(priority, str) else None
    if high is None:
        raise ValueError(f"priority is 'low', 'normal' or 'high', not {priority!r}")
    return high


def _max_wait_us(timeout_s: float | None) -> int:
    if timeout_s is None:
        return NO_LIMIT_US
    if math.isnan(timeout_s) or timeout_s < 0:
        raise ValueError(f"a timeout is a number of seconds >= 0 or None, not {timeout_s}")
    return min(int(timeout_s * _US), NO_LIMIT_US)


class Core:
    """Route resolution, cost checks and decision building for one account and policy."""

    __slots__ = (
        "_lock", "_pause_lock", "account", "cached_spec", "clock", "dates", "learned",
        "paused", "pending", "policy", "stopped_until_us",
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
        # interval per bucket, and until when the quota was found spent (local clock).
        self.learned: dict[str, int] = {}
        self.stopped_until_us = 0
        # The provider's clock as its responses' Date headers show it (see header_values).
        self.dates = DateOffset()

    def spec(self, route: str, cost: int = 1) -> CallSpec:
        """The scopes of ``route``; refuses a cost that is not a whole number of calls
        (``TypeError``) or that no scope could ever grant (``CostTooLarge``)."""
        spec = self.policy.spec(route)
        if cost != 1 and (type(cost) is not int or not 1 <= cost <= spec.max_cost):
            if type(cost) is not int:
                raise TypeError(
                    f"{spec.route}: a cost is a whole number of calls (an int >= 1), "
                    f"not {cost!r}"
                )
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
        high = high_priority(priority)
        if priority == "low":
            spec = spec.low
        adjustment = self.take_pending(spec) if self.pending else None
        return Decide(spec, 1 if cost == 1 else cost, high, _max_wait_us(timeout_s), adjustment)

    @staticmethod
    def denial(decision: Decision, timeout_s: float | None) -> LimitExceeded:
        """The exception for a denied decision."""
        if decision.scope == QUOTA:
            return QuotaExhausted(decision)
        if decision.too_deep:
            return QueueTooDeep(decision)
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

        ``timeout_s`` bounds the whole flow: a wait longer than what is left of it fails at
        once and spends nothing. A spent quota is waited out (until its reset) only when the
        reset falls within it. A caller that wakes on its slot to find a pause it learned of
        while it slept (a 429 seen by another thread, task or process) does not go at the
        pause's end: it gives its slot back and decides again with what is left of its
        timeout, so it raises :class:`~governor.errors.WaitTooLong` (spending nothing) rather
        than overstay, and the callers a pause held resume at the bucket's spacing, not all at
        once. A normal or low call whose lane may not book as far ahead as its slot (a
        ``too_deep`` denial, see *Lanes* in :mod:`governor.engine`) sleeps the wait it was
        given (at least one emission interval) and decides again, within its timeout.
        """
        step = self.decide_step(route, cost, priority, timeout_s)
        deadline = None if timeout_s is None else self.clock.monotonic() + timeout_s
        while True:
            decision = yield step
            assert decision is not None
            if decision.allowed:
                if decision.wait_us <= 0:
                    return decision
                yield Sleep(decision.wait_s)
                if self.paused_for(step.spec) <= 0:
                    return decision
                yield Cancel(step.spec, decision)  # the slot is void: book one after the pause
            elif decision.too_deep:  # the slot is within the timeout: come back nearer to it
                yield Sleep(decision.wait_s)
            else:
                left_s = None if deadline is None else deadline - self.clock.monotonic()
                if decision.scope != QUOTA or (left_s is not None and decision.wait_s > left_s):
                    raise self.denial(decision, timeout_s)
                yield Sleep(decision.wait_s)
            left_s = None if deadline is None else max(deadline - self.clock.monotonic(), 0.0)
            adjustment = self.take_pending(step.spec) if self.pending else None
            step = Decide(step.spec, cost, step.high_priority, _max_wait_us(left_s), adjustment)

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
        if isinstance(status, bool) or not isinstance(status, int):
            raise TypeError(f"status is the response's HTTP status code, an int such as 200 or "
                            f"429, not {status!r}")
        spec = self.spec(route)
        policy = self.policy
        now_us = self.clock.now_us()
        factor = policy.header_factor
        observation = scaled(
            parse_headers(policy.dialect, headers or {}, round(now_us / factor), self.dates),
            factor,
        )
        outcome = classify(status, headers, body, policy.dialect)
        if observation.quota_remaining is None and 200 <= status < 300:
            quota, remaining, reset = quota_in_body(body)  # GET /v1/api-quota seeds the quota
            if remaining is not None:
                observation = replace(
                    observation, quota_limit=quota, quota_remaining=remaining,
                    quota_reset_at_us=_body_reset(reset, self._skew_us(observation), now_us,
                                                  factor),
                )
        marks = decision.marks if decision is not None else ()
        seq = None
        if decision is not None and not decision.degraded and decision.quota_seq >= 0:
            seq = decision.quota_seq
        adjustment = plan(
            spec,
            observation,
            outcome,
            sent_at_us=sent_at_us if sent_at_us is not None else now_us,
            now_us=now_us,
            scale=policy.window_scale,
            max_pause_us=round(policy.max_pause_s * _US),
            local_tat_us=marks[0] if marks else None,
            quota=policy.quota_call.quota if policy.quota_call is not None else spec.quota,
            quota_seq=seq,
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
            urgent.append((spec, route_part.stamped(self.clock.now_us())))
        if carrier is not None and quota_part is not None and self._hold(carrier, quota_part):
            urgent.append((carrier, quota_part.stamped(self.clock.now_us())))
        return feedback, urgent

    def _skew_us(self, observation: Observation) -> int:
        """The ``Date`` offset the response's headers were read with (0: no usable Date)."""
        best = self.dates.best_us
        return 0 if observation.server_date_us is None or best is None else best

    def take_pending(self, spec: CallSpec) -> Adjustment | None:
        """What rides along with a decision of ``spec``: its route's pending adjustment and,
        when it spends quota, the account's quota news; stamped, ready for the backend."""
        own = self.pending.pop(spec.base, None)
        quota = self.policy.quota_call
        if spec.quota is not None and quota is not None:
            shared = self.pending.pop(quota, None)
            if shared is not None:
                own = shared if own is None else own.merge(shared)
        return None if own is None else own.stamped(self.clock.now_us())

    def flush(self) -> list[tuple[CallSpec, Adjustment]]:
        """Everything still held back, taken and stamped (a shell writes it on close)."""
        pending, self.pending = self.pending, {}
        now_us = self.clock.now_us()
        return [(spec, adjustment.stamped(now_us)) for spec, adjustment in pending.items()]

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
        stopped = _stop_end(spec, adjustment)
        if stopped:
            self.stopped_until_us = max(self.stopped_until_us, stopped)

    def _known(self, adj: Adjustment, spec: CallSpec) -> bool:
        """Whether everything urgent in ``adj`` was already written by this process."""
        stopped = _stop_end(spec, adj)
        return (
            adj.interval_us <= self.learned.get(adj.bucket, 0)
            and adj.bucket_pause_us <= self.paused.get(adj.bucket, 0)
            and adj.account_pause_us <= self.paused.get("", 0)
            and stopped <= self.stopped_until_us + RESET_TOLERANCE_US
        )

    def learn_pause(self, scope: str, until_us: int) -> None:
        """Note a pause of a bucket (``""``: the account) until ``until_us`` on this process's
        clock, from one of this process's responses."""
        now_us = self.clock.now_us()
        with self._pause_lock:
            self.paused[scope] = max(self.paused.get(scope, 0), until_us)
            for name in [n for n, t in self.paused.items() if t <= now_us]:
                del self.paused[name]

    def hear_pause(self, scope: str, delay_us: int) -> None:
        """Note a pause another process announced (``watch_pauses``): ``delay_us`` from now,
        as the backend's clock measured it when the pause was set."""
        self.learn_pause(scope, self.clock.now_us() + delay_us)


def _stop_end(spec: CallSpec, adj: Adjustment) -> int:
    """When the spent quota an adjustment reports is over, on the local clock (0: it reports
    none): the provider's stated reset, else the end of the calendar day it was sent in."""
    q = spec.quota
    if q is None or adj.quota_used_floor < q.limit:
        return 0
    return adj.quota_reset_us or (adj.sent_at_us // q.day_us + 1) * q.day_us


def _body_reset(reset: str | None, skew_us: int, now_us: int, factor: float) -> int | None:
    """The quota reset a response body states (``GET /v1/api-quota``), on the local clock,
    read like a header's (``skew_us``: the response's ``Date`` offset, in provider µs), or
    None."""
    if reset is None:
        return None
    try:
        return round(decode_time(reset, round(now_us / factor), skew_us) * factor)
    except ValueError:
        return None
