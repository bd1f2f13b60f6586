"""The demo's fleet: the worker processes, the queues they share with the parent, and the
parent's loop over their events (feeding messages, playing the scenario's mid-run events,
drawing the progress), until every message is acknowledged."""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import signal
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from governor.demo.pace import start_pace
from governor.demo.tally import Tally
from governor.demo.worker import WorkerConfig, run_worker

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from multiprocessing.context import SpawnProcess
    from types import FrameType

    from governor.demo.progress import Progress
    from governor.demo.runner import RunFacts
    from governor.mock.admin import MockAdmin

__all__ = ["ACCOUNT", "Fleet", "Interrupted", "handling"]

ACCOUNT = "demo"
"""The account's name on the mock."""
_JOIN_TIMEOUT_S = 5.0
_INTERRUPTED_JOIN_S = 1.5


class Interrupted(Exception):
    """SIGTERM, turned into an exception so that everything started is stopped."""


@contextlib.contextmanager
def handling(
    signum: int, handler: Callable[[int, FrameType | None], object] | signal.Handlers
) -> Iterator[None]:
    """``handler`` for signal ``signum`` while inside, the previous one after (outside the
    main thread, where Python sets no handlers, signals are left alone)."""
    try:
        previous = signal.signal(signum, handler)
    except ValueError:
        yield
        return
    try:
        yield
    finally:
        signal.signal(signum, previous)


class Fleet:
    """The worker processes, their queues, and the parent's loop over their events."""

    def __init__(self, facts: RunFacts, progress: Progress) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.facts, self.progress = facts, progress
        self.setup: Any = ctx.Queue()
        self.work: Any = ctx.Queue()
        self.events: Any = ctx.Queue()
        self.go, self.halt = ctx.Event(), ctx.Event()
        s, opts = facts.scenario, facts.options
        total = None if opts.duration_s is not None else (opts.messages or s.messages)
        period_s = s.period_s * facts.time_scale / 60.0
        self.tally = Tally(opts.workers, total, time.time(), period_s, s.limit)
        self.procs: list[SpawnProcess] = [
            ctx.Process(target=run_worker, name=f"governor-demo-worker-{i}", daemon=True,
                        args=(self.setup, self.work, self.events, self.go, self.halt))
            for i in range(opts.workers)
        ]
        self._stopped = False
        self.spawned_at_s = 0.0

    def spawn(self) -> None:
        """Start the worker processes; they import, then wait for their configuration.

        They are born ignoring SIGINT (the disposition survives exec, and Python then installs
        no KeyboardInterrupt handler): a terminal's Ctrl-C reaches the whole process group, but
        only the parent acts on it and stops them; a worker still importing prints nothing."""
        with handling(signal.SIGINT, signal.SIG_IGN):
            for p in self.procs:
                p.start()
        self.spawned_at_s = time.time()

    def wait_spawned(self) -> float:
        """Wait until every worker has imported (or one has died, or the start-up timeout has
        passed: the run then reports it); the seconds since :meth:`spawn`."""
        deadline_s = self.spawned_at_s + self.facts.options.startup_timeout_s
        while len(self.tally.spawned) < len(self.procs) and time.time() < deadline_s:
            if any(p.exitcode is not None for p in self.procs):
                break
            self._drain(0.05)
            self.progress.update(self.tally, time.time())
        return time.time() - self.spawned_at_s

    def run(self, configs: list[WorkerConfig], admin: MockAdmin) -> None:
        """Configure the workers, start them together, and follow them to the end."""
        facts, tally, opts = self.facts, self.tally, self.facts.options
        for config in configs:
            self.setup.put(config)
        configured = time.time()
        while True:
            self._drain(0.05)
            now = time.time()
            if not self.go.is_set():
                if len(tally.ready) == len(self.procs) and not facts.ready_s:
                    facts.ready_s = now
                if facts.ready_s and now >= facts.go_at_s:
                    self._events(admin, 0.0, now)
                    self.go.set()
                    facts.started_s = tally.started_s = now
                elif not facts.ready_s and now - configured > opts.startup_timeout_s:
                    facts.errors.append(
                        f"{len(self.procs) - len(tally.ready)} of {len(self.procs)} workers "
                        f"were not ready within {opts.startup_timeout_s:g} s (a busy machine? "
                        "raise --startup-timeout)")
                    return
            else:
                self._feed()
                elapsed_s = now - facts.started_s
                self._events(admin, len(tally.acked) / tally.total if tally.total
                             else elapsed_s / (opts.duration_s or 1.0), now)
                if tally.finished or elapsed_s >= (opts.duration_s or float("inf")):
                    facts.ended_s = now
                    return
                if self._gave_up(now):
                    facts.ended_s = now
                    return
            dead = [p for p in self.procs if p.exitcode is not None]
            if dead:
                self._drain(0.2)
                why = Counter(st.error for st in tally.stopped.values() if st.error)
                facts.errors.extend(f"{_workers(n)} stopped: {e}" for e, n in why.items())
                facts.errors.append(f"{_workers(len(dead))} exited early")
                return
            self.progress.update(tally, now)

    def _gave_up(self, now_s: float) -> bool:
        """Whether a midnight run is past its plan's end (the fleet never resumed, or too
        slowly); says so in the facts' errors."""
        plan, tally = self.facts.midnight, self.tally
        if plan is None or now_s < plan.ends_by_s:
            return False
        after_s = now_s - max(plan.reset_s, plan.fleet_midnight_s)
        self.facts.errors.append(f"gave up {after_s:.0f} s after the later midnight with "
                                 f"{tally.issued - len(tally.acked)} messages unsent")
        return True

    def _feed(self) -> None:
        """Keep a few messages per worker queued (all of them, in a fixed-size run)."""
        tally = self.tally
        target = tally.total if tally.total is not None else len(self.procs) * 8
        want = target if tally.total is not None else len(tally.acked) + target
        while tally.issued < want:
            self.work.put(tally.issued)
            tally.issued += 1

    def _events(self, admin: MockAdmin, done: float, now_s: float) -> None:
        """The scenario's mid-run events, once their share (``done``) of the run is done (0:
        the fleet is about to start), and the out-of-band spends planned by ``now_s``."""
        facts, s = self.facts, self.facts.scenario
        spends = facts.midnight.spends if facts.midnight is not None else ()
        for at_s, requests in spends[len(facts.spent):]:
            if now_s < at_s:
                break
            facts.spent.append(admin.spend(ACCOUNT, requests))
        if s.pace_per_min is not None and facts.pace is None:  # as the fleet starts
            facts.pace = start_pace(admin, ACCOUNT, s.pace_per_min, facts.time_scale)
        if s.drop_at is not None and facts.drop_s is None and done >= s.drop_at:
            facts.drop_s = time.time()
            admin.set_reputation(ACCOUNT, "under_review")
        for outage in s.outages[len(facts.outages):]:
            if done < outage.at:
                break
            facts.outages.append(admin.schedule_outage(outage.duration_s, code=outage.code))

    def _drain(self, timeout_s: float) -> None:
        try:
            self.tally.add(self.events.get(timeout=timeout_s))
            for _ in range(10_000):
                self.tally.add(self.events.get_nowait())
        except queue.Empty:
            pass

    def stop(self) -> None:
        """Ask the workers to stop, wait a little, then end them; count the unfinished."""
        if self._stopped:
            return
        self._stopped = True
        self.halt.set()
        self.facts.ended_s = self.facts.ended_s or time.time()
        # After a Ctrl-C, a worker may wait on a server that is shutting down: do not wait long.
        grace_s = _INTERRUPTED_JOIN_S if self.facts.interrupted else _JOIN_TIMEOUT_S
        deadline = time.monotonic() + grace_s
        for p in self.procs:
            if p.pid is not None:
                p.join(max(0.0, deadline - time.monotonic()))
        for p in self.procs:
            if p.is_alive():
                p.terminate()
                p.join(2.0)
            if p.is_alive():
                p.kill()
                p.join()
        self._drain(0.1)
        queued = 0
        with contextlib.suppress(queue.Empty, OSError, ValueError):
            while True:
                self.work.get(timeout=0.05)
                queued += 1
        self.facts.unfinished = self.tally.issued - len(self.tally.acked) - queued
        for q in (self.setup, self.work, self.events):
            q.close()
            q.cancel_join_thread()


def _workers(n: int) -> str:
    return "1 worker" if n == 1 else f"{n} workers"
