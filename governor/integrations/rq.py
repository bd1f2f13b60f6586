"""RQ, governed: :func:`governed_job`, a decorator for a job function whose runs acquire their
route before the body and wait for a far slot in RQ's scheduler, not in the worker::

    def make_governor() -> Governor:                  # called once per worker process
        return Governor.from_settings(provider="mailersend", plan="starter")

    @governed_job(make_governor, "POST /v1/email")
    def send(message: dict) -> requests.Response:
        return requests.post(URL, json=message, headers=AUTH, timeout=10)

    queue.enqueue(send, message)                      # workers: rq worker --with-scheduler

The semantics are those of :mod:`governor.integrations.deferral` (and of the Celery task):
a slot within ``threshold_s`` is slept in the worker; a further one is booked and the job
re-scheduled for it with ``Queue.enqueue_at``, the reservation in the new job's
``meta["governor_slot"]``, honoured when it runs (never booked twice); a 429 or 503 from the
body's response re-schedules it past the fleet's pause; a spent quota until its reset.

**Re-scheduling is a new job.** RQ cannot re-schedule a job that is running, so a deferral
enqueues a copy (same function, arguments, timeout, TTLs, ``meta``; its ``meta
["governor_origin"]`` names the first job) and the running job finishes with a
:class:`Deferred` as its result, naming the copy (:func:`final_job` follows the chain). The
copy is enqueued before the job finishes, and only before the body ran or after the provider
refused the call, so a message is never sent twice by a re-schedule; if the copy cannot be
enqueued, the job waits for its slot in the worker instead, so none is lost.

**Precision.** RQ's scheduler stores a scheduled job's time in whole seconds and looks for
due jobs once a second, so a re-scheduled job starts up to about a second early or late. The
defaults fit that: a job is scheduled ``lead_s`` (1.0 s) before its slot and sleeps the rest
in the worker, up to ``threshold_s`` (2.0 s); a job that comes back later than
``threshold_s`` gives its slot up for a fresh one. At high rates the sleeping this costs is
what RQ's scheduler leaves no way around (see the README for the measured share).

Run workers with ``--with-scheduler`` (one of them takes the scheduler's lock), and prefer
``rq.worker.SimpleWorker`` or a worker pool that keeps the process: the governor (and what it
knows of the fleet's pauses) lives in the worker process; a worker that forks a work horse
per job builds a governor per job.

Outside a worker (a direct call) the job blocks in ``acquire``.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from rq import Queue, get_current_job
from rq.job import Job

from governor.integrations.deferral import (
    DENIALS,
    HEADER,
    Defer,
    Run,
    Slot,
    TaskGovernance,
    denials_in,
    governor_for,
    parts_of,
    settle,
    start,
    wait_here,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from governor.client import Governor
    from governor.core import Priority
    from governor.decision import Decision
    from governor.decorator import ResponseParts

__all__ = ["Deferred", "current_run", "final_job", "governed_job", "governor_for"]

P = ParamSpec("P")
R = TypeVar("R")
ORIGIN = "governor_origin"

log = logging.getLogger("governor")
_local = threading.local()


@dataclass(frozen=True, slots=True)
class Deferred:
    """The result of a job run that was re-scheduled: the job that carries it on."""

    job_id: str
    countdown_s: float
    reason: str


def current_run() -> Run | None:
    """The :class:`~governor.integrations.deferral.Run` of the governed job this thread is
    running (its ``sleep_s`` in the worker, its ``late_s``), or None."""
    run: Run | None = getattr(_local, "run", None)
    return run


def final_job(job: Job) -> Job:
    """Follow a job's :class:`Deferred` results to the job that ran (or will run) the body."""
    for _ in range(1000):
        result = job.return_value()
        if not isinstance(result, Deferred):
            break
        job = Job.fetch(result.job_id, connection=job.connection)
    return job


def governed_job(
    governor: Callable[[], Governor],
    route: str = "*",
    *,
    cost: int = 1,
    priority: Priority = "normal",
    threshold_s: float = 2.0,
    lead_s: float = 1.0,
    horizon_s: float = 10.0,
    max_countdown_s: float = 300.0,
    extract: Callable[[Any], ResponseParts | None] | None = None,
    result: Callable[[Any], Any] | None = None,
) -> Callable[[Callable[P, Any]], Callable[P, Any]]:
    """Govern an RQ job function (module docstring). ``governor`` returns the process's
    :class:`~governor.Governor` (called once per process); the options are those of
    :class:`~governor.integrations.deferral.TaskGovernance`. Return the provider's response
    from the body (or pass ``extract``) for 429s and 503s to re-schedule the job; ``result``
    makes the job's result from it once observed (RQ pickles results: ``lambda r:
    r.status_code`` keeps a response's connection out of Redis)."""
    task = TaskGovernance(route, cost, priority, threshold_s, lead_s, horizon_s,
                          max_countdown_s, extract)

    def decorate(fn: Callable[P, Any]) -> Callable[P, Any]:
        @functools.wraps(fn)
        def governed(*args: P.args, **kwargs: P.kwargs) -> Any:
            gov, job = governor_for(governor), get_current_job()
            if job is None:
                decision = gov.acquire(task.route, task.cost, priority=task.priority)
                outcome = _body(gov, task, decision, fn, args, kwargs, None)
                return outcome if result is None else result(outcome)
            step = start(gov, task, Slot.from_wire(job.meta.get(HEADER)), denials_in(job.meta))
            if isinstance(step, Defer):
                return _defer(gov, task, job, step, fn, args, kwargs)
            _local.run = step
            try:
                outcome = _body(gov, task, step.decision, fn, args, kwargs, job)
            finally:
                _local.run = None
            return outcome if result is None or isinstance(outcome, Deferred) else result(outcome)

        return governed

    return decorate


def _body(gov: Governor, task: TaskGovernance, decision: Decision, fn: Callable[P, R],
          args: Any, kwargs: Any, job: Job | None) -> R | Deferred:
    sent_at_us = gov.clock.now_us()
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:
        deferral = settle(gov, task, decision, parts_of(task, None, exc), sent_at_us)
        if deferral is None or job is None:
            raise
        return _defer(gov, task, job, deferral, fn, args, kwargs)
    deferral = settle(gov, task, decision, parts_of(task, result, None), sent_at_us)
    if deferral is None or job is None:
        return result
    return _defer(gov, task, job, deferral, fn, args, kwargs)


def _defer(gov: Governor, task: TaskGovernance, job: Job, step: Defer, fn: Callable[P, R],
           args: Any, kwargs: Any) -> R | Deferred:
    meta = {k: v for k, v in job.meta.items() if k not in (HEADER, DENIALS)}
    meta[HEADER] = None if step.slot is None else step.slot.to_wire()
    meta[DENIALS] = step.denials
    meta.setdefault(ORIGIN, job.id)
    at = datetime.now(timezone.utc) + timedelta(seconds=step.countdown_s)
    try:
        queue = Queue(job.origin, connection=job.connection, serializer=job.serializer)
        timeout = None if job.timeout is None else int(job.timeout)
        # By the name the job was enqueued under: the governed function (``job.func`` would
        # name the undecorated one, which functools.wraps leaves as its __qualname__).
        copy = queue.create_job(job.func_name or job.func, args=job.args, kwargs=job.kwargs,
                                timeout=timeout, result_ttl=job.result_ttl,
                                failure_ttl=job.failure_ttl, description=job.description,
                                meta=meta)
        queue.schedule_job(copy, at)
    except Exception:
        log.exception("governor: job %s could not be re-scheduled; it waits in the worker",
                      job.id)
        return _body(gov, task, wait_here(gov, task, step), fn, args, kwargs, job)
    return Deferred(copy.id, step.countdown_s, step.reason)
