"""Reconcile: what one response tells the shared state, as a tighten-only :class:`Adjustment`.

Pure. Inputs: the call's :class:`~governor.engine.CallSpec` (its first bucket is the one the
rate headers describe), the :class:`~governor.headers.Observation` parsed from the response
(times already on the local clock), its :class:`~governor.outcome.Outcome`, the time scale
and the ``max_pause`` clamp. Output: an :class:`Adjustment`, or None when the response says
nothing the shared state does not already assume (no write at all).

The rules, applied by :func:`governor.engine.apply` (and the same lines of ``acquire.lua``):

1. **Learned limit.** The server's limit for the bucket over its window (``limit`` calls per
   ``window``) means an interval of ``window * scale / limit``. If that is slower than the
   bucket's, the bucket takes it at once (a MailerSend account under review: 120 -> 10/min, and
   every worker follows on its next decision). Tighten only: a faster or equal server limit
   counts one "relax" observation, and after ``relax_after`` of them, sent after the limit was
   learned, the learned interval is dropped (``0`` never relaxes). A response stating several
   request limits (``Observation.limits``: a per-minute and a per-day policy) tightens by each:
   the slowest interval wins, and it relaxes only when every one is faster. A learned interval
   is bounded like a pause: never longer than ``max_pause``, so no response can make the next
   call wait longer (the headers cap windows at a day, too). Limits in other units (tokens)
   are not enforced.
2. **Debit.** The server has ``remaining`` calls until ``reset``: the bucket's ``tat`` is raised
   to at least ``reset - (remaining - burst + 1) * interval``, so no more than ``remaining``
   calls go before the reset; with several limits, the highest such floor. Never past
   ``max_pause`` from now. The difference to the local estimate is reported as ``drift``.
3. **Pause.** A retry-later outcome about the rate (a 429) pauses the bucket until
   ``Retry-After``; one about the service or the account (a 503, a 421) pauses the whole
   account; one about this request only (Sendmux's 409 for a key still in flight) pauses
   nothing. Never longer than ``max_pause``.
4. **Quota.** ``x-apiquota-remaining`` says the provider has counted ``limit - remaining``
   calls today; a spent quota (``#MS42901``) says it counted the limit. The day's count
   becomes at least that plus every call the fleet granted after the one this response
   answered (they were on their way, or not yet sent, when the provider counted), so spend
   the fleet cannot see (SMTP, other tokens) never makes it overshoot. A stated reset
   (``x-apiquota-reset``, ``X-Daily-Reset``, the ``reset`` of ``GET /v1/api-quota``) names
   the provider's day, and the account's day boundary follows it (see
   :func:`governor.engine.apply`); without one the day is the UTC calendar day.

Every rule is a maximum, so applying an old response after a newer one can never loosen the
state: a stale response loses by construction. Only the relax count looks at the send time (a
response sent before the limit was learned does not count toward relaxing it), and a quota day
the provider states replaces the account's own.

Whose clock: the observation's times are on this process's clock (read relative to the
response's ``Date``, see :mod:`governor.header_values`); so are the instants of the
adjustment, until a backend moves them onto its own clock (see :class:`Adjustment`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from governor.header_values import Limit
from governor.outcome import OutcomeKind

if TYPE_CHECKING:
    from governor.engine import CallSpec, QuotaSpec
    from governor.headers import Observation
    from governor.outcome import Outcome

__all__ = ["Adjustment", "plan", "split"]

_ACCOUNT_SCOPES = ("service", "account")
# Two stated resets this close name the same provider day (engine.RESET_TOLERANCE_US).
_SAME_RESET_US = 2_000_000


@dataclass(frozen=True, slots=True)
class Adjustment:
    """State changes a response calls for, each one tightening (zero, None: no change).

    ``bucket`` is the name of the bucket the rate fields apply to. ``urgent`` adjustments
    (a pause, a lower limit, a spent quota) are applied at once; the others ride along with
    the next decision, so reconciling costs no extra round trip.

    Instants (``sent_at_us``, ``min_tat_us``, the pauses, ``quota_reset_us``) are on the clock
    of the process that read the response. When the adjustment is handed to a backend it is
    stamped with that clock's reading (``stamp_us``, see :meth:`stamped`), and the backend moves
    every instant by its own now minus the stamp: what reaches the shared state is "this long
    from now" on the backend's clock, whatever the worker's clock says. A stamp of 0 leaves the
    instants as they are (no instants at all, or already on the backend's clock).

    The quota news: ``quota_used_floor`` is the provider's count of the day (the limit for a
    spent quota); ``quota_base`` that count minus the quota's grant sequence at the decision
    the response answered (``Decision.quota_seq``; None when not known), so the backend can add
    every call granted after it (``seq + quota_base``: calls in flight when the provider
    counted); ``quota_reset_us`` the provider's stated end of that quota day (0: not stated,
    the day is the one the request was sent in); ``quota_debit`` calls spent that the state
    never counted (what a process sent on its own while the shared backend was down; see
    :mod:`governor.backends.fallback`). :func:`governor.engine.apply` says how they combine.

    ``spent`` tokens of every bucket of the call's route were granted by a process on its own,
    the first at ``spent_from_us``: ``spent_on_top`` when they came in addition to what the
    shared state granted meanwhile (isolated failures: the others went on sharing), else they
    took the place of shared grants (a spell the breaker opened for). See
    :func:`governor.engine.apply` and :mod:`governor.backends.spend`.
    """

    sent_at_us: int
    bucket: str = ""
    min_tat_us: int = 0
    interval_us: int = 0
    relax: bool = False
    bucket_pause_us: int = 0
    account_pause_us: int = 0
    quota_used_floor: int = 0
    quota_base: int | None = None
    quota_reset_us: int = 0
    drift: int | None = None
    urgent: bool = False
    relax_after: int = 3
    quota_debit: int = 0
    stamp_us: int = 0
    spent: int = 0
    spent_from_us: int = 0
    spent_on_top: bool = True

    @property
    def has_quota(self) -> bool:
        """Whether the adjustment carries any news about the daily quota."""
        return bool(self.quota_used_floor > 0 or self.quota_base is not None
                    or self.quota_reset_us or self.quota_debit > 0)

    def stamped(self, now_us: int) -> Adjustment:
        """The adjustment handed over at ``now_us`` on the clock its instants are on."""
        return replace(self, stamp_us=now_us)

    def merge(self, other: Adjustment) -> Adjustment:
        """Both adjustments at once (for one bucket): the tighter of every rate field. Quota
        news about one provider day (both state the same reset) keeps the higher of each
        count; otherwise the later-sent response's news wins whole, as news about two days
        cannot be told apart in one adjustment (and yesterday's count must never fill
        today). Debits add up."""
        if other.bucket and self.bucket and other.bucket != self.bucket:
            raise ValueError("only adjustments of one bucket merge")
        news = self
        if other.has_quota and (not self.has_quota or other.sent_at_us >= self.sent_at_us):
            news = other
        floor, base = news.quota_used_floor, news.quota_base
        if (self.quota_reset_us and other.quota_reset_us
                and abs(self.quota_reset_us - other.quota_reset_us) <= _SAME_RESET_US):
            floor = max(self.quota_used_floor, other.quota_used_floor)
            bases = [b for b in (self.quota_base, other.quota_base) if b is not None]
            base = max(bases) if bases else None
        return Adjustment(
            max(self.sent_at_us, other.sent_at_us),
            self.bucket or other.bucket,
            max(self.min_tat_us, other.min_tat_us),
            max(self.interval_us, other.interval_us),
            self.relax and other.relax,
            max(self.bucket_pause_us, other.bucket_pause_us),
            max(self.account_pause_us, other.account_pause_us),
            floor,
            base,
            news.quota_reset_us,
            other.drift if other.drift is not None else self.drift,
            self.urgent or other.urgent,
            min(self.relax_after, other.relax_after),
            self.quota_debit + other.quota_debit,
            max(self.stamp_us, other.stamp_us),
            self.spent + other.spent,
            min((t for t in (self.spent_from_us, other.spent_from_us) if t), default=0),
            self.spent_on_top and other.spent_on_top,
        )


def plan(
    spec: CallSpec,
    observation: Observation,
    outcome: Outcome,
    *,
    sent_at_us: int,
    now_us: int,
    scale: float,
    max_pause_us: int,
    local_tat_us: int | None = None,
    quota: QuotaSpec | None = None,
    quota_seq: int | None = None,
) -> Adjustment | None:
    """The adjustment one response calls for, or None if it calls for nothing.

    ``local_tat_us`` is the bucket's ``tat`` as this call left it (its reservation's mark), the
    local estimate the server's ``remaining`` is compared with. ``quota`` is the account's
    daily quota (default: the route's; a route that spends none still reports it).
    ``quota_seq`` is the quota's grant sequence the call was decided with
    (``Decision.quota_seq``; None: unknown, e.g. a degraded decision).
    """
    pause_cap = now_us + max_pause_us
    adj = Adjustment(sent_at_us)
    if spec.buckets:
        adj = _rate(adj, spec, observation, now_us, scale, max_pause_us, local_tat_us)
    adj = _pause(adj, spec, observation, outcome, now_us, pause_cap)
    adj = _quota(adj, quota or spec.quota, observation, outcome, quota_seq)
    return None if adj == Adjustment(sent_at_us) else adj


def _rate(
    adj: Adjustment,
    spec: CallSpec,
    obs: Observation,
    now_us: int,
    scale: float,
    max_pause_us: int,
    local_tat_us: int | None,
) -> Adjustment:
    """Rules 1 and 2: a learned limit and a debit, for the route's first bucket."""
    bucket = spec.buckets[0]
    interval = bucket.interval_us
    limits = [x for x in obs.limits if x.unit == "requests"] or [
        Limit("", "requests", obs.limit, obs.window_us, obs.remaining, obs.reset_at_us)]
    learned = [
        min(-(-round(x.window_us * scale) // x.limit), max_pause_us)
        for x in limits if x.limit is not None and x.limit > 0 and x.window_us
    ]
    if learned and max(learned) > interval:
        interval = max(learned)
        adj = replace(adj, bucket=bucket.name, interval_us=interval, urgent=True)
    elif learned:
        adj = replace(adj, bucket=bucket.name, relax=True)
    floors = [x.reset_at_us - (x.remaining - bucket.burst + 1) * interval
              for x in limits if x.remaining is not None and x.reset_at_us is not None]
    if not floors:
        return adj
    floor = min(max(floors), now_us + max_pause_us)
    local = max(local_tat_us if local_tat_us is not None else now_us, now_us)
    drift = (local - floor) // interval  # server remaining minus the local estimate
    if floor > local:
        return replace(adj, bucket=bucket.name, min_tat_us=floor, drift=drift)
    return replace(adj, drift=drift) if local_tat_us is not None else adj


def _pause(
    adj: Adjustment,
    spec: CallSpec,
    obs: Observation,
    outcome: Outcome,
    now_us: int,
    pause_cap: int,
) -> Adjustment:
    """Rule 3: pauses, for the bucket, the account, or nothing (a request-scoped retry)."""
    if outcome.kind is OutcomeKind.RETRY_LATER:
        until = min(obs.retry_at_us if obs.retry_at_us is not None else now_us, pause_cap)
        if until <= now_us:
            return adj
        if outcome.scope_hint == "rate" and spec.buckets:
            return replace(adj, bucket=spec.buckets[0].name, bucket_pause_us=until, urgent=True)
        if outcome.scope_hint in _ACCOUNT_SCOPES:
            return replace(adj, account_pause_us=until, urgent=True)
    elif outcome.kind in (OutcomeKind.STOP, OutcomeKind.STOP_UNTIL_RESET) and (
        outcome.scope_hint in (*_ACCOUNT_SCOPES, "monthly_quota")
    ):
        until = min(obs.monthly_reset_at_us or pause_cap, pause_cap)
        return replace(adj, account_pause_us=until, urgent=True)
    return adj


def _quota(
    adj: Adjustment,
    quota: QuotaSpec | None,
    obs: Observation,
    outcome: Outcome,
    quota_seq: int | None,
) -> Adjustment:
    """Rule 4: the provider's count of its day, and the day's end as the provider states it."""
    if quota is None:
        return adj
    reset = obs.quota_reset_at_us or 0
    if outcome.kind is OutcomeKind.STOP_UNTIL_RESET and outcome.scope_hint == "quota":
        return replace(adj, quota_used_floor=quota.limit, quota_reset_us=reset, urgent=True)
    if obs.quota_remaining is not None:
        used = min(max((obs.quota_limit or quota.limit) - obs.quota_remaining, 0), quota.limit)
        base = None if quota_seq is None or quota_seq < 0 else used - quota_seq
        if used > 0 or reset:
            return replace(adj, quota_used_floor=used, quota_base=base, quota_reset_us=reset)
    elif reset:
        return replace(adj, quota_reset_us=reset)
    return adj


def split(adj: Adjustment, quota_limit: int | None) -> tuple[Adjustment | None, Adjustment | None]:
    """``adj`` as its route part (buckets, pauses) and its quota part, each urgent only for
    its own reasons: the quota is the account's, so its part rides along with any call that
    spends quota, not only with the next call of the route that reported it."""
    quota_part = None
    if adj.has_quota:
        stop = quota_limit is not None and adj.quota_used_floor >= quota_limit
        quota_part = Adjustment(
            adj.sent_at_us, quota_used_floor=adj.quota_used_floor, quota_base=adj.quota_base,
            quota_reset_us=adj.quota_reset_us, urgent=adj.urgent and stop,
            relax_after=adj.relax_after,
        )
    route_part = replace(
        adj, quota_used_floor=0, quota_base=None, quota_reset_us=0,
        urgent=adj.urgent and bool(adj.interval_us or adj.bucket_pause_us or adj.account_pause_us),
    )
    empty = Adjustment(adj.sent_at_us, relax_after=adj.relax_after, drift=adj.drift)
    return (None if route_part == empty else route_part), quota_part
