"""Sending one script call on a kept connection: once, never replayed.

The I/O pieces both Redis backends share (``redis`` and ``redis_async``): connections kept
between calls, the checks before reusing one, the send itself (loading the script after
``NOSCRIPT``, which is safe: it did not run) and the client options that turn redis-py's own
retries off, since a replayed decision could spend twice.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from redis.backoff import NoBackoff
from redis.exceptions import (
    AskError,
    NoScriptError,
    RedisClusterException,
    RedisError,
    TryAgainError,
)
from redis.exceptions import (
    ConnectionError as RedisConnectionError,
)
from redis.retry import Retry

from governor.backends.scripts import Stage, Target, failure

if TYPE_CHECKING:
    from governor.errors import BackendUnavailable

__all__ = [
    "CLUSTER_TRIES",
    "REDIRECTS",
    "UNREACHABLE",
    "Idle",
    "asend",
    "astale",
    "connected",
    "lost_connection",
    "no_retry_options",
    "send",
    "stale",
]

C = TypeVar("C")
CLUSTER_TRIES = 3
# No node answers (RedisClusterException), or none serves the slot (SlotNotCoveredError, one of
# them) while a failover settles: nothing was sent.
UNREACHABLE = (RedisError, RedisClusterException)
# MOVED (a subclass of AskError), ASK, TRYAGAIN: the script did not run; re-route and resend.
REDIRECTS = (AskError, TryAgainError)


class Idle(Generic[C]):
    """Connections kept between calls, bypassing the pool's bookkeeping (about 10 µs a call).

    A call takes one (or gets one from the pool) and gives it back when it went well; a
    connection that failed goes back to the pool disconnected. Kept connections are
    per-process: after a fork they are forgotten, never shared with the parent. ``list.pop``
    and ``append`` are atomic, so threads and tasks need no lock.
    """

    def __init__(self) -> None:
        self._conns: list[C] = []
        self._pid = os.getpid()

    def take(self) -> C | None:
        if self._pid != os.getpid():
            self._conns, self._pid = [], os.getpid()
        try:
            return self._conns.pop()
        except IndexError:
            return None

    def keep(self, conn: C) -> None:
        if self._pid == os.getpid():
            self._conns.append(conn)

    def drain(self) -> list[C]:
        conns, self._conns = self._conns, []
        return conns if self._pid == os.getpid() else []


def lost_connection(exc: BackendUnavailable) -> bool:
    """Whether nothing ran because a kept connection had gone (a fresh one may succeed), as
    opposed to the server refusing the call (ACL, OOM, READONLY: the same again)."""
    return isinstance(exc.__cause__, (RedisConnectionError, OSError))


def stale(conn: Any) -> bool:
    """Whether a kept connection has something to read before we wrote: the server closed it
    (EOF) or it is out of step. Sending on it could lose the reply, so it is not used."""
    try:
        return bool(conn.can_read())
    except (RedisError, OSError):
        return True


async def astale(conn: Any) -> bool:
    """:func:`_stale` for an asyncio connection."""
    try:
        return bool(await conn.can_read())
    except (RedisError, OSError):
        return True


def no_retry_options(socket_timeout_s: float, connect_timeout_s: float) -> dict[str, Any]:
    # One connect attempt, no command retries: the backend owns the deadline and never replays.
    return {
        "socket_timeout": socket_timeout_s,
        "socket_connect_timeout": connect_timeout_s,
        "retry": Retry(NoBackoff(), 0),
    }


def send(conn: Any, target: Target, packed: bytes, cluster: bool) -> Any:
    """Send ``packed`` on ``conn`` once and read the reply; load the script on ``NOSCRIPT``."""
    stage: Stage = "write"
    try:
        conn.send_packed_command([packed])
        stage = "read"
        try:
            return conn.read_response()
        except NoScriptError:  # the script did not run: load it and send the call again
            stage = "before"  # SCRIPT LOAD decides nothing; a failure here spends nothing
            conn.send_command("SCRIPT", "LOAD", target.script.text)
            conn.read_response()
            stage = "write"
            conn.send_packed_command([packed])
            stage = "read"
            return conn.read_response()
    except RedisError as exc:
        if cluster and isinstance(exc, REDIRECTS):
            raise
        raise failure(target, exc, stage) from exc


async def asend(conn: Any, target: Target, packed: bytes, cluster: bool) -> Any:
    """The asyncio twin of :func:`_send`."""
    stage: Stage = "write"
    try:
        await conn.send_packed_command([packed])
        stage = "read"
        try:
            return await conn.read_response()
        except NoScriptError:
            stage = "before"
            await conn.send_command("SCRIPT", "LOAD", target.script.text)
            await conn.read_response()
            stage = "write"
            await conn.send_packed_command([packed])
            stage = "read"
            return await conn.read_response()
    except RedisError as exc:
        if cluster and isinstance(exc, REDIRECTS):
            raise
        raise failure(target, exc, stage) from exc


async def connected(node: Any) -> Any:
    """A connection of a Cluster node, connected; given back to the node if it cannot connect
    (else each failure would keep one of the node's ``max_connections`` for good)."""
    conn = node.acquire_connection()
    try:
        await conn.connect()
    except BaseException:
        node.release(conn)
        raise
    return conn
