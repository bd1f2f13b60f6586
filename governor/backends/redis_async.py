"""The asyncio Redis backend: :class:`AsyncRedisBackend`, the twin of
:class:`~governor.backends.redis.RedisBackend` over ``redis.asyncio`` (same contract, same
script calls, same errors; see that module)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import redis
import redis.asyncio
from redis.exceptions import RedisError, SlotNotCoveredError

from governor.backends import urls
from governor.backends.pauses import AsyncPauseWatcher
from governor.backends.scripts import Calls, Target, failure, slot_moving
from governor.backends.sentinel import AsyncMasterWatch, elsewhere, is_sentinel
from governor.backends.wire import (
    CLUSTER_TRIES,
    REDIRECTS,
    UNREACHABLE,
    Idle,
    asend,
    astale,
    connected,
    lost_connection,
    no_retry_options,
)
from governor.errors import BackendError, BackendUnavailable
from governor.keys import account_key
from governor.status import Snapshot, from_hash

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from governor.clock import Clock
    from governor.decision import Decision
    from governor.engine import CallSpec
    from governor.reconcile import Adjustment

__all__ = ["AsyncRedisBackend"]


class AsyncRedisBackend:
    """Shared state in Redis, for an asyncio client (``redis.asyncio.Redis`` or its
    ``RedisCluster``). Same semantics as :class:`RedisBackend`."""

    def __init__(
        self,
        client: redis.asyncio.Redis | redis.asyncio.RedisCluster,
        *,
        prefix: str = "governor",
        clock: Clock | None = None,
        close_client: bool = False,
    ) -> None:
        self.client = client
        self.clock = clock
        self._calls = Calls(prefix, clock)
        self._close_client = close_client
        self._pool = (
            None if isinstance(client, redis.asyncio.RedisCluster) else client.connection_pool
        )
        self._idle: Idle[Any] = Idle()
        self._stale = False
        self._master = AsyncMasterWatch(self._pool) if is_sentinel(self._pool) else None
        self._watchers: dict[str, AsyncPauseWatcher] = {}

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = "governor",
        clock: Clock | None = None,
        socket_timeout_s: float = 1.0,
        connect_timeout_s: float = 1.0,
        cluster: bool = False,
        **client_options: Any,
    ) -> AsyncRedisBackend:
        """A backend on its own client for ``url``; see :meth:`RedisBackend.from_url` (here
        every kind of client connects on first use)."""
        options = no_retry_options(socket_timeout_s, connect_timeout_s) | client_options
        client = urls.async_client(url, options, cluster)
        return cls(client, prefix=prefix, clock=clock, close_client=True)

    async def decide(
        self,
        account: str,
        spec: CallSpec,
        cost: int,
        high_priority: bool,
        max_wait_us: int,
        adjustment: Adjustment | None = None,
    ) -> Decision:
        plan, packed = self._calls.acquire(
            account, spec, cost, high_priority, max_wait_us, adjustment
        )
        return self._calls.decision(plan, await self._run(plan, packed), spec.route, cost)

    async def refund(
        self,
        account: str,
        spec: CallSpec,
        cost: int,
        marks: Sequence[int],
        priors: Sequence[int],
        quota_day: int,
    ) -> None:
        await self._run(*self._calls.refund(account, spec, cost, marks, priors, quota_day))

    async def apply(self, account: str, spec: CallSpec, adjustment: Adjustment) -> None:
        """Apply a reconcile adjustment to the call's scopes at once (an urgent one)."""
        await self._run(*self._calls.acquire(account, spec, 0, False, 0, adjustment))

    async def pause(self, account: str, until_us: int, bucket: str | None = None) -> None:
        """Hold every call of ``account`` (or of one bucket) until ``until_us``; never shortens."""
        await self._run(*self._calls.pause(account, until_us, bucket))

    async def snapshot(self, account: str) -> Snapshot:
        """The account's stored state at the server's time (for ``governor status``)."""
        try:
            fields = await self.client.hgetall(account_key(self._calls.prefix, account))
            seconds, micros = await self.client.time()
        except UNREACHABLE as exc:
            raise BackendUnavailable(f"reading account {account[:8]}…: {exc}") from exc
        now_us = self.clock.now_us() if self.clock else int(seconds) * 1_000_000 + int(micros)
        return from_hash(now_us, fields)

    def watch_pauses(self, account: str, on_pause: Callable[[str, int], None]) -> None:
        """Call ``on_pause(bucket, delay_us)`` (``""``: the account) whenever any process sets
        a pause on ``account``; see :meth:`RedisBackend.watch_pauses`. One task per account on
        the running loop, stopped by :meth:`aclose`. Not on Redis Cluster."""
        if self._pool is None or account in self._watchers:
            return
        channel = account_key(self._calls.prefix, account) + ":pauses"
        self._watchers[account] = AsyncPauseWatcher(self.client, channel, on_pause)

    async def aclose(self) -> None:
        """Close the client if this backend owns it (and stop watching pauses)."""
        for watcher in self._watchers.values():
            await watcher.stop()
        if self._master is not None:
            await self._master.stop()
        if self._pool is not None:
            for conn in self._idle.drain():
                await self._pool.release(conn)
        if self._close_client:
            await self.client.aclose()

    async def _run(self, target: Target, packed: bytes) -> Any:
        pool = self._pool
        if pool is None:
            return await self._run_cluster(target, packed)
        conn = self._idle.take()
        master = self._master
        if master is not None:
            master.ensure_running()
        if conn is not None and (
            await astale(conn)  # closed by the server since its last call
            or (master is not None and elsewhere(conn, pool))  # to a demoted master
        ):
            await conn.disconnect()
            await pool.release(conn)
            conn = None
        if conn is not None:
            try:
                result = await asend(conn, target, packed, False)
            except BackendUnavailable as exc:
                await conn.disconnect()
                await pool.release(conn)
                if not lost_connection(exc):  # a refusal (ACL, OOM...): the same again
                    raise
            except BaseException:
                await conn.disconnect()
                await pool.release(conn)
                raise
            else:
                self._idle.keep(conn)
                return result
        try:
            conn = await pool.get_connection()  # type: ignore[no-untyped-call]  # untyped in redis-py
        except RedisError as exc:
            raise failure(target, exc, "before") from exc
        try:
            result = await asend(conn, target, packed, False)
        except BaseException:
            await pool.release(conn)
            raise
        self._idle.keep(conn)
        return result

    async def _run_cluster(self, target: Target, packed: bytes) -> Any:
        client = self.client
        assert isinstance(client, redis.asyncio.RedisCluster)
        for _ in range(CLUSTER_TRIES):
            try:
                await client.initialize()
                if self._stale:  # after a failover or a MOVED: learn the slots again
                    self._stale = False
                    await client.nodes_manager.initialize()
                node = client.get_node_from_key(target.key)
                if node is None:
                    raise SlotNotCoveredError(f"no node serves the slot of {target.key}")
                conn = await connected(node)
            except UNREACHABLE as exc:
                self._stale = True
                raise failure(target, exc, "before") from exc
            try:
                return await asend(conn, target, packed, True)
            except REDIRECTS:
                self._stale = True
            except BackendError:
                self._stale = True
                raise
            finally:
                node.release(conn)
        raise slot_moving(target)

    def __repr__(self) -> str:
        return f"AsyncRedisBackend(prefix={self._calls.prefix!r}, {urls.describe(self.client)})"
