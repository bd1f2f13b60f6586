"""``governor plan``: how long a send takes on a plan, which limit binds, how many workers are
worth having, and when the daily quota runs out; optionally simulated and plotted."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path  # noqa: TC003 - typer reads the plan command's annotations at runtime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table
from rich.text import Text

from governor.cli.shared import console, fail, load_settings
from governor.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import RenderableType

    from governor.capacity import CapacityPlan
    from governor.simulation import SimulationResult


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    if seconds < 120:
        return f"{seconds:.1f} s"
    return " ".join(f"{n} {u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "min")) if n)


def _hour(hours: float) -> str:
    minutes = round(hours * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _start(value: str | None) -> datetime:
    if value is None:
        return datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO-8601 time like 2026-11-23T09:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def plan_command(
    messages: Annotated[int, typer.Option(min=1, help="Messages to send.")],
    provider: Annotated[str | None, typer.Option(help="Profile name or path.")] = None,
    plan: Annotated[str | None, typer.Option(help="The account's plan.")] = None,
    reputation: Annotated[str | None, typer.Option(help="'healthy' or 'under_review'.")] = None,
    headroom: Annotated[float | None, typer.Option(
        help="Fraction of every rate left unused, as the workers' settings say (0.01).")] = None,
    bulk_share: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Share of the messages sent through bulk calls.")] = 0.0,
    batch: Annotated[int, typer.Option(min=1, help="Messages per bulk call.")] = 100,
    workers: Annotated[int, typer.Option(min=1, help="Concurrent workers.")] = 8,
    latency_ms: Annotated[float, typer.Option(
        min=0.001, help="Call latency (the median when a p99 is given).")] = 300.0,
    latency_p99_ms: Annotated[float | None, typer.Option(
        help="p99 latency: latencies become log-normal through median and p99.")] = None,
    start: Annotated[str | None, typer.Option(help="Start time, ISO-8601 UTC (now).")] = None,
    quota_used: Annotated[int, typer.Option(
        min=0, help="Calls of the start day's quota already spent.")] = 0,
    pacing: Annotated[bool | None, typer.Option(
        "--pacing/--no-pacing", help="Spread each day's quota over the day, as the workers' "
        "GOVERNOR_PACING says.")] = None,
    pace_until_hour: Annotated[float | None, typer.Option(
        help="Hour of the quota day by which pacing spreads it (24: its end).")] = None,
    priority_reserve: Annotated[str | None, typer.Option(
        help="Calls a day held back for high priority (a count or '5%'): the plan says what "
        "it costs in drain time.")] = None,
    simulate: Annotated[bool, typer.Option(
        "--simulate", help="Also run the real engine on a virtual clock.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the simulated latencies.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
    plot: Annotated[Path | None, typer.Option(
        help="Draw cumulative sends over time to this PNG (needs matplotlib).")] = None,
) -> None:
    """How long N messages take on a plan with W workers at latency L, which limit binds, how
    many workers are worth having, and when the daily quota runs out (with pacing, a job faster
    than the pace line follows it). The limits are those the workers enforce: the profile's,
    less the settings' headroom and priority reserve (the plan says what the reserve costs in
    drain time); unset options come from GOVERNOR_* settings."""
    from governor.capacity import Latency, Workload, sweep  # noqa: PLC0415
    from governor.capacity import plan as make_plan  # noqa: PLC0415

    moment = _start(start)
    settings = load_settings(provider=provider, plan=plan, reputation=reputation,
                             headroom=headroom, pacing=pacing, pace_until_hour=pace_until_hour,
                             priority_reserve=priority_reserve)
    try:
        policy = settings.policy()
        latency = Latency(latency_ms / 1000, None if latency_p99_ms is None
                          else latency_p99_ms / 1000)
        workload = Workload(messages, bulk_share, batch)
        result = make_plan(policy, workload, workers, latency, moment, quota_used)
    except (ConfigError, ValueError) as exc:
        fail(str(exc))
    sim, sim_useful = None, 0
    if simulate:
        from governor.simulation import simulate as run_simulation  # noqa: PLC0415
        from governor.simulation import useful_workers  # noqa: PLC0415

        sim = run_simulation(policy, workload, workers, latency, moment, quota_used, seed)
        sim_useful = useful_workers(policy, workload, latency, moment, seed=seed)
    counts = sorted({w for w in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
                     if w <= max(2 * result.useful_workers, workers)}
                    | {workers, result.useful_workers})
    table_sweep = sweep(policy, workload, counts, latency, moment, quota_used)
    if plot is not None:
        _plot(plot, result, sim)
    if as_json:
        print(json.dumps({
            "plan": result.to_dict(),
            "simulation": None if sim is None else {**sim.to_dict(),
                                                    "useful_workers": sim_useful},
            "workers": [{"workers": p.workers, "calls_per_s": p.calls_per_s,
                         "binding": p.binding, "drain_s": p.drain_s} for p in table_sweep],
        }, indent=2))
        return
    routes = ", ".join(f"{r.route} {r.calls:,}" for r in result.routes)
    table = Table(title=f"{result.policy} · {messages:,} messages · {workers} workers "
                        f"· {result.latency}")
    table.add_column("")
    table.add_column("analytic")
    if sim is not None:
        table.add_column("simulated")
    reason = (f"workers could make {result.worker_calls_per_s:.2f} calls/s"
              if result.binding != "workers"
              else f"rate limits allow {result.rate_calls_per_s:.2f} calls/s")
    rows: list[tuple[str, RenderableType, str]] = [
        ("calls", f"{result.calls:,} ({routes})", f"{sim.calls:,}" if sim else ""),
        ("binding limit", Text.assemble((result.binding, "bold"), f" ({reason})"), ""),
        ("throughput", f"{result.calls_per_s:.2f} calls/s, {result.messages_per_s:.2f} msg/s",
         f"{sim.calls_per_s:.2f} calls/s" if sim else ""),
        ("sending time", _duration(result.sending_s), ""),
        ("drain time", _duration(result.drain_s), _duration(sim.drain_s) if sim else ""),
        ("finish", _when(result.finish), _when(sim.finish) if sim else ""),
        ("calendar days", str(result.days), str(sim.days) if sim else ""),
        ("daily quota", "-" if result.quota_per_day is None
         else f"{result.quota_per_day:,} calls (used at start {quota_used:,})", ""),
        ("quota first runs out", _when(result.quota_runs_out_at),
         _when(sim.quota_runs_out_at) if sim else ""),
        ("pacing", "off" if result.paced_until_h is None else
         f"each day's quota spread until {_hour(result.paced_until_h)} of the quota day", ""),
        ("priority reserve", f"{result.quota_reserve:,} calls a day: "
         + (f"+{_duration(result.reserve_cost_s)} of drain time" if result.reserve_cost_s > 0
            else "costs this job no drain time"), ""),
        ("workers worth having",
         f"{result.useful_workers} (rate x latency + 10%, queueing counted)",
         f"{sim_useful} (98% of the rate)" if sim else ""),
        ("Redis load", f"{result.redis_commands_per_s[0]:.2f}-"
         f"{result.redis_commands_per_s[1]:.2f} commands/s",
         f"{sim.decisions:,} decisions" if sim else ""),
    ]
    for row in rows:
        table.add_row(*row[: 3 if sim is not None else 2])
    console.print(table)
    workers_table = Table(title="More workers")
    for column in ("workers", "calls/s", "binding", "drain time"):
        workers_table.add_column(column)
    for p in table_sweep:
        workers_table.add_row(str(p.workers), f"{p.calls_per_s:.2f}", p.binding,
                              _duration(p.drain_s))
    console.print(workers_table)
    if plot is not None:
        console.print(f"Plot written to {plot}")


def _plot(path: Path, result: CapacityPlan, sim: SimulationResult | None) -> None:
    try:
        import matplotlib as mpl  # noqa: PLC0415 - optional, only for --plot

        mpl.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        fail("--plot needs matplotlib: pip install matplotlib")
    t0 = result.start
    fig, ax = plt.subplots(figsize=(9, 4.5))
    ax.plot([t / 3600 for t, _ in result.timeline], [m for _, m in result.timeline],
            label="analytic")
    if sim is not None:
        ax.plot([t / 3600 for t, _ in sim.timeline], [m for _, m in sim.timeline], "--",
                label="simulated")
    midnight = t0.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    while midnight < result.finish:
        x = (midnight - t0).total_seconds() / 3600
        ax.axvline(x, color="grey", linestyle=":", linewidth=1)
        ax.annotate(f"quota reset {midnight:%m-%d} 00:00 UTC", (x, 0), rotation=90,
                    fontsize=8, color="grey", xytext=(3, 5), textcoords="offset points")
        midnight += timedelta(days=1)
    ax.set_title(f"{result.policy}: {result.workload.messages:,} messages, "
                 f"{result.workers} workers, {result.latency}")
    ax.set_xlabel(f"hours since {t0:%Y-%m-%d %H:%M} UTC")
    ax.set_ylabel("messages sent")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
