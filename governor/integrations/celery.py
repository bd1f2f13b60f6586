"""Celery, governed: :class:`GovernedTask`, a task base class whose runs acquire their route
before the body, and wait for a slot off the worker (a countdown), not in it::

    def make_governor() -> Governor:                  # called once per worker process
        return Governor.from_settings(provider="mailersend", plan="starter")

    @app.task(base=GovernedTask, governor=make_governor, governor_route="POST /v1/email")
    def send(message: dict) -> requests.Response:
        return requests.post(URL, json=message, headers=AUTH, timeout=10)

Celery's own ``rate_limit`` is per worker instance; this one is the fleet's, through the
governor's shared backend. The semantics are those of :mod:`governor.integrations.deferral`:

- A slot now or within ``governor_threshold_s`` (0.5 s) is slept in the worker; a slot
  further away is booked and the task re-scheduled for it (``countdown``, ``governor_lead_s``
  = 0.3 s early: Celery's ETA is late by 0.1 to 0.5 s, measured), the reservation in
  the message's ``governor_slot`` header, and honoured when it comes back (not booked again).
  No slot within ``governor_horizon_s`` (5 s): nothing is booked, the task comes back when
  there is one. A fleet-wide pause known when a slot comes due voids it (given back).
- The body's result (or an exception's ``response``, as ``raise_for_status`` raises) is
  observed; a 429 or 503 re-schedules the task past the fleet's pause, a spent quota until the
  reset (in hops of ``governor_max_countdown_s``). Return the provider's response from the body
  (or set ``governor_extract``) for this to work: a body that returns something else is not
  observed.
- A re-schedule publishes a copy of the message (same task id, args, headers, ``retries``
  untouched: ``max_retries`` counts only your own ``self.retry``) and then ends the run with
  Celery's ``Retry``. Re-scheduling happens only before the body runs or after the provider
  refused the call, so it never sends a message twice; if the copy cannot be published, the
  run waits for its slot in the worker instead, so it never loses one.
- ``self.request.governor_wait_s`` says how long the run slept in the worker for its slot,
  ``self.request.governor_late_s`` how far past its slot it began (the ETA's lateness).

**Brokers and long ETAs.** A task with a countdown is delivered at once and held
unacknowledged by a worker until it is due. On Redis and SQS an unacknowledged message is
redelivered after the visibility timeout (Redis: 1 hour, SQS: the queue's); RabbitMQ closes a
channel holding one past ``consumer_timeout`` (30 min). A countdown is therefore never longer
than ``governor_max_countdown_s`` (300 s; further slots and quota resets are reached in hops),
and the first run refuses (``ConfigError``) a ``max_countdown_s`` above half the visibility
timeout the app configures in ``broker_transport_options``. Held ETA messages raise the
worker's prefetch count (Celery does so by design); ``governor_horizon_s`` bounds how many
each fleet holds (about ``horizon_s`` times the route's rate). ``acks_late`` is Celery's to
set: with it a crash mid-body redelivers (at least once); without it (the default) a crash
mid-body loses that run (at most once); re-scheduling changes neither.

Outside a worker (``task(...)``, ``task_always_eager``) a run blocks in ``acquire``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

import celery
from celery.exceptions import Retry

from governor.integrations.deferral import (
    HEADER,
    Defer,
    Slot,
    TaskGovernance,
    denials_in,
    governor_for,
    headers_with,
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

__all__ = ["GovernedTask", "governor_for"]

log = logging.getLogger("governor")

# Visibility timeouts (s) when broker_transport_options sets none: kombu's Redis default, and
# RabbitMQ's consumer_timeout (30 min); SQS uses the queue's own, which kombu sets to 30 min.
_VISIBILITY_S = {"redis": 3600.0, "rediss": 3600.0, "sentinel": 3600.0, "sqs": 1800.0,
                 "amqp": 1800.0, "amqps": 1800.0, "pyamqp": 1800.0}

class GovernedTask(celery.Task):  # type: ignore[misc]  # celery ships no type hints
    """A Celery task base class governing each run (see the module docstring). Options, given
    to ``@app.task(base=GovernedTask, ...)`` or set on a subclass: ``governor`` (a function
    returning the process's :class:`~governor.Governor`; required), ``governor_route``,
    ``governor_cost``, ``governor_priority``, ``governor_threshold_s``, ``governor_lead_s``,
    ``governor_horizon_s``, ``governor_max_countdown_s``, ``governor_extract``, ``governor_result``
    (what the task returns, made from the body's response once observed: a response object is
    no result a backend can store; ``lambda r: r.status_code``)."""

    abstract = True
    governor: ClassVar[Callable[[], Governor] | None] = None
    governor_route: ClassVar[str] = "*"
    governor_cost: ClassVar[int] = 1
    governor_priority: ClassVar[Priority] = "normal"
    governor_threshold_s: ClassVar[float] = 0.5
    governor_lead_s: ClassVar[float] = 0.3
    governor_horizon_s: ClassVar[float] = 5.0
    governor_max_countdown_s: ClassVar[float] = 300.0
    governor_extract: ClassVar[Callable[[Any], ResponseParts | None] | None] = None
    governor_result: ClassVar[Callable[[Any], Any] | None] = None
    _governance: TaskGovernance | None = None

    def governance(self) -> TaskGovernance:
        """The task's :class:`~governor.integrations.deferral.TaskGovernance` (checked once
        against the broker's visibility timeout)."""
        if self._governance is None:
            task = TaskGovernance(self.governor_route, self.governor_cost,
                                  self.governor_priority, self.governor_threshold_s,
                                  self.governor_lead_s, self.governor_horizon_s,
                                  self.governor_max_countdown_s, type(self).governor_extract)
            conf = self.app.conf
            scheme = str(conf.broker_url or "").split("://", 1)[0].split("+")[0]
            options = conf.broker_transport_options or {}
            task.check_visibility(options.get("visibility_timeout", _VISIBILITY_S.get(scheme)),
                                  scheme or "the")
            self._governance = task
        return self._governance

    def gov(self) -> Governor:
        """This process's governor."""
        factory = type(self).governor
        if factory is None:
            raise TypeError(f"{self.name}: a GovernedTask needs governor=<a function returning "
                            "a Governor>, e.g. @app.task(base=GovernedTask, governor=make_gov)")
        return governor_for(factory)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        gov, task, request = self.gov(), self.governance(), self.request
        if request.called_directly or request.is_eager:
            decision = gov.acquire(task.route, task.cost, priority=task.priority)
            return self._body(gov, task, decision, args, kwargs, direct=True)
        headers = request.headers or {}
        step = start(gov, task, Slot.from_wire(headers.get(HEADER)), denials_in(headers))
        if isinstance(step, Defer):
            return self._defer(gov, task, step, args, kwargs)
        request.governor_wait_s, request.governor_late_s = step.sleep_s, step.late_s
        return self._body(gov, task, step.decision, args, kwargs)

    def _body(self, gov: Governor, task: TaskGovernance, decision: Decision,
              args: tuple[Any, ...], kwargs: dict[str, Any], *, direct: bool = False) -> Any:
        sent_at_us = gov.clock.now_us()
        try:
            result = super().__call__(*args, **kwargs) if direct else self.run(*args, **kwargs)
        except Exception as exc:
            deferral = settle(gov, task, decision, parts_of(task, None, exc), sent_at_us)
            if deferral is None or direct:
                raise
            return self._defer(gov, task, deferral, args, kwargs)
        deferral = settle(gov, task, decision, parts_of(task, result, None), sent_at_us)
        if deferral is None or direct:
            keep = type(self).governor_result
            return result if keep is None else keep(result)
        return self._defer(gov, task, deferral, args, kwargs)

    def _defer(self, gov: Governor, task: TaskGovernance, step: Defer,
               args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        request = self.request
        copy = self.signature_from_request(request, countdown=step.countdown_s,
                                           headers=headers_with(request.headers, step))
        try:
            copy.apply_async()
        except Exception:
            log.exception("governor: %s[%s] could not be re-scheduled; it waits in the worker",
                          self.name, request.id)
            return self._body(gov, task, wait_here(gov, task, step), args, kwargs)
        raise Retry(f"governor: {step.reason}", when=step.countdown_s, sig=copy)

    def cancel_slot(self, headers: dict[str, Any] | None) -> bool:
        """Give back the slot a message's ``headers`` carry (a task revoked while it waited);
        True if there was one."""
        slot = Slot.from_wire((headers or {}).get(HEADER))
        if slot is None:
            return False
        self.gov().cancel(slot.reservation())
        return True
