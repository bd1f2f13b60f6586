"""Backend URLs (``governor.backends.urls``): each form parses to the right kind of client with
the right options, and a bad one is a ConfigError that never shows the password. No server."""

from __future__ import annotations

import asyncio
import re

import pytest
import redis
import redis.asyncio
from redis.asyncio.sentinel import SentinelConnectionPool as AsyncSentinelPool
from redis.sentinel import SentinelConnectionPool

from governor.backends.urls import (
    Address,
    async_client,
    describe,
    parse,
    redacted,
    sync_client,
)
from governor.errors import ConfigError


@pytest.mark.parametrize(
    ("url", "cluster", "expected"),
    [
        ("redis://h:6380/2", False, Address("server", "redis://h:6380/2")),
        ("unix:///run/redis.sock?db=1", False, Address("server", "unix:///run/redis.sock?db=1")),
        (
            "redis+cluster://u:p@a:7000,b:7001,[::1]:7002?ssl_ca_certs=/ca.pem",
            False,
            Address("cluster", "redis://u:p@a:7000?ssl_ca_certs=/ca.pem",
                    (("a", 7000), ("b", 7001), ("::1", 7002))),
        ),
        ("rediss://a:7000/0", True, Address("cluster", "rediss://a:7000", (("a", 7000),))),
        ("redis+cluster://a", False, Address("cluster", "redis://a:6379", (("a", 6379),))),
        (
            "redis+sentinel://:pw@s1,s2:26380/my%20master/3?socket_timeout=0.5",
            False,
            Address("sentinel", "redis://:pw@localhost/3?socket_timeout=0.5",
                    (("s1", 26379), ("s2", 26380)), "my master"),
        ),
        ("redis+sentinel://s1/mymaster", False,
         Address("sentinel", "redis://localhost/0", (("s1", 26379),), "mymaster")),
    ],
)
def test_each_url_form_parses(url: str, cluster: bool, expected: Address) -> None:
    assert parse(url, cluster) == expected


@pytest.mark.parametrize(
    ("url", "cluster", "problem"),
    [
        ("http://u:hunter2@h:6379", False, "starts with"),
        ("redis:/h", False, "starts with"),
        ("unix://u:hunter2@/tmp/r.sock", True, "cluster mode takes"),
        ("redis+sentinel://u:hunter2@s1/m", True, "cluster mode takes"),
        ("redis+cluster://u:hunter2@a:7000/1", False, "only database 0"),
        ("redis+cluster://u:hunter2@a:port", False, "port is a number from 1 to 65535"),
        ("redis+cluster://u:hunter2@a:7000,b:99999", False, "not '99999'"),
        ("redis+sentinel://u:hunter2@s1:0/m", False, "not '0'"),
        ("redis://u:hunter2@host:99999", False, "not '99999'"),
        ("redis://u:hunter2@host:abc/0", False, "not 'abc'"),
        ("redis://u:hunter2@host:-1", False, "not '-1'"),
        ("redis://u:hunter2@host:", False, "not ''"),
        ("rediss://:hunter2@[::1]:70000", False, "not '70000'"),
        ("redis://u:hunter2@[::1:6379", False, "Invalid IPv6 URL"),
        ("redis://u:hunter2@host/zero", False, "/<database number>"),
        ("redis://u:hunter2@host/0?db=x", False, "Invalid value for 'db'"),
        ("redis://u:hunter2@host?socket_timeout=soon", False, "'socket_timeout'"),
        ("redis+cluster://u:hunter2@a:7000?socket_timeout=soon", False, "'socket_timeout'"),
        ("unix://u:hunter2@", False, "socket's path"),
        ("http://u:hunter2@x", False, "not http://u:***@x"),
        ("hunter2", False, "not a value without one"),
        ("redis+sentinel://u:hunter2@s1:26379", False, "/<service name>"),
        ("redis+sentinel://u:hunter2@s1:26379/m/x", False, "/<service name>"),
    ],
)
def test_a_bad_url_is_a_config_error_without_the_password(
    url: str, cluster: bool, problem: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(problem)) as info:
        parse(url, cluster)
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://h:6379/0", "redis://h:6379/0"),
        ("redis://u:hunter2@h:6379/0", "redis://u:***@h:6379/0"),
        ("rediss://:hunter2@h?ssl_ca_certs=/ca.pem", "rediss://:***@h?ssl_ca_certs=/ca.pem"),
        ("redis://hunter2@h", "redis://***@h"),  # no ':': the one part may be a password
        ("redis://u:hun@ter2@h/1", "redis://u:***@h/1"),  # an unencoded '@' in the password
        ("redis://h?password=hunter2&db=1", "redis://h?password=***&db=1"),
        ("redis://h?ssl_password=hunter2", "redis://h?ssl_password=***"),
        ("redis+sentinel://u:hunter2@s1,s2/m?socket_timeout=1",
         "redis+sentinel://u:***@s1,s2/m?socket_timeout=1"),
        ("http://u:hunter2@x", "http://u:***@x"),
        ("u:hunter2@h:6379", "u:***@h:6379"),
        ("", ""),
    ],
)
def test_redacted_shows_a_url_without_its_secrets(url: str, shown: str) -> None:
    assert redacted(url) == shown


@pytest.mark.parametrize(
    ("url", "cluster", "described"),
    [
        ("redis://u:hunter2@h:6380/2", False, "redis://h:6380/2"),
        ("rediss://:hunter2@h", False, "rediss://h:6379/0"),
        ("unix://u:hunter2@/run/r.sock?db=3", False, "unix:///run/r.sock?db=3"),
        ("redis+sentinel://u:hunter2@s1,s2:26380/svc", False,
         "redis+sentinel://s1:26379,s2:26380/svc"),
        ("redis://u:hunter2@a:7000", True, "redis+cluster://a:7000"),
    ],
)
def test_describe_names_where_a_client_connects_without_credentials(
    url: str, cluster: bool, described: str
) -> None:
    clients: list[object] = [async_client(url, {}, cluster)]
    if not cluster:  # a sync Cluster client connects at once; no server here
        clients.append(sync_client(url, {}))
    for client in clients:
        assert describe(client) == described
    assert describe(object()) == "object"


def test_a_sentinel_url_gives_the_master_its_credentials_and_the_sentinels_timeouts() -> None:
    options = {"socket_timeout": 1.0, "socket_connect_timeout": 2.0, "ssl_ca_certs": "/x"}
    client = sync_client("redis+sentinel://u:p%40ss@s1,s2:26380/svc/2?socket_timeout=0.5",
                         options)
    assert isinstance(client, redis.Redis)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "svc"
    kwargs = pool.connection_kwargs
    assert (kwargs["username"], kwargs["password"], kwargs["db"]) == ("u", "p@ss", 2)
    assert kwargs["socket_timeout"] == 0.5  # the URL wins over keyword options
    sentinels = pool.sentinel_manager.sentinels
    assert [s.connection_pool.connection_kwargs["port"] for s in sentinels] == [26379, 26380]
    sentinel_kwargs = sentinels[0].connection_pool.connection_kwargs
    assert sentinel_kwargs["socket_connect_timeout"] == 2.0
    assert sentinel_kwargs.get("password") is None  # the master's credentials stay there
    assert "ssl_ca_certs" not in sentinel_kwargs
    client.close()


def test_sentinel_kwargs_reach_the_sentinels_only() -> None:
    options = {"sentinel_kwargs": {"password": "sentinel-pw"}}
    client = async_client("redis+sentinel://s1/svc", options)
    assert isinstance(client, redis.asyncio.Redis)
    assert isinstance(client.connection_pool, AsyncSentinelPool)
    sentinel = client.connection_pool.sentinel_manager.sentinels[0]
    assert sentinel.connection_pool.connection_kwargs["password"] == "sentinel-pw"
    assert client.connection_pool.connection_kwargs.get("password") is None
    assert options == {"sentinel_kwargs": {"password": "sentinel-pw"}}  # not consumed
    asyncio.run(client.aclose())


def test_an_async_cluster_url_names_every_startup_node() -> None:
    client = async_client("redis+cluster://a:7000,b:7001", {})
    assert isinstance(client, redis.asyncio.RedisCluster)
    names = sorted(node.name for node in client.startup_nodes)
    assert names == ["a:7000", "b:7001"]
