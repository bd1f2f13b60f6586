"""What a call gets back: a :class:`Decision`, and for reservations a :class:`Reservation`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from governor.engine import Verdict

__all__ = ["Decision", "Reservation"]

_US = 1_000_000


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one call, decided atomically over every scope the call spends from.

    ``allowed``
        The call may go (after ``wait_s``). A denied call spent nothing.
    ``wait_s``
        Seconds the caller must sleep before acting (0.0 to go now). For a denial: how long
        the call would have had to wait, or until the quota resets.
    ``scope``
        The scope that bound the decision: a bucket name (``"email"``, ``"general"``),
        ``"quota"`` or ``"pause"``. When nothing had to wait, the scope with the fewest
        tokens left.
    ``remaining``
        Tokens left in that scope after this call; negative while the bucket is in debt
        (calls already reserved ahead of now).
    ``reset_at``
        Unix epoch seconds at which that scope is whole again (a bucket full, the quota reset).
    ``degraded``
        True when the shared state could not be reached and a local fallback decided.
    """

    allowed: bool
    wait_s: float
    scope: str
    remaining: int
    reset_at: float
    route: str
    cost: int = 1
    degraded: bool = False

    def __bool__(self) -> bool:
        return self.allowed

    @classmethod
    def from_verdict(cls, v: Verdict, route: str, cost: int, degraded: bool = False) -> Decision:
        """Build the public decision from the engine's microsecond verdict."""
        return cls(
            v.allowed, v.wait_us / _US, v.scope, v.remaining, v.reset_us / _US, route, cost,
            degraded,
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
    marks: tuple[int, ...] = field(default=(), repr=False)
    priors: tuple[int, ...] = field(default=(), repr=False)
    quota_day: int = field(default=-1, repr=False)

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
