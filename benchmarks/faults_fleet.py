"""Redis half-failing under a running fleet (issue #13), measured from outside the governor.

Each scenario runs ``N`` worker processes of one MailerSend account (``POST /v1/email``: 120
per provider minute, the Starter plan, ``failure_policy="degrade"`` with ``fleet_size=N``)
against the mock provider, breaks their Redis mid-run and heals it, and counts what the
provider received: the requests in each of its fixed one-minute windows (the mock's log) and
its 429s. Every worker sends through ``GovernedTransport``, so every response is observed,
also by a worker cut off from Redis.

The faults (:data:`FAULTS`; durations in real seconds, ``D``):

* ``restart-short`` / ``restart-long``: the server is killed (connections refused) and started
  again empty on its port after ``D``.
* ``blackhole`` / ``latency``: every worker reaches Redis through a TCP proxy of its own, which
  drops every byte (silence until the client's timeout) or holds every chunk 2 s (over the 1 s
  timeout: replies come after the client gave up), for ``D``.
* ``partition``: only worker 0's proxy drops every byte, for ``D``; the others share Redis.
* ``flap``: ``CLIENT KILL TYPE normal`` every 2 ms for ``D`` (from a process of its own):
  connections die mid-call, one failure at a time, never enough in a row to open a breaker.
* ``maxmemory``: ``maxmemory 1`` with ``noeviction`` for ``D``: every script write is refused.
* ``sentinel`` / ``cluster``: a requested failover of a Sentinel-managed master, or of the
  Cluster master holding the account's slot.

:func:`quota_restart` is the daily quota's scenario: the Trial plan's 100/day, the fleet spends
60 through the shared state, Redis is killed and started again empty 2 s later, every worker
sends until its governor first refuses for quota and closes it; then a new process counts how
many calls its governor still grants.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import secrets
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import redis

from benchmarks.faults_roles import FaultFleet, offered, sender
from benchmarks.harness import BenchmarkError
from benchmarks.truth_pool import WAIT_S, clear_of_midnight, mock_now, sleep_until
from governor.deployments import start_cluster, start_sentinels
from governor.deployments.proxy import Proxy
from governor.embedded import start_server
from governor.keys import account_key
from governor.settings import GovernorSettings

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from benchmarks.truth_pool import Pool
    from governor.deployments.cluster import Cluster
    from governor.deployments.sentinel import SentinelGroup
    from governor.embedded import RedisServer
    from governor.mock.server import MockServer

__all__ = [
    "FAULTS",
    "LIMIT",
    "QUOTA_LIMIT",
    "QUOTA_SPENT",
    "Fault",
    "FaultRow",
    "QuotaRow",
    "Stage",
    "quota_restart",
    "run_fault",
    "run_faults",
    "together",
]

T = TypeVar("T")

LIMIT = 120  # POST /v1/email per provider minute, as the mock enforces it
MINUTE_S = 60.0  # a provider minute, in provider seconds
QUOTA_LIMIT, QUOTA_SPENT = 100, 60  # the Trial plan's day, and what is spent before the kill
FLAP_EVERY_S = 0.002


@dataclass(frozen=True)
class Stage:
    """What every scenario runs on: the worker pool, the mock (its time scale is the
    scenario's), and the breaker's probe interval (None: the settings' 5 s)."""

    pool: Pool
    mock: MockServer
    breaker_reset_s: float | None = None

    @property
    def scale(self) -> float:
        return self.mock.time_scale

    def fleet(self, workers: int, plan: str = "starter") -> tuple[FaultFleet, str]:
        """A fresh account on the mock and its fleet's settings (a key prefix of its own)."""
        token, name = f"fault-{secrets.token_hex(8)}", f"faults-{secrets.token_hex(4)}"
        self.mock.admin.add_account(name, [token], plan=plan)
        fleet = FaultFleet(self.mock.url, f"faults{secrets.token_hex(6)}", self.scale, token,
                           workers, plan, self.breaker_reset_s)
        return fleet, name


class Rig:
    """One scenario's Redis (a server, a Sentinel group or a Cluster) and, on a server, a TCP
    proxy per worker (for the faults of the link)."""

    def __init__(self, kind: str, workers: int, proxied: bool) -> None:
        self.kind = kind
        self.server: RedisServer | None = None
        self.group: SentinelGroup | None = None
        self.cluster: Cluster | None = None
        self.proxies: list[Proxy] = []
        if kind == "sentinel":
            self.group = start_sentinels()
        elif kind == "cluster":
            self.cluster = start_cluster()
        else:
            self.server = start_server()
            if proxied:
                self.proxies = [Proxy(self.server.port) for _ in range(workers)]

    def url(self, worker: int) -> str:
        """How worker ``worker`` reaches Redis."""
        if self.group is not None:
            return self.group.url
        if self.cluster is not None:
            return self.cluster.url
        if self.proxies:
            return self.proxies[worker].url
        assert self.server is not None
        return self.server.url

    def admin(self) -> redis.Redis:
        """A client of the server itself (never through a proxy)."""
        assert self.server is not None
        return self.server.client(socket_timeout=5)

    def kill(self) -> None:
        assert self.server is not None
        self.server.process.kill()
        self.server.process.wait()

    def restart(self) -> None:
        """Start the server again, empty, on the port it had."""
        assert self.server is not None
        self.server = start_server(port=self.server.port)

    def stop(self) -> None:
        for proxy in self.proxies:
            proxy.close()
        for running in (self.server, self.group, self.cluster):
            if running is not None:
                with contextlib.suppress(Exception):
                    running.stop()


def _flap(port: int, duration_s: float, every_s: float) -> None:
    """In a process of its own: ``CLIENT KILL TYPE normal`` every ``every_s`` for
    ``duration_s`` (this client is skipped: ``SKIPME`` is the default)."""
    client = redis.Redis(port=port, socket_timeout=5)
    end = time.monotonic() + duration_s
    while time.monotonic() < end:
        client.client_kill_filter(_type="normal")
        time.sleep(every_s)
    client.close()


@dataclass(frozen=True)
class Fault:
    """A fault: where it strikes, for how long (real s), and how it is done and undone."""

    key: str
    title: str
    duration_s: float
    kind: str = "server"  # or "sentinel", "cluster"
    proxied: bool = False
    start: Callable[[Rig, FaultFleet], Any] | None = None
    end: Callable[[Rig, Any], None] | None = None


def _set_proxies(rig: Rig, workers: Sequence[int], **state: Any) -> None:
    for i in workers:
        for name, value in state.items():
            setattr(rig.proxies[i], name, value)


def _heal(rig: Rig, _: Any) -> None:
    for proxy in rig.proxies:
        proxy.heal()


def _starve(rig: Rig, _: FaultFleet) -> None:
    with rig.admin() as admin:
        admin.config_set("maxmemory-policy", "noeviction")
        admin.config_set("maxmemory", "1")


def _feed(rig: Rig, _: Any) -> None:
    with rig.admin() as admin:
        admin.config_set("maxmemory", "0")


def _start_flap(duration_s: float) -> Callable[[Rig, FaultFleet], Any]:
    def start(rig: Rig, _: FaultFleet) -> Any:
        assert rig.server is not None
        proc = multiprocessing.get_context("spawn").Process(
            target=_flap, args=(rig.server.port, duration_s, FLAP_EVERY_S), daemon=True)
        proc.start()
        return proc
    return start


def _join(_: Rig, proc: Any) -> None:
    proc.join(timeout=30)


def _account_key(fleet: FaultFleet) -> str:
    settings = GovernorSettings.load(provider="mailersend", api_token=fleet.token,
                                     key_prefix=fleet.key_prefix)
    return account_key(settings.key_prefix, settings.account_id().key)


def faults(short_s: float, window_s: float, partition_s: float, flap_s: float
           ) -> tuple[Fault, ...]:
    """The fault matrix for a provider minute of ``window_s`` real seconds."""
    long_s = 1.25 * window_s  # longer than a provider window
    return (
        Fault("control", "no fault (the steady state, for comparison)", 0.0),
        Fault("restart-short", f"Redis killed, started again empty {short_s:g} s later",
              short_s, start=lambda rig, _: rig.kill(), end=lambda rig, _: rig.restart()),
        Fault("restart-long", f"Redis killed, started again empty {long_s:g} s later",
              long_s, start=lambda rig, _: rig.kill(), end=lambda rig, _: rig.restart()),
        Fault("blackhole", "every worker's link to Redis drops every byte", 20.0, proxied=True,
              start=lambda rig, _: _set_proxies(rig, range(len(rig.proxies)), blackhole=True),
              end=_heal),
        Fault("latency", "every worker's link to Redis holds each chunk 2 s (timeout 1 s)",
              20.0, proxied=True,
              start=lambda rig, _: _set_proxies(rig, range(len(rig.proxies)), latency_s=2.0),
              end=_heal),
        Fault("partition", "worker 0 alone cut off from Redis (its link drops every byte)",
              partition_s, proxied=True,
              start=lambda rig, _: _set_proxies(rig, [0], blackhole=True), end=_heal),
        Fault("flap", f"CLIENT KILL TYPE normal every {FLAP_EVERY_S * 1000:g} ms", flap_s,
              start=_start_flap(flap_s), end=_join),
        Fault("maxmemory", "maxmemory 1 (noeviction): every write refused with OOM", 20.0,
              start=_starve, end=_feed),
        Fault("sentinel", "requested Sentinel failover of the master", 0.0, kind="sentinel",
              start=lambda rig, _: rig.group.failover() if rig.group else None),
        Fault("cluster", "Cluster failover of the master holding the account's slot", 0.0,
              kind="cluster",
              start=lambda rig, fleet: rig.cluster.failover(_account_key(fleet))
              if rig.cluster else None),
    )


FAULTS = faults(short_s=2.0, window_s=60.0, partition_s=30.0, flap_s=10.0)


@dataclass(frozen=True)
class FaultRow:
    """What one fault did to one fleet, as the provider saw it."""

    fault: Fault
    workers: int
    scale: float
    windows: dict[int, int]  # provider minute -> requests received
    fault_windows: tuple[int, ...]  # the minutes the fault or its recovery touched
    too_many: int  # 429s the provider answered
    too_many_during: int  # of them, while the fault lasted
    degraded: int  # decisions made without Redis
    sent_during: int  # requests sent while the fault lasted
    errors: tuple[str, ...] = ()

    @property
    def before(self) -> int:
        """The busiest full minute before the fault."""
        first, start = min(self.fault_windows), min(self.windows, default=0)
        return max((n for w, n in self.windows.items() if start < w < first), default=0)

    @property
    def busiest(self) -> int:
        """The busiest minute the fault touched."""
        return max((self.windows.get(w, 0) for w in self.fault_windows), default=0)

    @property
    def over(self) -> int:
        """Requests over the provider's limit in the busiest minute of the whole run."""
        return max(self.windows.values(), default=0) - LIMIT

    @property
    def passed(self) -> bool:
        """The bound: no minute over ``limit + N``, at most ``N`` 429s, nothing raised."""
        return self.over <= self.workers and self.too_many <= self.workers and not self.errors


@dataclass
class _Clock:
    """The mock's virtual clock against this host's monotonic one."""

    virtual_s: float
    mono_s: float
    speed: float

    def at(self, mono_s: float) -> float:
        """The mock's virtual time at monotonic ``mono_s``."""
        return self.virtual_s + (mono_s - self.mono_s) * self.speed

    def mono(self, virtual_s: float) -> float:
        """The monotonic instant the mock's clock shows ``virtual_s``."""
        return self.mono_s + (virtual_s - self.virtual_s) / self.speed


def _log(mock: MockServer, account: str) -> list[dict[str, Any]]:
    entries, since = [], 0
    while True:
        page = mock.admin.log(since, 1000)
        entries += [e for e in page["entries"] if e["account"] == account
                    and not e["out_of_band"]]
        if page["next"] >= page["total"] or not page["entries"]:
            return entries
        since = page["next"]


def _minute(t_s: float) -> int:
    return math.floor(t_s / MINUTE_S)


STRIKE_AT = 0.35  # how far into its provider minute a fault strikes
STAGGER = 0.02  # and how much later for each fleet started with it


def run_fault(stage: Stage, fault: Fault, ids: Sequence[int], settle: int = 2,
              strike_at: float = STRIKE_AT) -> FaultRow:
    """Run ``fault`` on a fleet of the pool's workers ``ids`` (see the module docstring): it
    strikes ``strike_at`` into the ``settle``-th provider minute after the fleet started (so
    ``settle - 1`` whole minutes show the steady state first), and the fleet runs on for a
    minute and 2 s after it healed."""
    window_s = stage.scale
    tail_s = window_s + 2.0
    fleet, account = stage.fleet(len(ids))
    rig = Rig(fault.kind, len(ids), fault.proxied)
    try:
        for n, i in enumerate(ids):
            stage.pool.order(i, sender, fleet=fleet, redis_url=rig.url(n))
        stage.pool.ready(ids)
        clock = _Clock(*mock_now(stage.mock.admin))
        go = time.monotonic() + 0.5
        for i in ids:
            stage.pool.tell(i, go)
        strike_v = (_minute(clock.at(go)) + settle + strike_at) * MINUTE_S
        sleep_until(clock.mono(strike_v))
        struck = time.monotonic()
        state = fault.start(rig, fleet) if fault.start is not None else None
        sleep_until(struck + fault.duration_s)
        if fault.end is not None:
            fault.end(rig, state)
        healed = time.monotonic()
        sleep_until(healed + tail_s)
        for i in ids:
            stage.pool.tell(i, "stop")
        results = [stage.pool.result(i, WAIT_S) for i in ids]
    finally:
        rig.stop()
    entries = _log(stage.mock, account)
    windows: dict[int, int] = {}
    for e in entries:
        windows[_minute(e["t"])] = windows.get(_minute(e["t"]), 0) + 1
    touched = tuple(range(_minute(clock.at(struck)), _minute(clock.at(healed + window_s)) + 1))
    during = sum(1 for r in results for at, _, _ in r["records"] if struck <= at <= healed)
    return FaultRow(
        fault, len(ids), stage.scale, windows, touched,
        too_many=sum(1 for e in entries if e["status"] == 429),
        too_many_during=sum(1 for e in entries if e["status"] == 429
                            and clock.at(struck) <= e["t"] <= clock.at(healed)),
        degraded=sum(r["degraded"] for r in results), sent_during=during,
        errors=tuple(e for r in results for e in r["errors"]),
    )


def run_faults(stage: Stage, plan: Sequence[tuple[Fault, Sequence[int]]], settle: int = 2,
               at_once: int = 0) -> list[FaultRow]:
    """Run the ``(fault, worker ids)`` of ``plan``, ``at_once`` at a time (0: all; threads:
    every fleet has its own workers, account and Redis); rows in ``plan``'s order."""
    step = at_once or len(plan) or 1
    rows: list[FaultRow] = []
    for k in range(0, len(plan), step):
        rows += _run_together(stage, plan[k:k + step], settle)
    return rows


def _run_together(stage: Stage, plan: Sequence[tuple[Fault, Sequence[int]]], settle: int
                  ) -> list[FaultRow]:
    # Fleets run together strike apart: one fault's burst of work is not the others'.
    return together([partial(run_fault, stage, f, ids, settle, STRIKE_AT + STAGGER * k)
                     for k, (f, ids) in enumerate(plan)])


def together(runs: Sequence[Callable[[], T]]) -> list[T]:
    """Call every one of ``runs`` at once, each in a thread of its own; their results in
    order, or the first failure raised once every thread ended."""
    results: list[T | None] = [None] * len(runs)
    failures: list[BaseException] = []

    def one(k: int) -> None:
        try:
            results[k] = runs[k]()
        except BaseException as exc:  # raised in the caller, after every thread ended
            failures.append(exc)

    threads = [threading.Thread(target=one, args=(k,)) for k in range(len(runs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failures:
        raise BenchmarkError(f"{len(failures)} of {len(runs)} runs failed; the first: "
                             f"{failures[0]}") from failures[0]
    return [r for r in results if r is not None]


@dataclass(frozen=True)
class QuotaRow:
    """The daily quota across a kill and an empty restart: what was sent, and what a new
    process is offered after, against what is left."""

    workers: int
    scale: float
    cold: int  # workers that made no decision before the outage
    sent: int  # requests the provider received for the day
    counted: int  # the provider's count of the day
    quota: int  # the quota the governor enforces (the plan's, less headroom and reserve)
    offered: int
    stopped: tuple[str, ...] = field(default=())
    errors: tuple[str, ...] = ()

    @property
    def left(self) -> int:
        return max(self.quota - self.counted, 0)

    @property
    def passed(self) -> bool:
        """At most ``100 + N - 1`` sent, and a new process offered exactly what is left."""
        return (self.sent <= QUOTA_LIMIT + self.workers - 1 and self.offered == self.left
                and not self.errors)


def _enforced_quota(fleet: FaultFleet) -> int:
    policy = GovernorSettings.load(provider="mailersend", plan=fleet.plan,
                                   time_scale=fleet.time_scale).policy()
    quota = policy.spec("POST /v1/email").quota
    assert quota is not None
    return quota.limit - quota.reserve


def quota_restart(stage: Stage, ids: Sequence[int], cold: int = 0, down_s: float = 2.0
                  ) -> QuotaRow:
    """100/day, 60 spent, Redis killed and started empty ``down_s`` later; the workers (the
    last ``cold`` of them start only once Redis is down) stop at their first refusal and close
    their governors; then a new process counts what it is offered (see the module doc)."""
    interval_s = stage.scale / LIMIT
    clear_of_midnight(stage.scale, 3 * QUOTA_LIMIT * interval_s + 60.0)
    fleet, account = stage.fleet(len(ids), plan="trial")
    rig = Rig("server", len(ids), proxied=False)
    warm, late = ids[:len(ids) - cold], ids[len(ids) - cold:]
    try:
        for i in ids:
            stage.pool.order(i, sender, fleet=fleet, redis_url=rig.url(0),
                             warm=i in warm, stop_at_refusal=True)
        stage.pool.ready(ids)
        go = time.monotonic() + 0.2
        for i in warm:
            stage.pool.tell(i, go)
        deadline = go + 10 * QUOTA_LIMIT * interval_s + 30.0
        while stage.mock.admin.account(account)["quota_used"] < QUOTA_SPENT:
            if time.monotonic() > deadline:
                raise BenchmarkError("the fleet did not spend 60 of the quota in time")
            time.sleep(interval_s / 4)
        rig.kill()
        for i in late:  # they never saw the day's count
            stage.pool.tell(i, time.monotonic())
        time.sleep(down_s)
        rig.restart()
        results = [stage.pool.result(i, WAIT_S + QUOTA_LIMIT * interval_s) for i in ids]
        stage.pool.order(ids[0], offered, fleet=fleet, redis_url=rig.url(0))
        new = stage.pool.result(ids[0], WAIT_S)
    finally:
        rig.stop()
    entries = [e for e in _log(stage.mock, account) if e["route"] == "POST /v1/email"]
    return QuotaRow(
        len(ids), stage.scale, cold, sent=len(entries),
        counted=stage.mock.admin.account(account)["quota_used"],
        quota=_enforced_quota(fleet), offered=int(new),
        stopped=tuple(r["stopped"] for r in results),
        errors=tuple(e for r in results for e in r["errors"]),
    )
