"""A task-queue fleet against the mock provider: real workers (Celery or RQ) on a real broker,
the governor on a real Redis, one governed send per message (:mod:`benchmarks.taskfleet_app`).

:func:`run_fleet` starts a private Redis-compatible server (broker, governor state and tally),
the mock MailerSend (starter plan, its minute compressed to ``scale_s`` seconds), and
``workers`` worker processes of ``concurrency`` slots each (Celery: the prefork pool);
enqueues ``messages`` sends at
once; optionally drops the account's reputation to ``under_review`` (10/min) once
``drop_at`` of them are delivered; and waits until every message is delivered (or
``deadline_s``). The :class:`FleetResult` says what the provider saw (429s, utilisation of
the binding limit over the whole windows before any drop, deliveries per message) and what
the workers did (429s per process, the share of slot time spent sleeping for a slot).

Used by ``tests/integration/test_task_queues.py`` and ``python -m benchmarks celery|rq``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from benchmarks.taskfleet_app import READY, TALLY, TOKEN
from governor.embedded import start_server
from governor.mock.server import MockServer

__all__ = ["FleetResult", "run_fleet"]

ROOT = Path(__file__).resolve().parents[1]
POOL = os.environ.get("TASKFLEET_POOL", "prefork")


@dataclass
class FleetResult:
    """What one fleet run did (see the module docstring)."""

    kind: str
    workers: int
    concurrency: int
    messages: int
    elapsed_s: float
    delivered_ids: int
    deliveries: int
    rate_limited: int
    limited_by_pid: dict[int, int]
    limited_after_drop: int
    utilisation: float | None
    windows_measured: int | None
    throughput_share: float | None
    duplicates_delivered: int
    slept_s: float
    runs: int
    dropped: bool
    report: dict[str, Any] = field(repr=False)

    @property
    def limited_before_drop(self) -> int:
        """429s the workers saw before the drop (all of them without one)."""
        return sum(self.limited_by_pid.values()) - self.limited_after_drop

    @property
    def lost(self) -> int:
        """Messages never delivered."""
        return self.messages - self.delivered_ids

    @property
    def sent_twice(self) -> int:
        """Deliveries beyond the first per message (the workers' tally and the mock's)."""
        return max(self.deliveries - self.delivered_ids, self.duplicates_delivered)

    @property
    def slots_free(self) -> float:
        """The share of slot time not spent sleeping for a slot in the worker."""
        return 1.0 - self.slept_s / (self.workers * self.concurrency * self.elapsed_s)

    def lines(self) -> list[str]:
        """A short human summary."""
        used = "n/a" if self.utilisation is None else f"{self.utilisation:.1%}"
        share = "n/a" if self.throughput_share is None else f"{self.throughput_share:.1%}"
        return [
            f"{self.kind}: {self.workers} workers x {self.concurrency} slots, "
            f"{self.messages} messages in {self.elapsed_s:.1f} s ({self.runs} runs)",
            f"  429s: {self.rate_limited} (after the drop: {self.limited_after_drop}; by "
            f"process: {sorted(self.limited_by_pid.values(), reverse=True)})",
            f"  binding limit used: {used} over {self.windows_measured} whole provider minutes "
            f"before any drop ({share} of it from the first send on)",
            f"  lost: {self.lost}, sent twice: {self.sent_twice}, "
            f"slots free: {self.slots_free:.1%} ({self.slept_s:.2f} s slept for slots)",
        ]


def _env(broker: str, state: str, prefix: str, mock: str, scale_s: float, threshold_s: float,
         lead_s: float, horizon_s: float) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GOVERNOR_", "TASKFLEET_"))}
    return base | {
        "TASKFLEET_BROKER": broker, "TASKFLEET_REDIS": state, "TASKFLEET_PREFIX": prefix,
        "TASKFLEET_MOCK": mock, "TASKFLEET_SCALE": str(scale_s),
        "TASKFLEET_THRESHOLD_S": str(threshold_s), "TASKFLEET_LEAD_S": str(lead_s),
        "TASKFLEET_HORIZON_S": str(horizon_s),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }


def _celery_workers(n: int, concurrency: int, queue: str, env: dict[str, str]
                    ) -> list[subprocess.Popen[bytes]]:
    cmd = [sys.executable, "-m", "celery", "-A", "benchmarks.taskfleet_app", "worker",
           "-Q", queue, "-c", str(concurrency), "--without-gossip", "--without-mingle",
           "--without-heartbeat", "--loglevel", "ERROR", "-P", POOL]
    return [subprocess.Popen([*cmd, "-n", f"w{i}-{queue}@%h"], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for i in range(n)]


def _celery_enqueue(queue: str, env: dict[str, str], messages: int) -> None:
    # The app reads its broker from the environment when imported: import it under env.
    os.environ.update({k: v for k, v in env.items() if k.startswith("TASKFLEET_")})
    from benchmarks.taskfleet_app import app, celery_send  # noqa: PLC0415 - configured above

    app.conf.broker_url = env["TASKFLEET_BROKER"]
    with app.connection_for_write() as conn, app.producer_or_acquire() as producer:
        del conn
        for i in range(messages):
            celery_send.apply_async((i,), queue=queue, producer=producer)


def _celery_ready(client: redis.Redis, queue: str) -> bool:
    # A worker consumes from its queue once ready: Kombu registers it in the bindings set.
    return bool(client.exists(f"_kombu.binding.{queue}"))


def _rq_workers(n: int, concurrency: int, queue: str, env: dict[str, str]
                ) -> list[subprocess.Popen[bytes]]:
    # RQ runs one job per worker process: n x concurrency processes. SimpleWorker keeps the
    # process (and its governor) from job to job; one worker takes the scheduler's lock.
    rq = str(Path(sys.executable).parent / "rq")
    cmd = [rq, "worker", "-u", env["TASKFLEET_BROKER"], "-w", "rq.worker.SimpleWorker",
           "--with-scheduler", "--logging_level", "ERROR", queue]
    return [subprocess.Popen([*cmd, "-n", f"w{i}-{queue}"], cwd=ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for i in range(n * concurrency)]


def _rq_enqueue(queue: str, env: dict[str, str], messages: int) -> None:
    from rq import Queue  # noqa: PLC0415 - the rq extra

    os.environ.update({k: v for k, v in env.items() if k.startswith("TASKFLEET_")})
    with redis.Redis.from_url(env["TASKFLEET_BROKER"]) as connection:
        q = Queue(queue, connection=connection)
        with connection.pipeline() as pipe:
            for i in range(messages):
                q.enqueue("benchmarks.taskfleet_app.rq_send", i, pipeline=pipe)
            pipe.execute()


Starter = Callable[[int, int, str, dict[str, str]], list[subprocess.Popen[bytes]]]
KINDS: dict[str, tuple[Starter, Callable[[str, dict[str, str], int], None]]] = {
    "celery": (_celery_workers, _celery_enqueue),
    "rq": (_rq_workers, _rq_enqueue),
}


def run_fleet(kind: str = "celery", *, workers: int = 4, concurrency: int = 2,
              messages: int = 600, scale_s: float = 3.0, drop_at: float | None = None,
              threshold_s: float = 0.2, lead_s: float = 0.1, horizon_s: float = 3.0,
              deadline_s: float = 240.0) -> FleetResult:
    """Run one fleet (module docstring); ``threshold_s``, ``lead_s`` and ``horizon_s`` are the
    governed task's, in real seconds."""
    start_workers, enqueue = KINDS[kind]
    server = start_server()
    queue, prefix = f"q{uuid.uuid4().hex[:8]}", f"tf{uuid.uuid4().hex[:8]}"
    base = server.url.rsplit("/", 1)[0]
    broker, state = f"{base}/1", f"{base}/0"
    client = redis.Redis.from_url(state)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with MockServer("mailersend", time_scale=scale_s, process=True) as mock:
            mock.admin.add_account("acme", TOKEN, plan="starter")
            env = _env(broker, state, prefix, mock.url, scale_s, threshold_s, lead_s, horizon_s)
            procs = start_workers(workers, concurrency, queue, env)
            _wait_ready(kind, client, broker, workers * (concurrency if kind == "rq" else 1),
                        procs)
            started = time.monotonic()
            enqueue(queue, env, messages)
            drop_t: float | None = None
            drop_virtual_s: float | None = None
            while time.monotonic() - started < deadline_s:
                delivered = len({r["id"] for r in _tally(client) if r["status"] == 202})
                if drop_at is not None and drop_t is None and delivered >= drop_at * messages:
                    drop_virtual_s = mock.admin.clock()["virtual_now_s"]
                    mock.admin.set_reputation("acme", "under_review")
                    drop_t = time.time()
                if delivered >= messages:
                    break
                time.sleep(0.05)
            elapsed_s = time.monotonic() - started
            report = mock.admin.report()
            report["windows_before_drop"] = _windows(_log(mock), drop_virtual_s)
        return _result(kind, workers, concurrency, messages, elapsed_s, drop_t,
                       _tally(client), report, scale_s)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        client.close()
        server.stop()


def _ready(kind: str, client: redis.Redis, broker: str) -> int:
    if kind == "celery":
        return int(client.llen(READY))
    with redis.Redis.from_url(broker) as connection:
        return int(connection.scard("rq:workers"))


def _wait_ready(kind: str, client: redis.Redis, broker: str, workers: int,
                procs: list[subprocess.Popen[bytes]], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while _ready(kind, client, broker) < workers:
        dead = [p.args for p in procs if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            raise RuntimeError(f"task-queue workers did not start: {dead or 'timed out'}")
        time.sleep(0.05)


def _tally(client: redis.Redis) -> list[dict[str, Any]]:
    return [json.loads(r) for r in client.lrange(TALLY, 0, -1)]


def _log(mock: MockServer) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    while True:
        page = mock.admin.log(since=len(entries), limit=1000)
        entries.extend(page["entries"])
        if not page["entries"] or len(entries) >= page["total"]:
            return entries


def _windows(log: list[dict[str, Any]], drop_virtual_s: float | None) -> tuple[float, int] | None:
    """The email bucket's admissions over the limit in force, summed over the whole provider
    minutes (aligned, as the mock counts them) after the first one that saw a send and before
    the drop (or the last send): ``(utilisation, windows)``, None without a whole window."""
    admitted = [e["t"] for e in log if "email" in e["buckets"]]
    if not admitted:
        return None
    first = int(admitted[0] // 60) + 1
    end = drop_virtual_s if drop_virtual_s is not None else admitted[-1]
    last = int(end // 60) - 1
    if last < first:
        return None
    counts = Counter(int(t // 60) for t in admitted)
    windows = range(first, last + 1)
    return float(sum(counts[w] for w in windows) / (120 * len(windows))), len(windows)


def _share(delivered: list[dict[str, Any]], drop_t: float | None, rate_per_s: float
           ) -> float | None:
    """Deliveries per second over the saturated span (the first delivery to the drop, or to
    the last delivery), as a share of the binding limit (email: 120 per provider minute)."""
    times = sorted(float(r["t"]) for r in delivered if drop_t is None or r["t"] < drop_t)
    if len(times) < 3:
        return None
    return (len(times) - 1) / ((times[-1] - times[0]) * rate_per_s)


def _result(kind: str, workers: int, concurrency: int, messages: int, elapsed_s: float,
            drop_t: float | None, rows: list[dict[str, Any]],
            report: dict[str, Any], scale_s: float) -> FleetResult:
    account = report["accounts"]["acme"]
    delivered = [r for r in rows if r["status"] == 202]
    limited = [r for r in rows if r["status"] == 429]
    windows = report["windows_before_drop"]
    return FleetResult(
        kind, workers, concurrency, messages, elapsed_s,
        delivered_ids=len({r["id"] for r in delivered}), deliveries=len(delivered),
        rate_limited=sum(account["rate_limited"].values()),
        limited_by_pid=dict(Counter(r["pid"] for r in limited)),
        limited_after_drop=sum(1 for r in limited if drop_t is not None and r["t"] >= drop_t),
        utilisation=None if windows is None else windows[0],
        windows_measured=None if windows is None else windows[1],
        throughput_share=_share(delivered, drop_t, 120 / scale_s),
        duplicates_delivered=account["duplicates_delivered"],
        slept_s=sum(r["wait_s"] for r in rows), runs=len(rows), dropped=drop_t is not None,
        report=report)
