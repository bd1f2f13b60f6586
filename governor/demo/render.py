"""The demo's final report for people: one row per figure, then the bar's checks, on a rich
console. Values print as they are (Text spans, never markup)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from rich.text import Text

from governor.demo.report import whole_windows

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["render_report"]


def _fmt_s(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3f} s"


def _after(value_s: float | None, what: str) -> str:
    if value_s is None:
        return "never"
    if round(value_s, 3) == 0:
        return f"at {what}"
    return f"{abs(value_s):.3f} s {'after' if value_s >= 0 else 'before'} {what}"


def _midnight_rows(m: dict[str, Any] | None) -> list[tuple[str, str]]:
    if m is None:
        return []
    offset = m["clock_offset_s"]
    clock = ("the fleet's" if not offset else
             f"{abs(offset):g} s {'ahead of' if offset > 0 else 'behind'} the fleet's")
    ran_out, first = m["ran_out_before_reset_s"], m["first_try_after_reset_s"]
    then = ("no request after it" if first is None else
            f"{m['tried_before_reset']} requests before the reset, the first "
            f"{_after(first, 'it')}")
    return [
        ("provider reset", f"the provider's clock is {clock}: the governor's midnight came "
                           f"{_after(m['fleet_midnight_after_reset_s'], 'the reset')}"),
        ("ran out", "the day's quota never ran out" if ran_out is None else
                    f"the day's quota {ran_out:.3f} s before the reset; then {then}"),
        ("resumed", "never" if m["resumed_after_s"] is None else
                    f"{_after(m['resumed_after_s'], 'the reset')} "
                    f"({m['resumed_after_provider_s']:.2f} provider s); bar {m['bar_s']:.3f} s"),
    ]


def render_report(report: dict[str, Any], console: Console) -> None:
    """The report for people."""
    r = report
    b = r["binding"]
    console.print(Text.assemble("\n", (f"governor demo · {r['scenario']}", "bold"),
                                f": {r['summary']}"), highlight=False)
    rows = [
        ("sent", f"{r['sent']:,} of {r['messages']:,} messages in {r['requests']:,} requests"
                 + (f" in {r['elapsed_s']:.1f} s" if r["elapsed_s"] is not None else "")),
        ("429s received", f"{r['rate_limited_total']:,} {r['rate_limited'] or ''}".rstrip()),
        ("503s received", f"{r['unavailable']:,}"),
        ("binding limit", "-" if not b else
         f"{b['bucket']} {b['limit']} per {b['period_s']:g} s: "
         + ("not measured" if b["utilisation"] is None else
            f"{b['utilisation']:.1%} used over {whole_windows(b['windows_measured'])}")),
        ("quota", f"{r['over_quota_sends']} over-quota sends (refused: the day's quota was "
                  "spent)" + (f", {r['out_of_band']} requests spent out of band by other "
                              "senders" if r["out_of_band"] else "")),
        ("messages", f"{r['lost']} lost · {r['failed']} failed · {r['duplicates_delivered']} "
                     f"delivered twice · {r['requeued']} requeued"),
        ("waits", " · ".join(f"{k} {_fmt_s(v)}" for k, v in r["waits_s"].items())),
    ]
    if r["latency_ms"]:
        p99 = r["latency_p99_ms"]
        rows.append(("mock latency", f"{r['latency_ms']:g} ms" if p99 is None else
                     f"log-normal, median {r['latency_ms']:g} ms, p99 {p99:g} ms"))
    if r["lost_replies_simulated"]:
        rows.append(("lost replies", f"{r['lost_replies_simulated']} dropped on purpose and "
                     f"sent again; the server replayed {r['replays']}"))
    rows += _midnight_rows(r["events"].get("midnight"))
    if r["redis_round_trips_per_request"] is not None:
        rows.append(("redis", f"{r['redis_round_trips_per_request']:.2f} round trips per request"))
    if r["degraded"] is not None:
        d = r["degraded"]
        rows.append(("degraded", f"{d['decisions']:,} decisions without Redis, "
                                 f"{d['backend_failures']:,} failures of it"))
    for key, value in rows:
        console.print(Text.assemble("  ", (f"{key:>14}", "cyan"), "  ", value), highlight=False)
    for c in r["checks"]:
        mark = ("✓", "green") if c["ok"] else ("✗", "red")
        console.print(Text.assemble("  ", mark, f" {c['name']}: {c['detail']}"), highlight=False)
    verdict = ("bar met", "green") if r["met"] else ("bar not met", "red")
    goal = f": {r['goal']}"
    if r["interrupted"]:
        verdict, goal = ("interrupted", "yellow"), f" before the end; the goal: {r['goal']}"
    console.print(Text.assemble("  ", verdict, goal))
