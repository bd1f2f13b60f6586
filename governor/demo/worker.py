"""One worker process of the demo fleet: take messages from the shared queue, send them through
the governor to the mock provider, and report every response to the parent.

A worker is given URLs and settings, never objects (it is started with ``spawn``); its governor
shares the fleet's state through Redis. It never loses a message: a send the server answered
with "retry later" (429, 503) or that may not have left goes back to the queue; only a success
(or a refusal no retry can fix) is acknowledged.
"""

from __future__ import annotations

import logging
import os
import queue
import random
import signal
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import httpx

from governor.backends.fallback import FallbackBackend, FallbackStats
from governor.client import Governor
from governor.embedded import die_with_parent
from governor.errors import GovernorError
from governor.outcome import OutcomeKind, classify

if TYPE_CHECKING:
    from multiprocessing.queues import Queue
    from multiprocessing.synchronize import Event

    from governor.core import Priority
    from governor.headers import Observation
    from governor.outcome import Outcome

__all__ = ["Ready", "Sent", "Spawned", "Stopped", "WorkerConfig", "payload", "run_worker"]

_TAKE_TIMEOUT_S = 0.1
_BATCH_FILL_S = 0.01
_RETRY = (OutcomeKind.RETRY_LATER, OutcomeKind.BACKOFF, OutcomeKind.STOP_UNTIL_RESET)
# Errors raised before the request left: resending cannot deliver twice.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """Everything a worker needs, as plain values."""

    index: int
    mock_url: str
    redis_url: str | None
    key_prefix: str
    fleet_size: int
    provider: str
    plan: str | None
    time_scale: float
    token: str
    method: str
    path: str
    batch: int = 1
    idempotency_prefix: str | None = None
    lose_every: int = 0
    priority: Priority = "normal"
    pacing: bool | None = None
    pace_burst: int | None = None
    lane_horizon: float | None = None
    gap_s: float = 0.0


class Spawned(NamedTuple):
    """A worker process has imported everything and waits for its configuration."""

    pid: int


class Ready(NamedTuple):
    """A worker is connected and waits for the start."""

    worker: int


class Sent(NamedTuple):
    """One request and its response. ``outcome`` is ``"ok"``, ``"retry"`` (the messages went
    back to the queue), ``"lost"`` (a reply dropped on purpose: sent again), ``"fail"``
    (a refusal no retry fixes: acknowledged as failed), ``"error"`` (nothing sent, or safe to
    send again: requeued) or ``"unknown"`` (no reply, and resending could deliver twice:
    acknowledged, not resent).
    Times are real Unix epoch seconds."""

    worker: int
    ids: tuple[int, ...]
    status: int
    outcome: str
    code: str | None
    wait_s: float
    at_s: float
    limit: int | None
    quota_left: int | None
    retry_at_s: float | None
    replayed: bool


class Stopped(NamedTuple):
    """A worker ended; ``error`` says why when it was not asked to. ``degraded`` of its
    decisions were made without the shared state, after ``failures`` of the shared backend
    (its fallback backend's counts); ``degraded_why`` is the first warning its governor logged
    about that."""

    worker: int
    error: str | None
    degraded: int = 0
    failures: int = 0
    degraded_why: str | None = None


class _FirstWarning(logging.Handler):
    """Keeps the first warning the governor logs (why its decisions went local) for the
    report, instead of every worker printing it on the demo's terminal."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.message: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.message is None:
            self.message = record.getMessage().removeprefix("governor: ")


def payload(provider: str, path: str, ids: tuple[int, ...]) -> Any:
    """A plausible request body for ``ids`` (one message, or a bulk list)."""
    def one(i: int) -> dict[str, Any]:
        to = f"user{i}@example.com"
        if provider == "lettr":
            return {"from": "demo@example.com", "to": [to], "subject": f"Demo #{i}",
                    "text": "Sent by governor demo."}
        if provider == "sendmux":
            return {"from": {"email": "demo@example.com"}, "to": {"email": to},
                    "subject": f"Demo #{i}", "text": "Sent by governor demo."}
        return {"from": {"email": "demo@example.com"}, "to": [{"email": to}],
                "subject": f"Demo #{i}", "text": "Sent by governor demo."}

    if path.rstrip("/").endswith(("bulk-email", "batch")):
        return [one(i) for i in ids]
    return one(ids[0])


def _take(work: Queue[int], batch: int) -> tuple[int, ...]:
    """Up to ``batch`` message ids; raises ``queue.Empty`` when none came in a moment."""
    ids = [work.get(timeout=_TAKE_TIMEOUT_S)]
    while len(ids) < batch:
        try:  # a short wait: the queue may still be filling
            ids.append(work.get(timeout=_BATCH_FILL_S))
        except queue.Empty:
            break
    return tuple(ids)


def run_worker(setup: Queue[WorkerConfig], work: Queue[int], events: Queue[Any], go: Event,
               stop: Event) -> None:
    """The worker's main: take a configuration from ``setup``, then until ``stop``, send what
    ``work`` holds and report to ``events``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent owns Ctrl-C and stops us
    die_with_parent(signal.SIGTERM)  # the demo process dies: so does its worker
    events.put(Spawned(os.getpid()))
    while True:
        try:
            cfg = setup.get(timeout=_TAKE_TIMEOUT_S)
            break
        except queue.Empty:
            if stop.is_set():
                return
    error: str | None = None
    warning = _FirstWarning()
    logging.getLogger("governor").addHandler(warning)
    stats = FallbackStats()
    try:
        gov = Governor.from_settings(
            provider=cfg.provider, plan=cfg.plan, reputation="healthy", redis_url=cfg.redis_url,
            key_prefix=cfg.key_prefix, time_scale=cfg.time_scale, api_token=cfg.token,
            fleet_size=cfg.fleet_size,  # when Redis fails, each worker keeps to its share
            pacing=cfg.pacing, pace_burst=cfg.pace_burst, lane_horizon=cfg.lane_horizon,
        )
        if isinstance(gov.backend, FallbackBackend):  # it is, with a Redis URL
            stats = gov.backend.stats
        headers = {"Authorization": f"Bearer {cfg.token}"}
        with gov, httpx.Client(base_url=cfg.mock_url, headers=headers, timeout=30.0) as client:
            _Loop(cfg, gov, client, work, events).run(go, stop)
    except Exception as exc:  # reported to the parent, which shows it and fails the run
        error = f"{type(exc).__name__}: {exc}"
    events.put(Stopped(cfg.index, error, stats.degraded, stats.failures, warning.message))


class _Loop:
    """The send loop of one worker."""

    def __init__(self, cfg: WorkerConfig, gov: Governor, client: httpx.Client,
                 work: Queue[int], events: Queue[Any]) -> None:
        self.cfg, self.gov, self.client = cfg, gov, client
        self.work, self.events = work, events
        self.route = f"{cfg.method} {cfg.path}"
        self.successes = 0

    def run(self, go: Event, stop: Event) -> None:
        self.events.put(Ready(self.cfg.index))
        while not go.wait(_TAKE_TIMEOUT_S):
            if stop.is_set():
                return
        gaps = random.Random(self.cfg.index)
        while not stop.is_set():
            if self.cfg.gap_s and stop.wait(gaps.uniform(0.5, 1.5) * self.cfg.gap_s):
                return  # a sender that sends now and then, not a backlog
            try:
                ids = _take(self.work, self.cfg.batch)
            except queue.Empty:
                continue
            self.send(ids)

    def send(self, ids: tuple[int, ...]) -> None:
        """Send one request for ``ids`` and settle them: acknowledged, or back in the queue."""
        cfg = self.cfg
        headers = {}
        if cfg.idempotency_prefix is not None:  # one key per message (or per batch)
            headers["Idempotency-Key"] = f"{cfg.idempotency_prefix}-{'.'.join(map(str, ids))}"
        asked = time.monotonic()
        try:
            with self.gov.limit(self.route, priority=cfg.priority) as decision:
                wait_s = time.monotonic() - asked
                sent_at_us = time.time_ns() // 1000
                response = self.client.request(
                    cfg.method, cfg.path, json=payload(cfg.provider, cfg.path, ids),
                    headers=headers,
                )
        except (httpx.TransportError, GovernorError) as exc:
            # Not sent, or sent with an Idempotency-Key: safe to send again. Otherwise it may
            # have been delivered: acknowledge it as unknown rather than risk a duplicate.
            safe = isinstance(exc, (*_NOT_SENT, GovernorError)) or bool(headers)
            if safe:
                self._requeue(ids)
            self._report(ids, 0, "error" if safe else "unknown", type(exc).__name__,
                         time.monotonic() - asked)
            time.sleep(0.05)
            return
        try:
            feedback = self.gov.observe(self.route, response.status_code, response.headers,
                                        response.content, decision=decision,
                                        sent_at_us=sent_at_us)
            outcome, observation = feedback.outcome, feedback.observation
        except GovernorError:  # the shared state is out of reach: judge the response alone
            outcome = classify(response.status_code, response.headers, response.content,
                               self.gov.policy.dialect)
            observation = None
        self._settle(ids, response, outcome, wait_s, observation)

    def _settle(self, ids: tuple[int, ...], response: httpx.Response, outcome: Outcome,
                wait_s: float, observation: Observation | None) -> None:
        replayed = response.headers.get("idempotent-replayed") == "true"
        if outcome.kind is OutcomeKind.OK:
            self.successes += 1
            every = self.cfg.lose_every
            lost = bool(every) and self.successes % every == 0 and not replayed
            verdict = "lost" if lost else "ok"
            if lost:
                self._requeue(ids)
        elif outcome.kind in _RETRY:
            verdict = "retry"
            self._requeue(ids)
        else:
            verdict = "fail"
        retry_at_s = None
        if observation is not None and observation.retry_at_us is not None:
            retry_at_s = observation.retry_at_us / 1_000_000
        self._report(
            ids, response.status_code, verdict, outcome.code, wait_s,
            observation.limit if observation else None,
            observation.quota_remaining if observation else None, retry_at_s, replayed,
        )

    def _requeue(self, ids: tuple[int, ...]) -> None:
        for i in ids:
            self.work.put(i)

    def _report(self, ids: tuple[int, ...], status: int, outcome: str, code: str | None,
                wait_s: float, limit: int | None = None, quota_left: int | None = None,
                retry_at_s: float | None = None, replayed: bool = False) -> None:
        self.events.put(Sent(self.cfg.index, ids, status, outcome, code, wait_s, time.time(),
                             limit, quota_left, retry_at_s, replayed))
