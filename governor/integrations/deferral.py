"""Governed tasks that wait off the worker: what the Celery and RQ integrations share.

A task queue's worker should not sleep in ``acquire``: with ``--concurrency 8`` and a route
at 10/min, all eight slots would sleep, and a long sleep fights the broker's visibility
timeout. A governed task instead decides, at the start of each run, one of two things
(:func:`admit`):

``Run(sleep_s)``
    The slot is now or within ``threshold_s``: sleep that little in the worker, then run the
    body.
``Defer(countdown_s, slot)``
    Re-schedule the task (the queue's countdown / ``enqueue_in``) and give the worker slot
    back. The countdown is ``lead_s`` short of the slot (a queue's ETA is seldom on time; the
    run sleeps the rest). When a slot was granted further away than ``threshold_s``, it
    travels with the
    message as a :class:`Slot` (a reservation) and is honoured when the task comes back: it
    is not booked again, so it is never lost nor spent twice. A slot further away than
    ``horizon_s`` is not booked at all (:class:`~governor.errors.WaitTooLong` spends nothing):
    the task comes back when the booked-ahead edge is within the horizon (a task denied again
    and again spreads its returns wider, up to 16 times: a deep queue does not come back all at
    once). This bounds how
    many calls are booked at the current pace, so that a limit learned lower (a reputation
    drop) is followed within ``horizon_s``. A countdown never exceeds ``max_countdown_s``
    (a slot or a quota reset further away is reached in hops), which keeps it well inside the
    broker's visibility timeout.

A slot that comes back more than ``threshold_s`` late is given up and a fresh one booked
(sent late, it would bunch with the calls booked after it). A slot that comes back while
the process knows of a fleet-wide pause (a 429 seen by anyone,
:meth:`~governor.Governor.paused_s`) is void: it is given back (``cancel``) and the task is
deferred past the pause, to book a fresh slot then; so is a slot booked before the latest
pause this process saw begin (booked at the pace the pause corrected, as after a reputation
drop), even once the pause is over. After the body, :func:`settle` observes
its response (the result, or an exception's ``response``; ``extract`` reads another shape):
a 429 or 503 defers the task past the fleet's pause (the provider refused it, so nothing was
sent); a spent quota defers it, in hops, until the reset. Any other outcome ends the run.

Times: ``go_at`` is Unix epoch seconds on the governor's clock (the system clock: the wall
clock a queue's ETA uses), so a fleet's machines need synchronised clocks (NTP) for a slot
to be honoured at its time; the governor's own decisions stay on the shared backend's clock.
"""

from __future__ import annotations

import logging
import os
import random
import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from governor.decision import Decision, Reservation
from governor.decorator import response_parts
from governor.errors import ConfigError, QuotaExhausted, WaitTooLong
from governor.outcome import OutcomeKind
from governor.retry import reset_at

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from governor.client import Governor
    from governor.core import Priority
    from governor.decision import Feedback
    from governor.decorator import ResponseParts

__all__ = [
    "DENIALS", "HEADER", "PAUSES", "Defer", "Run", "Slot", "TaskGovernance", "admit",
    "governor_for", "settle", "start", "wait_here",
]

HEADER = "governor_slot"
"""The message header (Celery) or job meta key (RQ) that carries a :class:`Slot`."""
DENIALS = "governor_denials"
"""The header that counts a task's runs in a row that found no slot within the horizon."""

log = logging.getLogger("governor")


@dataclass(frozen=True, slots=True)
class Slot:
    """A reservation carried in a message: the decision that granted it, when it may go
    (``go_at``) and when it was booked (``booked_at``), on the governor's clock."""

    decision: Decision
    go_at: float
    high_priority: bool = False
    booked_at: float = 0.0

    def reservation(self) -> Reservation:
        """The reservation, for ``cancel``."""
        return Reservation(self.decision, self.decision.now_us / 1e6 + self.decision.wait_s,
                           self.high_priority)

    def to_wire(self) -> dict[str, Any]:
        """JSON-ready (every broker serializer takes it)."""
        return {"v": 1, "go_at": self.go_at, "high": self.high_priority,
                "booked_at": self.booked_at, "decision": list(self.decision)}

    @classmethod
    def from_wire(cls, data: object) -> Slot | None:
        """The slot in a message, or None (none, or not one this version wrote: logged)."""
        if data is None:
            return None
        try:
            if not isinstance(data, dict) or data.get("v") != 1:
                raise ValueError("not a slot of this version")
            fields = list(data["decision"])
            for i in (6, 7):  # marks, priors: lists on the wire
                fields[i] = tuple(int(x) for x in fields[i])
            decision = Decision(*fields)
            if decision.allowed is not True or not isinstance(decision.route, str):
                raise ValueError("not a granted decision")
            return cls(decision, float(data["go_at"]), bool(data["high"]),
                       float(data["booked_at"]))
        except (KeyError, TypeError, ValueError, IndexError):
            log.warning("governor: a task carried a slot it cannot read; it books a new one")
            return None


@dataclass(frozen=True, slots=True)
class Run:
    """Run the body after sleeping ``sleep_s`` (at most ``threshold_s``) in the worker;
    ``late_s``: how far past its slot the run began (a queue's ETA is not exact)."""

    sleep_s: float
    decision: Decision
    late_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Defer:
    """Re-schedule the task in ``countdown_s``, carrying ``slot`` (None: it books one then)."""

    countdown_s: float
    slot: Slot | None
    reason: str
    denials: int = 0


@dataclass(frozen=True, slots=True)
class TaskGovernance:
    """How a task is governed: its ``route``, ``cost`` and ``priority``; ``threshold_s``
    (the longest wait slept in the worker), ``lead_s`` (how early a re-scheduled task is
    due before its slot: a queue's ETA is late by up to a few hundred ms, Celery's and RQ's
    alike, and a late send bunches with the next ones), ``horizon_s`` (the furthest slot
    booked ahead),
    ``max_countdown_s`` (the longest re-schedule: keep it well under the broker's visibility
    timeout), ``extract`` (reads ``(status, headers, body)`` from a result that is not a
    response; None: nothing to observe)."""

    route: str = "*"
    cost: int = 1
    priority: Priority = "normal"
    threshold_s: float = 0.5
    lead_s: float = 0.3
    horizon_s: float = 5.0
    max_countdown_s: float = 300.0
    extract: Callable[[Any], ResponseParts | None] | None = None
    rng: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.lead_s <= self.threshold_s <= self.horizon_s <= self.max_countdown_s:
            raise ConfigError(
                "a governed task needs 0 <= lead_s <= threshold_s <= horizon_s <= "
                f"max_countdown_s, not {self.lead_s}, {self.threshold_s}, {self.horizon_s}, "
                f"{self.max_countdown_s}")

    def check_visibility(self, visibility_timeout_s: float | None, broker: str) -> None:
        """Refuse a countdown the broker could redeliver (a task run twice): an ETA message
        is held unacknowledged until it is due, so ``max_countdown_s`` must stay under half
        the visibility timeout."""
        if visibility_timeout_s is not None and self.max_countdown_s > visibility_timeout_s / 2:
            raise ConfigError(
                f"{self.route}: max_countdown_s={self.max_countdown_s} is more than half the "
                f"{broker} broker's visibility timeout ({visibility_timeout_s:g} s): a "
                "re-scheduled task could be delivered twice. Lower max_countdown_s or raise "
                "visibility_timeout in broker_transport_options")

    def capped(self, countdown_s: float, slot: Slot | None, reason: str) -> Defer:
        return Defer(min(max(countdown_s, 0.0), self.max_countdown_s), slot, reason)


def start(gov: Governor, task: TaskGovernance, slot: Slot | None, denials: int = 0
          ) -> Run | Defer:
    """Decide a run's start and sleep the short wait a :class:`Run` asks for; a pause learned
    meanwhile voids the slot (given back) and defers the task past it."""
    step = admit(gov, task, slot, gov.clock.now_us() / 1e6, denials)
    if isinstance(step, Run) and step.sleep_s > 0:
        gov.clock.sleep(step.sleep_s)
        paused_s = gov.paused_s(step.decision.route)
        if paused_s > 0:
            gov.cancel(Reservation(step.decision, 0.0))
            return task.capped(paused_s, None, "a fleet-wide pause voided its slot")
    return step


def admit(gov: Governor, task: TaskGovernance, slot: Slot | None, now_s: float,
          denials: int = 0) -> Run | Defer:
    """Decide a run's start (module docstring); ``now_s`` on the governor's clock; ``denials``:
    how many runs in a row of this task found no slot within its horizon."""
    route = task.route if slot is None else slot.decision.route
    paused_s = gov.paused_s(route)
    PAUSES.note(route, now_s, paused_s)
    if slot is not None:
        if paused_s > 0 or slot.booked_at < PAUSES.began(route):
            gov.cancel(slot.reservation())  # booked before the pause, at the old pace: void
            return task.capped(paused_s, None, "a fleet-wide pause voided its slot")
        left_s = slot.go_at - now_s
        if left_s > task.threshold_s:
            return task.capped(left_s - task.lead_s, slot, "its slot is still ahead")
        if left_s >= -task.threshold_s:
            return Run(max(left_s, 0.0), slot.decision, max(-left_s, 0.0))
        # Came back too late (a slow ETA): sent now, it would bunch with the slots booked
        # after it. The slot is given up (whatever a cancel can undo) and a fresh one booked.
        gov.cancel(slot.reservation())
    if paused_s > task.threshold_s:
        return task.capped(paused_s, None, "a fleet-wide pause")
    # A task denied again and again may book further ahead: a deep queue books itself in a
    # few rounds instead of coming back, all of it, every half horizon.
    horizon_s = min(task.horizon_s * 2 ** min(denials, 6), task.max_countdown_s)
    try:
        reservation = gov.reserve(task.route, task.cost, priority=task.priority,
                                  timeout_s=horizon_s)
    except WaitTooLong as busy:
        # Back when the booked-ahead edge is half a horizon away, in time to book the next.
        base_s = max(busy.wait_s - horizon_s / 2, task.threshold_s)
        deferral = task.capped(base_s * (1 + task.rng() * 0.25), None,
                               "every slot within the horizon is booked")
        return replace(deferral, denials=denials + 1)
    except QuotaExhausted as spent:
        return task.capped(spent.wait_s, None, "the daily quota is spent")
    if reservation.wait_s <= task.threshold_s:
        return Run(reservation.wait_s, reservation.decision)
    booked = Slot(reservation.decision, now_s + reservation.wait_s, reservation.high_priority,
                  now_s)
    return task.capped(reservation.wait_s - task.lead_s, booked, "slot booked ahead")


class Pauses:
    """When this process last saw a pause of each route begin (its own 429, or one another
    process announced): a slot booked before that was booked at the pace the pause
    corrected, and is void when it comes due, even after the pause."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[float, float]] = {}  # route -> (began, ends), local s

    def note(self, route: str, now_s: float, paused_s: float) -> None:
        if paused_s <= 0:
            return
        began, ends = self._seen.get(route, (0.0, 0.0))
        self._seen[route] = (now_s if ends < now_s else began, now_s + paused_s)

    def began(self, route: str) -> float:
        return self._seen.get(route, (0.0, 0.0))[0]

    def forget(self) -> None:
        self._seen.clear()


PAUSES = Pauses()

_lock = threading.Lock()
_governors: dict[tuple[int, int], Governor] = {}


def governor_for(factory: Callable[[], Governor]) -> Governor:
    """The governor ``factory`` built in this process (built on first use: after a worker
    forks, each child builds its own, with its own Redis connections)."""
    key = (os.getpid(), id(factory))
    gov = _governors.get(key)
    if gov is None:
        with _lock:
            gov = _governors.get(key)
            if gov is None:
                gov = _governors[key] = factory()
    return gov


def wait_here(gov: Governor, task: TaskGovernance, step: Defer) -> Decision:
    """A deferral that could not be published (the broker refused the copy): wait for the
    slot in the worker rather than lose the task, and return the decision to run it under."""
    if step.slot is not None:
        gov.clock.sleep(max(step.slot.go_at - gov.clock.now_us() / 1e6, 0.0))
        return step.slot.decision
    gov.clock.sleep(step.countdown_s)
    return gov.acquire(task.route, task.cost, priority=task.priority)


def parts_of(task: TaskGovernance, result: object, error: BaseException | None
             ) -> ResponseParts | None:
    """The response a run ended with: its result's, or its exception's ``response``."""
    if error is not None:
        return response_parts(getattr(error, "response", None))
    return task.extract(result) if task.extract is not None else response_parts(result)


def settle(gov: Governor, task: TaskGovernance, decision: Decision, parts: ResponseParts | None,
           sent_at_us: int) -> Defer | None:
    """Observe the run's response; a deferral when the provider refused it for now."""
    if parts is None:
        return None
    feedback = gov.observe(decision.route, *parts, decision=decision, sent_at_us=sent_at_us)
    return after(gov, task, feedback)


def after(gov: Governor, task: TaskGovernance, feedback: Feedback) -> Defer | None:
    """A deferral for a 429 / 503 (past the pause) or a spent quota (until its reset)."""
    kind, now_s = feedback.outcome.kind, gov.clock.now_us() / 1e6
    if kind is OutcomeKind.RETRY_LATER:
        retry_s = 0.0 if feedback.retry_at is None else feedback.retry_at - now_s
        wait_s = max(gov.paused_s(task.route), retry_s, task.threshold_s)
        return task.capped(wait_s, None, feedback.outcome.message)
    if kind is OutcomeKind.STOP_UNTIL_RESET:
        at = reset_at(feedback)
        return task.capped(task.max_countdown_s if at is None else at - now_s, None,
                           feedback.outcome.message)
    return None


def headers_with(headers: Mapping[str, Any] | None, step: Defer) -> dict[str, Any]:
    """A message's headers with ``step``'s slot and denials in place of those it carried."""
    merged = {k: v for k, v in (headers or {}).items() if k not in (HEADER, DENIALS)}
    merged[HEADER] = None if step.slot is None else step.slot.to_wire()
    merged[DENIALS] = step.denials
    return merged


def denials_in(headers: Mapping[str, Any] | None) -> int:
    """The denials count a message carries (0: none, or unreadable)."""
    value = (headers or {}).get(DENIALS, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
