"""What the Redis backends send and receive: the Lua scripts, packed calls, parsed replies.

Both Redis backends (sync and asyncio) share this module and only do I/O. A decision is one
``EVALSHA`` of ``lua/acquire.lua``; its bytes are packed here, with the key and the static
arguments of each (account, spec) packed once and cached, so the hot path only formats the four
arguments that change from call to call. The reply, one string of integers (far cheaper for
redis-py to read than an array), becomes a :class:`~governor.decision.Decision`.

The backends send these bytes on a pooled connection themselves instead of through redis-py's
``execute_command`` or ``Script``: those retry a command after a timeout (redis-py's default
``Retry``), and a replayed decision would spend twice. :func:`failure` says what an I/O error
means: nothing was sent (:class:`~governor.errors.BackendUnavailable`), or the script may have
run (:class:`~governor.errors.IndeterminateOutcome`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Literal

from redis.exceptions import (
    AuthenticationError,
    BusyLoadingError,
    NoPermissionError,
    ResponseError,
)
from redis.exceptions import TimeoutError as RedisTimeoutError

from governor.decision import Decision
from governor.engine import PACE, PAUSE, QUOTA
from governor.errors import BackendError, BackendUnavailable, IndeterminateOutcome
from governor.keys import account_key

if TYPE_CHECKING:
    from collections.abc import Sequence

    from governor.clock import Clock
    from governor.engine import CallSpec
    from governor.reconcile import Adjustment

__all__ = [
    "ACL_COMMANDS",
    "ACQUIRE",
    "PAUSE_SCRIPT",
    "REFUND",
    "Calls",
    "Plan",
    "Script",
    "Stage",
    "Target",
    "acl_rules",
    "bucket_args",
    "failure",
    "slot_moving",
]

_PLAN_CACHE_SIZE = 4096


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def _int(value: int) -> bytes:
    text = b"%d" % value
    return b"$%d\r\n%s\r\n" % (len(text), text)


_EMPTY = _bulk(b"")
# The account-wide fields of the state hash (see ``keys``), in the order acquire.lua reads them.
_FIELDS = [
    _bulk(f) for f in (b"pause", b"quota.day", b"quota.used", b"quota.next_used", b"expires",
                       b"quota.shift", b"quota.seq", b"quota.pace")
]
_ONE = _int(1)
_ZERO = _int(0)


@dataclass(frozen=True)
class Script:
    """A Lua script of the package, with the SHA-1 that ``EVALSHA`` names it by."""

    name: str
    purpose: str
    text: bytes
    sha: bytes

    @classmethod
    def load(cls, name: str, purpose: str) -> Script:
        """Read ``governor/lua/<name>`` (package data, via ``importlib.resources``)."""
        text = (resources.files("governor") / "lua" / name).read_bytes()
        return cls(name, purpose, text, hashlib.sha1(text).hexdigest().encode())

    def head(self, key: str, n_args: int) -> bytes:
        """The packed ``EVALSHA sha 1 key`` of a command with ``n_args`` more arguments."""
        return b"*%d\r\n%s%s%s%s" % (
            4 + n_args, _bulk(b"EVALSHA"), _bulk(self.sha), _ONE, _bulk(key.encode())
        )


ACL_COMMANDS = ("+evalsha", "+script|load", "+time", "+hmget", "+hset", "+pexpire")
"""What a governor's Redis user runs: ``EVALSHA``, ``SCRIPT LOAD`` (after a restart or a
failover), and the commands inside the scripts, which ACLs check too."""
_CLUSTER_ACL_COMMANDS = ("+cluster|slots", "+command")  # redis-py's RedisCluster start-up


def acl_rules(prefix: str = "governor", cluster: bool = False) -> str:
    """The least a Redis ACL user needs to run a governor whose keys start with ``prefix``:
    ``ACL SETUSER <user> on ><password> <these rules>``. A Cluster client also reads the
    slots and the command table; a database other than 0 also needs ``+select``, and
    ``governor status`` ``+hgetall``."""
    commands = ACL_COMMANDS + (_CLUSTER_ACL_COMMANDS if cluster else ())
    return " ".join(("resetchannels", f"~{prefix}:*", "-@all", *commands))


ACQUIRE = Script.load("acquire.lua", "decision")
REFUND = Script.load("refund.lua", "refund")
PAUSE_SCRIPT = Script.load("pause.lua", "pause")


class Target:
    """What a script call is about: the script, the account and its key (which routes the call
    to a Cluster node); errors name them."""

    __slots__ = ("account", "key", "script")

    def __init__(self, script: Script, account: str, key: str) -> None:
        self.script = script
        self.account = account
        self.key = key


class Plan(Target):
    """The parts of an acquire that are the same for every call of one (account, spec)."""

    __slots__ = ("head", "index", "scopes", "spec", "tail")

    def __init__(self, prefix: str, account: str, spec: CallSpec) -> None:
        super().__init__(ACQUIRE, account, account_key(prefix, account))
        self.spec = spec
        self.head = ACQUIRE.head(self.key, 19 + 6 * len(spec.buckets))
        q = spec.quota
        static = (
            [_int(q.day_us), _int(q.limit), _int(q.reserve), _int(q.pace_end_us),
             _int(q.pace_burst)] if q else [_ZERO] * 5
        )
        static += [_int(spec.horizon), *_FIELDS, *bucket_args(spec)]
        self.tail = b"".join(static)
        # Reply scope codes -3, -2, -1, 0, 1..n index this tuple after adding 3.
        self.scopes = (PACE, QUOTA, PAUSE, "", *(b.name for b in spec.buckets))
        self.index = {b.name: i for i, b in enumerate(spec.buckets, 1)}


def bucket_args(spec: CallSpec) -> list[bytes]:
    """The encoded per-bucket arguments of acquire.lua: every bucket's field names, then every
    bucket's interval, burst and limit."""
    args: list[bytes] = []
    for b in spec.buckets:
        name = b.name.encode()
        args += [_bulk(name + b".tat"), _bulk(name + b".pause"), _bulk(name + b".interval")]
    for b in spec.buckets:
        args += [_int(b.interval_us), _int(b.burst), _int(b.limit)]
    return args


def _adjustment(plan: Plan, adj: Adjustment) -> bytes:
    """ARGV[5] of acquire.lua: the adjustment's fields that ``engine.apply`` reads."""
    base = adj.quota_base
    return _bulk(
        b"%d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d"
        % (
            adj.stamp_us,
            adj.sent_at_us,
            plan.index.get(adj.bucket, 0),
            adj.min_tat_us,
            adj.interval_us,
            adj.relax,
            adj.bucket_pause_us,
            adj.account_pause_us,
            adj.quota_used_floor,
            base is not None,
            base or 0,
            adj.quota_reset_us,
            adj.relax_after,
            max(adj.quota_debit, 0),
            max(adj.spent, 0),
            adj.spent_from_us,
            adj.spent_on_top,
        )
    )


class Calls:
    """Packs the script calls of one backend (key prefix, optional test clock) and parses the
    replies. Pure; the backends send the bytes."""

    __slots__ = ("_plans", "clock", "prefix")

    def __init__(self, prefix: str, clock: Clock | None) -> None:
        account_key(prefix, "0")  # refuses a bad prefix (braces) up front
        self.prefix = prefix
        self.clock = clock
        self._plans: dict[tuple[str, int], Plan] = {}

    def _now(self) -> bytes:
        return _EMPTY if self.clock is None else _int(self.clock.now_us())

    def _plan(self, account: str, spec: CallSpec) -> Plan:
        # Keyed by the spec's identity (policies cache their specs); the ``is`` check guards
        # against a recycled id.
        plan = self._plans.get((account, id(spec)))
        if plan is None or plan.spec is not spec:
            if len(self._plans) >= _PLAN_CACHE_SIZE:
                self._plans.clear()
            plan = self._plans[account, id(spec)] = Plan(self.prefix, account, spec)
        return plan

    def acquire(
        self,
        account: str,
        spec: CallSpec,
        cost: int,
        high_priority: bool,
        max_wait_us: int,
        adjustment: Adjustment | None = None,
    ) -> tuple[Plan, bytes]:
        """The ``EVALSHA`` of one decision (applying ``adjustment`` first; with ``cost`` 0,
        only that), and the plan that parses its reply."""
        plan = self._plan(account, spec)
        clock = self.clock
        packed = b"".join(
            (
                plan.head,
                _EMPTY if clock is None else _int(clock.now_us()),
                _int(cost),
                _ONE if high_priority else _ZERO,
                _int(max_wait_us),
                _EMPTY if adjustment is None else _adjustment(plan, adjustment),
                plan.tail,
            )
        )
        return plan, packed

    @staticmethod
    def decision(plan: Plan, reply: bytes | str, route: str, cost: int) -> Decision:
        """The decision of an acquire reply (see the reply shape in ``acquire.lua``)."""
        r = list(map(int, reply.split()))
        n = (len(r) - 10) >> 1
        return Decision(
            r[0] == 1,
            r[1],
            r[2],
            plan.scopes[r[3] + 3],
            r[4],
            r[5],
            tuple(r[10 : 10 + n]),
            tuple(r[10 + n :]),
            r[6],
            route,
            cost,
            False,
            r[7],
            r[8],
            r[9],
            r[0] == 2,
        )

    def refund(
        self,
        account: str,
        spec: CallSpec,
        cost: int,
        marks: Sequence[int],
        priors: Sequence[int],
        quota_day: int,
    ) -> tuple[Target, bytes]:
        """The ``EVALSHA`` that gives back what a cancelled reservation spent."""
        key = account_key(self.prefix, account)
        q = spec.quota
        args = [self._now(), _int(cost), _int(quota_day), _int(q.day_us) if q else _ZERO]
        for b, mark, prior in zip(spec.buckets, marks, priors, strict=False):
            args += [_bulk(b.name.encode()), _int(mark), _int(prior)]
        packed = REFUND.head(key, len(args)) + b"".join(args)
        return Target(REFUND, account, key), packed

    def pause(self, account: str, until_us: int, bucket: str | None) -> tuple[Target, bytes]:
        """The ``EVALSHA`` that pauses the account, or one of its buckets, until ``until_us``."""
        key = account_key(self.prefix, account)
        which = _EMPTY if bucket is None else _bulk(bucket.encode())
        packed = PAUSE_SCRIPT.head(key, 3) + _int(until_us) + self._now() + which
        return Target(PAUSE_SCRIPT, account, key), packed


Stage = Literal["before", "write", "read"]
"""Where a script call failed: before its command was written (getting a connection, loading
the script), while writing it, or while reading the reply."""


def failure(call: Target, exc: Exception, stage: Stage) -> BackendError:
    """The governor error for an I/O or server error of a script call about ``call``.

    Nothing ran when the connection could not be had, when the server answered with an error
    (``NOSCRIPT`` is handled before this; ``LOADING``, ``READONLY``, ``OOM`` ... refuse the
    command without running it), or when the socket refused the command's bytes (the connection
    is closed, so a partial command is discarded). A timeout while writing, or any failure while
    reading the reply, leaves the outcome unknown.
    """
    what = f"{call.script.purpose} for account {call.account[:8]}…"
    if isinstance(exc, AuthenticationError):
        return BackendUnavailable(
            f"{what}: Redis refused the credentials ({exc}); nothing was decided or spent. "
            "Check the user name and password in the Redis URL."
        )
    if _denied(exc):  # a script stopped by the ACL midway may have written: no "nothing spent"
        rules = acl_rules(call.key.rpartition(":{")[0])
        return BackendUnavailable(
            f"{what}: the Redis user may not do what the governor needs ({exc}); the call was "
            f"not allowed. Give the user these ACL rules: {rules} (on a Cluster also "
            f"{' '.join(_CLUSTER_ACL_COMMANDS)})"
        )
    if isinstance(exc, (ResponseError, BusyLoadingError)):
        return BackendUnavailable(
            f"{what}: Redis refused the call ({exc}); nothing was decided or spent. "
            "Retry later, or check the server's state."
        )
    if stage == "read" or (stage == "write" and isinstance(exc, RedisTimeoutError)):
        return IndeterminateOutcome(
            f"{what}: the call was sent but no reply came back ({exc}); it may or may not "
            "have been counted, and it was not resent (a replay could spend twice). Treat "
            "the call as not allowed unless it is safe to repeat."
        )
    return BackendUnavailable(
        f"{what}: Redis could not be reached ({exc}); nothing was decided or spent. "
        "Retry later, or fall back to local limiting."
    )


_ACL_SCRIPT_ERRORS = ("can't run this command", "ACL failure", "no permissions")


def _denied(exc: Exception) -> bool:
    """An ACL refusal: of the command (``NOPERM``), or of a command inside a script (which
    Redis 7.0 and Valkey report as a plain script error, each in its own words)."""
    return isinstance(exc, NoPermissionError) or (
        isinstance(exc, ResponseError) and any(e in str(exc) for e in _ACL_SCRIPT_ERRORS)
    )


def slot_moving(call: Target) -> BackendUnavailable:
    """The error when Cluster redirects (``MOVED``, ``ASK``, ``TRYAGAIN``) did not settle."""
    return BackendUnavailable(
        f"{call.script.purpose} for account {call.account[:8]}…: the Cluster slot kept moving; "
        "nothing was decided or spent. Retry later."
    )
