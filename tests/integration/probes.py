"""What the integration tests watch on the server: command counts and the commands clients send."""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from governor import Policy

if TYPE_CHECKING:
    from collections.abc import Iterator

    import redis

POLICY = Policy.of(
    {"email": "120/minute", "general": "60/minute burst 3"},
    routes={"POST /v1/email": ["email", "general"], "GET /v1/domains": ["general"]},
    quota="1000/day",
)
ROUTE = "POST /v1/email"


def commandstats(client: redis.Redis) -> dict[str, int]:
    """Calls per command since ``CONFIG RESETSTAT``, the commands scripts run included."""
    stats: dict[str, Any] = client.info("commandstats")
    calls = {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}
    return {n: c for n, c in calls.items() if not n.startswith(("config", "info"))}


@contextmanager
def sent_commands(client: redis.Redis) -> Iterator[list[str]]:
    """The commands clients send to the server while the block runs (``MONITOR``; commands
    run by scripts are left out)."""
    marker = f"end-{uuid.uuid4().hex}"
    sent: list[str] = []
    seen: list[tuple[str, str]] = []
    with client.monitor() as monitor:  # type: ignore[no-untyped-call]  # untyped in redis-py
        yield sent
        client.echo(marker)  # on a connection of its own: the monitor holds the first one
        while True:
            command = monitor.next_command()
            who = f"{command['client_address']}:{command['client_port']}"
            if marker in command["command"]:
                break
            if command["client_type"] != "lua":
                seen.append((who, command["command"].split()[0].upper()))
    sent.extend(name for client_id, name in seen if client_id != who)
