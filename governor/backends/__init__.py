"""Backends hold the shared state and apply the engine's contract to it atomically.

``base`` defines the protocols; ``memory`` keeps state in this process; ``redis`` and
``redis_async`` share it through one Lua script call per decision (``scripts`` packs the calls
and reads the replies, ``wire`` sends them, ``urls`` turns a URL into a client, ``sentinel``
follows a failover, ``pauses`` hears the pauses other processes set); ``fallback`` decides by
the failure policy when the shared backend is down (``local`` is its I/O-free half;
``deferred`` makes a backend that could not be made at start). Every backend passes the same
conformance suite (``tests/conformance``).
"""

from governor.backends.base import AsyncBackend, Backend
from governor.backends.fallback import AsyncFallbackBackend, FallbackBackend
from governor.backends.memory import AsyncMemoryBackend, MemoryBackend
from governor.backends.redis import RedisBackend
from governor.backends.redis_async import AsyncRedisBackend

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
