"""The decision as it was before pacing and lanes (#16), for the Redis benchmark's same-run
before/after figure.

:func:`before_backend` is a :class:`~governor.backends.redis.RedisBackend` that sends the
``acquire.lua`` of commit :data:`BEFORE` (read from git at run time, never copied into the
tree) with the argument layout of that commit: no pacing or horizon arguments, no
``quota.pace`` field. Everything else (the connection handling, the reply parsing) is today's,
so the two differ by exactly what #16 added to the script and its arguments.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from governor.backends.redis import RedisBackend
from governor.backends.scripts import Calls, Plan, Script, Target, _bulk, _int, bucket_args
from governor.engine import PACE, PAUSE, QUOTA
from governor.keys import account_key

if TYPE_CHECKING:
    from governor.engine import CallSpec

__all__ = ["BEFORE", "before_backend", "before_script"]

BEFORE = "bc91cb6e4513ac6f824a36b3d49879feca6dd357"
"""The last commit before #16 changed ``acquire.lua``."""

_FIELDS = [_bulk(f) for f in (b"pause", b"quota.day", b"quota.used", b"quota.next_used",
                              b"expires", b"quota.shift", b"quota.seq")]
_REPO = Path(__file__).resolve().parent.parent


def before_script() -> Script | None:
    """The script of :data:`BEFORE`, or None when git cannot show it (no repository)."""
    try:
        text = subprocess.run(
            ["git", "show", f"{BEFORE}:governor/lua/acquire.lua"], cwd=_REPO, check=True,
            capture_output=True, timeout=30,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    sha = hashlib.sha1(text).hexdigest().encode()
    return Script("acquire.lua@before-16", "decision", text, sha)


class _BeforePlan(Plan):
    def __init__(self, prefix: str, account: str, spec: CallSpec, script: Script) -> None:
        Target.__init__(self, script, account, account_key(prefix, account))
        self.spec = spec
        self.head = script.head(self.key, 15 + 6 * len(spec.buckets))
        q = spec.quota
        static = [_int(q.day_us), _int(q.limit), _int(q.reserve)] if q else [_int(0)] * 3
        static += [*_FIELDS, *bucket_args(spec)]
        self.tail = b"".join(static)
        self.scopes = (PACE, QUOTA, PAUSE, "", *(b.name for b in spec.buckets))
        self.index = {b.name: i for i, b in enumerate(spec.buckets, 1)}


class _BeforeCalls(Calls):
    __slots__ = ("script",)

    def __init__(self, prefix: str, script: Script) -> None:
        super().__init__(prefix, None)
        self.script = script

    def _plan(self, account: str, spec: CallSpec) -> Plan:
        plan = self._plans.get((account, id(spec)))
        if plan is None or plan.spec is not spec:
            plan = self._plans[account, id(spec)] = _BeforePlan(
                self.prefix, account, spec, self.script)
        return plan


def before_backend(url: str, prefix: str, script: Script) -> RedisBackend:
    """A Redis backend deciding with the pre-#16 script and arguments."""
    backend = RedisBackend.from_url(url, prefix=prefix)
    backend._calls = _BeforeCalls(prefix, script)  # the one part that differs
    return backend
