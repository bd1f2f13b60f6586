"""Backends hold the shared state and apply the engine's contract to it atomically.

``base`` defines the protocols; ``memory`` keeps state in this process. Every backend passes the
same conformance suite (``tests/conformance``).
"""

from governor.backends.base import AsyncBackend, Backend
from governor.backends.memory import AsyncMemoryBackend, MemoryBackend

__all__ = ["AsyncBackend", "AsyncMemoryBackend", "Backend", "MemoryBackend"]
