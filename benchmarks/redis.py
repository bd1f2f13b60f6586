"""The cost of one decision on Redis: governor against a bare ``EVALSHA`` and the Redis limiters
of ``limits``, ``pyrate-limiter`` and ``throttled-py``, all on one private server in one run.

Every candidate is a tight loop of single calls, every call allowed (limits of 10^9 a minute,
a fresh key or prefix per round). The floor is ``client.evalsha(sha, 0)`` of ``return 1``: one
round trip with next to no server work. The asyncio candidates run the same loop inside an
event loop (one ``run_until_complete`` per round), against an asyncio bare ``EVALSHA``.

After the timed rounds, an untimed pass counts what one decision costs on the wire and on the
server: the commands redis-py writes (a write is a round trip; a pipeline is one) and the
server's ``INFO commandstats`` delta. Then :mod:`benchmarks.fleet` measures worker processes.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from itertools import repeat
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from unittest import mock

import limits
import pyrate_limiter
import redis
import redis.asyncio
import throttled
from limits import parse
from limits.storage import RedisStorage
from limits.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    RateLimiter,
    SlidingWindowCounterRateLimiter,
)

from benchmarks.fleet import FLEET_BARE, FLEET_TARGET, TRIVIAL_SCRIPT, fleet_throughput
from benchmarks.harness import (
    BenchmarkError,
    Candidate,
    Options,
    Report,
    Result,
    Target,
    markdown_table,
    measure,
    render_report,
    write_results,
)
from benchmarks.memory import HUGE, HUGE_RATE, LIMIT_TEXT, mailersend_policy
from benchmarks.pacing_before import BEFORE, before_backend, before_script
from governor import AsyncGovernor, AsyncRedisBackend, Governor, Policy, RedisBackend
from governor.embedded import start_server

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Iterator

    from benchmarks.harness import Op
    from governor.embedded import RedisServer

__all__ = ["BASELINE", "CANDIDATES", "PEERS", "TARGETS", "Work", "run"]

BARE = "bare EVALSHA"
SINGLE = "governor try_acquire (1 bucket)"
EMAIL = "governor POST /v1/email"
EMAIL_BEFORE = "governor POST /v1/email, before #16"
EMAIL_PACED = "governor POST /v1/email, paced"
EMAIL_LANES = "governor POST /v1/email, paced + lanes"
ACTIVITY = "governor GET /v1/activity/x"
ASYNC_BARE = "async bare EVALSHA"
ASYNC_SINGLE = "governor async try_acquire"
PEERS = (
    "limits: fixed window",
    "limits: moving window",
    "limits: sliding window counter",
    "pyrate-limiter: GCRA (RedisStateStore)",
    "pyrate-limiter: RedisBucket (sliding log)",
    "throttled-py: GCRA",
    "throttled-py: token bucket",
)
CANDIDATES = (BARE, SINGLE, EMAIL_BEFORE, EMAIL, EMAIL_PACED, EMAIL_LANES, ACTIVITY, ASYNC_BARE,
              ASYNC_SINGLE, *PEERS)
BASELINE = BARE
TARGETS = (
    Target("governor single bucket within 15% of bare EVALSHA", SINGLE, (BARE,), 0.85),
    Target("governor single bucket ahead of every peer", SINGLE, PEERS, 1.0),
    Target("governor POST /v1/email (bucket + quota) ahead of every peer", EMAIL, PEERS, 1.0),
    Target("governor async within 15% of async bare EVALSHA", ASYNC_SINGLE, (ASYNC_BARE,), 0.85),
    Target("governor POST /v1/email, pacing off, within 5% of bare EVALSHA", EMAIL, (BARE,),
           0.95),
    Target("governor POST /v1/email, paced, within 10% of bare EVALSHA", EMAIL_PACED, (BARE,),
           0.9),
    Target("governor POST /v1/email, paced + lanes, within 10% of bare EVALSHA", EMAIL_LANES,
           (BARE,), 0.9),
)

FULL, QUICK = (5_000, 7), (100, 2)
PROBE_FULL, PROBE_QUICK = 2_000, 20  # untimed calls per candidate that count the round trips
FLEET_FULL, FLEET_QUICK = (8, 1.5, 2), (2, 0.2, 1)  # workers, seconds per phase, rounds
MACHINE = "2 shared cores; absolute rates vary between runs, ratios within one run are the figures"

_allowed = attrgetter("allowed")


def _fresh() -> str:
    return f"b{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class AsyncCandidate:
    """An asyncio candidate: ``setup`` returns the coroutine function to await in the loop."""

    name: str
    setup: Callable[[], Callable[[], Awaitable[object]]]
    note: str
    expect: Callable[[object], bool]


@dataclass(frozen=True)
class Work:
    """What one decision cost outside the client: round trips (writes of redis-py
    connections), the server time of the commands it sent, the commands the server ran."""

    name: str
    round_trips: float
    server_us: float
    commands: dict[str, float]

    def row(self) -> str:
        ran = ", ".join(f"{n} {c:.2f}" for n, c in sorted(self.commands.items()))
        return f"| {self.name} | {self.round_trips:.2f} | {self.server_us:.2f} | {ran} |"


async def _repeat(call: Callable[[], Awaitable[object]], n: int) -> object:
    result: object = None
    for _ in repeat(None, n):
        result = await call()
    return result


class _Suite:
    """The candidates on one server, and what their latest rounds keep open (a new round
    closes the previous round's clients and limiters, so idle ones do not pile up)."""

    def __init__(self, url: str, loop: asyncio.AbstractEventLoop) -> None:
        self.url = url
        self.loop = loop
        self.client = redis.Redis.from_url(url)
        self.aclient = redis.asyncio.Redis.from_url(url)
        self.sha = str(self.client.script_load(TRIVIAL_SCRIPT))
        self._open: dict[str, Callable[[], object]] = {}
        self._shared: list[Callable[[], object]] = []

    def hold(self, name: str, close: Callable[[], object]) -> None:
        previous = self._open.pop(name, None)
        if previous is not None:
            previous()
        self._open[name] = close

    def close(self) -> None:
        for close in [*self._open.values(), *self._shared]:
            close()
        self._open.clear()
        self.client.close()
        self.loop.run_until_complete(self.aclient.aclose())

    def sync_candidates(self) -> list[Candidate]:
        single = Policy.of({"api": HUGE_RATE})
        mailersend = mailersend_policy()
        paced = mailersend_policy(pacing=True)
        lanes = mailersend_policy(pacing=True, lane_horizon=1.0)
        bare = partial(self.client.evalsha, self.sha, 0)
        before = before_script()
        olds = [] if before is None else [self._governor(
            EMAIL_BEFORE, mailersend, "POST /v1/email",
            f"email + quota, acquire.lua of {BEFORE[:7]}",
            lambda prefix: before_backend(self.url, prefix, before))]
        return [
            Candidate(BARE, lambda: bare, "`return 1`, redis-py", expect=lambda r: r == 1),
            self._governor(SINGLE, single, None, "1 bucket"),
            *olds,
            self._governor(EMAIL, mailersend, "POST /v1/email", "email + quota"),
            self._governor(EMAIL_PACED, paced, "POST /v1/email", "email + paced quota"),
            self._governor(EMAIL_LANES, lanes, "POST /v1/email",
                           "email + paced quota, lane horizon 1 interval"),
            self._governor(
                ACTIVITY, mailersend, "GET /v1/activity/x", "activity + general + quota"
            ),
            self._limits(PEERS[0], FixedWindowRateLimiter),
            self._limits(PEERS[1], MovingWindowRateLimiter),
            self._limits(PEERS[2], SlidingWindowCounterRateLimiter),
            self._pyrate(PEERS[3], gcra=True),
            self._pyrate(PEERS[4], gcra=False),
            self._throttled(PEERS[5], "gcra"),
            self._throttled(PEERS[6], "token_bucket"),
        ]

    def async_candidates(self) -> list[AsyncCandidate]:
        policy = Policy.of({"api": HUGE_RATE})

        def governor() -> Callable[[], Awaitable[object]]:
            gov = AsyncGovernor(policy, AsyncRedisBackend.from_url(self.url, prefix=_fresh()))
            self.hold(ASYNC_SINGLE, lambda: self.loop.run_until_complete(gov.aclose()))
            return gov.try_acquire

        bare = partial(self.aclient.evalsha, self.sha, 0)
        return [
            AsyncCandidate(ASYNC_BARE, lambda: bare, "`return 1`, redis.asyncio", lambda r: r == 1),
            AsyncCandidate(ASYNC_SINGLE, governor, "1 bucket, AsyncRedisBackend", _allowed),
        ]

    def timed(self, cand: AsyncCandidate, calls: int, warmup: int) -> Candidate:
        """``cand`` as a harness candidate whose one op is a whole round of ``calls`` awaits;
        it warms up in setup and checks its last call itself (the harness's after-round check
        would cost a second round)."""

        def setup() -> Op:
            call = cand.setup()
            self.loop.run_until_complete(_repeat(call, warmup))

            def op() -> object:
                last = self.loop.run_until_complete(_repeat(call, calls))
                if not cand.expect(last):
                    raise BenchmarkError(f"{cand.name}: a call was refused; raise its limits")
                return last

            return op

        return Candidate(cand.name, setup, cand.note)

    def _governor(
        self,
        name: str,
        policy: Policy,
        route: str | None,
        note: str,
        backend: Callable[[str], RedisBackend] | None = None,
    ) -> Candidate:
        def setup() -> Op:
            prefix = _fresh()
            made = RedisBackend.from_url(self.url, prefix=prefix) if backend is None else (
                backend(prefix))
            gov = Governor(policy, made)
            self.hold(name, gov.close)
            return gov.try_acquire if route is None else partial(gov.try_acquire, route)

        return Candidate(name, setup, note, expect=_allowed)

    def _limits(self, name: str, strategy: type[RateLimiter]) -> Candidate:
        item = parse(LIMIT_TEXT)

        def setup() -> Op:
            pool = redis.ConnectionPool.from_url(self.url)
            self.hold(name, pool.disconnect)
            storage = RedisStorage(self.url, connection_pool=pool, key_prefix=_fresh())
            return partial(strategy(storage).hit, item, "key")

        return Candidate(name, setup, "RedisStorage, `.hit(item, 'key')`", expect=bool)

    def _pyrate(self, name: str, *, gcra: bool) -> Candidate:
        client = redis.Redis.from_url(self.url)
        self._shared.append(client.close)
        rate = pyrate_limiter.Rate(HUGE, pyrate_limiter.Duration.MINUTE)

        def setup() -> Op:
            if gcra:
                store = pyrate_limiter.RedisStateStore(client, _fresh())
                bucket: Any = pyrate_limiter.StateBucket([rate], pyrate_limiter.GCRA(), store)
            else:
                bucket = pyrate_limiter.RedisBucket.init([rate], client, _fresh())
            limiter = pyrate_limiter.Limiter(bucket)
            self.hold(name, limiter.close)
            return partial(limiter.try_acquire, "key", blocking=False)

        note = "`Limiter.try_acquire(blocking=False)`" + ("" if gcra else ", client clock")
        return Candidate(name, setup, note, expect=bool)

    def _throttled(self, name: str, using: str) -> Candidate:
        store = throttled.RedisStore(server=self.url)
        quota = throttled.per_min(HUGE, burst=HUGE)

        def setup() -> Op:
            limiter = throttled.Throttled(
                key="key", using=using, quota=quota, store=store, key_prefix=_fresh()
            )
            return limiter.limit

        return Candidate(
            name,
            setup,
            "RedisStore, `Throttled.limit()`",
            expect=lambda r: not getattr(r, "limited", True),
        )


def _time(suite: _Suite, calls: int, rounds: int, options: Options) -> list[Result]:
    """Interleaved rounds over every candidate, the asyncio ones after the sync ones."""
    sync = suite.sync_candidates()
    warm = max(1, min(calls // 10, 1_000))
    asyncs = [suite.timed(c, calls, warm) for c in suite.async_candidates()]
    order = [c.name for c in sync] + [c.name for c in asyncs]
    timings: dict[str, list[int]] = {name: [] for name in order}
    notes = {c.name: c.note for c in [*sync, *asyncs]}
    for r in range(1, rounds + 1):
        done = [
            *measure(sync, calls=calls, rounds=1),
            *measure(asyncs, calls=1, rounds=1, warmup=0),
        ]
        for res in done:
            timings[res.name].extend(res.round_ns)
        if options.log is not None:
            line = ", ".join(f"{n} {calls * 1e9 / t[-1]:,.0f}/s" for n, t in timings.items())
            options.log(f"round {r}/{rounds}: {line}")
    results = {n: Result(n, calls, tuple(t), notes[n]) for n, t in timings.items()}
    return [results[n] for n in CANDIDATES]


def _command_names(packed: object) -> list[str]:
    """The command names in bytes written to a connection (one or more RESP arrays)."""
    if isinstance(packed, str):
        data = packed.encode()
    elif isinstance(packed, (bytes, bytearray, memoryview)):
        data = bytes(packed)
    else:
        data = b"".join(cast("Iterable[bytes]", packed))  # redis-py: a list of chunks
    names, i = [], 0
    while i < len(data):
        end = data.index(b"\r\n", i)
        count, i = int(data[i + 1 : end]), end + 2
        for k in range(count):
            end = data.index(b"\r\n", i)
            size, start = int(data[i + 1 : end]), end + 2
            if k == 0:
                names.append(data[start : start + size].decode().lower())
            i = start + size + 2
    return names


@contextmanager
def _writes() -> Iterator[list[list[str]]]:
    """The command names of every write of a redis-py connection, sync or asyncio, while the
    block runs: one entry per write (a round trip)."""
    writes: list[list[str]] = []
    sync_cls = redis.connection.AbstractConnection
    async_cls = redis.asyncio.connection.AbstractConnection
    sync_send: Any = sync_cls.send_packed_command
    async_send: Any = async_cls.send_packed_command

    def send(conn: Any, command: Any, check_health: bool = True) -> None:
        writes.append(_command_names(command))
        sync_send(conn, command, check_health)

    async def asend(conn: Any, command: Any, check_health: bool = True) -> None:
        writes.append(_command_names(command))
        await async_send(conn, command, check_health)

    with (
        mock.patch.object(sync_cls, "send_packed_command", send),
        mock.patch.object(async_cls, "send_packed_command", asend),
    ):
        yield writes


def _commandstats(admin: redis.Redis) -> dict[str, tuple[int, int]]:
    stats: dict[str, Any] = admin.info("commandstats")
    return {
        name.removeprefix("cmdstat_"): (int(v["calls"]), int(v["usec"]))
        for name, v in stats.items()
        if not name.startswith(("cmdstat_info", "cmdstat_config"))
    }


def _work(suite: _Suite, name: str, run: Callable[[int], object], calls: int) -> Work:
    run(1)  # connected, scripts loaded
    before = _commandstats(suite.client)
    with _writes() as writes:
        run(calls)
    after = _commandstats(suite.client)
    delta = {
        n: (c - before.get(n, (0, 0))[0], u - before.get(n, (0, 0))[1])
        for n, (c, u) in after.items()
    }
    sent = {n for write in writes for n in write}
    server_us = sum(u for n, (_, u) in delta.items() if n.split("|")[0] in sent)
    ran = {n: c / calls for n, (c, _) in delta.items() if c}
    return Work(name, len(writes) / calls, server_us / calls, ran)


def _looped(op: Op) -> Callable[[int], object]:
    def run(n: int) -> object:
        for _ in repeat(None, n):
            op()
        return None

    return run


def _awaited(
    loop: asyncio.AbstractEventLoop, call: Callable[[], Awaitable[object]]
) -> Callable[[int], object]:
    return lambda n: loop.run_until_complete(_repeat(call, n))


def _probe(suite: _Suite, calls: int) -> list[Work]:
    """Untimed: round trips and server work per decision, each candidate on fresh state."""
    runs = [(c.name, _looped(c.setup())) for c in suite.sync_candidates()]
    runs += [(c.name, _awaited(suite.loop, c.setup())) for c in suite.async_candidates()]
    works = [_work(suite, name, run, calls) for name, run in runs]
    return sorted(works, key=lambda w: CANDIDATES.index(w.name))


def _server_line(server: RedisServer, admin: redis.Redis) -> str:
    info: dict[str, Any] = admin.info("server")
    kind = "valkey" if "valkey_version" in info else "redis"
    version = info.get("valkey_version", info.get("redis_version", "?"))
    return f"server {kind} {version} ({Path(server.binary).name}, private, loopback TCP)"


@contextmanager
def _one_cpu(server: RedisServer) -> Iterator[str]:
    """This thread and the server on one CPU while the block runs; yields what was done.

    On a VM with shared cores a round trip between two CPUs waits for the other one to wake,
    which costs more than the call and comes and goes between rounds; on one CPU a call costs
    the client's work, the server's work and a context switch, the same for every candidate.
    """
    if not hasattr(os, "sched_setaffinity"):
        yield "client and server not pinned (no sched_setaffinity)"
        return
    allowed = os.sched_getaffinity(0)
    cpu = min(allowed)
    os.sched_setaffinity(0, {cpu})
    os.sched_setaffinity(server.process.pid, {cpu})
    try:
        yield f"client and server pinned to one CPU (CPU {cpu})"
    finally:
        os.sched_setaffinity(0, allowed)
        with suppress(OSError):
            os.sched_setaffinity(server.process.pid, allowed)


def run(options: Options) -> Report:
    """Start a private server, measure, write ``redis.md`` into ``options.out_dir`` if set."""
    calls, rounds = options.counts(FULL, QUICK)
    workers, phase_s, fleet_rounds = FLEET_QUICK if options.quick else FLEET_FULL
    server = start_server()
    loop = asyncio.new_event_loop()
    try:
        suite = _Suite(server.url, loop)
        try:
            with _one_cpu(server) as pinning:
                results = _time(suite, calls, rounds, options)
                works = _probe(suite, PROBE_QUICK if options.quick else PROBE_FULL)
            machine = f"{MACHINE} · {_server_line(server, suite.client)}; {pinning}"
        finally:
            suite.close()
        fleet = fleet_throughput(
            server.url, workers=workers, phase_s=phase_s, rounds=fleet_rounds, log=options.log
        )
    finally:
        loop.close()
        server.stop()
    checks = (*(t.check(results) for t in TARGETS), FLEET_TARGET.check(fleet))
    command = options.command or f"python -m benchmarks redis --calls {calls} --rounds {rounds}"
    title = "Decision cost on Redis: governor vs bare EVALSHA and the Redis limiters"
    markdown = render_report(
        title,
        command=command,
        machine=machine,
        results=results,
        baseline=BASELINE,
        checks=checks,
    )
    markdown += _sections(works, fleet, calls, rounds, workers, phase_s, fleet_rounds)
    path = write_results(options, "redis.md", markdown)
    return Report(title, (*results, *fleet), checks, markdown, path)


def _sections(
    works: list[Work],
    fleet: list[Result],
    calls: int,
    rounds: int,
    workers: int,
    phase_s: float,
    fleet_rounds: int,
) -> str:
    governed = [w for w in works if w.name.startswith("governor")]
    trips = [
        f"- {'PASS' if w.round_trips <= 1.0 else 'FAIL'}  {w.name}: {w.round_trips:.2f} round "
        "trips per decision (needs at most 1)"
        for w in governed
    ]
    parts = [
        "",
        "## Fleet throughput",
        "",
        markdown_table(fleet, FLEET_BARE),
        "",
        "## Round trips and server work per decision",
        "",
        "| candidate | round trips | server µs | commands the server ran (scripts' included) |",
        "|---|---:|---:|---|",
        *(w.row() for w in works),
        "",
        *trips,
        "",
        "## How to read it",
        "",
        *(f"- {note}" for note in _notes(calls, rounds, workers, phase_s, fleet_rounds)),
    ]
    return "\n".join(parts) + "\n"


def _notes(calls: int, rounds: int, workers: int, phase_s: float, fleet_rounds: int) -> list[str]:
    return [
        f"N = {calls:,} calls per round, {rounds} rounds, interleaved (every candidate's round "
        "1, then every round 2, ...); the table shows the median round and the best. The "
        "machine is 2 shared cores, with the server on the same cores as the client: absolute "
        "rates vary between runs, the same-run ratios are the figures.",
        "The client and the server are pinned to one CPU for the single-client rows (not for "
        "the fleet): on this VM a round trip between two CPUs waits for the idle one to wake, "
        "which costs more than the call itself (40 to 200 µs per call, changing from round to "
        "round); pinned, a call costs the client's work, the server's work and one context "
        "switch, alike for every candidate, so server work shows in full.",
        f"Every limit is {LIMIT_TEXT} (governor: burst as large, daily quota 10^12), so every "
        "call is allowed; each round starts on a fresh key or prefix, with new clients for "
        "governor, limits and pyrate-limiter, and a call after each round is checked.",
        "bare EVALSHA is redis-py's `Redis.evalsha(sha, 0)` of `return 1`: one round trip "
        "with almost no server work, the floor and the baseline of the ratio column. The "
        "asyncio rows run in one event loop (one `run_until_complete` per round); compare them "
        "with each other (the async target does), not with the sync baseline.",
        "governor rows call `Governor.try_acquire` on `RedisBackend.from_url` (its own client); "
        "the MailerSend rows use the mailersend profile's routes with every rate made huge: "
        "POST /v1/email spends the email bucket and the quota, GET /v1/activity/x the activity "
        "and general buckets and the quota, in the same one script call.",
        f"Peers (limits {limits.__version__}, pyrate-limiter {pyrate_limiter.__version__}, "
        f"throttled-py {throttled.__version__}, redis-py {redis.__version__}), as their docs "
        "use them: limits `RedisStorage(url)` with each strategy's `.hit(item, 'key')`; "
        "pyrate-limiter `Limiter(bucket).try_acquire('key', blocking=False)` over "
        "`StateBucket([rate], GCRA(), RedisStateStore(client, key))` and over "
        "`RedisBucket.init([rate], client, key)` (a sorted-set log, timestamps from the client "
        "clock); throttled-py `Throttled(key, using='gcra' | 'token_bucket', "
        "quota=per_min(10^9, burst=10^9), store=RedisStore(server=url)).limit()`.",
        "Round trips are counted in the client: the writes redis-py connections make during "
        "an untimed pass (a pipeline is one write). Server µs is the `INFO commandstats` time "
        "of the commands the client sent (a script's time includes the commands it runs); the "
        "last column is every command the server ran per decision, scripts' commands included.",
        f"Fleet: {workers} processes (multiprocessing spawn), each a tight loop for "
        f"{phase_s:g} s in a common window, bare EVALSHA and governor phases alternating, "
        f"{fleet_rounds} of each; governor workers share one account (one key); nothing is "
        "pinned, so workers and server share both cores. Rates are all workers' calls over "
        "the window.",
        "Speed is never asserted in tests; tests/unit/test_benchmarks_smoke.py only runs the "
        "quick mode so this file cannot rot.",
    ]
