"""What the deployments share: polling until a state is reached, stopping, reading INFO."""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any

import redis

from governor.embedded import RedisServer, ServerError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

__all__ = ["READY_S", "REPLICATION", "info", "stop_all", "wait"]

READY_S = 20.0
# Replicas sync at once (the default waits 5 s for more replicas to share one transfer).
REPLICATION = ("--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0")


def wait(what: str, ready: Callable[[], bool], timeout_s: float = READY_S) -> None:
    """Poll ``ready`` (errors count as not yet) until it holds; :class:`ServerError` if not."""
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(redis.RedisError):
            if ready():
                return
        if time.monotonic() > deadline:
            raise ServerError(f"{what} did not happen within {timeout_s:.0f} s")
        time.sleep(0.05)


def stop_all(servers: Iterable[RedisServer]) -> None:
    for server in servers:
        server.stop()


def info(server: RedisServer, section: str) -> dict[str, Any]:
    """``INFO <section>`` of ``server``, parsed."""
    with server.client(socket_timeout=2) as client:
        parsed: dict[str, Any] = client.info(section)
        return parsed
