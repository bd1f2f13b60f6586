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
   learned, the learned interval is dropped (``0`` never relaxes).
2. **Debit.** The server has ``remaining`` calls until ``reset``: the bucket's ``tat`` is raised
   to at least ``reset - (remaining - burst + 1) * interval``, so no more than ``remaining``
   calls go before the reset. The difference to the local estimate is reported as ``drift``.
3. **Pause.** A retry-later outcome about the rate (a 429) pauses the bucket until
   ``Retry-After``; one about the service or the account (a 503, a 421) pauses the whole
   account; one about this request only (Sendmux's 409 for a key still in flight) pauses
   nothing. Never longer than ``max_pause``.
4. **Quota.** ``x-apiquota-remaining`` raises the day's used count to ``limit - remaining``; a
   spent quota (``#MS42901``) raises it to the limit, so the quota scope holds every normal call
   until the next UTC midnight.

Every rule is a maximum, so applying an old response after a newer one can never loosen the
state: a stale response loses by construction. Only the relax count looks at the send time (a
response sent before the limit was learned does not count toward relaxing it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from governor.outcome import OutcomeKind

if TYPE_CHECKING:
    from governor.engine import CallSpec, QuotaSpec
    from governor.headers import Observation
    from governor.outcome import Outcome

__all__ = ["Adjustment", "plan", "split"]

_ACCOUNT_SCOPES = ("service", "account")


@dataclass(frozen=True, slots=True)
class Adjustment:
    """State changes a response calls for, each one tightening (zero or -1: no change).

    ``bucket`` is the name of the bucket the rate fields apply to. ``urgent`` adjustments
    (a pause, a lower limit, a spent quota) are applied at once; the others ride along with
    the next decision, so reconciling costs no extra round trip.

    ``quota_used_floor`` raises the count of day ``quota_day`` to at least that; then
    ``quota_debit`` adds calls spent that day that the state never counted (what a process
    sent on its own while the shared backend was down; see :mod:`governor.backends.fallback`).
    Both apply only while ``quota_day`` is still today.
    """

    sent_at_us: int
    bucket: str = ""
    min_tat_us: int = 0
    interval_us: int = 0
    relax: bool = False
    bucket_pause_us: int = 0
    account_pause_us: int = 0
    quota_used_floor: int = 0
    quota_day: int = -1
    drift: int | None = None
    urgent: bool = False
    relax_after: int = 3
    quota_debit: int = 0

    def merge(self, other: Adjustment) -> Adjustment:
        """Both adjustments at once (for one bucket): the tighter of every field."""
        if other.bucket and self.bucket and other.bucket != self.bucket:
            raise ValueError("only adjustments of one bucket merge")
        same_day = self.quota_day == other.quota_day
        newer = other if other.quota_day > self.quota_day else self
        return Adjustment(
            max(self.sent_at_us, other.sent_at_us),
            self.bucket or other.bucket,
            max(self.min_tat_us, other.min_tat_us),
            max(self.interval_us, other.interval_us),
            self.relax and other.relax,
            max(self.bucket_pause_us, other.bucket_pause_us),
            max(self.account_pause_us, other.account_pause_us),
            max(self.quota_used_floor, other.quota_used_floor) if same_day
            else newer.quota_used_floor,
            newer.quota_day,
            other.drift if other.drift is not None else self.drift,
            self.urgent or other.urgent,
            min(self.relax_after, other.relax_after),
            self.quota_debit + other.quota_debit if same_day else newer.quota_debit,
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
) -> Adjustment | None:
    """The adjustment one response calls for, or None if it calls for nothing.

    ``local_tat_us`` is the bucket's ``tat`` as this call left it (its reservation's mark), the
    local estimate the server's ``remaining`` is compared with. ``quota`` is the account's
    daily quota (default: the route's; a route that spends none still reports it).
    """
    pause_cap = now_us + max_pause_us
    adj = Adjustment(sent_at_us)
    if spec.buckets:
        adj = _rate(adj, spec, observation, now_us, scale, pause_cap, local_tat_us)
    adj = _pause(adj, spec, observation, outcome, now_us, pause_cap)
    adj = _quota(adj, quota or spec.quota, observation, outcome, now_us)
    return None if adj == Adjustment(sent_at_us) else adj


def _rate(
    adj: Adjustment,
    spec: CallSpec,
    obs: Observation,
    now_us: int,
    scale: float,
    pause_cap: int,
    local_tat_us: int | None,
) -> Adjustment:
    """Rules 1 and 2: a learned limit and a debit, for the route's first bucket."""
    bucket = spec.buckets[0]
    interval = bucket.interval_us
    if obs.limit is not None and obs.limit > 0 and obs.window_us:
        learned = -(-round(obs.window_us * scale) // obs.limit)
        if learned > interval:
            adj = replace(adj, bucket=bucket.name, interval_us=learned, urgent=True)
            interval = learned
        else:
            adj = replace(adj, bucket=bucket.name, relax=True)
    if obs.remaining is None or obs.reset_at_us is None:
        return adj
    floor = min(obs.reset_at_us - (obs.remaining - bucket.burst + 1) * interval, pause_cap)
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
    adj: Adjustment, quota: QuotaSpec | None, obs: Observation, outcome: Outcome, now_us: int
) -> Adjustment:
    """Rule 4: the daily quota's used count, from the server's remaining or a spent quota."""
    if quota is None:
        return adj
    day = now_us // quota.day_us
    if outcome.kind is OutcomeKind.STOP_UNTIL_RESET and outcome.scope_hint == "quota":
        return replace(adj, quota_used_floor=quota.limit, quota_day=day, urgent=True)
    if obs.quota_remaining is not None:
        used = max((obs.quota_limit or quota.limit) - obs.quota_remaining, 0)
        if used > 0:
            return replace(adj, quota_used_floor=min(used, quota.limit), quota_day=day)
    return adj


def split(adj: Adjustment, quota_limit: int | None) -> tuple[Adjustment | None, Adjustment | None]:
    """``adj`` as its route part (buckets, pauses) and its quota part, each urgent only for
    its own reasons: the quota is the account's, so its part rides along with any call that
    spends quota, not only with the next call of the route that reported it."""
    quota_part = None
    if adj.quota_day >= 0:
        stop = quota_limit is not None and adj.quota_used_floor >= quota_limit
        quota_part = Adjustment(
            adj.sent_at_us, quota_used_floor=adj.quota_used_floor, quota_day=adj.quota_day,
            urgent=adj.urgent and stop, relax_after=adj.relax_after,
        )
    route_part = replace(
        adj, quota_used_floor=0, quota_day=-1,
        urgent=adj.urgent and bool(adj.interval_us or adj.bucket_pause_us or adj.account_pause_us),
    )
    empty = Adjustment(adj.sent_at_us, relax_after=adj.relax_after, drift=adj.drift)
    return (None if route_part == empty else route_part), quota_part
