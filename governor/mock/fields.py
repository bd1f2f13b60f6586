"""The admin API's JSON fields: objects, numbers, counts and times, read or refused. Pure.

Everything that cannot be read raises :class:`BadRequest`, which the app answers with 400
``{"error": ...}``; times and durations are virtual seconds (see :mod:`governor.mock.clock`).
"""

from __future__ import annotations

import json
import math
from datetime import datetime, time, timezone
from typing import Any, TypeGuard

from governor.limits import DAY_S

__all__ = ["BadRequest", "clock_target", "is_count", "number", "optional_count", "parse_object",
           "read_time"]


class BadRequest(ValueError):
    """An admin request the mock cannot act on; answered with 400."""


def parse_object(raw: bytes) -> dict[str, Any]:
    """A request body as a JSON object (an empty body is ``{}``)."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadRequest("the body must be a JSON object")
    return data


def number(data: dict[str, Any], name: str, default: float | None = None) -> float:
    """Field ``name`` as a finite number of seconds (``default`` when absent)."""
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadRequest(f"{name!r} must be a number of (virtual) seconds")
    return float(value)


def is_count(value: Any) -> TypeGuard[int]:
    """Whether ``value`` is a whole number, 0 or more (JSON ``true`` is not one)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def optional_count(data: dict[str, Any], name: str) -> int | None:
    """Field ``name`` as a whole number of messages, or None (absent or null)."""
    value = data.get(name)
    if value is not None and not is_count(value):
        raise BadRequest(f"{name!r} must be a whole number of messages, or null")
    return value


def read_time(value: Any) -> float:
    """Virtual epoch seconds from a number or an ISO-8601 text (naive means UTC)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        raise BadRequest(f"a time is epoch seconds or ISO-8601 text, not {value!r}")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BadRequest(f"cannot read {value!r} as an ISO-8601 time") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def clock_target(data: dict[str, Any], now_s: float) -> float:
    """Where ``POST /_admin/clock`` moves the clock: ``to`` a time, ``advance_s`` from ``now_s``,
    or the next ``time_of_day`` (UTC) at or after ``now_s``."""
    if "to" in data:
        return read_time(data["to"])
    if "advance_s" in data:
        return now_s + number(data, "advance_s")
    if "time_of_day" in data:
        try:
            of_day = time.fromisoformat(str(data["time_of_day"]).removesuffix("Z"))
        except ValueError as exc:
            raise BadRequest("time_of_day is HH:MM:SS (UTC)") from exc
        seconds = of_day.hour * 3600 + of_day.minute * 60 + of_day.second + of_day.microsecond / 1e6
        target = math.floor(now_s / DAY_S) * DAY_S + seconds
        return target if target >= now_s else target + DAY_S
    raise BadRequest("give 'to' (ISO-8601 or epoch), 'advance_s' or 'time_of_day'")
