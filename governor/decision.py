"""What a call gets back: a :class:`Decision` (a :class:`Reservation` when booked ahead), and
after its response, :class:`Feedback`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from governor.headers import Observation
    from governor.outcome import Outcome
    from governor.reconcile import Adjustment

__all__ = ["Decision", "Feedback", "Reservation"]

_US = 1_000_000


class Decision(NamedTuple):
    """The answer to one call, decided atomically over every scope the call spends from.

    ``allowed``
        The call may go (after ``wait_s``). A denied call spent nothing. A decision is truthy
        exactly when it is allowed.
    ``wait_s``
        Seconds the caller must sleep before acting (0.0 to go now). For a denial: how long
        the call would have had to wait, or until the quota resets.
    ``scope``
        The scope that bound the decision: a bucket name (``"email"``, ``"general"``),
        ``"quota"``, ``"pause"`` or ``"pace"`` (the daily quota's pace line, when pacing is
        on; ``remaining`` is then the calls the day has left). When nothing had to wait, the
        scope with the fewest tokens left.
    ``remaining``
        Tokens left in that scope after this call; negative while the bucket is in debt
        (calls already reserved ahead of now).
    ``reset_at``
        Unix epoch seconds at which that scope is whole again (a bucket full, the quota reset).
    ``route``, ``cost``
        The route the call was decided for, as the profile writes it, and its weight.
    ``degraded``
        True when the shared state could not be reached and a local fallback decided.
    ``quota_used``
        Calls the daily quota has counted on the current quota day (the day of ``now``) after
        this decision; -1 for a call that spends no quota. The failure policy uses it to carry
        what the fleet has spent into a degraded spell. A degraded decision reports this
        process's local share's count (-1 under the ``open`` policy), not the fleet's.
    ``quota_reset_us``
        When that quota day ends (integer µs on the deciding clock; -1: no quota): at 00:00 UTC
        unless the provider stated another reset for the account.
    ``quota_seq``
        The quota's grant sequence after this decision (every quota call ever granted on the
        account); reconcile counts the calls granted after a response's own call from it.
        -1 for a call that spends no quota, and meaningless on a degraded decision.
    ``too_deep``
        A denial of a normal or low call whose lane may not book this far ahead, or whose
        slot on the pace line lies more than an emission interval past the one its buckets
        give it (see *Lanes* and *Pacing* in :mod:`governor.engine`): nothing was spent, and
        ``wait_s`` says when to decide again (a blocking ``acquire`` sleeps that long and
        does, within its timeout).

    The engine builds it directly (one small immutable object per decision): the raw fields
    are integer microseconds on the deciding clock (``now_us``, ``wait_us``, ``reset_us``), and
    ``marks`` / ``priors`` / ``quota_day`` are what a cancel needs to undo the call.
    """

    allowed: bool
    now_us: int
    wait_us: int
    scope: str
    remaining: int
    reset_us: int
    marks: tuple[int, ...] = ()
    priors: tuple[int, ...] = ()
    quota_day: int = -1
    route: str = ""
    cost: int = 1
    degraded: bool = False
    quota_used: int = -1
    quota_seq: int = -1
    quota_reset_us: int = -1
    too_deep: bool = False

    @property
    def wait_s(self) -> float:
        """Seconds to wait before acting; for a denial, the wait that was refused."""
        return self.wait_us / _US

    @property
    def reset_at(self) -> float:
        """Unix epoch seconds at which ``scope`` is whole again."""
        return self.reset_us / _US

    def __bool__(self) -> bool:
        return self.allowed

    def __repr__(self) -> str:
        return (
            f"Decision(allowed={self.allowed}, wait_s={self.wait_s}, scope={self.scope!r}, "
            f"remaining={self.remaining}, reset_at={self.reset_at}, route={self.route!r}, "
            f"cost={self.cost}, degraded={self.degraded})"
        )


@dataclass(frozen=True, slots=True)
class Reservation:
    """A granted call that may still be waiting for its turn.

    ``ready_at`` is when the call may go (Unix epoch seconds, on the deciding clock). Pass the
    reservation to ``cancel`` on the governor that made it to give its tokens back if the call
    will not be made; see :func:`governor.engine.refund` for what a cancel can undo.
    """

    decision: Decision
    ready_at: float
    high_priority: bool = False

    @property
    def route(self) -> str:
        """The route the reservation was made for."""
        return self.decision.route

    @property
    def cost(self) -> int:
        """The weight reserved."""
        return self.decision.cost

    @property
    def wait_s(self) -> float:
        """Seconds to wait, as decided (does not count down)."""
        return self.decision.wait_s


@dataclass(frozen=True, slots=True)
class Feedback:
    """What a response told the governor: its :class:`~governor.outcome.Outcome` (retry later,
    back off, stop, fail...), the :class:`~governor.headers.Observation` parsed from its headers
    (times on the local clock), and the reconcile :class:`~governor.reconcile.Adjustment` it
    called for (None: the response agreed with the shared state)."""

    outcome: Outcome
    observation: Observation
    adjustment: Adjustment | None = None

    @property
    def retry_at(self) -> float | None:
        """When the provider said to retry (``Retry-After``), as Unix epoch seconds."""
        at = self.observation.retry_at_us
        return None if at is None else at / _US
