"""A Sentinel group on loopback: a master, replicas, and Sentinels watching them; failover by
request or by crashing the master."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from governor.deployments.common import READY_S, REPLICATION, info, stop_all, wait
from governor.embedded import RedisServer, start_server

__all__ = ["SentinelGroup", "start_sentinels"]


@dataclass
class SentinelGroup:
    """A master and its replicas under ``sentinels`` watching them as ``service``."""

    service: str
    servers: list[RedisServer]  # [initial master, replicas...]
    sentinels: list[RedisServer]

    @property
    def url(self) -> str:
        """``redis+sentinel://127.0.0.1:<port>,.../<service>/0``."""
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{quote(self.service)}/0"

    def master(self) -> RedisServer:
        """The master as the first Sentinel names it."""
        return self.server(self._master_port(self.sentinels[0]))

    def server(self, port: int) -> RedisServer:
        return next(s for s in self.servers if s.port == port)

    def _master_port(self, sentinel: RedisServer) -> int:
        with sentinel.client(socket_timeout=2) as client:
            _, port = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.service)
            return int(port)

    def replicas(self, sentinel: RedisServer | None = None) -> list[dict[str, str]]:
        """The replicas of the master as a Sentinel sees them (``SENTINEL REPLICAS``)."""
        with (sentinel or self.sentinels[0]).client(socket_timeout=2) as client:
            rows = client.sentinel_slaves(self.service)
        return [{str(k): str(v) for k, v in row.items()} for row in rows]

    def failover(
        self, crash: bool = False, timeout_s: float = READY_S
    ) -> tuple[RedisServer, RedisServer]:
        """Promote a replica: ask for it (``SENTINEL FAILOVER``), or ``crash`` the master
        (``SIGKILL``) and let the Sentinels agree it is down and elect a new one. Returns (old
        master, new master) once every Sentinel names the new one and it accepts writes.

        After a requested failover the old master keeps acting as a master (and taking
        writes) until a Sentinel turns it into a replica, about 10 s later.
        """
        old = self.master()
        wait("a replica the Sentinels can promote", lambda: any(
            r["flags"] == "slave" and r["master-link-status"] == "ok" for r in self.replicas()),
            timeout_s)
        if crash:
            old.process.kill()
            old.process.wait()
        else:
            with self.sentinels[0].client(socket_timeout=2) as client:
                client.execute_command("SENTINEL", "FAILOVER", self.service)
        wait("a new master", lambda: self._master_port(self.sentinels[0]) != old.port,
             timeout_s)
        new = self.master()
        wait(f"every Sentinel naming port {new.port}",
             lambda: all(self._master_port(s) == new.port for s in self.sentinels), timeout_s)
        wait(f"port {new.port} acting as master",
             lambda: info(new, "replication").get("role") == "master", timeout_s)
        return old, new

    def stop(self) -> None:
        stop_all([*self.sentinels, *self.servers])


def _sentinel_ready(group: SentinelGroup) -> bool:
    for sentinel in group.sentinels:
        with sentinel.client(socket_timeout=2) as client:
            peers = client.execute_command("SENTINEL", "SENTINELS", group.service)
        replicas = group.replicas(sentinel)
        if len(replicas) != len(group.servers) - 1 or len(peers) != len(group.sentinels) - 1:
            return False
    return True


def start_sentinels(
    binary: str | None = None,
    service: str = "governor",
    sentinels: int = 3,
    replicas: int = 1,
    down_after_ms: int = 1000,
) -> SentinelGroup:
    """Start a master, ``replicas`` replicas and ``sentinels`` Sentinels (quorum: a majority)
    that fail the master over after ``down_after_ms`` without an answer."""
    started: list[RedisServer] = []
    watchers: list[RedisServer] = []
    try:
        master = start_server(binary, args=REPLICATION)
        started.append(master)
        for _ in range(replicas):
            started.append(start_server(binary, args=[
                *REPLICATION, "--replicaof", "127.0.0.1", str(master.port)]))
        wait("the replicas syncing", lambda: all(
            info(r, "replication").get("master_link_status") == "up" for r in started[1:]))
        config = (
            f"sentinel monitor {service} 127.0.0.1 {master.port} {sentinels // 2 + 1}\n"
            f"sentinel down-after-milliseconds {service} {down_after_ms}\n"
            f"sentinel failover-timeout {service} {max(4 * down_after_ms, 5000)}\n"
        )
        for _ in range(sentinels):
            watchers.append(start_server(binary, config=config, args=["--sentinel"]))
        group = SentinelGroup(service, started, watchers)
        wait("every Sentinel knowing the replicas and its peers",
             lambda: _sentinel_ready(group))
    except BaseException:
        stop_all([*watchers, *started])
        raise
    return group
