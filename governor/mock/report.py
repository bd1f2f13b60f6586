"""The server-side report, computed from the request log alone. Pure.

Shape (all times virtual; ``utilisation`` is a fraction, 1.0 = the limit exactly)::

    {"provider", "window", "time_scale", "virtual_now", "virtual_now_s",
     "totals": {requests, sent, rate_limited, unavailable, delivered, over_quota_sends,
                out_of_band, duplicates_delivered},
     "accounts": {NAME: {
         ...counts,                      requests, sent (2xx), status {"202": n},
                                         rate_limited {code: n} (429s), unavailable (503s),
                                         delivered (messages), replays, first_s, last_s
         "plan", "reputation",           as configured now ("(unauthenticated)" has neither)
         "quota": {"days": {"2026-01-01": {counted, accepted, delivered, out_of_band, limit,
                                           over_quota, exhausted_s}},
                   "over_quota_sends", "out_of_band"},
         "duplicates_delivered",         deliveries beyond the first per idempotency key
         "buckets": {LABEL: bucket stats},   LABEL is the bucket, "bucket@token" per key
         "binding": {"bucket", "utilisation"} | None,
         "routes": {ROUTE: {...counts, "binding", "utilisation"}}}}}

Requests are what the mock received over HTTP; quota spent out of band (other senders of the
account, see :meth:`~governor.mock.rules.MockRules.spend`) is no request and shows only in the
quota. A day's ``counted`` is everything charged to it, out of band included, and
``out_of_band`` that part of it; ``accepted`` the requests that were not refused; ``over_quota``
how many requests came while the day's quota was spent (refused, MailerSend ``#MS42901``):
sends over the quota. ``exhausted_s`` is when ``counted`` reached the limit (None: never).

Bucket stats count the requests a bucket *admitted*: ``max_in_fixed_window`` (windows aligned
to the period) and ``max_in_sliding_window`` (any period-long interval), and how many admitted
requests pushed a window over the limit in force (``*_over_limit``: 0 for the server's own
window kind, by construction; the other kind shows what a looser server would have allowed).
``utilisation`` = admissions over the limit, summed over the aligned windows that lie wholly
inside a busy span (admissions no further apart than a period plus one interval) and kept
one limit throughout; ``windows_measured`` says how many (None: not one whole window yet).
A client that fills every window scores 1.0; the server never lets it score more.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter, defaultdict
from datetime import datetime, timezone
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from governor.limits import DAY_S
from governor.mock.clock import iso_utc

if TYPE_CHECKING:
    from collections.abc import Sequence

    from governor.mock.log import LogEntry

__all__ = ["UNAUTHENTICATED", "build_report"]

UNAUTHENTICATED = "(unauthenticated)"
# (t, limit, period_s) of one admission.
_Point = tuple[float, int, float]


def build_report(
    entries: Sequence[LogEntry],
    *,
    now_s: float,
    provider: str,
    window: str,
    time_scale: float,
    accounts: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """The report over ``entries`` (see the module docstring); ``accounts`` adds each
    account's current plan and reputation."""
    groups: dict[str, list[LogEntry]] = defaultdict(list)
    for entry in entries:
        groups[entry.account or UNAUTHENTICATED].append(entry)
    reports = {name: _account(name, group, accounts.get(name, {}))
               for name, group in groups.items()}
    totals = {
        "requests": sum(r["requests"] for r in reports.values()),
        "sent": sum(r["sent"] for r in reports.values()),
        "rate_limited": sum(sum(r["rate_limited"].values()) for r in reports.values()),
        "unavailable": sum(r["unavailable"] for r in reports.values()),
        "delivered": sum(r["delivered"] for r in reports.values()),
        "over_quota_sends": sum(r["quota"]["over_quota_sends"] for r in reports.values()),
        "out_of_band": sum(r["quota"]["out_of_band"] for r in reports.values()),
        "duplicates_delivered": sum(r["duplicates_delivered"] for r in reports.values()),
    }
    return {
        "provider": provider,
        "window": window,
        "time_scale": time_scale,
        "virtual_now": iso_utc(now_s),
        "virtual_now_s": now_s,
        "totals": totals,
        "accounts": reports,
    }


def _counts(entries: Sequence[LogEntry]) -> dict[str, Any]:
    status = Counter(str(e.status) for e in entries)
    limited = Counter(e.code or "429" for e in entries if e.status == 429)
    return {
        "requests": len(entries),
        "sent": sum(1 for e in entries if 200 <= e.status < 300),
        "status": dict(sorted(status.items())),
        "rate_limited": dict(sorted(limited.items())),
        "unavailable": status.get("503", 0),
        "delivered": sum(e.delivered for e in entries),
        "replays": sum(1 for e in entries if e.replay),
        "first_s": entries[0].t if entries else None,
        "last_s": entries[-1].t if entries else None,
    }


def _account(name: str, logged: list[LogEntry], info: dict[str, Any]) -> dict[str, Any]:
    entries = [e for e in logged if not e.out_of_band]
    points: dict[str, list[_Point]] = defaultdict(list)
    route_buckets: dict[str, set[str]] = defaultdict(set)
    for e in entries:
        for bucket, limit, period in zip(e.buckets, e.limits, e.periods, strict=True):
            label = bucket if e.scope == name else f"{bucket}@{e.scope}"
            points[label].append((e.t, limit, period))
            route_buckets[e.route].add(label)
    buckets = {label: _bucket(p) for label, p in sorted(points.items())}
    by_route: dict[str, list[LogEntry]] = defaultdict(list)
    for e in entries:
        by_route[e.route].append(e)
    routes = {}
    for route, group in sorted(by_route.items()):
        top = _binding(buckets, route_buckets[route])
        routes[route] = {
            **_counts(group),
            "binding": top["bucket"] if top else None,
            "utilisation": top["utilisation"] if top else None,
        }
    return {
        **_counts(entries),
        "plan": info.get("plan"),
        "reputation": info.get("reputation"),
        "quota": _quota(logged),
        "duplicates_delivered": _duplicates(entries),
        "buckets": buckets,
        "binding": _binding(buckets, set(buckets)),
        "routes": routes,
    }


def _binding(buckets: dict[str, dict[str, Any]], labels: set[str]) -> dict[str, Any] | None:
    scored = [(b["utilisation"], label) for label, b in buckets.items()
              if label in labels and b["utilisation"] is not None]
    if not scored:
        return None
    utilisation, label = max(scored)
    return {"bucket": label, "utilisation": utilisation}


def _bucket(points: list[_Point]) -> dict[str, Any]:
    points.sort(key=lambda p: p[0])
    times = [t for t, _, _ in points]
    fixed: Counter[int] = Counter()
    limits_in: dict[int, set[int]] = defaultdict(set)
    fixed_over = sliding_max = sliding_over = 0
    for i, (t, limit, period) in enumerate(points):
        index = math.floor(t / period)
        fixed[index] += 1
        limits_in[index].add(limit)
        fixed_over += fixed[index] > limit
        held = i + 1 - bisect_right(times, t - period, 0, i)
        sliding_max = max(sliding_max, held)
        sliding_over += held > limit
    period = points[-1][2]
    used = capacity = measured = 0
    busy_s = 0.0
    for start, end in _busy(points):
        busy_s += end - start
        for index in range(math.ceil(start / period), math.floor(end / period)):
            if len(limits_in[index]) == 1:  # a window where the limit changed measures nothing
                used += fixed[index]
                capacity += next(iter(limits_in[index]))
                measured += 1
    return {
        "limit": points[-1][1],
        "period_s": period,
        "limits_seen": sorted({limit for _, limit, _ in points}),
        "admitted": len(points),
        "max_in_fixed_window": max(fixed.values()),
        "max_in_sliding_window": sliding_max,
        "fixed_windows_over_limit": fixed_over,
        "sliding_windows_over_limit": sliding_over,
        "busy_s": round(busy_s, 3),
        "windows_measured": measured,
        "utilisation": round(used / capacity, 4) if capacity else None,
    }


def _busy(points: list[_Point]) -> list[tuple[float, float]]:
    """Spans of activity: admissions split where the gap exceeds a period plus an interval."""
    spans: list[tuple[float, float]] = []
    start = points[0][0]
    for (t0, _, _), (t1, limit, period) in pairwise(points):
        if t1 - t0 > period + period / limit:
            spans.append((start, t0))
            start = t1
    spans.append((start, points[-1][0]))
    return spans


def _quota(entries: list[LogEntry]) -> dict[str, Any]:
    days: dict[int, dict[str, Any]] = {}
    for e in entries:
        if e.quota_limit is None:
            continue
        day = days.setdefault(e.day, {
            "counted": 0, "accepted": 0, "delivered": 0, "out_of_band": 0, "limit": 0,
            "over_quota": 0, "exhausted_s": None})
        day["counted"] += e.quota_cost
        day["accepted"] += e.quota_cost if e.status not in (429, 503) and not e.out_of_band else 0
        day["delivered"] += e.delivered
        day["out_of_band"] += e.quota_cost if e.out_of_band else 0
        day["over_quota"] += e.over_quota
        day["limit"] = e.quota_limit
        if day["exhausted_s"] is None and day["counted"] >= e.quota_limit:
            day["exhausted_s"] = e.t
    return {
        "days": {_date(d): days[d] for d in sorted(days)},
        "over_quota_sends": sum(day["over_quota"] for day in days.values()),
        "out_of_band": sum(day["out_of_band"] for day in days.values()),
    }


def _duplicates(entries: list[LogEntry]) -> int:
    delivered = Counter(e.key for e in entries if e.key is not None and e.delivered)
    return sum(n - 1 for n in delivered.values())


def _date(day: int) -> str:
    return datetime.fromtimestamp(day * DAY_S, tz=timezone.utc).strftime("%Y-%m-%d")
