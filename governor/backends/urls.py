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

import re
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

__all__ = ["Address", "async_client", "describe", "parse", "redacted", "sync_client"]

SENTINEL_PORT = 26379
_SCHEMES = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster", "redis+sentinel")
_SECRET_OPTION = re.compile(r"pass|secret|token|credential|auth", re.IGNORECASE)


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


def redacted(url: str) -> str:
    """``url`` as it may be shown in a message, a log line or a repr: the password as ``***``
    (the user too when the credentials have no ``:``, since then it may be a password), and
    the value of every query option whose name says it is secret (``password``,
    ``ssl_password``, ``token``, ...) as ``***``. Everything up to the last ``@`` counts as
    credentials, so a password with an unencoded ``@`` is hidden whole (an ``@`` in a query
    value hides more than it must, never less). Never raises."""
    scheme, sep, rest = url.partition("://") if "://" in url else ("", "", url)
    userinfo, at, rest = rest.rpartition("@")
    if at:
        user, colon, _ = userinfo.partition(":")
        rest = f"{user}:***@{rest}" if colon else f"***@{rest}"
    head, question, query = rest.partition("?")
    if question:
        options = (_redacted_option(o) for o in query.split("&"))
        head = f"{head}?{'&'.join(options)}"
    return f"{scheme}{sep}{head}"


def _redacted_option(option: str) -> str:
    name, equals, _ = option.partition("=")
    return f"{name}=***" if equals and _SECRET_OPTION.search(name) else option


def describe(client: object) -> str:
    """Where a redis-py client (sync or asyncio) sends its commands, as a URL without
    credentials: ``redis://host:port/db``, ``rediss://...``, ``unix:///path?db=n``,
    ``redis+sentinel://host:port,.../service``, ``redis+cluster://host:port,...``; the type's
    name for a client of another shape. For reprs and messages; never raises."""
    try:
        pool = getattr(client, "connection_pool", None)
        if pool is None:
            nodes = ",".join(client.nodes_manager.startup_nodes)  # type: ignore[attr-defined]
            return f"redis+cluster://{nodes}"
        if hasattr(pool, "service_name"):
            sentinels = pool.sentinel_manager.sentinels
            hosts = ",".join(_host_port(s.connection_pool.connection_kwargs) for s in sentinels)
            return f"redis+sentinel://{hosts}/{pool.service_name}"
        kwargs = pool.connection_kwargs
        db = kwargs.get("db", 0)
        if "path" in kwargs:
            return f"unix://{kwargs['path']}?db={db}"
        scheme = "rediss" if "SSL" in pool.connection_class.__name__ else "redis"
        return f"{scheme}://{_host_port(kwargs)}/{db}"
    except Exception:  # a description must never fail
        return type(client).__name__


def _host_port(kwargs: dict[str, Any]) -> str:
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}"


def _port(text: str, url: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ConfigError(
            f"a Redis URL's port is a number from 1 to 65535, not {text!r}: {redacted(url)}"
        )
    return int(text)


def _hosts(netloc: str, default_port: int, url: str) -> tuple[tuple[str, int], ...]:
    hosts = []
    for part in (p.strip() for p in netloc.rpartition("@")[2].split(",")):
        host, _, port = part.rpartition(":") if ":" in part.rpartition("]")[2] else (part, "", "")
        if not host:
            raise ConfigError(f"a Redis URL needs host:port pairs, not {part!r}: {redacted(url)}")
        hosts.append((host.strip("[]"), _port(port, url) if port else default_port))
    return tuple(hosts)


def _check_options(url: str, shown: str) -> None:
    """Let redis-py read ``url`` as it will when connecting, so that a bad option (``?db=x``,
    ``?socket_timeout=x``) fails now; ``shown`` is the URL as a message may show it."""
    try:
        parse_url(url)  # type: ignore[no-untyped-call]  # untyped in redis-py
    except ValueError as exc:  # redis-py names the option, not its value
        raise ConfigError(f"{exc} {shown}") from None


def _check_server(url: str) -> None:
    """A ``redis://``, ``rediss://`` or ``unix://`` URL as strictly as redis-py would use it:
    redis-py itself skips a database that is not a number and defaults a bad port late."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # "Invalid IPv6 URL"
        raise ConfigError(f"{exc}: {redacted(url)}") from None
    hostinfo = parts.netloc.rpartition("@")[2]
    if parts.scheme == "unix":
        if not parts.path:
            raise ConfigError(f"a unix:// URL needs the socket's path: {redacted(url)}")
    else:
        _, colon, port = hostinfo.rpartition("]")[2].partition(":")
        if colon:
            _port(port, url)
        if parts.path.strip("/") and not parts.path.strip("/").isdigit():
            raise ConfigError(f"a Redis URL's path is /<database number>: {redacted(url)}")
    _check_options(url, redacted(url))


def parse(url: str, cluster: bool = False) -> Address:
    """Parse and check a backend URL (``cluster``: read ``redis://`` and ``rediss://`` as the
    Cluster forms): the scheme, every port (1 to 65535), the database and redis-py's options.
    A :class:`~governor.errors.ConfigError` says what is wrong and shows the URL
    :func:`redacted`; a value with no ``://`` is not shown at all (it may be a bare secret)."""
    scheme, sep, _ = url.partition("://")
    if not sep or scheme not in _SCHEMES:
        what = redacted(url) if sep else "a value without one"
        raise ConfigError(
            f"a Redis URL starts with {', '.join(s + '://' for s in _SCHEMES)}, not {what}"
        )
    if cluster and scheme in ("redis", "rediss"):
        scheme += "+cluster"
    elif cluster and "+cluster" not in scheme:
        raise ConfigError(f"cluster mode takes a redis:// or rediss:// URL, not {redacted(url)}")
    if scheme in ("redis", "rediss", "unix"):
        _check_server(url)
        return Address("server", url)  # redis-py parses it, as it always did
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    userinfo = userinfo + "@" if userinfo else ""
    base = scheme.partition("+")[0]
    if scheme.endswith("+cluster"):
        hosts = _hosts(parts.netloc, 6379, url)
        if parts.path.strip("/") not in ("", "0"):
            raise ConfigError(f"a Redis Cluster has only database 0: {redacted(url)}")
        host, port = hosts[0]
        plain = urlunsplit((base, f"{userinfo}{host}:{port}", "", parts.query, ""))
        _check_options(plain, redacted(url))
        return Address("cluster", plain, hosts)
    hosts = _hosts(parts.netloc, SENTINEL_PORT, url)
    service, _, db = parts.path.strip("/").partition("/")
    if not service or (db and not db.isdigit()):
        raise ConfigError(
            f"a Sentinel URL ends in /<service name>[/<db>]: {redacted(url)} "
            "(e.g. redis+sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster/0)"
        )
    plain = urlunsplit((base, f"{userinfo}localhost", f"/{db or 0}", parts.query, ""))
    _check_options(plain, redacted(url))
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
