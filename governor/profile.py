"""Provider profiles: a provider's limits as data (TOML), validated with errors that name the spot.

A profile declares named **buckets** (rates), **routes** (method + path pattern -> the buckets a
call spends, and whether it counts against the quota), the daily **quota** rule, **plans**
(quota and bucket overrides) and **reputations** (bucket overrides, e.g. MailerSend's
"under review" 10/min), and the response header **dialect**. The ``[quota]`` table may turn
**pacing** on for the provider (``pacing = true``, ``pace_until_hour = 18``: the quota spread
until 18:00 of each quota day); the settings can override both. The built-in profiles live in
``config/providers/`` (shipped in the wheel as ``governor/providers/``); a user's own profile is
any path to a file of the same format, documented in the README.

Resolution order for a bucket's rate: the profile's ``[buckets]``, then the plan's, then the
reputation's. Bucket values are ``"120/minute"``, ``"120/minute burst 20"`` or a table
``{ rate = "120/minute", burst = 20 }``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from governor.errors import ProfileError, UnknownRoute
from governor.headers import DIALECTS
from governor.limits import DailyQuota, Rate, parse_quota, parse_rate
from governor.routing import Route, split_route

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["Profile", "ResolvedProfile", "builtin_profiles", "load_profile"]

HEALTHY = "healthy"


def _to_rate(value: Any) -> Rate:
    if isinstance(value, Rate):
        return value
    if isinstance(value, str):
        return parse_rate(value)
    if isinstance(value, dict) and "rate" in value:
        extra = set(value) - {"rate", "burst", "note"}
        if extra:
            raise ValueError(f"unknown keys {sorted(extra)}; a bucket takes rate, burst, note")
        return parse_rate(str(value["rate"]), value.get("burst"))
    raise ValueError("a bucket is a rate like '120/minute' or a table { rate = ..., burst = ... }")


def _to_quota(value: Any) -> DailyQuota | None:
    if value is None or isinstance(value, DailyQuota):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("a quota is a number of calls per day or a text like '1000/day'")
    return parse_quota(value)


RateField = Annotated[Rate, BeforeValidator(_to_rate)]
QuotaField = Annotated[DailyQuota | None, BeforeValidator(_to_quota)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class RouteEntry(_Model):
    """One ``[[routes]]`` entry."""

    match: str
    buckets: list[str] = Field(default_factory=list)
    quota: bool = True
    note: str = ""

    def route(self) -> Route:
        method, path = split_route(self.match)
        return Route(method, path, tuple(self.buckets), self.quota)


class QuotaRule(_Model):
    """The ``[quota]`` table: the default daily quota and how the provider counts it."""

    limit: QuotaField = None
    reset: Literal["midnight-utc"] = "midnight-utc"
    counts_failed: bool = True
    shared_by: str = "account"
    pacing: bool = False
    pace_until_hour: Annotated[float, Field(gt=0, le=24)] = 24.0
    note: str = ""


class PlanEntry(_Model):
    """One ``[plans.NAME]`` table: the plan's quota and bucket overrides."""

    quota: QuotaField = None
    buckets: dict[str, RateField] = Field(default_factory=dict)
    note: str = ""


class ReputationEntry(_Model):
    """One ``[reputations.NAME]`` table: bucket overrides while the account has that standing."""

    buckets: dict[str, RateField] = Field(default_factory=dict)
    note: str = ""


class Profile(_Model):
    """A provider's limits, as declared in its TOML file."""

    name: str
    title: str = ""
    base_url: str = ""
    dialect: str = "generic"
    docs: list[str] = Field(default_factory=list)
    default_plan: str | None = None
    max_batch: int | None = Field(default=None, ge=1)
    buckets: dict[str, RateField]
    routes: list[RouteEntry] = Field(min_length=1)
    quota: QuotaRule = Field(default_factory=QuotaRule)
    plans: dict[str, PlanEntry] = Field(default_factory=dict)
    reputations: dict[str, ReputationEntry] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_references(self) -> Profile:
        if self.dialect not in DIALECTS:
            raise ValueError(
                f"unknown header dialect {self.dialect!r}; known dialects: {sorted(DIALECTS)}"
            )
        known = set(self.buckets)
        for i, entry in enumerate(self.routes):
            for name in entry.buckets:
                if name not in known:
                    raise ValueError(
                        f"routes[{i}] ({entry.match!r}) spends unknown bucket {name!r}; "
                        f"known buckets: {sorted(known)}"
                    )
            try:
                entry.route().compile()
            except (ValueError, UnknownRoute) as exc:
                raise ValueError(f"routes[{i}]: {exc}") from None
        overrides = [("plans", n, e.buckets) for n, e in self.plans.items()]
        overrides += [("reputations", n, e.buckets) for n, e in self.reputations.items()]
        for kind, name, rates in overrides:
            for bucket in rates:
                if bucket not in known:
                    raise ValueError(
                        f"{kind}.{name} overrides unknown bucket {bucket!r}; "
                        f"known buckets: {sorted(known)}"
                    )
        if self.default_plan is not None and self.default_plan not in self.plans:
            raise ValueError(
                f"default_plan {self.default_plan!r} is not one of the plans {sorted(self.plans)}"
            )
        return self

    @property
    def plan_names(self) -> list[str]:
        """The plans this profile declares, in file order."""
        return list(self.plans)

    @property
    def reputation_names(self) -> list[str]:
        """``"healthy"`` (the profile's own buckets) and every declared reputation."""
        return [HEALTHY, *(r for r in self.reputations if r != HEALTHY)]

    def resolve(self, plan: str | None = None, reputation: str | None = None) -> ResolvedProfile:
        """The limits for ``plan`` and ``reputation``; unknown names list the valid ones."""
        plan = plan or self.default_plan
        reputation = reputation or HEALTHY
        buckets = dict(self.buckets)
        quota = self.quota.limit
        if plan is not None:
            if plan not in self.plans:
                raise ProfileError(
                    self.name, "plan", f"unknown plan {plan!r}; valid plans: {self.plan_names}"
                )
            buckets.update(self.plans[plan].buckets)
            quota = self.plans[plan].quota or quota
        if reputation != HEALTHY:
            if reputation not in self.reputations:
                raise ProfileError(
                    self.name,
                    "reputation",
                    f"unknown reputation {reputation!r}; valid: {self.reputation_names}",
                )
            buckets.update(self.reputations[reputation].buckets)
        routes = tuple(entry.route() for entry in self.routes)
        return ResolvedProfile(
            self.name, plan, reputation, buckets, quota, routes, self.dialect,
            self.quota.pacing, self.quota.pace_until_hour,
        )


@dataclass(frozen=True)
class ResolvedProfile:
    """The limits of one provider, plan and reputation: bucket rates, quota and routes."""

    provider: str
    plan: str | None
    reputation: str
    buckets: dict[str, Rate]
    quota: DailyQuota | None
    routes: tuple[Route, ...]
    dialect: str = "generic"
    pacing: bool = False
    pace_until_h: float = 24.0


def _builtin_dir() -> Path:
    shipped = resources.files("governor") / "providers"
    if shipped.is_dir():
        return Path(str(shipped))
    # Running from a source checkout (or an editable install): the repository's config/.
    return Path(__file__).resolve().parent.parent / "config" / "providers"


def builtin_profiles() -> dict[str, Path]:
    """The built-in profiles by name, with their files."""
    return {p.stem: p for p in sorted(_builtin_dir().glob("*.toml"))}


def _key_of(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after[_to_rate(), Rate]",) or "function" in str(part):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


def load_profile(name_or_path: str | Path) -> Profile:
    """Load a built-in profile by name (``"mailersend"``) or any profile file by path.

    Raises :class:`~governor.errors.ProfileError` naming the file, the key and the problem.
    """
    builtins = builtin_profiles()
    text = str(name_or_path)
    path = builtins.get(text) or Path(text).expanduser()
    if not path.is_file():
        raise ProfileError(
            text, "", f"no such profile; built-in profiles: {sorted(builtins)}, or give a path "
            "to a .toml file"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(str(path), "", f"cannot read TOML: {exc}") from None
    try:
        return Profile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        problem = str(first["msg"]).removeprefix("Value error, ")
        raise ProfileError(str(path), _key_of(first["loc"]) or "(top level)", problem) from None
