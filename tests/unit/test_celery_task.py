"""GovernedTask without a worker: its options, the broker check, a direct call (which blocks in
acquire), and giving back a slot a message carries. The worker-side flow runs for real in
tests/integration/test_task_queues.py."""

from __future__ import annotations

from typing import Any

import pytest
from celery import Celery

from governor import Governor, ManualClock, Policy, load_profile
from governor.backends.memory import MemoryBackend
from governor.errors import ConfigError
from governor.integrations.celery import GovernedTask
from governor.integrations.deferral import Defer, Slot, TaskGovernance, admit, headers_with

EMAIL = "POST /v1/email"
CLOCK = ManualClock(1_767_225_600.0)
POLICY = Policy.from_profile(load_profile("mailersend").resolve("starter"))
GOV = Governor(POLICY, MemoryBackend(CLOCK), account="acme", clock=CLOCK)


def make_governor() -> Governor:
    return GOV


class Reply:
    def __init__(self, status: int) -> None:
        self.status_code, self.headers, self.content = status, {"retry-after": "3"}, b""


def app_with(**options: Any) -> tuple[Celery, Any]:
    app = Celery("t", broker="redis://127.0.0.1:1/0", set_as_current=False)
    app.conf.broker_transport_options = options

    @app.task(base=GovernedTask, governor=make_governor, governor_route=EMAIL,
              governor_result=lambda r: r.status_code)  # type: ignore[untyped-decorator]
    def send(status: int) -> Reply:
        return Reply(status)

    return app, send


def test_a_direct_call_blocks_in_acquire_and_returns_the_result_made_from_the_response(
) -> None:
    _, send = app_with()
    slept = list(CLOCK.slept_s)
    assert send(202) == 202
    assert send(202) == 202
    assert CLOCK.slept_s[len(slept):] == [0.5]  # the second waited for its slot, in place


def test_a_visibility_timeout_too_short_for_the_countdowns_is_refused() -> None:
    _, send = app_with(visibility_timeout=60)
    with pytest.raises(ConfigError, match="visibility timeout"):
        send.governance()
    _, fine = app_with()
    assert fine.governance().max_countdown_s == 300.0


def test_a_slot_a_message_carries_is_given_back() -> None:
    _, send = app_with()
    task = TaskGovernance(EMAIL, threshold_s=0.2, lead_s=0.1)
    now_s = CLOCK.now_us() / 1e6
    admit(GOV, task, None, now_s)
    ahead = admit(GOV, task, None, now_s)
    assert isinstance(ahead, Defer)
    assert isinstance(ahead.slot, Slot)
    assert send.cancel_slot(headers_with({}, ahead)) is True
    assert send.cancel_slot({}) is False
    again = admit(GOV, task, None, now_s)  # the slot given back is booked again
    assert isinstance(again, Defer)
    assert again.slot is not None
    assert again.slot.go_at == pytest.approx(ahead.slot.go_at)


def test_a_governed_task_without_a_governor_says_what_it_needs() -> None:
    app = Celery("t", broker="redis://127.0.0.1:1/0", set_as_current=False)

    @app.task(base=GovernedTask)  # type: ignore[untyped-decorator]
    def bare() -> None: ...

    with pytest.raises(TypeError, match="governor="):
        bare()
