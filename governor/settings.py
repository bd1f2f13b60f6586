"""Settings: with :mod:`governor.origins`, the one place that reads the environment, ``.env``
and the TOML settings file.

Sources, strongest first: command-line flags (the ``flags`` of :meth:`GovernorSettings.load`),
keyword arguments, ``GOVERNOR_*`` environment variables, a ``.env`` file in the working
directory, the TOML file named by ``GOVERNOR_CONFIG`` (default ``governor.toml`` in the working
directory; top-level keys are the field names), then defaults. The environment and ``.env`` may
be the application's: other names there are left alone, and a ``GOVERNOR_*`` name that is no
setting is ignored with a warning naming the closest one (:mod:`governor.origins`).

Everything is validated at start-up: a malformed value raises
:class:`~governor.errors.SettingsError` naming the field and where its value came from; an
unknown provider, plan or reputation lists the valid ones; a malformed ``redis_url`` (scheme,
port, database, options) is refused here, not at the first call. Credentials are never shown:
the API token and hash key are secrets, and ``redis_url`` appears in ``repr()``, ``str()``,
``model_dump()`` and ``model_dump_json()`` with its password as ``***``
(:func:`~governor.backends.urls.redacted`); read the attribute itself for the real URL.
"""

from __future__ import annotations

import os
import re
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from governor.backends.urls import parse as parse_redis_url
from governor.backends.urls import redacted
from governor.errors import ConfigError, ProfileError, SettingsError
from governor.keys import DEFAULT_HASH_KEY, AccountId
from governor.origins import (
    ENV_PREFIX,
    DotEnvFile,
    Environment,
    FieldProblem,
    TomlFile,
    flag,
    settings_error,
    tracing,
)
from governor.policy import Policy
from governor.profile import Profile, ResolvedProfile, load_profile

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = ["GovernorSettings"]

_PREFIX_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_RESERVE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")


class GovernorSettings(BaseSettings):
    """Everything :meth:`Governor.from_settings` needs; each field is also ``GOVERNOR_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="forbid",  # keywords and TOML keys; the env sources pass on only settings
        validate_default=True,
        hide_input_in_errors=True,  # a bad value may be a secret, or a URL holding one
    )
    _origins: dict[str, str] = PrivateAttr(default_factory=dict)

    provider: str = Field(
        "mailersend", description="Built-in profile name or path to a profile .toml file."
    )
    plan: str | None = Field(None, description="The account's plan; default: the profile's.")
    reputation: str = Field("healthy", description="'healthy' or a reputation of the profile.")
    account: str = Field("default", min_length=1, description="Account label (not secret).")
    api_token: SecretStr | None = Field(
        None, description="The account's API token; only its keyed hash is used."
    )
    hash_key: SecretStr | None = Field(None, description="Secret key for hashing accounts.")
    redis_url: str | None = Field(
        None, description="redis://, rediss://, unix://, redis+cluster://, rediss+cluster:// or "
        "redis+sentinel:// URL (may hold an ACL user and password; rediss takes "
        "?ssl_ca_certs=...); unset: in-process memory."
    )
    key_prefix: str = Field("governor", description="Prefix of every Redis key.")
    time_scale: float = Field(
        60.0, gt=0, le=86_400, allow_inf_nan=False,
        description="Real seconds a provider minute lasts (60; less for demos and tests).",
    )
    header_time: Literal["provider", "real"] = Field(
        "provider", description="How response times are read when time_scale is not 60: "
        "'provider' (delays, resets and windows are provider seconds, scaled to real time), "
        "or 'real' (they are real seconds and real instants, read as written).",
    )
    priority_reserve: str = Field(
        "0", description="Daily quota held for high priority calls: a count or a percentage."
    )
    max_pause_s: float = Field(
        900.0, gt=0, le=86_400, allow_inf_nan=False,
        description="No response can pause the fleet longer than this (seconds).",
    )
    failure_policy: Literal["degrade", "closed", "open"] = Field(
        "degrade", description="When Redis fails: decide locally on this process's share "
        "('degrade'), refuse every call ('closed'), or allow every call ('open').",
    )
    redis_timeout_s: float = Field(
        1.0, gt=0, le=60, allow_inf_nan=False, description="Connect and command timeout of "
        "each Redis call (seconds); past it a call counts as a failure.",
    )
    breaker_failures: int = Field(
        3, ge=1, le=1000, description="Redis failures in a row that open the circuit breaker "
        "(calls then follow failure_policy without asking Redis).",
    )
    breaker_reset_s: float = Field(
        5.0, gt=0, le=3600, allow_inf_nan=False,
        description="Seconds an open breaker waits before one call probes Redis again.",
    )
    fleet_size: int = Field(
        1, ge=1, le=100_000, description="Processes sharing the account: in 'degrade', each "
        "takes 1/fleet_size of every limit.",
    )
    headroom: float = Field(
        0.01, ge=0, lt=0.5, allow_inf_nan=False, description="Fraction of every rate left "
        "unused, a margin for arrival jitter at the provider (0.01: 99% of each limit).",
    )
    relax_after: int = Field(
        3, ge=0, description="Responses showing the configured limit again that lift a learned "
        "lower one (0: never).",
    )
    pacing: bool | None = Field(
        None, description="Spread the daily quota left for normal calls over the rest of each "
        "quota day (unset: the provider profile's choice, off in the built-in ones).",
    )
    pace_until_hour: float | None = Field(
        None, gt=0, le=24, allow_inf_nan=False, description="Hours into the quota day by which "
        "pacing has spread the quota (24: its end; unset: the profile's).",
    )
    pace_burst: int | None = Field(
        None, ge=1, description="Calls a paced day may run ahead of its line after a quiet "
        "spell (unset: 1 in 2,000 of the day's quota, at least 1).",
    )
    lane_horizon: float | None = Field(
        None, gt=0, le=1_000_000, allow_inf_nan=False, description="Priority lanes: how far "
        "ahead a normal call may book, in emission intervals (unset: without bound); a high "
        "priority call then waits about this long behind a saturated fleet.",
    )
    low_share: float = Field(
        0.5, ge=0, lt=1, allow_inf_nan=False, description="The last share of lane_horizon that "
        "low priority calls leave to higher ones.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - Environment replaces it
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        env_file = getattr(dotenv_settings, "env_file", ".env")  # as given to __init__, if it was
        toml_file = os.environ.get(f"{ENV_PREFIX}CONFIG", "governor.toml")
        return (
            init_settings,
            Environment(settings_cls),
            DotEnvFile(settings_cls, env_file=env_file),
            TomlFile(settings_cls, toml_file=toml_file),
            file_secret_settings,
        )

    @classmethod
    def load(cls, *, flags: Mapping[str, Any] | None = None, **values: Any) -> GovernorSettings:
        """Read and validate settings, ``values`` (keyword arguments) over the environment,
        ``.env`` and the TOML file.

        ``flags`` are settings a command line gave, by field name (``{"redis_url": ...}``):
        they win over ``values``, errors name them as ``--redis-url``, and a flag whose value
        is None (an option not given) is left out. Raises :class:`SettingsError` naming each
        bad field and where its value came from.
        """
        given = {name: v for name, v in (flags or {}).items() if v is not None}
        origins = dict.fromkeys(values, "keyword argument")
        origins |= {name: flag(name) for name in given}
        return cls._checked({**values, **given}, origins)

    def replace(self, **overrides: Any) -> GovernorSettings:
        """These settings with ``overrides`` (keyword arguments) on top, validated again; each
        value kept keeps its origin in errors (the sources are read again, but lose to it)."""
        values = {name: getattr(self, name) for name in type(self).model_fields}
        origins = self._origins | dict.fromkeys(overrides, "keyword argument")
        return self._checked(values | overrides, origins)

    @classmethod
    def _checked(cls, values: dict[str, Any], origins: dict[str, str]) -> GovernorSettings:
        with tracing(origins) as seen:
            try:
                settings = cls(**values)
            except ValidationError as exc:
                raise settings_error(exc, seen, cls.model_fields) from None
        settings._origins = seen
        return settings

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            yield name, redacted(value) if name == "redis_url" and value else value

    @field_serializer("redis_url")
    def _shown_redis_url(self, value: str | None) -> str | None:
        return redacted(value) if value else value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value:
            parse_redis_url(value)  # a ConfigError (a ValueError) never quotes the password
        return value or None

    @field_validator("key_prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        if not _PREFIX_RE.match(value):
            raise ValueError("use 1 to 64 of A-Z a-z 0-9 _ . : - (no braces, no spaces)")
        return value

    @field_validator("priority_reserve", mode="before")
    @classmethod
    def _reserve_text(cls, value: object) -> object:
        is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
        return str(value) if is_number else value

    @model_validator(mode="after")
    def _check_profile(self) -> GovernorSettings:
        try:
            profile = self.profile
        except ConfigError as exc:
            raise FieldProblem("provider", str(exc)) from None
        try:
            resolved = profile.resolve(self.plan, self.reputation)
        except ProfileError as exc:
            problem = f"{exc.problem} (profile {exc.source})"
            raise FieldProblem(exc.key or "provider", problem) from None
        try:
            self.reserve_calls(resolved)
        except ConfigError as exc:
            raise FieldProblem(
                "priority_reserve", str(exc).removeprefix("priority_reserve: ")
            ) from None
        return self

    @cached_property
    def profile(self) -> Profile:
        """The provider profile named by ``provider``."""
        return load_profile(self.provider)

    def resolved(self) -> ResolvedProfile:
        """The limits of the configured provider, plan and reputation."""
        return self.profile.resolve(self.plan, self.reputation)

    def reserve_calls(self, resolved: ResolvedProfile | None = None) -> int:
        """The priority reserve as a number of calls of the daily quota."""
        resolved = resolved or self.resolved()
        text = self.priority_reserve.strip()
        match = _RESERVE_RE.match(text)
        quota = resolved.quota.limit if resolved.quota else 0
        if match:
            share = float(match.group(1))
            if share >= 100:
                raise SettingsError("priority_reserve: a percentage must be below 100%")
            return int(quota * share / 100)
        if not text.isdigit():
            raise SettingsError(
                f"priority_reserve: {text!r} is neither a count of calls nor a percentage like '5%'"
            )
        count = int(text)
        if count and count >= quota:
            raise SettingsError(
                f"priority_reserve: {count} calls is not below the daily quota ({quota})"
            )
        return count

    def policy(self) -> Policy:
        """The policy of these settings."""
        resolved = self.resolved()
        return Policy.from_profile(
            resolved,
            time_scale=self.time_scale,
            header_time=self.header_time,
            quota_reserve=self.reserve_calls(resolved),
            max_pause_s=self.max_pause_s,
            relax_after=self.relax_after,
            headroom=self.headroom,
            pacing=self.pacing,
            pace_until_h=self.pace_until_hour,
            pace_burst=self.pace_burst,
            lane_horizon=self.lane_horizon,
            low_share=self.low_share,
        )

    def account_id(self) -> AccountId:
        """The account: the keyed hash of ``api_token`` if given, else of ``account``."""
        key = self.hash_key.get_secret_value().encode() if self.hash_key else DEFAULT_HASH_KEY
        if self.api_token is not None:
            label = self.account if self.account != "default" else None
            return AccountId.from_token(self.api_token.get_secret_value(), key, label)
        return AccountId.from_label(self.account, key)

