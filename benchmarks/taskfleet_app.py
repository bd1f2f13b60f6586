"""The tasks a task-queue fleet runs in :mod:`benchmarks.taskfleet`: one governed send per
message, to the mock provider, as a Celery task (``-A benchmarks.taskfleet_app``) and as an RQ job
(:data:`rq_send`).
Configured by the environment the harness gives the workers:

``TASKFLEET_BROKER`` (the Celery broker), ``TASKFLEET_REDIS`` (the governor's Redis and the
tally), ``TASKFLEET_PREFIX``, ``TASKFLEET_MOCK`` (the provider URL), ``TASKFLEET_SCALE``
(seconds per provider minute), ``TASKFLEET_THRESHOLD_S``, ``TASKFLEET_HORIZON_S``.

Each run of the body appends ``{"id", "pid", "t", "status", "wait_s"}`` to the tally list;
a Celery worker that is ready appends its pid to ``READY``.
"""

from __future__ import annotations

import json
import os
import time
from functools import cache
from typing import Any

import redis
import requests
from celery import Celery
from celery.signals import worker_ready

from governor import Governor, Policy, RedisBackend, load_profile
from governor.integrations.celery import GovernedTask
from governor.integrations.rq import current_run, governed_job

__all__ = [
    "READY", "TALLY", "TOKEN", "app", "celery_send", "make_governor", "rq_send", "send",
]

TOKEN = "tok-fleet"
TALLY = "taskfleet:tally"
READY = "taskfleet:ready"
ENV = os.environ.get


def make_governor() -> Governor:
    """The worker process's governor: MailerSend starter on the shared Redis."""
    scale = float(ENV("TASKFLEET_SCALE", "60"))
    policy = Policy.from_profile(load_profile("mailersend").resolve("starter"), time_scale=scale)
    backend = RedisBackend.from_url(ENV("TASKFLEET_REDIS", "redis://127.0.0.1:6379/0"),
                                    prefix=ENV("TASKFLEET_PREFIX", "taskfleet"))
    return Governor(policy, backend, account="acme")


@cache
def _session() -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    return session


@cache
def _tally() -> redis.Redis:
    return redis.Redis.from_url(ENV("TASKFLEET_REDIS", "redis://127.0.0.1:6379/0"))


def send(message_id: int, wait_s: float, late_s: float = 0.0) -> requests.Response:
    """POST one email to the mock, keyed by its id (the mock counts deliveries per key)."""
    response = _session().post(f"{ENV('TASKFLEET_MOCK')}/v1/email", timeout=10, json={
        "from": {"email": "shop@example.com"}, "to": [{"email": f"c{message_id}@example.com"}],
        "subject": "Your order", "text": f"order {message_id}"},
        headers={"Idempotency-Key": f"m{message_id}"})
    _tally().rpush(TALLY, json.dumps({"id": message_id, "pid": os.getpid(), "t": time.time(),
                                      "status": response.status_code, "wait_s": wait_s,
                                      "late_s": late_s}))
    return response


app = Celery("taskfleet", broker=ENV("TASKFLEET_BROKER", "redis://127.0.0.1:6379/1"))
app.conf.update(task_ignore_result=True, worker_hijack_root_logger=False,
                broker_connection_retry_on_startup=True, worker_timer_precision=0.01)


@worker_ready.connect  # type: ignore[untyped-decorator]  # celery ships no type hints
def _ready(**_: Any) -> None:
    _tally().rpush(READY, os.getpid())


@app.task(  # type: ignore[untyped-decorator]  # celery ships no type hints
    bind=True, base=GovernedTask, governor=make_governor,
          governor_route="POST /v1/email",
          governor_threshold_s=float(ENV("TASKFLEET_THRESHOLD_S", "0.5")),
          governor_lead_s=float(ENV("TASKFLEET_LEAD_S", "0.3")),
          governor_horizon_s=float(ENV("TASKFLEET_HORIZON_S", "5")))
def celery_send(self: Any, message_id: int) -> requests.Response:
    """The Celery task: governed by GovernedTask, so it runs at its slot."""
    return send(message_id, getattr(self.request, "governor_wait_s", 0.0),
                getattr(self.request, "governor_late_s", 0.0))


def _rq_body(message_id: int) -> requests.Response:
    run = current_run()
    return send(message_id, 0.0 if run is None else run.sleep_s,
                0.0 if run is None else run.late_s)


rq_send = governed_job(make_governor, "POST /v1/email",
                       threshold_s=float(ENV("TASKFLEET_RQ_THRESHOLD_S", "1.5")),
                       lead_s=float(ENV("TASKFLEET_RQ_LEAD_S", "0.5")),
                       horizon_s=float(ENV("TASKFLEET_HORIZON_S", "5")))(_rq_body)
"""The RQ job: ``queue.enqueue(rq_send, i)``."""
