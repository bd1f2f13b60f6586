"""The Redis backends on real deployments (``governor.deployments``): a Cluster of 3 masters
with replicas, a Sentinel group, a TLS-only server, and an ACL user with the least it needs.

Every conformance case runs on each, sync and async; then what only a deployment shows: an
account's keys share its Cluster slot, a decision works after a Cluster or Sentinel failover,
and a user missing a permission gets a clear error at once. Each deployment starts once for
the module.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import TYPE_CHECKING

import pytest
import redis.sentinel

from governor import AsyncGovernor, Governor, ManualClock, Policy, Rate
from governor.backends.redis import RedisBackend
from governor.backends.redis_async import AsyncRedisBackend
from governor.backends.scripts import acl_rules
from governor.backends.sentinel import CHECK_S
from governor.deployments import start_cluster, start_sentinels, start_tls_server
from governor.deployments.common import wait
from governor.embedded import start_server
from governor.errors import BackendUnavailable, IndeterminateOutcome
from governor.keys import account_key
from tests.conformance.conftest import Shell
from tests.integration.deployments import (
    CASES,
    eventually,
    run_case,
    shells,
    started,
    unique_prefix,
)
from tests.integration.probes import POLICY, ROUTE

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from governor.decision import Decision
    from governor.deployments import Cluster, SentinelGroup, TlsServer
    from governor.embedded import RedisServer

pytestmark = pytest.mark.redis

PASSWORD = "s3cret:/@"  # reserved URL characters, percent-encoded in the URL
QUOTED = "s3cret%3A%2F%40"
TWO_PER_S = Policy.of({"api": Rate(2, 1.0)})


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    deployment = started(start_cluster)
    yield deployment
    deployment.stop()


@pytest.fixture(scope="module")
def sentinels() -> Iterator[SentinelGroup]:
    deployment = started(lambda: start_sentinels(replicas=2))
    yield deployment
    deployment.stop()


@pytest.fixture(scope="module")
def tls() -> Iterator[TlsServer]:
    deployment = started(start_tls_server)
    yield deployment
    deployment.stop()


@pytest.fixture(scope="module")
def acl_server() -> Iterator[RedisServer]:
    """A server whose user ``governor`` has exactly :func:`acl_rules` (and the default user is
    only used here, to set up)."""
    server = started(start_server)
    with server.client() as admin:
        admin.execute_command("ACL", "SETUSER", "governor", "on", f">{PASSWORD}",
                              *acl_rules("governor").split())
    yield server
    server.stop()


def _acl_url(server: RedisServer, user: str = "governor", password: str = QUOTED) -> str:
    return f"redis://{user}:{password}@127.0.0.1:{server.port}/0"


DEPLOYMENTS = [
    pytest.param("cluster", marks=pytest.mark.slow),
    pytest.param("sentinel", marks=pytest.mark.slow),
    "tls",
    "acl",
]


@pytest.fixture(params=DEPLOYMENTS)
def url(request: pytest.FixtureRequest) -> str:
    """The from_url address of each deployment."""
    name = request.param
    if name == "acl":
        return _acl_url(request.getfixturevalue("acl_server"))
    fixture = {"cluster": "cluster", "sentinel": "sentinels", "tls": "tls"}[name]
    deployment: Cluster | SentinelGroup | TlsServer = request.getfixturevalue(fixture)
    return deployment.url


@pytest.fixture(params=["sync", "async"])
def shell(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make(url: str, shell: str, clock: ManualClock) -> Iterator[Callable[..., Shell]]:
    with shells(url, shell, clock) as build:
        yield build


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.__name__.removeprefix("test_"))
def test_conformance_case_holds(
    case: Callable[..., None], make: Callable[..., Shell], clock: ManualClock
) -> None:
    run_case(case, make=make, clock=clock)


# --- Cluster --------------------------------------------------------------------------------


@pytest.mark.slow
def test_every_key_of_an_account_is_in_the_slot_of_its_hash_tag(cluster: Cluster) -> None:
    clock = ManualClock()
    prefix = unique_prefix()
    backend = RedisBackend.from_url(cluster.url, prefix=prefix, clock=clock)
    accounts = []
    for label in ("acme", "globex", "initech"):
        gov = Governor(POLICY, backend, account=label, clock=clock)
        decision = gov.acquire(ROUTE)
        gov.observe(ROUTE, 202, {"x-ratelimit-limit": "10"}, decision=decision)  # learn a limit
        gov.cancel(gov.reserve("GET /v1/domains"))
        backend.pause(gov.account.key, clock.now_us() + 1_000_000, "general")
        backend.pause(gov.account.key, clock.now_us() + 1_000_000)
        accounts.append(gov.account.key)
    found: dict[str, int] = {}
    for node in cluster.nodes:
        with node.client() as client:
            if client.info("replication")["role"] == "master":
                for key in client.scan_iter(match=f"{prefix}:*"):
                    found[key.decode()] = node.port
    assert set(found) == {account_key(prefix, account) for account in accounts}
    for account in accounts:
        key = account_key(prefix, account)
        assert cluster.keyslot(key) == cluster.keyslot(account)  # the tag: {<account>}
        assert found[key] == cluster.master_of(account).port
    backend.close()


@pytest.mark.slow
def test_a_decision_works_after_a_failover_of_the_accounts_master(cluster: Cluster) -> None:
    clock = ManualClock()
    prefix = unique_prefix()
    loop = asyncio.new_event_loop()
    sync = Governor(TWO_PER_S, RedisBackend.from_url(cluster.url, prefix=prefix, clock=clock),
                    account="acme", clock=clock)
    backend = AsyncRedisBackend.from_url(cluster.url, prefix=prefix, clock=clock)
    asyn = Shell(AsyncGovernor(TWO_PER_S, backend, account="acme", clock=clock), loop)
    assert [sync.reserve().wait_s, asyn.reserve().wait_s] == [0.0, 0.5]
    key = account_key(prefix, sync.account.key)

    old, new = cluster.failover(key)

    with new.client() as client:
        assert client.exists(key)
    with old.client() as client:
        assert client.info("replication")["role"] == "slave"
    # The queue goes on where it was (nothing lost); an error on the way may have spent one
    # more slot (an indeterminate outcome), never fewer.
    waits = []
    for gov in (sync, asyn):
        reservation, errors = eventually(gov.reserve)
        assert all(isinstance(e, (BackendUnavailable, IndeterminateOutcome)) for e in errors)
        waits.append(reservation.wait_s)
    assert waits[0] >= 1.0
    assert waits[1] >= waits[0] + 0.5
    assert waits[1] <= 1.5 + 0.5 * 4
    sync.close()
    asyn.aclose()
    loop.close()


def test_an_unreachable_cluster_is_a_clear_backend_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        url = f"redis+cluster://127.0.0.1:{sock.getsockname()[1]}"
        with pytest.raises(BackendUnavailable, match="could not learn the slots"):
            RedisBackend.from_url(url)  # the sync Cluster client connects at once

        async def decide() -> None:
            async with AsyncGovernor(POLICY, AsyncRedisBackend.from_url(url)) as gov:
                await gov.try_acquire(ROUTE)

        with pytest.raises(BackendUnavailable, match="could not be reached"):
            asyncio.run(decide())


# --- Sentinel -------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_decision_works_after_the_master_crashes_and_a_replica_is_elected(
    sentinels: SentinelGroup,
) -> None:
    clock = ManualClock()
    prefix = unique_prefix()
    loop = asyncio.new_event_loop()
    sync = Governor(TWO_PER_S, RedisBackend.from_url(sentinels.url, prefix=prefix, clock=clock),
                    account="acme", clock=clock)
    backend = AsyncRedisBackend.from_url(sentinels.url, prefix=prefix, clock=clock)
    asyn = Shell(AsyncGovernor(TWO_PER_S, backend, account="acme", clock=clock), loop)
    assert [sync.reserve().wait_s, asyn.reserve().wait_s] == [0.0, 0.5]
    with sentinels.master().client() as client:
        assert client.wait(2, 2000) == 2  # both replicas have the writes before the crash

    started_at = time.monotonic()
    _, new = sentinels.failover(crash=True)
    assert time.monotonic() - started_at < 15

    waits = []
    for gov in (sync, asyn):
        reservation, errors = eventually(gov.reserve)
        assert all(isinstance(e, (BackendUnavailable, IndeterminateOutcome)) for e in errors)
        waits.append(reservation.wait_s)
    assert waits[0] >= 1.0
    assert waits[1] >= waits[0] + 0.5
    with new.client() as client:
        assert client.exists(account_key(prefix, sync.account.key))
    sync.close()
    asyn.aclose()
    loop.close()


@pytest.mark.slow
@pytest.mark.parametrize("shell", ["sync", "async"])
def test_after_a_requested_failover_decisions_move_to_the_new_master(
    sentinels: SentinelGroup, shell: str
) -> None:
    """The old master stays writable ~10 s after ``SENTINEL FAILOVER``; the backend's watcher
    notices the new master within ``CHECK_S`` and stops using connections to the old one."""
    clock = ManualClock()
    prefix = unique_prefix()
    loop = asyncio.new_event_loop()
    if shell == "sync":
        gov = Shell(Governor(TWO_PER_S, RedisBackend.from_url(sentinels.url, prefix=prefix,
                                                              clock=clock),
                             account="acme", clock=clock), None)
    else:
        backend = AsyncRedisBackend.from_url(sentinels.url, prefix=prefix, clock=clock)
        gov = Shell(AsyncGovernor(TWO_PER_S, backend, account="acme", clock=clock), loop)
    gov.reserve()
    key = account_key(prefix, gov.account.key)
    old, new = sentinels.failover()
    try:
        with old.client() as client:  # it would still take the decisions: the test means it
            assert client.info("replication")["role"] == "master"
        # redis-py reads the master from SENTINEL MASTERS, which names the new one only when
        # the failover is complete (+switch-master), a moment after it was promoted.
        manager = redis.sentinel.Sentinel(  # type: ignore[no-untyped-call]  # untyped
            [("127.0.0.1", s.port) for s in sentinels.sentinels])
        wait("redis-py's Sentinel client naming the new master",
             lambda: manager.discover_master(  # type: ignore[no-untyped-call]  # untyped
                 sentinels.service)[1] == new.port, 30.0)
        if gov.loop is None:
            time.sleep(CHECK_S + 0.5)
        else:  # the watcher is a task: it runs while the loop does
            gov.loop.run_until_complete(asyncio.sleep(CHECK_S + 0.5))
        reservation, _ = eventually(gov.reserve)
        assert reservation.wait_s == 0.5
        with new.client() as client:
            tat = int(client.hget(key, "api.tat") or 0)
        assert tat == clock.now_us() + 1_000_000  # the second reservation was recorded there
    finally:
        if shell == "sync":
            gov.close()
        else:
            gov.aclose()
        loop.close()


# --- TLS and ACL ----------------------------------------------------------------------------


def test_tls_without_the_ca_is_refused_with_a_clear_error(tls: TlsServer) -> None:
    url = tls.url.partition("?")[0]  # the system's CAs do not know the test CA
    gov = Governor(POLICY, RedisBackend.from_url(url), account="acme")
    with pytest.raises(BackendUnavailable, match="CERTIFICATE_VERIFY_FAILED"):
        gov.try_acquire(ROUTE)
    gov.close()


# One call an hour: a second decision a slow start later still finds the first one's token spent.
HOURLY = Policy.of({"email": "1/hour"}, routes={ROUTE: ["email"]})


def _decide_once(url: str, shell: str, policy: Policy = POLICY) -> Decision:
    """One decision through a fresh backend for ``url``, in the sync or the async shell."""
    if shell == "sync":
        with Governor(policy, RedisBackend.from_url(url), account="acme") as gov:
            return gov.try_acquire(ROUTE)

    async def decide() -> Decision:
        async with AsyncGovernor(policy, AsyncRedisBackend.from_url(url), account="acme") as gov:
            return await gov.try_acquire(ROUTE)

    return asyncio.run(decide())


@pytest.mark.slow
def test_a_cluster_over_tls_decides(tls: TlsServer) -> None:
    server = start_server(cluster=True, tls=tls.certificates, args=["--tls-cluster", "yes"])
    url = f"rediss+cluster://127.0.0.1:{server.port}?ssl_ca_certs={tls.certificates.ca}"
    try:
        assert _decide_once(url, "sync", HOURLY).allowed
        assert not _decide_once(url, "async", HOURLY).allowed  # the same account: token spent
    finally:
        server.stop()


MISSING = ["+evalsha", "+script|load", "+time", "+hmget", "+hset", "+pexpire", "~governor:*"]


@pytest.mark.parametrize("missing", MISSING)
@pytest.mark.parametrize("shell", ["sync", "async"])
def test_a_user_missing_a_permission_is_refused_at_once_with_the_rules_to_grant(
    acl_server: RedisServer, missing: str, shell: str
) -> None:
    rules = [rule for rule in acl_rules("governor").split() if rule != missing]
    user = f"lacks{MISSING.index(missing)}"
    with acl_server.client() as admin:
        admin.execute_command("ACL", "SETUSER", user, "reset", "on", ">pw", *rules)
        admin.flushall()  # no state from another case: the first decision must write
        admin.script_flush()  # and load the script
    url = _acl_url(acl_server, user, "pw")
    started_at = time.monotonic()
    with pytest.raises(BackendUnavailable, match="Give the user these ACL rules") as info:
        _decide_once(url, shell)
    assert time.monotonic() - started_at < 1.0
    assert acl_rules("governor") in str(info.value)


@pytest.mark.parametrize("shell", ["sync", "async"])
def test_a_wrong_password_is_refused_as_bad_credentials(
    acl_server: RedisServer, shell: str
) -> None:
    with pytest.raises(BackendUnavailable) as info:
        _decide_once(_acl_url(acl_server, password="nope"), shell)
    assert "refused the credentials" in str(info.value)
    assert "nope" not in str(info.value)
