"""A local mock of the email providers' APIs that enforces their documented limits.

It is the server ``governor demo``, the end-to-end tests and the benchmarks send to, so it
counts independently of governor's own engine (plain fixed or sliding windows over a request
log) and reports what really happened on the server side.

Modules, in the order a request goes through them::

    clock.py        virtual time: the one place real and provider seconds meet
    wire.py         Call, Reply, Snapshot; the Dialect protocol
    windows.py      fixed and sliding request counters
    accounts.py     accounts: plan, reputation, counters; tokens kept as digests only
    outages.py      scheduled 503s
    idempotency.py  first replies kept per Idempotency-Key (Sendmux)
    rules.py        MockRules: the decision for each request (pure: time passed in)
    mailersend.py sendmux.py lettr.py   each provider's statuses, headers and bodies
    log.py report.py                    the request log and the report computed from it
    latency.py      ReplyDelay: the real seconds a reply waits after the decision (seeded)
    fields.py       the admin API's JSON fields, read or refused (400)
    app.py          the Starlette app: provider routes and the /_admin API
    server.py admin.py __main__.py      MockServer (uvicorn in a thread or a process),
                                        its admin client, ``python -m governor.mock``

``MockServer`` needs the ``demo`` extra (starlette, uvicorn, httpx); the rules do not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from governor.mock.clock import TimeScale, VirtualClock
from governor.mock.outages import Outage
from governor.mock.rules import MockRules
from governor.mock.wire import Call, Reply

if TYPE_CHECKING:
    from governor.mock.admin import MockAdmin
    from governor.mock.server import MockServer

__all__ = ["Call", "MockAdmin", "MockRules", "MockServer", "Outage", "Reply", "TimeScale",
           "VirtualClock"]


def __getattr__(name: str) -> Any:
    # The server and its client import starlette, uvicorn and httpx: only when asked for.
    if name == "MockServer":
        from governor.mock.server import MockServer  # noqa: PLC0415 - uvicorn only on demand

        return MockServer
    if name == "MockAdmin":
        from governor.mock.admin import MockAdmin  # noqa: PLC0415 - httpx only on demand

        return MockAdmin
    raise AttributeError(f"module 'governor.mock' has no attribute {name!r}")
