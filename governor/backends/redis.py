"""The Redis backends: the engine's contract as one Lua script call per decision.

:class:`RedisBackend` (redis-py, sync) and :class:`AsyncRedisBackend` (``redis.asyncio``) only
do I/O; what they send and how a reply or an error is read lives in ``scripts``. Both work with
a standalone server (``redis://``, ``rediss://``, ``unix://``, Sentinel-managed pools) and with
Redis Cluster (an account's state is one key, so a decision touches one node).

A call is sent once and never replayed: an error before the command left the client raises
:class:`~governor.errors.BackendUnavailable`, a lost reply raises
:class:`~governor.errors.IndeterminateOutcome`. A ``NOSCRIPT`` reply (after ``SCRIPT FLUSH``, a
restart or a failover) loads the script and sends the call again, which is safe: the script did
not run. Time is the server's ``TIME`` unless a ``clock`` is given (a test-only override).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import redis
import redis.asyncio
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.exceptions import (
    AskError,
    NoScriptError,
    RedisClusterException,
    RedisError,
    SlotNotCoveredError,
    TryAgainError,
)
from redis.exceptions import (
    ConnectionError as RedisConnectionError,
)
from redis.retry import Retry

from governor.backends import urls
from governor.backends.scripts import Calls, Stage, Target, acl_rules, failure, slot_moving
from governor.backends.sentinel import AsyncMasterWatch, MasterWatch, elsewhere, is_sentinel
from governor.errors import BackendError, BackendUnavailable
from governor.keys import account_key
from governor.status import Snapshot, from_hash

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from governor.clock import Clock
    from governor.decision import Decision
    from governor.engine import CallSpec
    from governor.reconcile import Adjustment

__all__ = ["AsyncRedisBackend", "RedisBackend"]

log = logging.getLogger("governor")

C = TypeVar("C")
_CLUSTER_TRIES = 3
# No node answers (RedisClusterException), or none serves the slot (SlotNotCoveredError, one of
# them) while a failover settles: nothing was sent.
_UNREACHABLE = (RedisError, RedisClusterException)
# MOVED (a subclass of AskError), ASK, TRYAGAIN: the script did not run; re-route and resend.
_REDIRECTS = (AskError, TryAgainError)


class _Idle(Generic[C]):
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


def _pause_news(data: object, on_pause: Callable[[str, int], None]) -> None:
    """Hand a published "<until µs> <bucket>" to ``on_pause``; ignore anything else."""
    text = data.decode(errors="replace") if isinstance(data, bytes) else str(data)
    until, _, bucket = text.partition(" ")
    if until.isdigit():
        on_pause(bucket, int(until))


class _PauseWatcher(threading.Thread):
    """Listens to an account's pause channel until stopped; reconnects after a failure."""

    def __init__(self, client: Any, channel: str, on_pause: Callable[[str, int], None]) -> None:
        super().__init__(name=f"governor-pauses-{channel[-20:]}", daemon=True)
        self._client, self._channel, self._on_pause = client, channel, on_pause
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        while not self._stopped.is_set():
            try:
                with self._client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    pubsub.subscribe(self._channel)
                    while not self._stopped.is_set():
                        message = pubsub.get_message(timeout=0.5)
                        if message is not None:
                            _pause_news(message["data"], self._on_pause)
            except (RedisError, OSError, ValueError):  # down or closed: try again shortly
                self._stopped.wait(1.0)
            except Exception:  # redis-py after a close() from another thread, or a bug
                if self._stopped.is_set():  # close() pulled the connection away: done
                    return
                log.warning("governor: the pause watcher of %s failed; retrying", self.name,
                            exc_info=True)
                self._stopped.wait(1.0)


def _lost_connection(exc: BackendUnavailable) -> bool:
    """Whether nothing ran because a kept connection had gone (a fresh one may succeed), as
    opposed to the server refusing the call (ACL, OOM, READONLY: the same again)."""
    return isinstance(exc.__cause__, (RedisConnectionError, OSError))


def _stale(conn: Any) -> bool:
    """Whether a kept connection has something to read before we wrote: the server closed it
    (EOF) or it is out of step. Sending on it could lose the reply, so it is not used."""
    try:
        return bool(conn.can_read())
    except (RedisError, OSError):
        return True


async def _astale(conn: Any) -> bool:
    """:func:`_stale` for an asyncio connection."""
    try:
        return bool(await conn.can_read())
    except (RedisError, OSError):
        return True


def _client_options(socket_timeout_s: float, connect_timeout_s: float) -> dict[str, Any]:
    # One connect attempt, no command retries: the backend owns the deadline and never replays.
    return {
        "socket_timeout": socket_timeout_s,
        "socket_connect_timeout": connect_timeout_s,
        "retry": Retry(NoBackoff(), 0),
    }


def _send(conn: Any, target: Target, packed: bytes, cluster: bool) -> Any:
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
        if cluster and isinstance(exc, _REDIRECTS):
            raise
        raise failure(target, exc, stage) from exc


async def _asend(conn: Any, target: Target, packed: bytes, cluster: bool) -> Any:
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
        if cluster and isinstance(exc, _REDIRECTS):
            raise
        raise failure(target, exc, stage) from exc


async def _connected(node: Any) -> Any:
    """A connection of a Cluster node, connected; given back to the node if it cannot connect
    (else each failure would keep one of the node's ``max_connections`` for good)."""
    conn = node.acquire_connection()
    try:
        await conn.connect()
    except BaseException:
        node.release(conn)
        raise
    return conn


class RedisBackend:
    """Shared state in Redis, for a synchronous client (``redis.Redis`` or ``RedisCluster``).

    ``client`` is used as given (its pool, TLS, auth); it is closed by :meth:`close` only when
    ``close_client`` is true, as it is for :meth:`from_url`. Keys start with ``prefix``.
    """

    def __init__(
        self,
        client: redis.Redis | RedisCluster,
        *,
        prefix: str = "governor",
        clock: Clock | None = None,
        close_client: bool = False,
    ) -> None:
        self.client = client
        self.clock = clock
        self._calls = Calls(prefix, clock)
        self._close_client = close_client
        self._pool = None if isinstance(client, RedisCluster) else client.connection_pool
        self._idle: _Idle[Any] = _Idle()
        self._watchers: dict[str, Any] = {}
        self._stale = False
        self._master: MasterWatch | None = None
        if is_sentinel(self._pool):
            self._master = MasterWatch(self._pool)
            self._master.start()

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
    ) -> RedisBackend:
        """A backend on its own client for ``url``: one server (``redis://``, ``rediss://``,
        ``unix://``), a Cluster (``redis+cluster://``, ``rediss+cluster://``, or ``cluster``
        with ``redis://``), or the master Sentinels name (``redis+sentinel://``); see
        :mod:`governor.backends.urls`. ``client_options`` go to redis-py's client.

        Only the Cluster client connects here (to learn the slots): if no startup node answers,
        :class:`~governor.errors.BackendUnavailable`. The others connect on first use.
        """
        options = _client_options(socket_timeout_s, connect_timeout_s) | client_options
        try:
            client = urls.sync_client(url, options, cluster)
        except (RedisError, RedisClusterException) as exc:
            where = urls.parse(url, cluster).where()
            raise BackendUnavailable(
                f"could not learn the slots of the Redis Cluster at {where} ({exc}). Check the "
                "URL, that a startup node is up, and that the user has the ACL rules "
                f"{acl_rules(prefix, cluster=True)}"
            ) from exc
        return cls(client, prefix=prefix, clock=clock, close_client=True)

    def decide(
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
        return self._calls.decision(plan, self._run(plan, packed), spec.route, cost)

    def refund(
        self,
        account: str,
        spec: CallSpec,
        cost: int,
        marks: Sequence[int],
        priors: Sequence[int],
        quota_day: int,
    ) -> None:
        self._run(*self._calls.refund(account, spec, cost, marks, priors, quota_day))

    def apply(self, account: str, spec: CallSpec, adjustment: Adjustment) -> None:
        """Apply a reconcile adjustment to the call's scopes at once (an urgent one)."""
        self._run(*self._calls.acquire(account, spec, 0, False, 0, adjustment))

    def pause(self, account: str, until_us: int, bucket: str | None = None) -> None:
        """Hold every call of ``account`` (or of one bucket) until ``until_us``; never shortens."""
        self._run(*self._calls.pause(account, until_us, bucket))

    def snapshot(self, account: str) -> Snapshot:
        """The account's stored state at the server's time (for ``governor status``)."""
        try:
            fields = self.client.hgetall(account_key(self._calls.prefix, account))
            seconds, micros = self.client.time()
        except _UNREACHABLE as exc:
            raise BackendUnavailable(f"reading account {account[:8]}…: {exc}") from exc
        now_us = self.clock.now_us() if self.clock else int(seconds) * 1_000_000 + int(micros)
        return from_hash(now_us, fields)

    def watch_pauses(self, account: str, on_pause: Callable[[str, int], None]) -> None:
        """Call ``on_pause(bucket, until_us)`` (``""``: the account) whenever any process sets
        a pause on ``account``, so callers asleep on earlier slots wait it out. One background
        thread per account, stopped by :meth:`close`; best effort (a lost notice only means a
        call may meet the provider's 429). Not on Redis Cluster."""
        if self._pool is None or account in self._watchers:
            return
        channel = account_key(self._calls.prefix, account) + ":pauses"
        watcher = _PauseWatcher(self.client, channel, on_pause)
        self._watchers[account] = watcher
        watcher.start()

    def close(self) -> None:
        """Close the client if this backend owns it (and stop watching pauses)."""
        for watcher in self._watchers.values():
            watcher.stop()
        if self._master is not None:
            self._master.stop()
        if self._pool is not None:
            for conn in self._idle.drain():
                self._pool.release(conn)
        if self._close_client:
            self.client.close()

    def _run(self, target: Target, packed: bytes) -> Any:
        pool = self._pool
        if pool is None:
            return self._run_cluster(target, packed)
        conn = self._idle.take()
        if conn is not None and (
            _stale(conn)  # closed by the server since its last call
            or (self._master is not None and elsewhere(conn, pool))  # to a demoted master
        ):
            conn.disconnect()
            pool.release(conn)
            conn = None
        if conn is not None:
            try:
                result = _send(conn, target, packed, False)
            except BackendUnavailable as exc:
                conn.disconnect()
                pool.release(conn)
                if not _lost_connection(exc):  # a refusal (ACL, OOM...): the same again
                    raise
            except BaseException:
                conn.disconnect()
                pool.release(conn)
                raise
            else:
                self._idle.keep(conn)
                return result
        try:
            conn = pool.get_connection()
        except RedisError as exc:
            raise failure(target, exc, "before") from exc
        try:
            result = _send(conn, target, packed, False)
        except BaseException:
            pool.release(conn)
            raise
        self._idle.keep(conn)
        return result

    def _run_cluster(self, target: Target, packed: bytes) -> Any:
        client = self.client
        assert isinstance(client, RedisCluster)
        for _ in range(_CLUSTER_TRIES):
            try:
                if self._stale:  # after a failover or a MOVED: learn the slots again
                    self._stale = False
                    client.nodes_manager.initialize()
                node = client.get_node_from_key(target.key)  # type: ignore[no-untyped-call]  # untyped in redis-py
                pool = client.get_redis_connection(node).connection_pool
                conn = pool.get_connection()
            except _UNREACHABLE as exc:
                self._stale = True
                raise failure(target, exc, "before") from exc
            try:
                return _send(conn, target, packed, True)
            except _REDIRECTS:
                self._stale = True
            except BackendError:
                self._stale = True
                raise
            finally:
                pool.release(conn)
        raise slot_moving(target)

    def __repr__(self) -> str:
        return f"RedisBackend(prefix={self._calls.prefix!r}, client={self.client!r})"


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
        self._idle: _Idle[Any] = _Idle()
        self._stale = False
        self._master = AsyncMasterWatch(self._pool) if is_sentinel(self._pool) else None

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
        options = _client_options(socket_timeout_s, connect_timeout_s) | client_options
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
        except _UNREACHABLE as exc:
            raise BackendUnavailable(f"reading account {account[:8]}…: {exc}") from exc
        now_us = self.clock.now_us() if self.clock else int(seconds) * 1_000_000 + int(micros)
        return from_hash(now_us, fields)

    async def aclose(self) -> None:
        """Close the client if this backend owns it."""
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
            await _astale(conn)  # closed by the server since its last call
            or (master is not None and elsewhere(conn, pool))  # to a demoted master
        ):
            await conn.disconnect()
            await pool.release(conn)
            conn = None
        if conn is not None:
            try:
                result = await _asend(conn, target, packed, False)
            except BackendUnavailable as exc:
                await conn.disconnect()
                await pool.release(conn)
                if not _lost_connection(exc):  # a refusal (ACL, OOM...): the same again
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
            result = await _asend(conn, target, packed, False)
        except BaseException:
            await pool.release(conn)
            raise
        self._idle.keep(conn)
        return result

    async def _run_cluster(self, target: Target, packed: bytes) -> Any:
        client = self.client
        assert isinstance(client, redis.asyncio.RedisCluster)
        for _ in range(_CLUSTER_TRIES):
            try:
                await client.initialize()
                if self._stale:  # after a failover or a MOVED: learn the slots again
                    self._stale = False
                    await client.nodes_manager.initialize()
                node = client.get_node_from_key(target.key)
                if node is None:
                    raise SlotNotCoveredError(f"no node serves the slot of {target.key}")
                conn = await _connected(node)
            except _UNREACHABLE as exc:
                self._stale = True
                raise failure(target, exc, "before") from exc
            try:
                return await _asend(conn, target, packed, True)
            except _REDIRECTS:
                self._stale = True
            except BackendError:
                self._stale = True
                raise
            finally:
                node.release(conn)
        raise slot_moving(target)

    def __repr__(self) -> str:
        return f"AsyncRedisBackend(prefix={self._calls.prefix!r}, client={self.client!r})"
