"""What a process does on its own while the shared backend is down: the I/O-free half of
:mod:`governor.backends.fallback` (whose two faces, sync and asyncio, only do the primary's I/O).

:class:`LocalFallback` holds the circuit breaker, decides by the failure policy, and keeps this
process's share of every limit (each divided by ``fleet_size``) in a
:class:`~governor.backends.memory.MemoryBackend`.

The daily quota across a degraded spell
    Every shared decision reports the day's quota count (``Decision.quota_used``) and when that
    day ends (``quota_reset_us``, on the backend's clock, kept as a time left on this process's
    clock); the last one per account is kept while its day lasts. A degraded process may then
    spend only its share of what the fleet had left (``(limit - used) // fleet_size``), not a
    fresh share of the whole day, so a quota already spent stays spent while Redis is away.
    What it spends locally is counted, and written back with the first shared decision after
    the outage (an :class:`~governor.reconcile.Adjustment` ``quota_debit``, in the same script
    call, plus the last count seen as a floor, which restores a count a restarted Redis lost).
    Only today's spend is written back; a debit whose reply was lost is not sent again (it may
    have counted); a debit that meets the provider's own count of the day (from a response's
    quota headers) gives way to it, as that count holds the calls already. The provider's quota
    headers correct either way at the next response.
    Until every process has written its spend back, the others do not know it: if the quota
    runs out in that moment, up to ``fleet_size - 1`` calls go over it.
    The local share counts calendar days on this process's clock (a provider's stated reset
    moves the shared day, not the share's).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from governor.backends.memory import MemoryBackend
from governor.backends.spend import Ledger, Spend
from governor.decision import Decision
from governor.engine import QUOTA, BucketSpec, CallSpec, QuotaSpec
from governor.errors import BackendError, BackendUnavailable, IndeterminateOutcome
from governor.reconcile import Adjustment

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import TracebackType

    from governor.breaker import CircuitBreaker
    from governor.clock import Clock

__all__ = ["FailurePolicy", "FallbackStats", "LocalFallback", "with_debit"]

FailurePolicy = Literal["degrade", "closed", "open"]
log = logging.getLogger("governor")
_REMEMBERED = 4096  # local reservations remembered, so a cancel goes where the call was decided
_SAME_DAY_US = 3_600_000_000  # two ends of "today" this close are the same day's
_PROBE_WAIT_US = 1_000_000  # how long a quota call waits for a probe's count, then asks again


@dataclass
class FallbackStats:
    """Counts since start: decisions made without the shared state, backend failures, and how
    often the breaker opened."""

    degraded: int = 0
    failures: int = 0
    opened: int = 0


def with_debit(adjustment: Adjustment | None, debit: Adjustment) -> Adjustment:
    """``adjustment`` (from reconcile, or none) with a write-back of local quota spend."""
    if adjustment is None:
        return debit
    if adjustment.quota_reset_us:  # the provider names its day: its news wins whole
        return adjustment
    if adjustment.quota_used_floor > 0 or adjustment.quota_base is not None:
        # The provider's own count of the day, read from a response: it already holds the
        # calls this process sent on its own, so adding the debit would count them twice.
        return replace(adjustment, quota_used_floor=max(adjustment.quota_used_floor,
                                                        debit.quota_used_floor))
    return replace(adjustment, quota_used_floor=debit.quota_used_floor,
                   quota_debit=debit.quota_debit, sent_at_us=max(adjustment.sent_at_us,
                                                                 debit.sent_at_us))


class LocalFallback:
    """The I/O-free part both faces of the fallback backend share: the breaker, this process's
    share of every limit, its local decisions, and the quota it carries and writes back."""

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
        # Per account: (until when on this clock, count) of the quota day the shared state
        # last reported, and the one carried into the local state. What was spent locally and
        # not yet written back is in the ledger.
        self._shared: dict[str, tuple[int, int]] = {}
        self._carried: dict[str, tuple[int, int]] = {}
        self.ledger = Ledger()
        # The quota sequence last seen per account (a drop: the shared state lost its count),
        # the accounts whose shared count is in doubt (after a failure or such a drop: the next
        # quota call carries the last count seen), and the accounts whose degraded decisions
        # sent a probe before this process ever saw the day's count.
        self._seq: dict[str, int] = {}
        self._doubt: set[str] = set()
        self._probes: set[str] = set()

    def use_primary(self) -> bool:
        return self.breaker.allow(self.clock.monotonic())

    def asking(
        self, account: str = "", debit: Adjustment | None = None, spec: CallSpec | None = None
    ) -> _Asking:
        """Around one call to the primary (of either face): a :class:`BackendError` is
        counted and swallowed, so the caller goes on to decide locally (and a debit, taken for
        ``spec``, that the primary surely did not apply is kept); a cancel or an interrupt
        frees the breaker's probe, if the call was it, and goes on up."""
        return _Asking(self, account, debit, spec)

    def succeeded(self, account: str = "", spec: CallSpec | None = None,
                  decision: Decision | None = None) -> None:
        """The primary answered (with ``decision``, for a decide of ``spec``)."""
        if decision is not None and spec is not None:
            now_us = self.clock.now_us()
            if decision.allowed:
                self.ledger.shared_grant(account, spec, now_us + decision.wait_us, decision.cost)
            if decision.quota_used >= 0 and decision.quota_reset_us > 0:
                left_us = decision.quota_reset_us - decision.now_us  # of the day, on any clock
                used = decision.quota_used
                self._doubt.discard(account)
                known = self._shared.get(account)
                if (known is not None and used < known[1]
                        and decision.quota_seq < self._seq.get(account, -1)):
                    # The shared state lost its count (restarted empty: its sequence went back,
                    # and it counts less than was known): what it counts now came after what
                    # was known, and the next quota call restores the sum.
                    used += known[1]
                    self._doubt.add(account)
                self._know(account, now_us + left_us, used, now_us)
                self._seq[account] = decision.quota_seq
        if self.breaker.success():
            log.warning("governor: the shared backend is back; decisions are shared again")

    def _know(self, account: str, until_us: int, used: int, now_us: int) -> None:
        """Note the day's count (until ``until_us`` on this clock): the higher of it and what
        was known of the same day, so a shared state that lost its count does not lower it."""
        known = self._shared.get(account)
        if known is not None and now_us < known[0] and abs(until_us - known[0]) < _SAME_DAY_US:
            used = max(used, known[1])
        self._shared[account] = (until_us, used)
        self._probes.discard(account)

    def learn(self, account: str, spec: CallSpec, adjustment: Adjustment, now_us: int) -> None:
        """A response's quota news while degraded: what the provider counted is the count the
        local share carries (and it answers a probe)."""
        q = spec.quota
        if q is None or not (adjustment.quota_used_floor > 0 or adjustment.quota_base is not None):
            return
        until_us = adjustment.quota_reset_us or (now_us // q.day_us + 1) * q.day_us
        self._know(account, until_us, adjustment.quota_used_floor, now_us)

    def failed(self, exc: BackendError, account: str = "") -> None:
        if account:
            self._doubt.add(account)
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

    def _share_floor(self, spec: CallSpec, used: int) -> int:
        """The local count that leaves this process its share of what the fleet has left when
        the shared count is ``used``."""
        q, local_q = spec.quota, self.local_spec(spec).quota
        if q is None or local_q is None:
            return 0
        return max(local_q.limit - max(q.limit - used, 0) // self.fleet_size, 0)

    def local_adjustment(self, spec: CallSpec, adjustment: Adjustment) -> Adjustment:
        """A reconcile adjustment (about the fleet's limits) as it applies to this process's
        share: a learned interval times the fleet size, the server's ``remaining`` as a share
        of it, a quota count as the share's count."""
        n, adj = self.fleet_size, adjustment
        if n == 1:
            return replace(adj, quota_base=None, quota_reset_us=0, spent=0)  # see the module doc
        floor = adj.quota_used_floor
        if floor and spec.quota is not None:
            floor = self._share_floor(spec, floor)
        return replace(adj, interval_us=adj.interval_us * n, quota_used_floor=floor,
                       min_tat_us=self._share_min_tat(spec, adj), quota_base=None,
                       quota_reset_us=0, quota_debit=0, spent=0)

    def _share_min_tat(self, spec: CallSpec, adj: Adjustment) -> int:
        """The debit's floor for this process's share of the bucket: the fleet's floor lets
        ``r`` calls (the server's ``remaining``) go before the reset, at the fleet's interval
        ``I`` and burst ``b`` (``floor = reset - (r - b + 1) * I``); the share, at ``N * I``
        and burst ``b'``, gets ``floor(r / N)`` of them from ``floor + (N * b' - b) * I``. So
        near the end of a window, with fewer than ``N`` calls left, a process deciding alone
        leaves them to the fleet instead of each taking one (a worker cut off from Redis while
        the others share the bucket)."""
        bucket = next((b for b in spec.buckets if b.name == adj.bucket), None)
        if not adj.min_tat_us or bucket is None:
            return adj.min_tat_us
        n, interval = self.fleet_size, max(bucket.interval_us, adj.interval_us)
        share_burst = max(bucket.burst // n, 1)
        return adj.min_tat_us + (n * share_burst - bucket.burst) * interval

    def apply_local(self, account: str, spec: CallSpec, adjustment: Adjustment) -> None:
        self.learn(account, spec, adjustment, self.clock.now_us())
        self.local.apply(account, self.local_spec(spec), self.local_adjustment(spec, adjustment))

    def _carry_quota(self, account: str, spec: CallSpec, now_us: int) -> None:
        """Before a local decision: bring the last shared quota count into the local state
        (once per count seen), so a degraded spell spends only a share of what is left."""
        known = self._shared.get(account)
        q = spec.quota
        if known is None or q is None or self._carried.get(account) == known:
            return
        until_us, used = known
        if now_us < until_us:
            floor = self._share_floor(spec, used)
            self.local.apply(account, self.local_spec(spec),
                             Adjustment(now_us, quota_used_floor=floor))
        self._carried[account] = known  # after the floor: no thread decides before it is in

    def take_debit(self, account: str, spec: CallSpec, now_us: int) -> Adjustment | None:
        """What was spent locally and is still to be written back with the next shared call of
        ``spec`` (taken: sent once): the route's bucket spend and today's quota spend, with
        the last shared count of the day as a floor (which restores a count a restarted Redis
        lost)."""
        q = spec.quota
        spend = self.ledger.take(account, spec, None if q is None else now_us // q.day_us)
        doubt = q is not None and account in self._doubt
        if spend is None and not doubt:
            return None
        known = self._shared.get(account)
        floor = known[1] if known is not None and now_us < known[0] else 0
        if spend is None:  # in doubt: the last count seen goes with the next quota call
            return Adjustment(now_us, quota_used_floor=floor, stamp_us=now_us) if floor else None
        return Adjustment(now_us, quota_used_floor=floor, quota_debit=spend.quota,
                          stamp_us=now_us, spent=spend.tokens * self._fill_scale(spend.on_top),
                          spent_from_us=spend.first_us, spent_on_top=spend.on_top)

    def _fill_scale(self, on_top: bool) -> int:
        """How many of the fleet's tokens one local token stands for in a write-back: one on
        top of the shared grants (isolated failures: the others kept sharing); ``fleet_size``
        when filling a spell the breaker opened for: the others likely decided alone too, each
        its share, so the shared buckets are counted up to this process's next local slot, not
        a fleet's burst behind it (a spell's write-back is a floor, never added twice)."""
        return 1 if on_top else self.fleet_size

    def write_backs(self, now_us: int) -> list[tuple[str, CallSpec, Adjustment]]:
        """Every write-back still held (taken), to apply at once: on recovery, on close."""
        found = []
        for account, spec in self.ledger.routes():
            debit = self.take_debit(account, spec, now_us)
            if debit is not None:
                found.append((account, spec, debit))
        return found

    def debit_failed(self, account: str, debit: Adjustment | None, spec: CallSpec | None,
                     exc: BackendError) -> None:
        """Keep a write-back the primary surely did not apply, for the next shared call."""
        if debit is None or spec is None or not isinstance(exc, BackendUnavailable):
            return
        self.ledger.put_back(account, spec, self.debit_day(spec, debit), self.spend_of(debit))

    @staticmethod
    def debit_day(spec: CallSpec, debit: Adjustment) -> int:
        """The local quota day a write-back's quota spend belongs to (-1: none)."""
        return debit.sent_at_us // spec.quota.day_us if spec.quota is not None else -1

    def spend_of(self, debit: Adjustment) -> Spend:
        """The spend a write-back carries (in this process's tokens)."""
        tokens = debit.spent // self._fill_scale(debit.spent_on_top)
        return Spend(debit.quota_debit, tokens, debit.spent_from_us, debit.spent_on_top)

    def log_unwritten(self) -> None:
        """Say (logger ``governor``) that this process spent alone and could not write it back:
        the rest of the fleet does not know of those calls."""
        if self.ledger:
            log.warning("governor: spend made without the shared backend on %d routes could "
                        "not be written back to it", len(self.ledger.routes()))

    def decide(
        self,
        account: str,
        spec: CallSpec,
        cost: int,
        high_priority: bool,
        max_wait_us: int,
        adjustment: Adjustment | None,
        cause: BackendError | None = None,
    ) -> Decision:
        """Decide without the shared state, by the failure policy; ``cause`` is the primary's
        failure on this very call, if it was asked (under ``closed`` a call whose outcome is
        unknown is reported as such, not as one that spent nothing)."""
        if self.mode == "closed":
            if isinstance(cause, IndeterminateOutcome):
                raise IndeterminateOutcome(
                    f"{spec.route}: the failure policy is 'closed' and the shared backend may "
                    f"or may not have counted this call ({cause}); it is not allowed"
                ) from cause
            raise BackendUnavailable(
                f"{spec.route}: the shared backend is unavailable and the failure policy is "
                "'closed'; no call is allowed until it answers again"
            )
        self.stats.degraded += 1
        now_us = self.clock.now_us()
        q = spec.quota
        if self.mode == "open":
            self.ledger.spent(account, spec, now_us, cost, -1 if q is None else now_us // q.day_us)
            return Decision(True, now_us, 0, "", 0, now_us, route=spec.route, cost=cost,
                            degraded=True)
        if q is not None and adjustment is not None:
            self.learn(account, spec, adjustment, now_us)
        if q is not None and account not in self._shared:  # the day's count is unknown here
            if account in self._probes:
                return Decision(False, now_us, _PROBE_WAIT_US, QUOTA, 0, now_us + _PROBE_WAIT_US,
                                route=spec.route, cost=cost, degraded=True)
            self._probes.add(account)  # one call goes; its response tells the count
        local = self.local_spec(spec)
        last = self.ledger.take_last_grant(account, spec)
        if last is not None:  # the first local call after shared ones: no burst at the switch
            self.local.apply(account, local, Adjustment(0, spent=last[1], spent_from_us=last[0]))
        if q is not None:
            self._carry_quota(account, spec, now_us)
        if adjustment is not None:
            adjustment = self.local_adjustment(spec, adjustment)
        # A call worth more than this process's share goes for what the share can give; the
        # caller still sends all of it, so all of it is counted below.
        decision = self.local.decide(
            account, local, min(cost, local.max_cost), high_priority, max_wait_us, adjustment
        )
        if decision.marks:
            self._local_marks[decision.marks] = None
            if len(self._local_marks) > _REMEMBERED:
                self._local_marks.popitem(last=False)
        if decision.allowed:  # on top of the shared grants unless the breaker is open
            on_top = self.breaker.state(self.clock.monotonic()) == "closed"
            self.ledger.spent(account, spec, now_us + decision.wait_us, cost, decision.quota_day,
                              on_top)
        return decision._replace(degraded=True, cost=cost)

    def refund_local(self, account: str, spec: CallSpec, cost: int, marks: Sequence[int],
                     priors: Sequence[int], quota_day: int) -> None:
        local = self.local_spec(spec)
        self.local.refund(account, local, min(cost, local.max_cost), marks, priors, quota_day)
        self.ledger.spent(account, spec, self.clock.now_us(), -cost, quota_day)

    def is_local(self, marks: Sequence[int]) -> bool:
        """Whether a reservation with these marks was decided locally."""
        return tuple(marks) in self._local_marks


class _Asking:
    """The context of :meth:`LocalFallback.asking` (a class: it is on every shared call)."""

    __slots__ = ("_account", "_debit", "_fb", "_spec", "error")

    def __init__(self, fb: LocalFallback, account: str, debit: Adjustment | None,
                 spec: CallSpec | None) -> None:
        self._fb, self._account, self._debit, self._spec = fb, account, debit, spec
        self.error: BackendError | None = None  # the primary's failure, once swallowed

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc is None:
            return False
        if isinstance(exc, BackendError):
            self.error = exc
            self._fb.failed(exc, self._account)
            self._fb.debit_failed(self._account, self._debit, self._spec, exc)
            return True
        self._fb.breaker.abandon()
        return False

