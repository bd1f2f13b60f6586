"""Backends hold the shared state and apply the engine's contract to it atomically.

``base`` defines the protocols; ``memory`` keeps state in this process; ``redis`` shares it
through one Lua script call per decision; ``fallback`` decides by the failure policy when the
shared backend is down. Every backend passes the
same conformance suite (``tests/conformance``).
"""

from governor.backends.base import AsyncBackend, Backend
from governor.backends.fallback import AsyncFallbackBackend, FallbackBackend
from governor.backends.memory import AsyncMemoryBackend, MemoryBackend
from governor.backends.redis import AsyncRedisBackend, RedisBackend

__all__ = [
    "AsyncBackend",
    "AsyncFallbackBackend",
    "AsyncMemoryBackend",
    "AsyncRedisBackend",
    "Backend",
    "FallbackBackend",
    "MemoryBackend",
    "RedisBackend",
]
