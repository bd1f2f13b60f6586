"""Backend URLs (``governor.backends.urls``): each form parses to the right kind of client with
the right options, and a bad one is a ConfigError that never shows the password. No server."""

from __future__ import annotations

import asyncio

import pytest
import redis
import redis.asyncio
from redis.asyncio.sentinel import SentinelConnectionPool as AsyncSentinelPool
from redis.sentinel import SentinelConnectionPool

from governor.backends.urls import Address, async_client, parse, sync_client
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
        ("redis+cluster://u:hunter2@a:port", False, "host:port"),
        ("redis+sentinel://u:hunter2@s1:26379", False, "/<service name>"),
        ("redis+sentinel://u:hunter2@s1:26379/m/x", False, "/<service name>"),
    ],
)
def test_a_bad_url_is_a_config_error_without_the_password(
    url: str, cluster: bool, problem: str
) -> None:
    with pytest.raises(ConfigError, match=problem) as info:
        parse(url, cluster)
    assert "hunter2" not in str(info.value)


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
