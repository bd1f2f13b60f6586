"""The mock provider as a Starlette app: the provider's routes and an admin API under ``/_admin``.

Provider routes: every path outside ``/_admin`` is a provider endpoint, matched against the
profile's routes (MailerSend: ``POST /v1/email``, ``POST /v1/bulk-email``, ``GET /v1/api-quota``,
``GET /v1/activity/{id}``, anything else under ``/v1`` in the general bucket; Sendmux:
``POST /api/v1/emails/send`` and ``/api/v1/emails/send/batch``; Lettr: ``POST /api/emails``).
Auth is ``Authorization: Bearer <token>``. The ``Date`` header is the *virtual* time, like every
other time the mock reports, ``Retry-After`` included, offset and all (see
:mod:`governor.mock.clock`). A request is decided and logged when it
arrives; the reply then waits for the server's :class:`~governor.mock.latency.ReplyDelay`
(real seconds; none by default).

Admin API (JSON in and out; times and durations are virtual)::

    GET    /_admin/health                       {"ok": true, "provider": ...}
    GET    /_admin/config                       server settings, outages, clock, latency
    GET    /_admin/accounts                     {"accounts": [account, ...]}
    POST   /_admin/accounts                     {"name", "token" | "tokens", "plan"?,
                                                 "reputation"?, "email_quota"?} -> 201 account
    GET    /_admin/accounts/{name}              account
    PATCH  /_admin/accounts/{name}              {"plan"?, "reputation"?, "email_quota"?}
    PUT    /_admin/accounts/{name}/reputation   {"reputation": "under_review"}
    POST   /_admin/accounts/{name}/spend        {"requests": n}: spend n of today's quota out
                                                of band (other senders) -> {"requested",
                                                "spent", "at", "at_s", "real_at_s", "account"}
    GET    /_admin/clock                        clock
    POST   /_admin/clock                        {"to": ISO-8601 | epoch} | {"advance_s": n}
                                                | {"time_of_day": "23:59:50"} (next one);
                                                forward only (409 otherwise)
    GET    /_admin/outages                      {"outages": [...]}
    POST   /_admin/outages                      {"start": ISO | epoch} or {"start_in_s": n},
                                                {"duration_s": n, "code"?} -> 201 outage
    DELETE /_admin/outages                      204
    POST   /_admin/reset                        {"accounts"?: false}: forget log and state
    GET    /_admin/report                       the report (governor.mock.report)
    GET    /_admin/log?since=0&limit=1000       {"since", "next", "total", "entries"}

Errors: 400 ``{"error": ...}`` for a bad request, 404 for an unknown account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from governor.errors import ProfileError
from governor.mock.accounts import UNSET
from governor.mock.clock import http_date, iso_utc
from governor.mock.fields import (
    BadRequest,
    clock_target,
    is_count,
    number,
    optional_count,
    parse_object,
    read_time,
)
from governor.mock.latency import ReplyDelay
from governor.mock.wire import Call

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from starlette.requests import Request

    from governor.mock.clock import VirtualClock
    from governor.mock.outages import Outage
    from governor.mock.rules import MockRules

    Endpoint = Callable[[Request], Awaitable[Response]]

__all__ = ["create_app"]

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def create_app(
    rules: MockRules, clock: VirtualClock, delay: ReplyDelay | None = None
) -> Starlette:
    """The app serving ``rules`` on ``clock``, each provider reply after ``delay`` (None: at
    once); all three are kept on ``app.state``."""
    pause = delay if delay is not None else ReplyDelay()

    async def provider(request: Request) -> Response:
        body = await request.body()
        now_s = clock.now_s()
        call = Call(
            request.method, request.url.path, _bearer(request.headers.get("authorization")),
            body, request.headers.get("idempotency-key"),
        )
        reply = rules.handle(call, now_s)
        await pause.wait()  # after deciding: windows and log see the arrival time
        headers = {**reply.headers, "date": http_date(now_s)}
        if reply.body is None:
            return Response(status_code=reply.status, headers=headers)
        return JSONResponse(reply.body, reply.status, headers)

    admin = _Admin(rules, clock, pause)
    app = Starlette(routes=[
        Mount("/_admin", routes=[
            Route("/health", _guard(admin.health)),
            Route("/config", _guard(admin.config)),
            Route("/accounts", _guard(admin.accounts), methods=["GET", "POST"]),
            Route("/accounts/{name}", _guard(admin.account), methods=["GET", "PATCH"]),
            Route("/accounts/{name}/reputation", _guard(admin.account), methods=["PUT"]),
            Route("/accounts/{name}/spend", _guard(admin.spend), methods=["POST"]),
            Route("/clock", _guard(admin.time), methods=["GET", "POST"]),
            Route("/outages", _guard(admin.outages), methods=["GET", "POST", "DELETE"]),
            Route("/reset", _guard(admin.reset), methods=["POST"]),
            Route("/report", _guard(admin.report)),
            Route("/log", _guard(admin.log)),
        ]),
        Route("/{path:path}", provider, methods=METHODS),
    ])
    app.state.rules = rules
    app.state.clock = clock
    app.state.delay = pause
    return app


class _Admin:
    """The ``/_admin`` endpoints over one rules object and its clock."""

    def __init__(self, rules: MockRules, clock: VirtualClock, delay: ReplyDelay) -> None:
        self.rules, self.clock, self.delay = rules, clock, delay

    async def health(self, _request: Request) -> Response:
        return JSONResponse({"ok": True, "provider": self.rules.profile.name})

    async def config(self, _request: Request) -> Response:
        return JSONResponse({**self.rules.describe(), "clock": self.clock.describe(),
                             "latency": self.delay.describe()})

    async def accounts(self, request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"accounts": list(self.rules.accounts.describe().values())})
        data = await _body(request)
        tokens = data.get("tokens") or [data.get("token")]
        if not isinstance(data.get("name"), str) or not all(isinstance(t, str) for t in tokens):
            raise BadRequest("an account needs a 'name' and a 'token' (or 'tokens'), as strings")
        account = self.rules.accounts.add(
            data["name"], tokens, plan=data.get("plan"), reputation=data.get("reputation"),
            email_quota=optional_count(data, "email_quota"),
        )
        return JSONResponse(account.describe(), 201)

    async def account(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in self.rules.accounts:
            return _no_account(name)
        if request.method == "GET":
            return JSONResponse(self.rules.accounts[name].describe())
        data = await _body(request)
        if request.method == "PUT" and "reputation" not in data:
            raise BadRequest("give the new 'reputation'")
        email_quota = optional_count(data, "email_quota") if "email_quota" in data else UNSET
        changed = self.rules.accounts.configure(
            name, plan=data.get("plan", UNSET), reputation=data.get("reputation", UNSET),
            email_quota=email_quota,
        )
        return JSONResponse(changed.describe())

    async def spend(self, request: Request) -> Response:
        name = request.path_params["name"]
        if name not in self.rules.accounts:
            return _no_account(name)
        units = (await _body(request)).get("requests")
        if not is_count(units):
            raise BadRequest("'requests' must be a whole number of requests to spend")
        entry = self.rules.spend(name, units, self.clock.now_s())
        return JSONResponse({
            "requested": units, "spent": entry.quota_cost, "at": iso_utc(entry.t),
            "at_s": entry.t, "real_at_s": self.clock.real_at(entry.t),
            "account": self.rules.accounts[name].describe(),
        })

    async def time(self, request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse(self.clock.describe())
        target = clock_target(await _body(request), self.clock.now_s())
        try:
            before = self.clock.jump_to(target)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, 409)
        return JSONResponse({"before": iso_utc(before), **self.clock.describe()})

    async def outages(self, request: Request) -> Response:
        if request.method == "GET":
            return JSONResponse({"outages": [self._outage(o) for o in self.rules.outages]})
        if request.method == "DELETE":
            self.rules.outages.clear()
            return Response(status_code=204)
        data = await _body(request)
        if "start" in data:
            start_s = read_time(data["start"])
        else:
            start_s = self.clock.now_s() + number(data, "start_in_s", 0)
        code = str(data.get("code", "service_unavailable"))
        outage = self.rules.outages.add(start_s, start_s + number(data, "duration_s"), code)
        return JSONResponse(self._outage(outage), 201)

    async def reset(self, request: Request) -> Response:
        data = await _body(request)
        self.rules.reset(accounts=bool(data.get("accounts", False)))
        return JSONResponse({"ok": True})

    async def report(self, _request: Request) -> Response:
        return JSONResponse(self.rules.report(self.clock.now_s()))

    async def log(self, request: Request) -> Response:
        try:
            since = max(0, int(request.query_params.get("since", 0)))
            limit = max(1, min(int(request.query_params.get("limit", 1000)), 100_000))
        except ValueError as exc:
            raise BadRequest("since and limit are whole numbers") from exc
        total, entries = self.rules.log_page(since, limit)
        return JSONResponse({
            "since": since, "next": since + len(entries), "total": total,
            "entries": [e.to_json() for e in entries],
        })

    def _outage(self, outage: Outage) -> dict[str, Any]:
        return {
            "start": iso_utc(outage.start_s), "end": iso_utc(outage.end_s),
            "start_s": outage.start_s, "end_s": outage.end_s, "code": outage.code,
            "real_start_s": self.clock.real_at(outage.start_s),
            "real_end_s": self.clock.real_at(outage.end_s),
        }


def _guard(handler: Endpoint) -> Endpoint:
    """Turn a bad admin request into 400 ``{"error": ...}`` instead of a 500."""

    async def guarded(request: Request) -> Response:
        try:
            return await handler(request)
        except (BadRequest, ProfileError, ValueError, KeyError, TypeError) as exc:
            message = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
            return JSONResponse({"error": message}, 400)

    return guarded


def _bearer(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def _no_account(name: str) -> Response:
    return JSONResponse({"error": f"no account {name!r}"}, 404)


async def _body(request: Request) -> dict[str, Any]:
    return parse_object(await request.body())
