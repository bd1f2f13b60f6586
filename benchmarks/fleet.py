"""Fleet throughput on Redis: worker processes in tight loops on one account, decisions per second.

Each worker (``multiprocessing`` spawn, so each is a fresh interpreter) runs a tight loop of one
kind of call for a fixed window of wall time, all workers in the same window: ``bare`` is
``client.evalsha(sha, 0)`` of ``return 1``, ``governor`` is ``Governor.try_acquire`` on one
shared account (one key: every worker contends for it, as a real fleet does). Phases alternate
(bare, governor, bare, governor, ...) on the same workers and server, so both kinds see the
same machine. A phase's figure is every worker's calls added up, over the window.

Workers are started once and take orders over a pipe; a worker that fails reports the error
instead of leaving the parent waiting.
"""

from __future__ import annotations

import multiprocessing
import time
import uuid
from functools import partial
from itertools import repeat
from typing import TYPE_CHECKING

import redis

from benchmarks.harness import BenchmarkError, Result, Target
from benchmarks.memory import HUGE_RATE
from governor import Governor, Policy, RedisBackend

if TYPE_CHECKING:
    from collections.abc import Callable
    from multiprocessing.connection import Connection

    from benchmarks.harness import Op

__all__ = ["FLEET_BARE", "FLEET_GOVERNOR", "FLEET_TARGET", "fleet_throughput"]

FLEET_BARE = "fleet: bare EVALSHA"
FLEET_GOVERNOR = "fleet: governor try_acquire (1 bucket)"
FLEET_TARGET = Target(
    "fleet: governor decisions/s within 15% of bare EVALSHA, same worker count",
    FLEET_GOVERNOR,
    (FLEET_BARE,),
    0.85,
)
TRIVIAL_SCRIPT = "return 1"

_KINDS = {"bare": FLEET_BARE, "governor": FLEET_GOVERNOR}
_BATCH = 16  # calls between two looks at the clock
_LEAD_S = 0.25  # time for every worker to build its op before the window opens
_REPLY_S = 60.0
# A Result's rates are calls / round time; fleet counts differ per phase, so each phase is
# stored as the time _UNIT calls would take at its rate.
_UNIT = 1_000_000


def _build(
    kind: str, url: str, prefix: str, bare: redis.Redis, sha: str
) -> tuple[Op, Callable[[object], bool], Callable[[], None]]:
    """The op of ``kind``, the check of its result, and what closes it."""
    if kind == "bare":
        return partial(bare.evalsha, sha, 0), (lambda reply: reply == 1), (lambda: None)
    gov = Governor(
        Policy.of({"api": HUGE_RATE}), RedisBackend.from_url(url, prefix=prefix), account="fleet"
    )
    return gov.try_acquire, (lambda d: bool(getattr(d, "allowed", False))), gov.close


def _worker(conn: Connection, url: str) -> None:
    """Serve orders ``(kind, prefix, start_at, stop_at)`` until ``None``; reply with the count
    of calls made in the window, or with an error text."""
    bare = redis.Redis.from_url(url)
    sha = str(bare.script_load(TRIVIAL_SCRIPT))
    conn.send(("ready", 0))
    while (order := conn.recv()) is not None:
        kind, prefix, start_at, stop_at = order
        try:
            op, check, close = _build(kind, url, prefix, bare, sha)
            op()  # connected and the script cached before the window opens
            time.sleep(max(0.0, start_at - time.time()))
            count = 0
            while time.time() < stop_at:
                for _ in repeat(None, _BATCH):
                    op()
                count += _BATCH
            ok = check(op())
            close()
        except Exception as exc:  # reported to the parent, which raises
            conn.send(("error", f"{kind}: {exc!r}"))
            continue
        conn.send(("done", count) if ok else ("error", f"{kind}: a call was refused"))
    bare.close()


def _gather(conns: list[Connection]) -> list[int]:
    counts = []
    for conn in conns:
        if not conn.poll(_REPLY_S):
            raise BenchmarkError("a fleet worker did not answer")
        status, value = conn.recv()
        if status == "error":
            raise BenchmarkError(f"fleet worker failed: {value}")
        counts.append(int(value))
    return counts


def fleet_throughput(
    url: str,
    *,
    workers: int,
    phase_s: float,
    rounds: int,
    log: Callable[[str], None] | None = None,
) -> list[Result]:
    """Decisions per second of ``workers`` processes, bare EVALSHA and governor, over
    ``rounds`` alternating phases of ``phase_s`` seconds each."""
    ctx = multiprocessing.get_context("spawn")
    pipes = [ctx.Pipe() for _ in range(workers)]
    procs = [ctx.Process(target=_worker, args=(child, url), daemon=True) for _, child in pipes]
    conns = [parent for parent, _ in pipes]
    totals: dict[str, list[int]] = {kind: [] for kind in _KINDS}
    for proc in procs:
        proc.start()
    try:
        _gather(conns)
        for r in range(1, rounds + 1):
            for kind in _KINDS:
                prefix = f"bf{uuid.uuid4().hex[:10]}"
                start_at = time.time() + _LEAD_S
                for conn in conns:
                    conn.send((kind, prefix, start_at, start_at + phase_s))
                totals[kind].append(sum(_gather(conns)))
            if log is not None:
                line = ", ".join(f"{_KINDS[k]} {t[-1] / phase_s:,.0f}/s" for k, t in totals.items())
                log(f"fleet round {r}/{rounds}: {line}")
        for conn in conns:
            conn.send(None)
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
                proc.join()
    phase_ns = phase_s * 1e9
    return [
        Result(
            name,
            _UNIT,
            tuple(round(phase_ns * _UNIT / max(n, 1)) for n in totals[kind]),
            f"{workers} processes, {phase_s:g} s per phase",
        )
        for kind, name in _KINDS.items()
    ]
