"""The composition root: settings in, a governor's parts out. Nothing else reads settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from governor.backends.fallback import AsyncFallbackBackend, FallbackBackend
from governor.backends.memory import AsyncMemoryBackend, MemoryBackend
from governor.backends.redis import AsyncRedisBackend, RedisBackend
from governor.clock import Clock, SystemClock
from governor.settings import GovernorSettings

if TYPE_CHECKING:
    from governor.keys import AccountId
    from governor.policy import Policy

__all__ = ["Parts", "compose"]


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
        settings = GovernorSettings.load(**{**settings.model_dump(), **overrides})
    clock = SystemClock()
    backend: Any
    if settings.redis_url is not None:
        mode, fleet = settings.failure_policy, settings.fleet_size
        url, prefix = settings.redis_url, settings.key_prefix
        if asynchronous:
            primary = AsyncRedisBackend.from_url(url, prefix=prefix)
            backend = AsyncFallbackBackend(primary, mode=mode, fleet_size=fleet)
        else:
            sync = RedisBackend.from_url(url, prefix=prefix)
            backend = FallbackBackend(sync, mode=mode, fleet_size=fleet)
    else:
        backend = AsyncMemoryBackend(clock=clock) if asynchronous else MemoryBackend(clock)
    return Parts(settings.policy(), backend, settings.account_id(), clock)
