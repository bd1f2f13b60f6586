"""``governor profiles`` and ``governor limits``: what the provider profiles declare, and the
limits one of them puts in force for a plan and reputation."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from governor.cli.shared import console, fail, load_settings
from governor.errors import ConfigError
from governor.profile import builtin_profiles, load_profile


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
    settings = load_settings(provider=provider, plan=plan, reputation=reputation,
                             time_scale=time_scale)
    try:
        resolved = settings.resolved()
        policy = settings.policy()
    except ConfigError as exc:
        fail(str(exc))
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
        console.print(Text.assemble(
            "Daily quota: ", (f"{quota.limit:,}", "bold"), " calls per UTC day, reset 00:00 UTC",
            f", {reserve:,} held for high priority" if reserve else "",
        ))
    if settings.time_scale != 60.0:
        console.print(f"Time scale: a provider minute lasts {settings.time_scale:g} s.")
