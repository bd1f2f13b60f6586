"""The live state of an account, for ``governor status``: read once, then described. Pure
(apart from the backends' ``snapshot`` read it is given).

A :class:`Snapshot` is the raw state (the account pause, the quota counts, each bucket's
``tat``, pause and learned interval) at the backend's ``now``; :func:`describe` turns it and
the policy into what an operator wants to see: tokens left or debt per bucket, the learned
limits, the quota used and its reset, active pauses, and with pacing on, where the day stands
against its pace line (see *Pacing* in :mod:`governor.engine`): the day's straight line now
(``line``, the normal calls it allows by now), the quota counted, how far ahead of the line
that is (negative: behind), the pace the rest of the day is spread at, and when the next
normal call may go.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from governor.engine import pace_anchor, pace_slot

if TYPE_CHECKING:
    from collections.abc import Mapping

    from governor.policy import Policy

__all__ = ["BucketSnapshot", "Snapshot", "describe", "from_hash"]

_US = 1_000_000


@dataclass(frozen=True)
class BucketSnapshot:
    """One bucket's stored state (absent: zeros, a full idle bucket)."""

    tat_us: int = 0
    pause_until_us: int = 0
    interval_us: int = 0


@dataclass(frozen=True)
class Snapshot:
    """An account's stored state at ``now_us`` (the deciding clock)."""

    now_us: int
    pause_until_us: int = 0
    quota_day: int = 0
    quota_used: int = 0
    quota_next_used: int = 0
    buckets: dict[str, BucketSnapshot] = field(default_factory=dict)
    quota_shift_us: int = 0
    quota_pace_us: int = 0


def describe(snapshot: Snapshot, policy: Policy) -> dict[str, Any]:
    """What the state means under ``policy``: plain data, ready for a table or JSON."""
    now = snapshot.now_us
    scale = policy.time_scale / 60.0
    buckets = []
    for name, rate in policy.buckets.items():
        st = snapshot.buckets.get(name, BucketSnapshot())
        configured = policy.interval_us(name)
        interval = max(configured, st.interval_us)
        tokens = (now - st.tat_us) // interval + rate.burst
        buckets.append({
            "bucket": name,
            "rate": str(rate),
            "learned_per_minute": (
                round(60 * scale * _US / st.interval_us, 2) if st.interval_us > configured
                else None
            ),
            "tokens": max(min(tokens, rate.burst), -(10**9)),
            "debt_s": max(st.tat_us - now, 0) / _US if tokens < 0 else 0.0,
            "full_in_s": max(st.tat_us - now, 0) / _US,
            "paused_for_s": max(st.pause_until_us - now, 0) / _US,
        })
    quota: dict[str, Any] | None = None
    if policy.quota is not None:
        day_us = round(86_400 * scale * _US)
        shift = snapshot.quota_shift_us
        today = (now - shift) // day_us
        used = snapshot.quota_used if snapshot.quota_day >= today else (
            snapshot.quota_next_used if snapshot.quota_day + 1 == today else 0)
        quota = {
            "limit": policy.quota.limit,
            "reserve": policy.quota.reserve,
            "used": used,
            "remaining": policy.quota.limit - used,
            "resets_in_s": ((today + 1) * day_us + shift - now) / _US,
            "day_shift_s": shift / _US,
            "pace": _pace(policy, snapshot, today * day_us + shift, used),
        }
    return {
        "policy": policy.name,
        "now": now / _US,
        "account_paused_for_s": max(snapshot.pause_until_us - now, 0) / _US,
        "buckets": buckets,
        "quota": quota,
    }


def _pace(policy: Policy, snapshot: Snapshot, t0: int, used: int) -> dict[str, Any] | None:
    """Where the day stands against its pace line (None: no pacing); the next normal call's
    slot is the engine's own (:func:`~governor.engine.pace_slot`), for a call of cost 1."""
    q = policy.quota_spec
    if q is None or not q.pace_end_us:
        return None
    now, cap, span = snapshot.now_us, q.limit - q.reserve, q.pace_end_us
    end = t0 + span
    line = cap if now >= end else cap * (now - t0) // span
    left = max(cap - used, 0)
    at = pace_anchor(q, snapshot.quota_pace_us, t0, used, now)
    per_hour = left / ((end - at) / (q.day_us / 24)) if at < end else None
    next_in = None
    if left:
        next_in = max(pace_slot(q, snapshot.quota_pace_us, t0, used, 1, now)[0] - now, 0) / _US
    return {
        "line": line,
        "used": used,
        "ahead": used - line,
        "ahead_pct": round(100 * (used - line) / cap, 2),
        "per_hour": None if per_hour is None else round(per_hour, 1),
        "next_normal_in_s": next_in,
        "ends_in_s": max(end - now, 0) / _US,
        "burst": q.pace_burst,
    }


def from_hash(now_us: int, fields: Mapping[bytes | str, bytes | str]) -> Snapshot:
    """The snapshot of an account's Redis hash (its layout is in :mod:`governor.keys`)."""
    values: dict[str, int] = {}
    for raw_name, raw_value in fields.items():
        name = raw_name.decode(errors="replace") if isinstance(raw_name, bytes) else raw_name
        try:
            values[name] = int(raw_value)
        except ValueError:
            continue
    buckets: dict[str, dict[str, int]] = {}
    for name, value in values.items():
        bucket, _, part = name.rpartition(".")
        if bucket and bucket != "quota" and part in ("tat", "pause", "interval"):
            buckets.setdefault(bucket, {})[part] = value
    return Snapshot(
        now_us,
        values.get("pause", 0),
        values.get("quota.day", 0),
        values.get("quota.used", 0),
        values.get("quota.next_used", 0),
        {n: BucketSnapshot(b.get("tat", 0), b.get("pause", 0), b.get("interval", 0))
         for n, b in buckets.items()},
        values.get("quota.shift", 0),
        values.get("quota.pace", 0),
    )
