"""Following a Sentinel failover within a second: ask the Sentinels which server is the master.

redis-py's Sentinel pool asks for the master only when it opens a connection, and the backend
keeps its connections open between calls. After a requested failover (``SENTINEL FAILOVER``)
the old master stays writable for about ten seconds, until a Sentinel demotes it; decisions
made there in that time are lost when it resyncs from the new master. So a watcher asks the
Sentinels every :data:`CHECK_S` seconds (``pool.get_master_address()``, which also closes the
pool's idle connections when the master moved), and the backend drops a kept connection to any
other server before using it (:func:`elsewhere`). A crashed master needs none of this: its
connections fail, and the next one asks the Sentinels.

The sync watcher is a daemon thread, the asyncio one a task on the backend's loop; both are
stopped when the backend closes. A Sentinel that does not answer is skipped until the next
check: calls go on to the master already known.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

import redis.asyncio.sentinel
import redis.sentinel
from redis.exceptions import RedisError

__all__ = ["CHECK_S", "AsyncMasterWatch", "MasterWatch", "elsewhere", "is_sentinel"]

CHECK_S = 1.0
log = logging.getLogger("governor")
_POOLS = (redis.sentinel.SentinelConnectionPool, redis.asyncio.sentinel.SentinelConnectionPool)


def is_sentinel(pool: object) -> bool:
    """Whether ``pool`` connects to the master a Sentinel group names."""
    return isinstance(pool, _POOLS)


def elsewhere(conn: Any, pool: Any) -> bool:
    """Whether a kept connection is to a server other than the master the pool last heard of."""
    address = pool.master_address
    return address is not None and (conn.host, conn.port) != tuple(address)


class MasterWatch(threading.Thread):
    """Asks the Sentinels for the master every ``every_s`` seconds, until stopped."""

    def __init__(self, pool: Any, every_s: float = CHECK_S) -> None:
        super().__init__(name=f"governor-sentinel-{pool.service_name}", daemon=True)
        self._pool, self._every_s = pool, every_s
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        while not self._stopped.wait(self._every_s):
            before = self._pool.master_address
            try:
                _moved(before, self._pool.get_master_address())
            except (RedisError, OSError):  # no Sentinel answered: keep the master we know
                continue
            except Exception:  # redis-py after a close() from another thread, or a bug
                if self._stopped.is_set():
                    return
                log.warning("governor: asking the Sentinels for the master failed; retrying",
                            exc_info=True)


class AsyncMasterWatch:
    """The asyncio twin of :class:`MasterWatch`: a task started by the first call."""

    def __init__(self, pool: Any, every_s: float = CHECK_S) -> None:
        self._pool, self._every_s = pool, every_s
        self._task: asyncio.Task[None] | None = None

    def ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._every_s)
            before = self._pool.master_address
            try:
                _moved(before, await self._pool.get_master_address())
            except (RedisError, OSError):  # no Sentinel answered: keep the master we know
                continue
            except Exception:  # a bug, here or in redis-py: say so, and keep watching
                log.warning("governor: asking the Sentinels for the master failed; retrying",
                            exc_info=True)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _moved(before: Any, after: Any) -> None:
    if after is not None and before is not None and tuple(after) != tuple(before):
        log.warning("governor: the Sentinels name a new master (%s:%s); moving decisions there",
                    *after)
