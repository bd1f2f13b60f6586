"""The decision engine: one atomic decision over every scope a call spends from. Pure, no I/O.

This module is the contract; ``lua/acquire.lua`` implements the same maths inside Redis, and one
conformance suite holds every backend to it.

State
    Each **bucket** (a per-endpoint or shared rate) keeps two integers: ``tat_us``, its
    theoretical arrival time (GCRA: the instant at which the bucket would be full again), and
    ``pause_until_us`` (a fleet-wide pause set by reconcile). The **account** keeps one more
    pause, ``pause_until_us``, that holds every call. The **daily quota** keeps ``day`` (the
    number of the quota day the counts belong to), ``used`` (spent that day), ``next_used``
    (already reserved for the following day), ``shift_us`` (where its days start, see below),
    ``seq`` (every quota call ever granted, a sequence that reconcile counts from) and
    ``pace_us`` (where normal traffic stands on the day's pace line, see *Pacing*). State is
    constant-size; an absent state is a full bucket and a fresh quota.

Whose clock
    Every instant in the state is on the **backend's clock**: the one ``now_us`` the engine is
    given (the memory backend's clock, the Redis server's ``TIME``). Nothing from another clock
    is ever stored: an adjustment planned on a worker's clock is moved onto this one before it
    is applied (see :func:`apply`), so a worker whose clock is an hour off cannot stretch or drop
    a pause, a debit or a quota day.

Time
    All times are integer microseconds since the Unix epoch, passed in as ``now_us``; the
    engine never reads a clock. A bucket of rate ``limit/period`` has an emission interval
    ``I = ceil(period / limit)`` and a capacity window of ``burst * I``. A quota day is
    ``day_us`` long; day ``d`` runs from ``d * day_us + shift_us`` to the next. Until a
    provider states its reset (``shift_us`` None, read as 0) at scale 1 that is a UTC calendar
    day, 00:00 UTC to 00:00 UTC on the backend's clock. A provider that states its own reset
    sets ``shift_us`` for the account (see :func:`apply`): the provider's day wins.

What one call spends
    A call of weight ``cost`` may go at ``grant_us``, the latest of: now, the account pause, and
    for every bucket its pause and ``tat + (cost - burst) * I`` (the instant the bucket holds
    ``cost`` tokens; with ``cost > burst`` it is the instant those tokens would have accrued).
    The call then sets every bucket's ``tat = max(tat, grant) + cost * I``, adds ``cost`` to
    the quota of the day that contains ``grant_us`` (the day the call really happens) and to
    ``seq``. A grant in the future is a reservation: the bucket goes into debt, the caller
    sleeps ``grant - now`` once, and later callers queue behind it first come, first served.
    Consequence: within any window of one period a bucket grants at most
    ``limit + burst - 1`` tokens (``limit`` with the default burst of 1). Every decision,
    allowed or not, reports the quota's count for the day of ``now`` after it
    (``quota_used``), when that day ends (``quota_reset_us``) and ``seq`` after it
    (``quota_seq``); all -1 for a call that spends no quota.

Pacing (``QuotaSpec.pace_end_us`` > 0; off by default)
    Normal calls may spend ``S = limit - reserve`` a day; pacing spreads what is left of it
    over what is left of the day's pace span, which runs from the day's start ``T0`` to
    ``Te = T0 + pace_end_us`` (the day's end, or a configured hour). The state ``pace_us`` is
    a GCRA arrival time whose interval is re-planned at every call: with ``used`` counted on
    the grant day (the provider's count included, as reconcile raises it), the call's line
    starts at ``a = max(pace_us, g0)`` (``g0``: the grant the other scopes allow) and its
    interval is ``Ip = (Te - a) / (S - used)``: the rest spread evenly over the rest of the
    span. A call of ``cost`` may go at ``max(g0, a + (cost - B) * Ip)`` (``B``:
    ``pace_burst``; the look-back ``(B - cost) * Ip`` never exceeds ``(B - cost)`` intervals
    of the whole day's line ``(Te - T0) / S``) and moves ``pace_us`` to ``a + cost * Ip``
    (every fraction rounded towards later). Consequences: spend that falls behind is spread
    over the rest of the day instead of being caught up in a rush, out-of-band spend slows
    the line instead of breaking it, and at every instant ``t`` of the span the normal calls
    granted by ``t`` number at most ``S * (t - T0) / (Te - T0) + max(B, cost)``: the day's
    line plus the burst allowance. Past ``Te`` the line is flat at ``S``. High-priority
    calls bypass the pace (their spend still counts in ``used``, so normal calls slow down
    after them). A normal call the pace holds is booked only if its slot on the line lies
    within one emission interval (of its widest bucket) of the slot its buckets give it:
    booked further on, it would move the buckets' ``tat`` there and hold every later call,
    high ones too, until then. Otherwise it is denied ``too_deep`` (see *Lanes*) with the
    wait until its slot comes within that interval of now. A ``pace_us`` of a later day (a
    call booked past midnight) tells nothing about this day: the line is then taken at the
    day's own straight line for ``used``.

Lanes (``CallSpec.horizon`` > 0; off by default)
    How far ahead a call may book. A high-priority call books wherever its slot is. A normal
    or low call whose grant is further from now than ``horizon`` thousandths of the call's
    widest emission interval (low calls get a smaller horizon: they leave the last share of
    the booking window to higher lanes) is not booked: it is denied with ``too_deep``, spends
    nothing, and its ``wait`` says when to decide again (when its slot would come within the
    horizon, and never sooner than one emission interval). So the queue booked ahead of a
    bucket stays within about one horizon, and a high-priority call that arrives at a
    saturated fleet waits about that long, not behind every reservation. The pace bounds
    how far ahead a held call books in the same way, lanes or not (see *Pacing*).

What a denial returns
    A call is denied, and nothing at all changes, when the quota of the grant day cannot take
    ``cost`` more (scope ``"quota"``; its wait runs to that day's end, when the quota resets),
    or else when ``grant - now > max_wait_us`` (scope: the one that set the grant time;
    ``"pace"`` when the pace line did, its wait running until the line allows the call), or
    else when the lane or the pace may not book that far ahead (``too_deep``, see *Lanes*;
    its wait says when to decide again, never sooner than one emission interval). A normal call
    may spend the quota up to ``limit - reserve``; a high-priority call up to ``limit``. A
    grant more than a day ahead is refused (it could be charged to no day).

Refund
    Cancelling a reservation restores a bucket's ``tat`` to what it was before the call, but
    only while no later call has queued behind it (``tat`` still equals the mark the
    reservation left), so a refund never lets a window hold more than the rate allows; its
    quota is always given back (to the day it was charged to, if that day is still counted).
    ``seq`` is never given back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from governor.decision import Decision

if TYPE_CHECKING:
    from collections.abc import Sequence

    from governor.reconcile import Adjustment

__all__ = [
    "NO_LIMIT_US",
    "PACE",
    "PAUSE",
    "QUOTA",
    "RESET_TOLERANCE_US",
    "BucketSpec",
    "BucketState",
    "CallSpec",
    "QuotaSpec",
    "QuotaState",
    "apply",
    "decide",
    "pace_anchor",
    "pace_slot",
    "refund",
]

PACE = "pace"
PAUSE = "pause"
QUOTA = "quota"
# A wait bound that means "no timeout": about 35 years, and still exact in a Lua double.
NO_LIMIT_US = 1 << 50
# A provider's stated quota reset this close before the account's own day boundary is the same
# boundary (the ``Date`` header and the reset have a resolution of 1 s, and replies a latency).
RESET_TOLERANCE_US = 2_000_000
# Builds a Decision without the NamedTuple's Python-level __new__ (the allow path is hot).
_new = tuple.__new__


@dataclass(frozen=True, slots=True)
class BucketSpec:
    """A rate scope as the engine sees it: name, emission interval, burst, limit per period."""

    name: str
    interval_us: int
    burst: int
    limit: int


@dataclass(frozen=True, slots=True)
class QuotaSpec:
    """The daily quota: calls per day, the high-priority reserve, the day length, and its
    pacing: ``pace_end_us`` after the day's start the pace line reaches ``limit - reserve``
    (0: no pacing), with a burst allowance of ``pace_burst`` calls (see the module doc)."""

    limit: int
    reserve: int
    day_us: int
    pace_end_us: int = 0
    pace_burst: int = 1

    def __post_init__(self) -> None:
        if not 0 <= self.pace_end_us <= self.day_us or self.pace_burst < 1:
            raise ValueError(
                f"a pace ends within the day (0..{self.day_us} µs, not {self.pace_end_us}) "
                f"and allows a burst of at least 1 call (not {self.pace_burst})"
            )


@dataclass(frozen=True, slots=True, eq=False)
class CallSpec:
    """Everything a call of one route spends from; built once per route and cached.

    Compared and hashed by identity (backends key per-route caches on it). ``horizon`` is how
    far ahead a normal call may book, in thousandths of the call's widest emission interval
    (0: without bound; see *Lanes*). ``max_cost`` is the largest cost a call of this route can
    ever be granted; ``single`` is the bucket of a route that spends one bucket, no quota and
    has no horizon (the common case, decided on a shorter path). ``low`` is the spec a
    low-priority call of the route is decided with (its own horizon; itself when there are
    no lanes), and ``base`` the route's normal spec (itself, unless this one is ``low``).
    """

    route: str
    buckets: tuple[BucketSpec, ...]
    quota: QuotaSpec | None
    horizon: int = 0
    low_horizon: int = 0
    max_cost: int = field(init=False)
    single: BucketSpec | None = field(init=False)
    low: CallSpec = field(init=False, repr=False)
    base: CallSpec = field(init=False, repr=False)

    def __post_init__(self) -> None:
        caps = [max(b.limit, b.burst) for b in self.buckets]
        if self.quota is not None:
            caps.append(self.quota.limit)
        object.__setattr__(self, "max_cost", min(caps) if caps else NO_LIMIT_US)
        single = (self.buckets[0] if len(self.buckets) == 1 and self.quota is None
                  and not self.horizon else None)
        object.__setattr__(self, "single", single)
        object.__setattr__(self, "base", self)
        low = self
        if self.low_horizon != self.horizon:
            low = CallSpec(self.route, self.buckets, self.quota, self.low_horizon,
                           self.low_horizon)
            object.__setattr__(low, "base", self)
        object.__setattr__(self, "low", low)


@dataclass(slots=True)
class BucketState:
    """Mutable state of one bucket; ``tat_us == 0`` is a full, idle bucket.

    ``interval_us`` is a learned interval (slower than the configured one; 0: none),
    ``learned_at_us`` the send time of the response it was learned from, and ``relax`` how many
    later responses showed the configured limit again (see :mod:`governor.reconcile`).
    """

    tat_us: int = 0
    pause_until_us: int = 0
    interval_us: int = 0
    learned_at_us: int = 0
    relax: int = 0


@dataclass(slots=True)
class QuotaState:
    """Mutable state of the daily quota: the day it counts (days start at ``shift_us`` past
    an epoch-aligned day; None: the calendar's 0, as no provider has stated its reset), spent
    that day, reserved for the next day, the sequence of every quota call granted (never
    reset: reconcile counts the calls granted after a response's own from it), and the pace
    line's arrival time (see *Pacing*)."""

    day: int = 0
    used: int = 0
    next_used: int = 0
    shift_us: int | None = None
    seq: int = 0
    pace_us: int = 0


def _quota_counts(state: QuotaState, today: int) -> tuple[int, int]:
    """Counts for (today, tomorrow), rolling the state forward if its day has passed."""
    if state.day >= today:
        return state.used, state.next_used
    if state.day + 1 == today:
        return state.next_used, 0
    return 0, 0


def _add_quota(state: QuotaState, today: int, day: int, delta: int) -> None:
    """Roll the state forward to ``today``, then add ``delta`` (never below 0) to ``day``."""
    if state.day < today:
        state.used, state.next_used = _quota_counts(state, today)
        state.day = today
    if day == state.day:
        state.used = max(state.used + delta, 0)
    elif day == state.day + 1:
        state.next_used = max(state.next_used + delta, 0)


def _mul_ceil(k: int, span: int, left: int) -> int:
    """``ceil(k * span / left)`` exactly, with every product far below 2**53 (the Lua twin
    computes in doubles): ``k`` is a few calls, ``span`` up to a day of µs, ``left`` calls."""
    whole, rest = divmod(span, left)
    return k * whole - (-(k * rest) // left)


def pace_anchor(q: QuotaSpec, pace_us: int, t0: int, used: int, g0: int) -> int:
    """Where the line of a call the other scopes let go at ``g0`` starts: ``max(pace_us, g0)``,
    with a ``pace_us`` of a later day read as this day's straight line for ``used``."""
    if pace_us >= t0 + q.day_us:
        pace_us = t0 + _mul_ceil(used, q.pace_end_us, q.limit - q.reserve)
    return pace_us if pace_us > g0 else g0


def pace_slot(
    q: QuotaSpec, pace_us: int, t0: int, used: int, cost: int, g0: int
) -> tuple[int, int]:
    """(the instant the pace line lets a normal call of ``cost`` go, ``pace_us`` after it) on
    the day that starts at ``t0`` with ``used`` counted, for a call the other scopes let go at
    ``g0`` (see *Pacing*; ``used + cost`` is within ``limit - reserve``)."""
    cap = q.limit - q.reserve
    end = t0 + q.pace_end_us
    a = pace_anchor(q, pace_us, t0, used, g0)
    if a >= end:  # the line is flat at the cap from its end on
        return g0, a
    span, left = end - a, cap - used
    burst = q.pace_burst
    if cost >= burst:
        ready = a + _mul_ceil(cost - burst, span, left)
    else:  # the look-back: at most ``burst - cost`` intervals of the whole day's line
        back = -_mul_ceil(cost - burst, span, left)
        whole = -_mul_ceil(cost - burst, q.pace_end_us, cap)
        ready = a - (back if back < whole else whole)
    return ready, a + _mul_ceil(cost, span, left)


def decide(  # noqa: PLR0912, PLR0915 - one flat function: the contract reads top to bottom
    spec: CallSpec,
    buckets: Sequence[BucketState],
    quota: QuotaState | None,
    account_pause_us: int,
    cost: int,
    high_priority: bool,
    now_us: int,
    max_wait_us: int,
) -> Decision:
    """Decide one call and, only if it is allowed, spend from every scope (see module doc)."""
    # Written for speed (it is the hot path of every backend): plain loops, no helpers.
    b = spec.single
    if b is not None and account_pause_us <= now_us:  # the general path, for one bucket
        st = buckets[0]
        interval = st.interval_us if st.interval_us > b.interval_us else b.interval_us
        prior = st.tat_us
        grant = prior + (cost - b.burst) * interval
        if st.pause_until_us > grant:  # noqa: PLR1730 - max() costs a call on the hot path
            grant = st.pause_until_us
        if grant > now_us:
            wait = grant - now_us
            if wait > max_wait_us:
                return Decision(False, now_us, wait, b.name, 0, grant, route=spec.route,
                                cost=cost)
        else:
            grant, wait = now_us, 0
        tat = (prior if prior > grant else grant) + cost * interval
        st.tat_us = tat
        return _new(
            Decision,
            (True, now_us, wait, b.name, (now_us - tat) // interval + b.burst, tat, (tat,),
             (prior,), -1, spec.route, cost, False, -1, -1, -1, False),
        )
    grant = now_us
    scope = ""
    bound = None  # the bucket that set the grant time
    if account_pause_us > grant:
        grant = account_pause_us
        scope = PAUSE
    specs = spec.buckets
    widest = 0  # the call's widest emission interval (what a lane's horizon is counted in)
    i = 0  # indexing beats zip() and enumerate() here: this is the hot path of every backend
    for b in specs:
        st = buckets[i]
        i += 1  # noqa: SIM113
        interval = st.interval_us if st.interval_us > b.interval_us else b.interval_us
        if interval > widest:  # noqa: PLR1730 - max() costs a call on the hot path
            widest = interval
        ready = st.tat_us + (cost - b.burst) * interval
        if st.pause_until_us > ready:  # noqa: PLR1730 - max() costs a call on the hot path
            ready = st.pause_until_us
        if ready > grant:
            grant = ready
            bound = b
    if bound is not None:
        scope = bound.name

    q = spec.quota
    q_day = q_used = q_seq = q_reset = q_end = -1
    q_left = NO_LIMIT_US
    pace = -1  # the pace line's arrival time after the call (-1: not paced)
    reach = NO_LIMIT_US  # how far ahead of now the call may be booked (see *Lanes*)
    near = 0  # how near its slot a call denied as booked too far ahead comes back
    if q is not None and quota is not None:
        shift = quota.shift_us or 0
        today = (now_us - shift) // q.day_us
        q_day = (grant - shift) // q.day_us
        q_reset = (today + 1) * q.day_us + shift
        q_seq = quota.seq
        if quota.day == today:  # the usual case, inline
            q_used, used_next = quota.used, quota.next_used
        else:
            q_used, used_next = _quota_counts(quota, today)
        if q_day > today + 1:  # granted more than a day ahead: refuse rather than count it nowhere
            return Decision(False, now_us, grant - now_us, scope or QUOTA, 0, grant,
                            route=spec.route, cost=cost, quota_used=q_used, quota_seq=q_seq,
                            quota_reset_us=q_reset)
        used = q_used if q_day == today else used_next
        cap = q.limit if high_priority else q.limit - q.reserve
        q_end = (q_day + 1) * q.day_us + shift  # when the grant's day ends
        if used + cost > cap:
            return Decision(False, now_us, q_end - now_us, QUOTA, cap - used, q_end,
                            route=spec.route, cost=cost, quota_used=q_used, quota_seq=q_seq,
                            quota_reset_us=q_reset)
        q_left = cap - used - cost
        if q.pace_end_us and not high_priority:
            ready, pace = pace_slot(q, quota.pace_us, q_end - q.day_us, used, cost, grant)
            if ready > grant:
                if widest:  # booked further on, it would hold the buckets for high calls
                    reach, near = grant - now_us + widest, widest
                grant, scope, bound = ready, PACE, None
    wait = grant - now_us
    if wait > max_wait_us:
        return Decision(False, now_us, wait, scope, 0, grant, route=spec.route, cost=cost,
                        quota_used=q_used, quota_seq=q_seq, quota_reset_us=q_reset)
    if spec.horizon and not high_priority and widest:
        horizon = widest * spec.horizon // 1000
        if horizon < reach:
            reach = near = horizon
    if wait > reach:  # the call may not book this far ahead: decide again nearer its slot
        later = wait - near
        return Decision(False, now_us, later if later > widest else widest, scope, 0, grant,
                        route=spec.route, cost=cost, quota_used=q_used, quota_seq=q_seq,
                        quota_reset_us=q_reset, too_deep=True)
    if q is not None and quota is not None:
        if quota.day == today and q_day == today:
            q_used += cost
            quota.used = q_used
        else:
            _add_quota(quota, today, q_day, cost)
            q_used = quota.used  # the state counts today now (its day is today or later)
        q_seq += cost
        quota.seq = q_seq
        if pace >= 0:
            quota.pace_us = pace

    marks: tuple[int, ...] = ()
    priors: tuple[int, ...] = ()
    remaining = NO_LIMIT_US
    reset_us = grant
    tightest = ""
    i = 0
    for b in specs:
        st = buckets[i]
        i += 1  # noqa: SIM113
        interval = st.interval_us if st.interval_us > b.interval_us else b.interval_us
        prior = st.tat_us
        tat = (prior if prior > grant else grant) + cost * interval
        st.tat_us = tat
        priors += (prior,)
        marks += (tat,)
        if bound is None or b is bound:
            left = (now_us - tat) // interval + b.burst
            if left < remaining or b is bound:
                remaining, reset_us, tightest = left, tat, b.name
    if q is not None and bound is None and q_left < remaining:
        remaining, reset_us, tightest = q_left, q_end, QUOTA
    if scope == PAUSE:
        reset_us = grant
    elif scope == PACE:  # what the line holds back is the quota: say what is left of it
        remaining, reset_us = q_left, grant
    return _new(
        Decision,
        (True, now_us, wait, scope or tightest, remaining, reset_us, marks, priors, q_day,
         spec.route, cost, False, q_used, q_seq, q_reset, False),
    )


def refund(
    spec: CallSpec,
    buckets: Sequence[BucketState],
    quota: QuotaState | None,
    cost: int,
    marks: Sequence[int],
    priors: Sequence[int],
    quota_day: int,
    now_us: int,
) -> None:
    """Give back what a cancelled reservation spent, as far as it is safe (see module doc)."""
    for st, mark, prior in zip(buckets, marks, priors, strict=False):
        if st.tat_us == mark:
            st.tat_us = prior
    q = spec.quota
    if q is not None and quota is not None and quota_day >= 0:
        _add_quota(quota, (now_us - (quota.shift_us or 0)) // q.day_us, quota_day, -cost)


def apply(
    spec: CallSpec,
    buckets: Sequence[BucketState],
    quota: QuotaState | None,
    account_pause_us: int,
    adjustment: Adjustment,
    now_us: int,
) -> int:
    """Apply a reconcile :class:`~governor.reconcile.Adjustment` to a call's scopes.

    The adjustment's instants were planned on the clock of the process that read the response;
    it was stamped with that clock's reading when it was handed over (``stamp_us``), so every
    instant moves by ``now_us - stamp_us`` onto this clock first (a stamp of 0: they are on it
    already). Every change tightens (a maximum), so the order of responses does not matter; the
    exceptions are relaxing a learned interval after ``adjustment.relax_after`` responses
    showed the configured limit again (counting only responses sent after the limit was
    learned), and a provider's quota day that differs from the account's (see
    :func:`_apply_quota`). ``spent`` tokens granted by a process on its own, the first at
    ``spent_from_us``, are counted in every bucket of the call: on top of the shared grants
    (``tat = max(tat, spent_from) + spent * I``) when ``spent_on_top`` (isolated failures:
    the others kept sharing, so these came in addition), else as filling time the bucket had
    free (``tat = max(tat, spent_from + spent * I)``: a spell in which the process decided
    alone, likely not the only one). Returns the account's pause.
    """
    adj = adjustment
    moved = now_us - adj.stamp_us if adj.stamp_us else 0
    sent_at = adj.sent_at_us + moved if adj.sent_at_us else 0
    for b, st in zip(spec.buckets, buckets):  # noqa: B905 - equal lengths by construction
        if b.name != adj.bucket:
            continue
        if adj.interval_us > b.interval_us and adj.interval_us > st.interval_us:
            st.interval_us, st.learned_at_us, st.relax = adj.interval_us, sent_at, 0
        elif adj.relax and st.interval_us and adj.relax_after and sent_at > st.learned_at_us:
            st.relax += 1
            if st.relax >= adj.relax_after:
                st.interval_us = st.learned_at_us = st.relax = 0
        if adj.min_tat_us:
            st.tat_us = max(st.tat_us, adj.min_tat_us + moved)
        if adj.bucket_pause_us:
            st.pause_until_us = max(st.pause_until_us, adj.bucket_pause_us + moved)
    if adj.spent > 0:  # calls a process granted on its own, from ``since`` on
        _apply_spent(spec, buckets, adj, adj.spent_from_us + moved if adj.spent_from_us
                     else now_us)
    q = spec.quota
    if q is not None and quota is not None and adj.has_quota:
        _apply_quota(q, quota, adj, moved, sent_at or now_us, now_us)
    if adj.account_pause_us:
        return max(account_pause_us, adj.account_pause_us + moved)
    return account_pause_us


def _apply_spent(
    spec: CallSpec, buckets: Sequence[BucketState], adj: Adjustment, since: int
) -> None:
    """The ``spent`` part of :func:`apply`: tokens a process granted on its own from ``since``."""
    for b, st in zip(spec.buckets, buckets):  # noqa: B905 - equal lengths by construction
        interval = st.interval_us if st.interval_us > b.interval_us else b.interval_us
        if adj.spent_on_top:  # they came in addition to the shared grants
            st.tat_us = max(st.tat_us, since) + adj.spent * interval
        else:  # they took the place of shared grants: time the bucket had free
            st.tat_us = max(st.tat_us, since + adj.spent * interval)


def _apply_quota(
    q: QuotaSpec, state: QuotaState, adj: Adjustment, moved: int, sent_at: int, now_us: int
) -> None:
    """The quota part of :func:`apply`: the provider's count and its day.

    Which day the news is about: the provider's stated reset (``quota_reset_us``) names it;
    without one, the day the request was sent (``sent_at``, on this clock). News about a day
    already over says nothing and is dropped; so is a reset more than a day ahead.

    A stated reset within :data:`RESET_TOLERANCE_US` of the account's day boundary is the same
    day: the first one replaces the calendar's midnight, and later ones only move the boundary
    earlier (each statement reads late, by up to the ``Date`` header's second and the latency,
    never early, so the earliest is the truest). Any other moves the account's boundary to it:
    the account's day ends when the provider's does, never before. When the day moved, the
    provider's count replaces the local one (which counted another stretch of time); calls
    booked for the account's next day that now fall within the longer day count in it.

    The count: today's ``used`` becomes at least ``quota_used_floor`` (what the provider
    counted) and ``seq + quota_base`` (what it counted plus every call granted after the one
    the response answered), then ``quota_debit`` (calls the state never counted) is added.
    """
    day_us, stated = q.day_us, state.shift_us
    shift = stated or 0
    today = (now_us - shift) // day_us
    day = max(state.day, today)
    used, used_next = _quota_counts(state, today)
    if adj.quota_reset_us:
        end = adj.quota_reset_us + moved
        if not now_us < end <= now_us + day_us + RESET_TOLERANCE_US:
            return  # a day already over (a stale response), or no day at all
        ours = (today + 1) * day_us + shift
        if abs(end - ours) > RESET_TOLERANCE_US:  # another day than ours
            if end > ours:
                used, used_next = used + used_next, 0
            if adj.quota_used_floor or adj.quota_base is not None:
                used = 0
        elif stated is not None and end >= ours:
            end = 0  # the same day, stated no earlier than before: the boundary stays
        if end:
            stated = shift = end % day_us
            day = (now_us - shift) // day_us
    elif (sent_at - shift) // day_us != today:
        return
    seen = adj.quota_used_floor
    if adj.quota_base is not None and state.seq + adj.quota_base > seen:
        seen = state.seq + adj.quota_base
    state.day, state.shift_us, state.next_used = day, stated, used_next
    state.used = max(used, seen) + max(adj.quota_debit, 0)
