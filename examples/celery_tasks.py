"""Celery: five emails sent by a governed task. A run whose slot is more than a moment away is
re-scheduled for it (the slot travels in the message) instead of sleeping in the worker.

    python examples/celery_tasks.py [PROVIDER_URL [REDIS_URL]]

The broker and result backend are the Redis given (or a private server started here); the
worker runs in a thread of this script, to keep it one file. In production it is
``celery -A celery_tasks worker`` on every machine, all on one broker and one governor Redis.
"""

from __future__ import annotations

import os
import time

import requests
from _provider import EMAIL, HEADERS, TOKEN, provider_url, redis_url
from celery import Celery
from celery.contrib.testing.worker import start_worker

from governor import Governor
from governor.integrations.celery import GovernedTask

app = Celery("celery_tasks")


def make_governor() -> Governor:
    """Each worker process builds its governor once, on the shared Redis."""
    return Governor.from_settings(provider="mailersend", plan="starter", api_token=TOKEN,
                                  redis_url=os.environ["EXAMPLE_REDIS_URL"])


@app.task(  # type: ignore[untyped-decorator]  # celery ships no type hints
    base=GovernedTask, governor=make_governor, governor_route="POST /v1/email",
    governor_result=lambda response: response.status_code)
def send_email(provider: str) -> requests.Response:
    """The body returns the provider's response: a 429 or 503 re-schedules the task."""
    return requests.post(f"{provider}/v1/email", json=EMAIL, headers=HEADERS, timeout=10)


if __name__ == "__main__":
    with provider_url() as url, redis_url() as broker:
        os.environ["EXAMPLE_REDIS_URL"] = broker
        app.conf.update(broker_url=broker, result_backend=broker, worker_timer_precision=0.1)
        with start_worker(app, pool="threads", concurrency=2, perform_ping_check=False,
                          loglevel="WARNING"):
            ids = [send_email.delay(url).id for _ in range(5)]
            while not all(app.AsyncResult(i).ready() for i in ids):  # a poll: no subscription
                time.sleep(0.2)
            print("statuses:", [app.AsyncResult(i).result for i in ids])
