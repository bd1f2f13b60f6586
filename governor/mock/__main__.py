"""``python -m governor.mock``: serve the mock provider until Ctrl-C.

Example::

    python -m governor.mock --provider mailersend --port 8025 --time-scale 6 \\
        --window sliding --account demo:secret-token:starter --latency-ms 300
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from governor.mock.app import create_app
from governor.mock.clock import VirtualClock
from governor.mock.latency import ReplyDelay, reply_latency
from governor.mock.rules import MockRules
from governor.mock.server import bind_socket, uvicorn_server

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m governor.mock",
        description="A local mock of an email provider's API that enforces its documented "
        "rate limits and quotas, with an admin API under /_admin.",
    )
    parser.add_argument("--provider", default="mailersend",
                        help="mailersend, sendmux, lettr, or a profile .toml (default mailersend)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    parser.add_argument("--port", type=int, default=8025, help="port (0: a free one; default 8025)")
    parser.add_argument("--time-scale", type=float, default=60.0,
                        help="real seconds per provider minute (60: real time)")
    parser.add_argument("--window", choices=["fixed", "sliding"], default="fixed",
                        help="how windows are counted (default fixed)")
    parser.add_argument("--start", type=float, default=None,
                        help="virtual start time, epoch seconds (default: aligned clock)")
    parser.add_argument("--clock-offset-s", type=float, default=0.0,
                        help="virtual seconds the provider's clock runs ahead of the aligned "
                        "clock; negative: behind (default 0)")
    parser.add_argument("--rate-headers", action=argparse.BooleanOptionalAction, default=None,
                        help="send rate-limit headers (default: as the provider does)")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="real milliseconds each provider reply waits, the median when a "
                        "p99 is given (default 0: none)")
    parser.add_argument("--latency-p99-ms", type=float, default=None,
                        help="the p99 of a log-normal latency (default: a fixed latency)")
    parser.add_argument("--latency-seed", type=int, default=0,
                        help="seed of the latency draws (default 0)")
    parser.add_argument("--account", action="append", default=[], metavar="NAME:TOKEN[:PLAN[:REP]]",
                        help="create an account (repeatable)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the server in this thread; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        rules = MockRules(args.provider, window=args.window, time_scale=args.time_scale,
                          rate_headers=args.rate_headers)
        clock = VirtualClock(args.time_scale, args.start, offset_s=args.clock_offset_s)
        delay = ReplyDelay(reply_latency(args.latency_ms, args.latency_p99_ms), args.latency_seed)
        for spec in args.account:
            name, token, plan, reputation = [*spec.split(":"), "", ""][:4]
            if not name or not token:
                raise ValueError(f"--account takes NAME:TOKEN[:PLAN[:REPUTATION]], not {spec!r}")
            rules.accounts.add(name, token, plan=plan or None, reputation=reputation or None)
        sock = bind_socket(args.host, args.port)
    except (ValueError, OSError) as exc:
        print(f"governor.mock: {exc}", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    latency = f", replies after {delay.latency}" if delay.latency else ""
    print(
        f"governor mock: {rules.profile.name}, {args.window} windows, a minute lasts "
        f"{args.time_scale:g} s{latency}, on http://{args.host}:{port}",
        flush=True,
    )
    # On Ctrl-C uvicorn shuts down cleanly, then re-raises the signal: nothing left to do.
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn_server(create_app(rules, clock, delay), quiet=False).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
