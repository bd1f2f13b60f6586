"""``governor status``: the live state of an account in Redis, once or on a refresh."""

from __future__ import annotations

import json
import math
import time
from typing import Annotated, Any

import typer
from rich.table import Table

from governor.cli.shared import console, fail, load_settings
from governor.errors import GovernorError

MIN_WATCH_S = 0.1


def _interval(value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and value >= MIN_WATCH_S):
        raise typer.BadParameter(
            f"{value:g} is not a number of seconds between refreshes, at least {MIN_WATCH_S:g}")
    return value


def status(
    provider: Annotated[str | None, typer.Option(help="Profile name or path.")] = None,
    plan: Annotated[str | None, typer.Option(help="The account's plan.")] = None,
    account: Annotated[str | None, typer.Option(help="Account label.")] = None,
    redis_url: Annotated[str | None, typer.Option(help="Redis URL (GOVERNOR_REDIS_URL).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
    watch: Annotated[float | None, typer.Option(
        callback=_interval, help=f"Refresh every N seconds (at least {MIN_WATCH_S:g}) until "
        "Ctrl-C.")] = None,
) -> None:
    """Show the live state of an account in Redis: tokens or debt per bucket, learned limits,
    quota used and its reset, active pauses. Unset options come from GOVERNOR_* settings (an
    API token in GOVERNOR_API_TOKEN names the account by its hash). An account Redis holds
    nothing for (no governor decided a call for it under this key prefix, or its state
    expired) is said to have no state, with exit status 1 unless --watch is given."""
    settings = load_settings(provider=provider, plan=plan, account=account, redis_url=redis_url)
    if settings.redis_url is None:
        fail("no Redis to read: set --redis-url or GOVERNOR_REDIS_URL (an in-process governor "
             "keeps its state in its own process)")
    from governor.backends.redis import RedisBackend  # noqa: PLC0415 - only this command
    from governor.status import Snapshot, describe  # noqa: PLC0415

    try:
        policy, account_id = settings.policy(), settings.account_id()
        backend = RedisBackend.from_url(settings.redis_url, prefix=settings.key_prefix)
    except GovernorError as exc:
        fail(str(exc))
    try:
        while True:
            try:
                snapshot = backend.snapshot(account_id.key)
            except GovernorError as exc:
                fail(str(exc), 1)
            state = describe(snapshot, policy)
            # An absent key reads as all zeros, the same as a full idle bucket: tell them apart.
            state["stored"] = snapshot != Snapshot(snapshot.now_us)
            state["account"] = str(account_id)
            if as_json:
                print(json.dumps(state, indent=2))
            elif state["stored"]:
                _print_status(state)
            else:
                console.print(f"No state for account {account_id} under key prefix "
                              f"{settings.key_prefix!r}: no governor has decided a call for it "
                              "in this Redis, or its state expired.", soft_wrap=True)
            if watch is None:
                raise typer.Exit(0 if state["stored"] else 1)
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
        pace = quota["pace"]
        if pace is not None:
            where = "ahead of" if pace["ahead"] > 0 else "behind" if pace["ahead"] < 0 else "on"
            rest = (f"the rest at {pace['per_hour']:,} an hour" if pace["per_hour"] is not None
                    else "the line has ended")
            console.print(
                f"Pace line: {pace['line']:,} by now; {abs(pace['ahead']):,} calls "
                f"({abs(pace['ahead_pct']):g}% of the day) {where} it; {rest}; "
                f"the line ends in {pace['ends_in_s'] / 3600:.1f} h", soft_wrap=True,
            )
    if state["account_paused_for_s"]:
        console.print(f"Account paused for {state['account_paused_for_s']:.1f} s")
