"""RQ jobs on a real Redis, one in-process SimpleWorker in burst mode: a job whose slot is ahead
finishes with a Deferred naming its copy, which is scheduled under the governed name with the
slot in its meta, and runs on that slot."""

from __future__ import annotations

import time

import redis
import requests
from rq import Queue, SimpleWorker

from governor import Governor, Policy
from governor.integrations.deferral import HEADER, Slot
from governor.integrations.rq import Deferred, final_job, governed_job

RAN: list[float] = []


def make_governor() -> Governor:
    return Governor(Policy.of({"api": "12/minute"}))  # a slot every 5 s


def _body(n: int) -> requests.Response:
    RAN.append(time.time())
    response = requests.Response()
    response.status_code = 202
    return response


send = governed_job(make_governor, threshold_s=2.0, lead_s=1.0,  # RQ's defaults
                    result=lambda r: r.status_code)(_body)


def test_a_job_whose_slot_is_ahead_is_carried_on_by_a_scheduled_copy(redis_url: str,
                                                                       key_prefix: str) -> None:
    connection = redis.Redis.from_url(redis_url)
    queue = Queue(key_prefix, connection=connection)
    first, second = (queue.enqueue(f"{__name__}.send", i) for i in range(2))
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert first.return_value() == 202
    deferred = second.return_value()
    assert isinstance(deferred, Deferred)
    copy = queue.fetch_job(deferred.job_id)
    assert copy is not None
    assert copy.func_name == f"{__name__}.send"  # the governed function, not _body
    assert Slot.from_wire(copy.meta[HEADER]) is not None
    assert copy.meta["governor_origin"] == second.id
    assert queue.scheduled_job_registry.count == 1
    deadline = time.monotonic() + 20
    while final_job(second).return_value() != 202 and time.monotonic() < deadline:
        SimpleWorker([queue], connection=connection).work(burst=True, with_scheduler=True)
        time.sleep(0.2)
    assert final_job(second).return_value() == 202
    assert final_job(second).id == copy.id
    assert len(RAN) == 2
    assert RAN[1] - RAN[0] >= 4.9  # on its slot, 5 s after the first
    connection.close()
