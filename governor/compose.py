"""The composition root: settings in, a governor's parts out. Nothing else reads settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from governor.backends.memory import AsyncMemoryBackend, MemoryBackend
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
        # Imported here: redis-py adds ~90 ms to ``import governor`` for memory-only users.
        from governor.backends.redis import (  # noqa: PLC0415
            AsyncRedisBackend,
            RedisBackend,
        )

        redis_backend = AsyncRedisBackend if asynchronous else RedisBackend
        backend = redis_backend.from_url(settings.redis_url, prefix=settings.key_prefix)
    else:
        backend = AsyncMemoryBackend(clock=clock) if asynchronous else MemoryBackend(clock)
    return Parts(settings.policy(), backend, settings.account_id(), clock)
