"""One contract, every backend, both shells.

``kit`` is parametrised over the backends (memory here; Redis kits are added by
``tests/conformance/kits.py`` when their dependencies are importable); ``shell`` over "sync"
and "async". A test body calls ``make(policy)`` to get a :class:`Shell`: the same calls work on
a :class:`Governor` and, through a private event loop, on an :class:`AsyncGovernor`. Every kit
uses a :class:`ManualClock`, so nothing really sleeps.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import TYPE_CHECKING, Any

import pytest

from governor import AsyncGovernor, Clock, Governor, ManualClock, Policy
from tests.conformance.kits import KITS, Live

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator


class Shell:
    """Calls a sync or async governor the same way; async coroutines run on one private loop."""

    def __init__(self, gov: Governor | AsyncGovernor, loop: asyncio.AbstractEventLoop | None):
        self.gov = gov
        self.loop = loop

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.gov, name)
        if self.loop is None or not callable(attr):
            return attr
        loop = self.loop

        def run(*args: Any, **kwargs: Any) -> Any:
            result = attr(*args, **kwargs)
            return loop.run_until_complete(result) if inspect.isawaitable(result) else result

        return run


@pytest.fixture(params=[pytest.param(k.name, marks=k.marks) for k in KITS])
def kit(request: pytest.FixtureRequest) -> Iterator[Live]:
    chosen = next(k for k in KITS if k.name == request.param)
    if chosen.skip_reason:
        pytest.skip(chosen.skip_reason)
    with chosen.open(request) as live:
        yield live


@pytest.fixture(params=["sync", "async"])
def shell(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make(kit: Live, shell: str, clock: ManualClock) -> Iterator[Callable[..., Shell]]:
    loop = asyncio.new_event_loop() if shell == "async" else None
    made: list[Shell] = []

    def build(policy: Policy, account: str = "acct", worker_clock: Clock | None = None) -> Shell:
        """A governor on the kit's backend (its clock: the test's ``clock``); the governor's
        own clock is ``worker_clock`` (a worker on another host), default the same."""
        own = worker_clock or clock
        if loop is None:
            gov: Governor | AsyncGovernor = Governor(
                policy, kit.sync_backend(clock), account=account, clock=own
            )
        else:
            gov = AsyncGovernor(policy, kit.async_backend(clock), account=account, clock=own)
        s = Shell(gov, loop)
        made.append(s)
        return s

    yield build
    for s in made:
        if loop is None:
            s.gov.close()  # type: ignore[union-attr]  # sync shell
        else:
            loop.run_until_complete(s.gov.aclose())  # type: ignore[union-attr]  # async shell
    if loop is not None:
        loop.close()


class SkewedClock:
    """A worker's clock: ``base`` (the backend's) plus ``offset_s``; it sleeps on ``base``."""

    def __init__(self, base: ManualClock, offset_s: float) -> None:
        self.base = base
        self.offset_us = round(offset_s * 1_000_000)

    def now_us(self) -> int:
        return self.base.now_us() + self.offset_us

    def monotonic(self) -> float:
        return self.base.monotonic()

    def sleep(self, delay_s: float) -> None:
        self.base.sleep(delay_s)

    async def asleep(self, delay_s: float) -> None:
        await self.base.asleep(delay_s)
