"""governor: keep a fleet of workers just under an API provider's rate limits and daily quota.

The public surface (pinned by ``tests/unit/test_public_api.py``)::

    Governor, AsyncGovernor           the sync and asyncio shells over one core
    Policy, Rate, DailyQuota          limits as values; profiles via load_profile
    GovernorSettings                  pydantic-settings: GOVERNOR_* env, .env, TOML
    Decision, Reservation             what a call gets back
    MemoryBackend, AsyncMemoryBackend the in-process backends
    RedisBackend, AsyncRedisBackend   the shared backends (one EVALSHA per decision)
    Feedback                          what observe() makes of a response
    Hooks, PrometheusHooks            decisions and responses reported, as metrics
    RetryPolicy, RetryError, ...      safe, bounded retries (decorator and integrations)

Integrations live in ``governor.integrations`` (requests, httpx, the official SDKs) and the
decorator is ``Governor.limited`` (``governor.decorator``).
    Clock, SystemClock, ManualClock   time as a collaborator
    AccountId                         accounts as keyed hashes
    errors                            GovernorError and its tree
"""

from governor.aio import AsyncGovernor
from governor.backends.memory import AsyncMemoryBackend, MemoryBackend
from governor.backends.redis import RedisBackend
from governor.backends.redis_async import AsyncRedisBackend
from governor.client import Governor
from governor.clock import Clock, ManualClock, SystemClock
from governor.decision import Decision, Feedback, Reservation
from governor.errors import (
    BackendError,
    BackendUnavailable,
    ConfigError,
    CostTooLarge,
    GovernorError,
    IndeterminateOutcome,
    LimitExceeded,
    ProfileError,
    QuotaExhausted,
    SettingsError,
    UnknownRoute,
    WaitTooLong,
)
from governor.hooks import Hooks, PrometheusHooks
from governor.keys import AccountId
from governor.limits import DailyQuota, Rate, parse_quota, parse_rate
from governor.policy import Policy
from governor.profile import Profile, load_profile
from governor.retry import (
    AmbiguousFailure,
    RetriesExhausted,
    RetryBudgetExhausted,
    RetryError,
    RetryPolicy,
    StopUntilReset,
)
from governor.settings import GovernorSettings

__version__ = "0.1.0"

__all__ = [
    "AccountId",
    "AmbiguousFailure",
    "AsyncGovernor",
    "AsyncMemoryBackend",
    "AsyncRedisBackend",
    "BackendError",
    "BackendUnavailable",
    "Clock",
    "ConfigError",
    "CostTooLarge",
    "DailyQuota",
    "Decision",
    "Feedback",
    "Governor",
    "GovernorError",
    "GovernorSettings",
    "Hooks",
    "IndeterminateOutcome",
    "LimitExceeded",
    "ManualClock",
    "MemoryBackend",
    "Policy",
    "Profile",
    "ProfileError",
    "PrometheusHooks",
    "QuotaExhausted",
    "Rate",
    "RedisBackend",
    "Reservation",
    "RetriesExhausted",
    "RetryBudgetExhausted",
    "RetryError",
    "RetryPolicy",
    "SettingsError",
    "StopUntilReset",
    "SystemClock",
    "UnknownRoute",
    "WaitTooLong",
    "__version__",
    "load_profile",
    "parse_quota",
    "parse_rate",
]
