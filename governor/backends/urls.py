"""Redis addresses: the URLs the Redis backends accept, and the redis-py client each one makes.

::

    redis://[[user]:password@]host[:port][/db][?option=value&...]     one server
    rediss://...[?ssl_ca_certs=/path/ca.pem]                           one server, over TLS
    unix://[[user]:password@]/path/redis.sock[?db=n]                   one server, Unix socket
    redis+cluster://[[user]:password@]host:port[,host:port...][?...]   Redis Cluster
    rediss+cluster://...                                               Redis Cluster, over TLS
    redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service[/db][?...]
                                                 the master that Sentinels name ``service``

``user:password`` is an ACL user (or ``:password`` for the default user); percent-encode
reserved characters. Query options are redis-py's (``ssl_ca_certs``, ``ssl_certfile``,
``ssl_keyfile``, ``ssl_cert_reqs``, ``socket_timeout``, ...) and win over keyword options.
Cluster hosts are startup nodes (any reachable one finds the rest; the database is always 0).
Sentinel hosts default to port 26379; the credentials, database and options are those of the
master (and replicas), while the Sentinels themselves get only the timeouts, or the options in
``sentinel_kwargs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import redis
import redis.asyncio
import redis.asyncio.cluster
import redis.asyncio.sentinel
import redis.cluster
import redis.sentinel
from redis.connection import parse_url

from governor.errors import ConfigError

__all__ = ["Address", "async_client", "parse", "sync_client"]

SENTINEL_PORT = 26379
_SCHEMES = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster", "redis+sentinel")


@dataclass(frozen=True)
class Address:
    """A parsed URL: ``kind`` "server", "cluster" or "sentinel"; ``url`` a plain ``redis://``,
    ``rediss://`` or ``unix://`` URL of the first host, for redis-py's own parsing; ``hosts``
    every (host, port); ``service`` the Sentinel service name."""

    kind: str
    url: str
    hosts: tuple[tuple[str, int], ...] = ()
    service: str = ""

    def where(self) -> str:
        """The hosts of a Cluster or Sentinel URL, without credentials (for messages)."""
        return ",".join(f"{h}:{p}" for h, p in self.hosts)


def _hosts(netloc: str, default_port: int, url: str) -> tuple[tuple[str, int], ...]:
    hosts = []
    for part in (p.strip() for p in netloc.rpartition("@")[2].split(",")):
        host, _, port = part.rpartition(":") if ":" in part.rpartition("]")[2] else (part, "", "")
        if not host or (port and not port.isdigit()):
            raise ConfigError(f"a Redis URL needs host:port pairs, not {part!r} ({_safe(url)})")
        hosts.append((host.strip("[]"), int(port or default_port)))
    return tuple(hosts)


def _safe(url: str) -> str:
    """``url`` with any password left out."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def parse(url: str, cluster: bool = False) -> Address:
    """Parse a backend URL (``cluster``: read ``redis://`` and ``rediss://`` as the Cluster
    forms); :class:`~governor.errors.ConfigError` names what is wrong, never the password."""
    scheme, sep, _ = url.partition("://")
    if not sep or scheme not in _SCHEMES:
        raise ConfigError(
            f"a Redis URL starts with {', '.join(s + '://' for s in _SCHEMES)}: {_safe(url)}"
        )
    if cluster and scheme in ("redis", "rediss"):
        scheme += "+cluster"
    elif cluster and "+cluster" not in scheme:
        raise ConfigError(f"cluster mode takes a redis:// or rediss:// URL, not {_safe(url)}")
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    userinfo = userinfo + "@" if userinfo else ""
    if scheme in ("redis", "rediss", "unix"):
        return Address("server", url)  # redis-py parses it, as it always did
    base = scheme.partition("+")[0]
    if scheme.endswith("+cluster"):
        hosts = _hosts(parts.netloc, 6379, url)
        if parts.path.strip("/") not in ("", "0"):
            raise ConfigError(f"a Redis Cluster has only database 0: {_safe(url)}")
        host, port = hosts[0]
        plain = urlunsplit((base, f"{userinfo}{host}:{port}", "", parts.query, ""))
        return Address("cluster", plain, hosts)
    hosts = _hosts(parts.netloc, SENTINEL_PORT, url)
    service, _, db = parts.path.strip("/").partition("/")
    if not service or (db and not db.isdigit()):
        raise ConfigError(
            f"a Sentinel URL ends in /<service name>[/<db>]: {_safe(url)} "
            "(e.g. redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster/0)"
        )
    plain = urlunsplit((base, f"{userinfo}localhost", f"/{db or 0}", parts.query, ""))
    return Address("sentinel", plain, hosts, unquote(service))


def _master_options(address: Address, options: dict[str, Any]) -> dict[str, Any]:
    """The options of the data connections behind Sentinel: the URL's, over ``options``."""
    parsed: dict[str, Any] = parse_url(address.url)  # type: ignore[no-untyped-call]  # untyped in redis-py
    parsed.pop("host", None)
    parsed.pop("port", None)
    return options | parsed


def _sentinel_options(options: dict[str, Any], given: dict[str, Any] | None) -> dict[str, Any]:
    base = {k: v for k, v in options.items() if k.startswith("socket_") or k == "retry"}
    return base | (given or {})


def sync_client(
    url: str, options: dict[str, Any], cluster: bool = False
) -> redis.Redis | redis.cluster.RedisCluster:
    """A redis-py client for ``url`` with connection ``options``. A Cluster client learns the
    slots here and raises if no startup node answers; the others connect on first use."""
    address = parse(url, cluster)
    if address.kind == "server":
        return redis.Redis.from_url(url, **options)
    if address.kind == "cluster":
        others = [
            redis.cluster.ClusterNode(h, p)  # type: ignore[no-untyped-call]  # untyped in redis-py
            for h, p in address.hosts[1:]
        ]
        return redis.cluster.RedisCluster.from_url(address.url, startup_nodes=others, **options)
    options = dict(options)
    sentinels = redis.sentinel.Sentinel(  # type: ignore[no-untyped-call]  # untyped in redis-py
        list(address.hosts),
        sentinel_kwargs=_sentinel_options(options, options.pop("sentinel_kwargs", None)),
    )
    master: redis.Redis = sentinels.master_for(  # type: ignore[no-untyped-call]  # untyped
        address.service, **_master_options(address, options)
    )
    return master


def async_client(
    url: str, options: dict[str, Any], cluster: bool = False
) -> redis.asyncio.Redis | redis.asyncio.RedisCluster:
    """The asyncio twin of :func:`sync_client`; every kind connects on first use."""
    address = parse(url, cluster)
    if address.kind == "server":
        return redis.asyncio.Redis.from_url(url, **options)
    if address.kind == "cluster":
        others = [redis.asyncio.cluster.ClusterNode(h, p) for h, p in address.hosts[1:]]
        return redis.asyncio.RedisCluster.from_url(address.url, startup_nodes=others, **options)
    options = dict(options)
    sentinels = redis.asyncio.sentinel.Sentinel(  # type: ignore[no-untyped-call]  # untyped
        list(address.hosts),
        sentinel_kwargs=_sentinel_options(options, options.pop("sentinel_kwargs", None)),
    )
    master: redis.asyncio.Redis = sentinels.master_for(
        address.service, **_master_options(address, options)
    )
    return master
