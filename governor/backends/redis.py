"""The Redis backend: the engine's contract as one Lua script call per decision.

:class:`RedisBackend` (redis-py, sync; its asyncio twin is
:class:`~governor.backends.redis_async.AsyncRedisBackend`) only does I/O: what it sends and how
a reply or an error is read lives in ``scripts``, the send itself in ``wire``. It works with a
standalone server (``redis://``, ``rediss://``, ``unix://``), a Sentinel-managed pool (following
a failover within a second, see ``sentinel``) and Redis Cluster (an account's state is one key,
so a decision touches one node).

A call is sent once and never replayed: an error before the command left the client raises
:class:`~governor.errors.BackendUnavailable`, a lost reply raises
:class:`~governor.errors.IndeterminateOutcome`. A ``NOSCRIPT`` reply (after ``SCRIPT FLUSH``, a
restart or a failover) loads the script and sends the call again, which is safe: the script did
not run. Time is the server's ``TIME`` unless a ``clock`` is given (a test-only override).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError

from governor.backends import urls
from governor.backends.pauses import PauseWatcher
from governor.backends.scripts import Calls, Target, acl_rules, failure, slot_moving
from governor.backends.sentinel import MasterWatch, elsewhere, is_sentinel
from governor.backends.wire import (
    CLUSTER_TRIES,
    REDIRECTS,
    UNREACHABLE,
    Idle,
    lost_connection,
    no_retry_options,
    send,
    stale,
)
from governor.errors import BackendError, BackendUnavailable
from governor.keys import account_key
from governor.status import Snapshot, from_hash

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import redis

    from governor.clock import Clock
    from governor.decision import Decision
    from governor.engine import CallSpec
    from governor.reconcile import Adjustment

__all__ = ["RedisBackend"]


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
        self._idle: Idle[Any] = Idle()
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
        options = no_retry_options(socket_timeout_s, connect_timeout_s) | client_options
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
        except UNREACHABLE as exc:
            raise BackendUnavailable(f"reading account {account[:8]}…: {exc}") from exc
        now_us = self.clock.now_us() if self.clock else int(seconds) * 1_000_000 + int(micros)
        return from_hash(now_us, fields)

    def watch_pauses(self, account: str, on_pause: Callable[[str, int], None]) -> None:
        """Call ``on_pause(bucket, delay_us)`` (``""``: the account; ``delay_us`` how long the
        pause lasts from now) whenever any process sets a pause on ``account``, so callers
        asleep on earlier slots decide again when they wake. One background
        thread per account, stopped by :meth:`close`; best effort (a lost notice only means a
        call may meet the provider's 429). Not on Redis Cluster."""
        if self._pool is None or account in self._watchers:
            return
        channel = account_key(self._calls.prefix, account) + ":pauses"
        watcher = PauseWatcher(self.client, channel, on_pause)
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
            stale(conn)  # closed by the server since its last call
            or (self._master is not None and elsewhere(conn, pool))  # to a demoted master
        ):
            conn.disconnect()
            pool.release(conn)
            conn = None
        if conn is not None:
            try:
                result = send(conn, target, packed, False)
            except BackendUnavailable as exc:
                conn.disconnect()
                pool.release(conn)
                if not lost_connection(exc):  # a refusal (ACL, OOM...): the same again
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
            result = send(conn, target, packed, False)
        except BaseException:
            pool.release(conn)
            raise
        self._idle.keep(conn)
        return result

    def _run_cluster(self, target: Target, packed: bytes) -> Any:
        client = self.client
        assert isinstance(client, RedisCluster)
        for _ in range(CLUSTER_TRIES):
            try:
                if self._stale:  # after a failover or a MOVED: learn the slots again
                    self._stale = False
                    client.nodes_manager.initialize()
                node = client.get_node_from_key(target.key)  # type: ignore[no-untyped-call]  # untyped in redis-py
                pool = client.get_redis_connection(node).connection_pool
                conn = pool.get_connection()
            except UNREACHABLE as exc:
                self._stale = True
                raise failure(target, exc, "before") from exc
            try:
                return send(conn, target, packed, True)
            except REDIRECTS:
                self._stale = True
            except BackendError:
                self._stale = True
                raise
            finally:
                pool.release(conn)
        raise slot_moving(target)

    def __repr__(self) -> str:
        return f"RedisBackend(prefix={self._calls.prefix!r}, {urls.describe(self.client)})"
