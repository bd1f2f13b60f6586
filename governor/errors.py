"""The exceptions governor raises, in one small tree.

::

    GovernorError
     ├── ConfigError                 settings or a provider profile are invalid (at start-up)
     │    ├── SettingsError          names the setting and where its value came from
     │    └── ProfileError           names the profile file, the key and the problem
     ├── UnknownRoute                no route of the profile matches a call
     ├── CostTooLarge                a call costs more than a scope can ever grant
     ├── LimitExceeded               a call was not allowed (it spent nothing)
     │    ├── WaitTooLong            the wait exceeds the caller's timeout
     │    │    └── QueueTooDeep      the call's lane may not book that far ahead
     │    └── QuotaExhausted         the daily quota is spent until ``reset_at``
     ├── BackendError                the shared state could not decide the call
     │    ├── BackendUnavailable     nothing was sent (or the server refused): nothing spent
     │    └── IndeterminateOutcome   sent, but no reply: it may or may not have been counted
     └── RetryError                  a governed call was given up (in ``governor.retry``)
          ├── RetriesExhausted       max_attempts failed
          ├── RetryBudgetExhausted   the fleet's retry budget is spent
          ├── AmbiguousFailure       may have been sent and is not idempotent: not resent
          └── StopUntilReset         the provider says a quota is spent until ``reset_at``

Every ``LimitExceeded`` carries the :class:`~governor.decision.Decision` that denied the call, so
the caller knows which scope bound it, how long it would have had to wait and when it resets.
Messages never contain an API token: accounts are named by their label or keyed hash only.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from governor.decision import Decision

__all__ = [
    "BackendError",
    "BackendUnavailable",
    "ConfigError",
    "CostTooLarge",
    "GovernorError",
    "IndeterminateOutcome",
    "LimitExceeded",
    "ProfileError",
    "QueueTooDeep",
    "QuotaExhausted",
    "SettingsError",
    "UnknownRoute",
    "WaitTooLong",
]


class GovernorError(Exception):
    """Base class of every error governor raises."""


class ConfigError(GovernorError, ValueError):
    """Settings or a provider profile are invalid; raised at start-up, never mid-run."""


class SettingsError(ConfigError):
    """A setting is malformed; the message names the field and where its value came from (a
    keyword argument, a flag, ``env GOVERNOR_X``, a ``.env`` file, a TOML file and key)."""


class ProfileError(ConfigError):
    """A provider profile is malformed; the message names the file, the key and the problem."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {problem}")


class UnknownRoute(GovernorError, LookupError):
    """No route of the profile matches the call; add a catch-all route or fix the route text."""


class CostTooLarge(GovernorError, ValueError):
    """A call's cost exceeds what one scope can ever grant (its limit and burst, or the quota)."""


def _utc(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class LimitExceeded(GovernorError):
    """The call was not allowed and spent nothing. ``decision`` says why and for how long."""

    def __init__(self, decision: Decision, message: str | None = None) -> None:
        self.decision = decision
        super().__init__(message or self._describe(decision))

    @property
    def wait_s(self) -> float:
        """How long the call would have had to wait, in seconds."""
        return self.decision.wait_s

    @property
    def reset_at(self) -> float:
        """When the binding scope is whole again, as Unix epoch seconds."""
        return self.decision.reset_at

    @staticmethod
    def _describe(decision: Decision) -> str:
        return (
            f"{decision.route}: not allowed, scope {decision.scope!r} would need a wait of "
            f"{decision.wait_s:.3f}s"
        )


class WaitTooLong(LimitExceeded):
    """The wait for the call exceeds the caller's timeout; raised at once, without waiting."""

    def __init__(self, decision: Decision, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        super().__init__(
            decision,
            f"{decision.route}: scope {decision.scope!r} needs a wait of {decision.wait_s:.3f}s, "
            f"longer than the timeout of {timeout_s:.3f}s; nothing was spent. Retry later, raise "
            "the timeout, or use try_acquire() to drop the call.",
        )


class QueueTooDeep(WaitTooLong):
    """A normal or low call's slot lies beyond what its lane, or the pace, lets it book
    ahead (a ``reserve`` with lanes or pacing on); a blocking ``acquire`` sleeps and decides
    again instead of raising."""

    def __init__(self, decision: Decision) -> None:
        LimitExceeded.__init__(
            self,
            decision,
            f"{decision.route}: scope {decision.scope!r} lets this call go only further ahead "
            f"than it may book; nothing was spent. Decide again in {decision.wait_s:.3f}s "
            "(acquire() does), or send it as priority='high'.",
        )
        self.timeout_s = 0.0


class QuotaExhausted(LimitExceeded):
    """The daily quota is spent; no call of this priority is allowed before ``reset_at``."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(
            decision,
            f"{decision.route}: daily quota exhausted until {_utc(decision.reset_at)} "
            f"({decision.wait_s:.0f}s from now); nothing was spent. Send high-priority calls "
            "from the reserve, wait for the reset, or raise the plan's quota.",
        )


class BackendError(GovernorError):
    """The backend holding the shared state could not decide the call."""


class BackendUnavailable(BackendError):
    """The backend could not be reached, or refused the call before running it: nothing was
    decided or spent, so the call may be retried or decided locally."""


class IndeterminateOutcome(BackendError):
    """The call reached the backend but its reply was lost (a timeout or a dropped connection):
    it may or may not have been counted. It is never resent automatically, since a replay could
    spend twice; treat the call as not allowed unless repeating it is safe."""
