"""``governor status``: the live state of an account in Redis, once or on a refresh."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

import typer
from rich.table import Table

from governor.cli.shared import console
from governor.errors import ConfigError
from governor.settings import GovernorSettings


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

