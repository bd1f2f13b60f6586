"""RQ: five emails sent by a governed job. A run whose slot is further away than RQ's
scheduler can aim (it counts whole seconds) is re-scheduled for it with ``enqueue_at``,
the slot in the new job's meta, instead of sleeping in the worker.

    python examples/rq_jobs.py [PROVIDER_URL [REDIS_URL]]

The queue is on the Redis given (or a private server started here), and so is the
governor's state; a burst-mode worker with the scheduler runs in this script until the queue
is empty. In production: ``rq worker --with-scheduler -w rq.worker.SimpleWorker``.
"""

from __future__ import annotations

import os
import time

import redis
import requests
from _provider import EMAIL, HEADERS, TOKEN, provider_url, redis_url
from rq import Queue, SimpleWorker

from governor import Governor
from governor.integrations.rq import final_job, governed_job


def make_governor() -> Governor:
    """Each worker process builds its governor once, on the shared Redis."""
    return Governor.from_settings(provider="mailersend", plan="starter", api_token=TOKEN,
                                  redis_url=os.environ["EXAMPLE_REDIS_URL"])


@governed_job(make_governor, "POST /v1/email", result=lambda response: response.status_code)
def send_email(provider: str) -> requests.Response:
    """The body returns the provider's response: a 429 or 503 re-schedules the job."""
    return requests.post(f"{provider}/v1/email", json=EMAIL, headers=HEADERS, timeout=10)


if __name__ == "__main__":
    with provider_url() as url, redis_url() as broker:
        os.environ["EXAMPLE_REDIS_URL"] = broker
        connection = redis.Redis.from_url(broker)
        queue = Queue("emails", connection=connection)
        # By name: RQ imports the module in the worker (this script is __main__ here).
        jobs = [queue.enqueue("rq_jobs.send_email", url) for _ in range(5)]
        worker = SimpleWorker([queue], connection=connection)
        worker.work(burst=True, with_scheduler=True, logging_level="WARNING")
        while queue.scheduled_job_registry.count or queue.count:  # re-scheduled jobs
            time.sleep(0.2)
            worker = SimpleWorker([queue], connection=connection)
            worker.work(burst=True, with_scheduler=True, logging_level="WARNING")
        print("statuses:", [final_job(job).return_value() for job in jobs])
