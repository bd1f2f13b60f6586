"""The demo's final report: the mock's server-side account of the run (what it received, what it
refused, how full the binding limit was, what other senders spent), the workers' waits, and the
scenario's bar."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from governor.demo.fleet import ACCOUNT
from governor.demo.midnight import midnight_event
from governor.demo.pace import IN_FLIGHT, pace_event
from governor.demo.scenarios import UTILISATION_BAR

if TYPE_CHECKING:
    from governor.demo.runner import RunFacts
    from governor.demo.tally import Tally

__all__ = ["build_report", "whole_windows"]


def _binding(facts: RunFacts, account: dict[str, Any]) -> dict[str, Any] | None:
    """The scenario's bucket as the mock counted it (per API key: ``bucket@key``)."""
    bucket = facts.scenario.bucket
    for label, stats in account.get("buckets", {}).items():
        if label == bucket or label.startswith(bucket + "@"):
            keys = ("limit", "period_s", "limits_seen", "admitted", "max_in_fixed_window",
                    "max_in_sliding_window", "windows_measured", "utilisation")
            return {"bucket": bucket, **{k: stats.get(k) for k in keys}}
    return None


def build_report(facts: RunFacts, tally: Tally) -> dict[str, Any]:
    """The report as JSON-ready data; ``met`` says whether the run met its scenario's bar."""
    s, server = facts.scenario, facts.server or {}
    account: dict[str, Any] = server.get("accounts", {}).get(ACCOUNT, {})
    limited: dict[str, int] = account.get("rate_limited", {})
    requests = account.get("requests", tally.requests)
    report: dict[str, Any] = {
        "scenario": s.name, "summary": s.summary, "goal": s.goal,
        "provider": s.provider, "plan": s.plan, "route": s.route,
        "workers": facts.options.workers, "time_scale": facts.time_scale, "redis": facts.redis,
        "window": facts.options.window,
        "latency_ms": facts.options.latency_ms, "latency_p99_ms": facts.options.latency_p99_ms,
        "messages": tally.total if tally.total is not None else len(tally.acked),
        "elapsed_s": round(max(0.0, facts.ended_s - facts.started_s), 2)
        if facts.started_s else None,
        "interrupted": facts.interrupted,
        "sent": tally.sent,
        "delivered": account.get("delivered"),
        "requests": requests,
        "rate_limited": limited,
        "rate_limited_total": sum(limited.values()),
        "unavailable": account.get("unavailable", 0),
        "binding": _binding(facts, account),
        "over_quota_sends": account.get("quota", {}).get("over_quota_sends", 0),
        "out_of_band": account.get("quota", {}).get("out_of_band", 0),
        "duplicates_delivered": account.get("duplicates_delivered", 0),
        "replays": account.get("replays", 0),
        "lost": facts.unfinished,
        "failed": tally.failed + tally.unknown,
        "acknowledged": len(tally.acked),
        "acknowledged_twice": tally.acked_twice,
        "limited_seen_by_workers": tally.limited,
        "requeued": tally.requeued,
        "lost_replies_simulated": tally.lost_replies,
        "waits_s": {k: None if v is None else round(v, 4)
                    for k, v in tally.wait_percentiles().items()},
        "redis_round_trips_per_request": round(facts.redis_calls / requests, 3)
        if facts.redis_calls is not None and requests else None,
        "per_worker": {str(w): vars(st) for w, st in sorted(tally.per_worker.items())},
        "events": _events(facts, tally),
        "outages_planned": len(s.outages),
        "degraded": _degraded(facts, tally),
        "errors": list(facts.errors),
    }
    checks = [_CHECKS[name](report) for name in s.checks]
    if report["degraded"] is not None:
        checks.insert(0, _shared(report))
    if facts.errors or facts.interrupted or not facts.server:
        why = "interrupted" if facts.interrupted else "; ".join(facts.errors) or "no report"
        checks.insert(0, {"name": "completed", "ok": False, "detail": why})
    report["checks"] = checks
    report["met"] = all(c["ok"] for c in checks)
    return report


def _degraded(facts: RunFacts, tally: Tally) -> dict[str, Any] | None:
    """Decisions the workers made without the shared state, and why (None: there were none,
    and Redis answered before the run)."""
    decisions, failures, why = tally.degraded()
    if not decisions and facts.redis_down is None:
        return None
    if facts.redis_down is not None:
        why = f"Redis at {facts.redis} failed a read before the run: {facts.redis_down}"
    return {"decisions": decisions, "backend_failures": failures, "why": why}


def _events(facts: RunFacts, tally: Tally) -> dict[str, Any]:
    out: dict[str, Any] = {}
    speed = 60.0 / facts.time_scale
    if facts.drop_s is not None:
        after = tally.incidents_after(facts.drop_s)
        per_worker = Counter(i.worker for i in after if i.status == 429)
        server_after = sum(1 for e in facts.log
                           if e["t"] >= facts.drop_s * speed and e["status"] == 429)
        out["reputation_drop"] = {
            "at_s": round(facts.drop_s - facts.started_s, 3),
            "limited_after_by_worker": {str(w): per_worker.get(w, 0)
                                        for w in range(facts.options.workers)},
            "limited_before": sum(1 for i in tally.incidents
                                  if i.status == 429 and i.at_s < facts.drop_s),
            "server_limited_after": server_after,
        }
    if facts.midnight is not None:
        midnight = midnight_event(facts.log, facts.midnight, facts.scenario, facts.started_s)
        if midnight is not None:  # negative margin: the workers were ready after the plan's go
            margin_s = round(facts.midnight.go_at_s - facts.ready_s, 3) if facts.ready_s else None
            out["midnight"] = {**midnight, "start_margin_s": margin_s}
    if facts.pace is not None:
        s = facts.scenario
        out["pace"] = pace_event(
            facts.pace, tally, 0 if s.high_every_s is not None else None, s.pace_burst or 1,
            facts.time_scale, s.period_s * facts.time_scale / 60 / s.limit,
        )
    if facts.outages:
        out["outages"] = [
            {"start_s": round(o["real_start_s"] - facts.started_s, 3),
             "duration_s": round(o["real_end_s"] - o["real_start_s"], 3), "code": o["code"]}
            for o in facts.outages
        ]
    return out


def whole_windows(n: int) -> str:
    """``n whole provider window(s)``."""
    return f"{n} whole provider window" + ("" if n == 1 else "s")


def _check(name: str, ok: bool, detail: str) -> dict[str, Any]:
    return {"name": name, "ok": ok, "detail": detail}


def _no_429(r: dict[str, Any]) -> dict[str, Any]:
    n = r["rate_limited_total"]
    return _check("zero 429s", n == 0 and r["limited_seen_by_workers"] == 0,
                  f"the server answered {n} 429s {r['rate_limited'] or ''}".rstrip())


def _utilisation(r: dict[str, Any]) -> dict[str, Any]:
    b = r["binding"] or {}
    used = b.get("utilisation")
    if used is None:
        hint = ("add workers (at this mock latency they may be what binds)"
                if r["latency_ms"] else "send more messages")
        return _check("utilisation", False, f"no whole provider window was saturated; {hint}")
    return _check("utilisation", used >= UTILISATION_BAR,
                  f"{used:.1%} of {b['bucket']} {b['limit']}/window used over "
                  f"{whole_windows(b['windows_measured'])} (bar {UTILISATION_BAR:.0%})")


def _drop(r: dict[str, Any]) -> dict[str, Any]:
    d = r["events"].get("reputation_drop")
    if d is None:
        return _check("follows the drop", False, "the reputation never dropped")
    worst = max(d["limited_after_by_worker"].values(), default=0)
    ok = worst <= 1 and d["limited_before"] == 0
    return _check("follows the drop", ok,
                  f"429s after the drop by worker {list(d['limited_after_by_worker'].values())}"
                  f" (at most 1 each), {d['limited_before']} before it")


def _midnight(r: dict[str, Any]) -> dict[str, Any]:
    m = r["events"].get("midnight")
    if m is None:
        return _check("midnight", False, "no midnight in the run")
    resumed, left = m["resumed_after_provider_s"], m["quota"] - m["out_of_band"]
    when = "never" if resumed is None else (
        f"{m['resumed_after_s'] * 1000:.0f} ms ({resumed:.2f} provider s) after it")
    margin_s = m["start_margin_s"]
    late = ("" if margin_s is None or margin_s >= 0 else
            f"the workers were ready {-margin_s:.1f} s after the planned start (a busy "
            "machine?), too late to spend the day before the reset; ")
    return _check("midnight", m["met"],
                  f"{late}{m['sent_before']} of the {left} the day had left after "
                  f"{m['out_of_band']} out of band sent before the provider's reset, "
                  f"{m['over_quota_sends']} "
                  f"over-quota sends, {m['tried_before_reset']} requests between the quota "
                  f"running out and the reset; sending resumed {when} (bar "
                  f"{m['bar_s'] * 1000:.0f} ms: one emission interval, the Date header's second "
                  "and scheduling)")


def _shared(r: dict[str, Any]) -> dict[str, Any]:
    d = r["degraded"]
    return _check("shared state", False,
                  f"{d['decisions']:,} decisions made without Redis, each worker on its "
                  f"1/{r['workers']} share of every limit ({d['why'] or 'no reason logged'})")


def _intact(r: dict[str, Any]) -> dict[str, Any]:
    if r["delivered"] is None:
        return _check("nothing lost", False, "no report from the mock provider")
    total = r["acknowledged"] if r["interrupted"] else r["messages"]
    ok = (r["lost"] == 0 and r["failed"] == 0 and r["duplicates_delivered"] == 0
          and r["acknowledged_twice"] == 0 and r["delivered"] == total == r["acknowledged"])
    return _check("nothing lost", ok,
                  f"{r['delivered']} of {total} delivered, {r['lost']} lost, {r['failed']} "
                  f"failed, {r['duplicates_delivered']} delivered twice")


def _outage(r: dict[str, Any]) -> dict[str, Any]:
    planned, happened = r["outages_planned"], len(r["events"].get("outages", []))
    worst = max((st["unavailable"] for st in r["per_worker"].values()), default=0)
    ok = happened == planned and r["unavailable"] > 0 and worst <= planned
    return _check("outages ridden out", ok,
                  f"{happened} of {planned} outages, {r['unavailable']} 503s, at most "
                  f"{worst} per worker (bar {planned})")


def _pace(r: dict[str, Any]) -> dict[str, Any]:
    p = r["events"].get("pace")
    if p is None or not p["minutes"]:
        return _check("on the pace line", False, "no provider minute of the backlog measured")
    p99 = p["high_wait_p99_s"]
    high = ("no high-priority sends" if p99 is None else
            f"{p['high_sends']} high-priority sends waited p99 {p99 * 1000:.0f} ms (bar "
            f"{2 * p['interval_s'] * 1000:.0f} ms: two emission intervals)")
    return _check("on the pace line", p["met"],
                  f"the backlog at most {p['most_ahead']:g} ahead of the line (bar: its burst "
                  f"of {p['burst']} and {IN_FLIGHT} in flight) and {p['most_behind']:g} behind "
                  f"it over {len(p['minutes'])} provider minutes at {p['per_min']:g}/minute "
                  f"(after {p['out_of_band']:,} spent out of band); {high}")


_CHECKS = {"no_429": _no_429, "utilisation": _utilisation, "drop": _drop,
           "midnight": _midnight, "intact": _intact, "outage": _outage, "pace": _pace}
