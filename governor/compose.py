"""The composition root: settings in, a governor's parts out. Nothing else reads settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from governor.backends.deferred import DeferredBackend
from governor.backends.fallback import AsyncFallbackBackend, FallbackBackend
from governor.backends.memory import AsyncMemoryBackend, MemoryBackend
from governor.backends.redis import RedisBackend
from governor.backends.redis_async import AsyncRedisBackend
from governor.breaker import CircuitBreaker
from governor.clock import Clock, SystemClock
from governor.errors import BackendUnavailable
from governor.settings import GovernorSettings

if TYPE_CHECKING:
    from governor.keys import AccountId
    from governor.policy import Policy

__all__ = ["Parts", "compose"]

log = logging.getLogger("governor")


@dataclass(frozen=True)
class Parts:
    """What a shell is built from."""

    policy: Policy
    backend: Any
    account: AccountId
    clock: Clock


def compose(
    settings: GovernorSettings | None, overrides: dict[str, Any], *, asynchronous: bool
) -> Parts:
    """Read settings (with ``overrides`` on top) and wire policy, backend, account and clock."""
    if settings is None:
        settings = GovernorSettings.load(**overrides)
    elif overrides:
        settings = settings.replace(**overrides)
    clock = SystemClock()
    backend: Any
    if settings.redis_url is not None:
        url, timeout_s = settings.redis_url, settings.redis_timeout_s
        redis_options: dict[str, Any] = {
            "prefix": settings.key_prefix,
            "socket_timeout_s": timeout_s,
            "connect_timeout_s": timeout_s,
        }
        failures: dict[str, Any] = {
            "mode": settings.failure_policy,
            "fleet_size": settings.fleet_size,
            "breaker": CircuitBreaker(settings.breaker_failures, settings.breaker_reset_s),
        }
        if asynchronous:
            primary = AsyncRedisBackend.from_url(url, **redis_options)
            backend = AsyncFallbackBackend(primary, **failures)
        else:
            backend = FallbackBackend(_sync_primary(url, redis_options), **failures)
    else:
        backend = AsyncMemoryBackend(clock=clock) if asynchronous else MemoryBackend(clock)
    return Parts(settings.policy(), backend, settings.account_id(), clock)


def _sync_primary(url: str, options: dict[str, Any]) -> RedisBackend | DeferredBackend:
    """The sync Redis backend; made later if it cannot be now (a Cluster whose startup nodes
    do not answer), so that the process starts and decides by its failure policy."""

    def make() -> RedisBackend:
        return RedisBackend.from_url(url, **options)

    try:
        return make()
    except BackendUnavailable as exc:
        log.warning("governor: %s; deciding by the failure policy until it answers", exc)
        return DeferredBackend(make)

