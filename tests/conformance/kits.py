"""Backend kits for the conformance suite.

A :class:`Kit` opens a :class:`Live` backend for one test: fresh, empty shared state, from
which any number of sync and async backends can be made (they all see the same state, like the
processes of a fleet). The memory kit is always present; Redis kits (fakeredis, a real server)
are appended to ``KITS`` where they can run.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from governor import AsyncMemoryBackend, Clock, MemoryBackend

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import pytest


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
