"""Where each setting came from: the sources of :class:`~governor.settings.GovernorSettings`
that say so, the errors that name it, and the warnings about names that are not settings.

How an error names each source, strongest first::

    keyword argument       time_scale (keyword argument): ...
    command-line flag      time_scale (flag --time-scale): ...       the ``flags`` of ``load``
    environment variable   time_scale (env GOVERNOR_TIME_SCALE): ...
    .env file              time_scale (GOVERNOR_TIME_SCALE in /app/.env): ...
    TOML file              time_scale (/app/governor.toml, key time_scale): ...
    default                plan (default): ...

The environment and ``.env`` are shared with the application, so only ``GOVERNOR_*`` names are
read there; any other name (``DATABASE_URL``) is left alone. A ``GOVERNOR_*`` name that is no
setting (``GOVERNOR_PLANN``), nor one of :data:`OTHER_VARIABLES`, is ignored with a warning on
the ``governor`` logger naming the closest setting, once per name and place in a process (a
log line, not :mod:`warnings`, like every other warning of the package). A keyword argument or
a TOML key that is no setting is an error: both are written for the governor alone.
"""

from __future__ import annotations

import difflib
import logging
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic_settings import DotEnvSettingsSource, EnvSettingsSource, TomlConfigSettingsSource

from governor.errors import SettingsError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from pydantic import ValidationError

__all__ = [
    "ENV_PREFIX",
    "OTHER_VARIABLES",
    "DotEnvFile",
    "Environment",
    "FieldProblem",
    "TomlFile",
    "flag",
    "settings_error",
    "tracing",
]

ENV_PREFIX = "GOVERNOR_"
OTHER_VARIABLES = frozenset({"GOVERNOR_CONFIG", "GOVERNOR_REDIS_BINARY"})
"""``GOVERNOR_*`` variables the package reads that are not settings (never warned about)."""

log = logging.getLogger("governor")
_origins: ContextVar[dict[str, str] | None] = ContextVar("governor_origins", default=None)
_warned: set[tuple[str, str]] = set()


class FieldProblem(ValueError):
    """A check across fields that blames one of them (``field``), so the error names its source."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def flag(name: str) -> str:
    """How an error names a setting given as a command-line flag: ``flag --time-scale``."""
    return f"flag --{name.replace('_', '-')}"


@contextmanager
def tracing(given: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """While settings load here, record where each value came from: ``given`` first (the
    keyword arguments and flags), then the first source below that gives a field."""
    origins = dict(given)
    token = _origins.set(origins)
    try:
        yield origins
    finally:
        _origins.reset(token)


def _noted(data: dict[str, Any], label: Callable[[str], str]) -> dict[str, Any]:
    origins = _origins.get()
    if origins is not None:
        for name in data:
            origins.setdefault(name, label(name))
    return data


def _variable(field: str) -> str:
    return f"{ENV_PREFIX}{field.upper()}"


def _closest(name: str, names: Iterable[str]) -> str | None:
    found = difflib.get_close_matches(name, list(names), n=1)
    return found[0] if found else None


def _warn_unknown(fields: Iterable[str], names: Iterable[str], where: str) -> None:
    """Warn, once per name and place, about each ``GOVERNOR_*`` name that is no setting."""
    fields = set(fields)
    for name in (n.upper() for n in names):
        field = name.removeprefix(ENV_PREFIX).lower()
        if not name.startswith(ENV_PREFIX) or name in OTHER_VARIABLES or field in fields:
            continue
        if (name, where) not in _warned:
            _warned.add((name, where))
            near = _closest(field, fields)
            log.warning("governor: %s (%s) is not a setting and is ignored%s", name, where,
                        f"; did you mean {_variable(near)}?" if near else "")


def _path(file: object) -> str:
    """The file of a source (the first that exists, of several) as an absolute path."""
    files = list(file) if isinstance(file, (list, tuple)) else [file] if file else []
    paths = [Path(str(f)).expanduser().resolve() for f in files]
    return str(next((p for p in paths if p.is_file()), paths[0] if paths else ".env"))


class Environment(EnvSettingsSource):
    """``GOVERNOR_*`` environment variables, each noted as ``env GOVERNOR_X``."""

    def __call__(self) -> dict[str, Any]:
        _warn_unknown(self.settings_cls.model_fields, self.env_vars, "environment variable")
        return _noted(super().__call__(), lambda name: f"env {_variable(name)}")


class DotEnvFile(DotEnvSettingsSource):
    """The settings in a ``.env`` file, each noted as ``GOVERNOR_X in <path>``; every other
    name in it is left out (pydantic-settings would pass it on as an unknown setting)."""

    def __call__(self) -> dict[str, Any]:
        where, fields = _path(self.env_file), self.settings_cls.model_fields
        _warn_unknown(fields, self.env_vars, f"in {where}")
        data = {k: v for k, v in super().__call__().items() if k in fields}
        return _noted(data, lambda name: f"{_variable(name)} in {where}")


class TomlFile(TomlConfigSettingsSource):
    """The TOML settings file, each key noted as ``<path>, key <name>`` (unknown keys too:
    they are refused)."""

    def __call__(self) -> dict[str, Any]:
        where = _path(self.toml_file_path)
        return _noted(super().__call__(), lambda name: f"{where}, key {name}")


def settings_error(
    exc: ValidationError, origins: Mapping[str, str], fields: Iterable[str]
) -> SettingsError:
    """One :class:`SettingsError` for every problem in ``exc``, each naming its field and the
    source of its value (``origins``; a field with none has its default)."""
    lines = []
    for err in exc.errors(include_url=False, include_input=False):
        cause = err.get("ctx", {}).get("error")
        field = getattr(cause, "field", None) or ".".join(str(p) for p in err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            near = _closest(field, fields)
            msg = "not a setting" + (f"; did you mean {near}?" if near else "")
        lines.append(f"{field} ({origins.get(field, 'default')}): {msg}" if field else msg)
    return SettingsError("invalid governor settings: " + "; ".join(lines))
