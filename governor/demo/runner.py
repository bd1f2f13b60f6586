"""``governor demo``: a real fleet of worker processes against the local mock provider.

Before it starts anything, a run checks the Redis URL it is given: one governor refuses ends
it at once (:class:`~governor.errors.ConfigError`); one that fails a first read is said
up front and in the report (the workers then decide alone, each on its share of every limit,
and the report counts those degraded decisions). Each start-up step waits on readiness,
never a fixed sleep, for at most ``startup_timeout_s``.

What a run starts, in order, and stops on the way out (Ctrl-C and SIGTERM included): a private
Redis-compatible server on loopback (unless a Redis URL is given), the mock provider in a child
process (its clock runs ``60 / time_scale`` times faster, offset from the fleet's when the
scenario says so; given a latency, it answers each send that much later, in real time), the
account on the mock, and the workers (``spawn``; a midnight run plans its clocks once they have
imported, see :mod:`governor.demo.midnight`). The parent feeds message ids into a shared
queue, plays the scenario's events (a reputation drop, outages, quota spent out of band), draws
the progress, and stops the fleet once every message is acknowledged (or the
duration is over). The report is built from the mock's own account of what it received
(``report``).
"""

from __future__ import annotations

import contextlib
import secrets
import signal
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from governor.backends.urls import redacted
from governor.demo.fleet import ACCOUNT, Fleet, Interrupted, handling
from governor.demo.midnight import STARTUP_S, plan_midnight
from governor.demo.scenarios import SCENARIOS, Scenario, with_midnight
from governor.demo.worker import WorkerConfig
from governor.embedded import start_server
from governor.errors import BackendError
from governor.mock.latency import reply_latency
from governor.settings import GovernorSettings

if TYPE_CHECKING:
    from types import FrameType

    from governor.capacity import Latency
    from governor.demo.midnight import MidnightPlan
    from governor.demo.pace import PaceStart
    from governor.demo.progress import Progress
    from governor.demo.tally import Tally
    from governor.mock.windows import WindowMode

__all__ = ["DemoOptions", "RunFacts", "check_redis", "run_demo"]

_CHECK_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What the command line chose.

    ``latency_ms`` is how long the mock takes to answer each send, in real milliseconds (0:
    at once), the median of a log-normal latency when ``latency_p99_ms`` is given, drawn with
    ``latency_seed``; see :mod:`governor.mock.latency`. ``clock_offset_s`` (provider seconds
    the provider's clock runs ahead of the fleet's) and ``out_of_band`` (requests other senders
    spend) vary the midnight scenario (None: its own). Raises ValueError for a latency the
    mock cannot take, or a variant :func:`~governor.demo.scenarios.with_midnight` refuses.
    ``startup_timeout_s`` bounds each start-up step: the embedded server answering, the mock
    answering, the workers importing, and the workers connecting.
    """

    scenario: str = "steady"
    workers: int = 8
    messages: int | None = None
    duration_s: float | None = None
    time_scale: float = 6.0
    redis_url: str | None = None
    window: WindowMode = "fixed"
    latency_ms: float = 0.0
    latency_p99_ms: float | None = None
    latency_seed: int = 0
    clock_offset_s: float | None = None
    out_of_band: int | None = None
    startup_timeout_s: float = 120.0

    def __post_init__(self) -> None:
        if not self.startup_timeout_s > 0:
            raise ValueError(f"a start-up timeout is a positive number of seconds, not "
                             f"{self.startup_timeout_s}")
        self.latency()
        self.played()

    def played(self) -> Scenario:
        """The scenario as this run plays it."""
        return with_midnight(SCENARIOS[self.scenario], clock_offset_s=self.clock_offset_s,
                             out_of_band=self.out_of_band)

    def latency(self) -> Latency | None:
        """The mock's reply latency (seconds), None for none."""
        return reply_latency(self.latency_ms, self.latency_p99_ms)


@dataclass
class RunFacts:
    """What the parent saw and did, beyond the workers' events (times: real epoch seconds).
    ``redis_down`` says why the Redis given failed a read before the run (None: it did not)."""

    scenario: Scenario
    options: DemoOptions
    time_scale: float
    redis: str = ""
    redis_down: str | None = None
    go_at_s: float = 0.0
    ready_s: float = 0.0
    started_s: float = 0.0
    ended_s: float = 0.0
    midnight: MidnightPlan | None = None
    pace: PaceStart | None = None
    drop_s: float | None = None
    outages: list[dict[str, Any]] = field(default_factory=list)
    spent: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False
    errors: list[str] = field(default_factory=list)
    unfinished: int = 0
    server: dict[str, Any] | None = None
    log: list[dict[str, Any]] = field(default_factory=list)
    redis_calls: int | None = None


def _raise_interrupted(_signum: int, _frame: FrameType | None) -> None:
    raise Interrupted


def _script_calls(url: str) -> int:
    """Script calls (EVALSHA and kin) the server has run: the governor's round trips."""
    import redis  # noqa: PLC0415 - only for this count

    with redis.Redis.from_url(url, socket_timeout=2) as client:
        stats: dict[str, Any] = client.info("commandstats")
    names = ("cmdstat_evalsha", "cmdstat_eval", "cmdstat_evalsha_ro", "cmdstat_eval_ro")
    return sum(int(stats[n]["calls"]) for n in names if n in stats)


def check_redis(url: str) -> str | None:
    """Why the Redis at ``url`` (valid: the settings checked it) fails a first read
    (``TIME``, which every governor's ACL allows), None when it answers."""
    from redis import RedisError  # noqa: PLC0415 - only with a Redis URL

    from governor.backends.redis import RedisBackend  # noqa: PLC0415

    try:
        backend = RedisBackend.from_url(url, socket_timeout_s=_CHECK_TIMEOUT_S,
                                        connect_timeout_s=_CHECK_TIMEOUT_S)
    except BackendError as exc:  # a Cluster whose startup nodes do not answer
        return str(exc)
    try:
        backend.client.time()
    except (RedisError, OSError) as exc:
        return str(exc) or type(exc).__name__
    finally:
        backend.close()
    return None


def run_demo(options: DemoOptions, progress: Progress) -> tuple[RunFacts, Tally]:
    """Run the scenario of ``options`` to its end; raises nothing for a Ctrl-C (the facts say
    it was interrupted). Everything started is stopped before this returns. Raises
    :class:`~governor.errors.ConfigError`, before anything starts, for settings or a Redis
    URL governor refuses."""
    scenario = options.played()
    facts = RunFacts(scenario, options, options.time_scale)
    url = GovernorSettings.load(  # checks --redis-url before anything starts
        provider=scenario.provider, plan=scenario.plan, reputation="healthy",
        flags={"redis_url": options.redis_url},
    ).redis_url
    if url is not None:
        facts.redis = redacted(url)  # never show a password
        facts.redis_down = check_redis(url)
    fleet = Fleet(facts, progress)
    with contextlib.ExitStack() as stack, handling(signal.SIGTERM, _raise_interrupted):
        try:
            stack.callback(fleet.stop)
            progress.start(facts, fleet.tally)
            fleet.spawn()  # the workers import while Redis and the mock start
            _serve(facts, fleet, stack, url)
        except (KeyboardInterrupt, Interrupted):
            facts.interrupted = True
        finally:
            progress.stop()
    return facts, fleet.tally


def _serve(facts: RunFacts, fleet: Fleet, stack: contextlib.ExitStack, url: str | None) -> None:
    """Start Redis (unless given) and the mock, run the fleet, and read the mock's report."""
    import httpx  # noqa: PLC0415 - the demo extra, on demand

    from governor.mock.admin import AdminError  # noqa: PLC0415
    from governor.mock.server import MockServer  # noqa: PLC0415

    scenario = facts.scenario
    private = url is None
    timeout_s = facts.options.startup_timeout_s
    if url is None:
        server = start_server(startup_timeout_s=timeout_s)
        stack.callback(server.stop)
        url = server.url
        facts.redis = f"embedded {server.binary} on port {server.port}"
    if scenario.midnight:  # once the workers have imported: the rest of the startup is short
        imported_s = fleet.wait_spawned()
        messages = facts.options.messages or scenario.messages
        # The rest (one process for the mock, eight connections) is less work than the eight
        # imports were on the same machine: one slow to import is given half as long again.
        facts.midnight = plan_midnight(scenario, facts.time_scale, time.time(), messages,
                                       startup_s=max(STARTUP_S, 1.5 * imported_s))
        facts.time_scale, facts.go_at_s = facts.midnight.time_scale, facts.midnight.go_at_s
    mock = stack.enter_context(MockServer(
        scenario.provider, time_scale=facts.time_scale, clock_offset_s=scenario.clock_offset_s,
        rate_headers=scenario.rate_headers,
        window=facts.options.window, latency=facts.options.latency(),
        latency_seed=facts.options.latency_seed, process=True, startup_timeout_s=timeout_s,
    ))
    token = f"demo-{secrets.token_hex(12)}"
    mock.admin.add_account(ACCOUNT, token, plan=scenario.plan)
    stack.callback(fleet.stop)  # again: on the way out, the workers stop before the mock
    calls_before = _script_calls(url) if private else None
    try:
        fleet.run(_configs(facts, mock.url, url, token), mock.admin)
        if calls_before is not None:  # while sending (the workers' final flush left out)
            facts.redis_calls = _script_calls(url) - calls_before
    except (KeyboardInterrupt, Interrupted):
        facts.interrupted = True
    fleet.stop()
    try:
        facts.server = mock.admin.report()
    except (httpx.HTTPError, AdminError):
        if not facts.interrupted:  # a Ctrl-C at a terminal stops the mock too
            raise
        return
    if (scenario.midnight or scenario.drop_at is not None or scenario.pace_per_min
            or facts.server["totals"]["rate_limited"]):
        facts.log = mock.admin.log(limit=100_000)["entries"]


def _configs(facts: RunFacts, mock_url: str, redis_url: str, token: str) -> list[WorkerConfig]:
    s, run = facts.scenario, secrets.token_hex(4)
    paced = s.pace_per_min is not None
    configs = [
        WorkerConfig(
            i, mock_url, redis_url, f"governor-demo-{run}", facts.options.workers, s.provider,
            s.plan, facts.time_scale, token, s.method, s.path, s.batch,
            f"demo-{run}" if s.idempotency else None, s.lose_every,
            "low" if paced else "normal", True if paced else None, s.pace_burst,
            1.0 if paced else None,
        )
        for i in range(facts.options.workers)
    ]
    if s.high_every_s is not None:  # worker 0 sends a password reset now and then
        configs[0] = replace(configs[0], priority="high",
                             gap_s=s.high_every_s * facts.time_scale / 60)
    return configs
