"""``aiohttp``, governed: :class:`GovernedMiddleware`, a client middleware (aiohttp >= 3.12)
that governs every request of a session with an :class:`~governor.AsyncGovernor`, as
:class:`~governor.integrations.httpx.AsyncGovernedTransport` does for httpx::

    session = governed_session(agov, base_url=...)            # a new ClientSession
    session = aiohttp.ClientSession(middlewares=(GovernedMiddleware(agov),))

Each request acquires its route, its response is observed (status, headers, and the body of
an error response, which the provider's error code classifies), and failures are retried by
the governor's :class:`~governor.retry.RetryPolicy`; ``route_for``, ``retry``,
``idempotency_keys``, ``priority`` and ``timeout_s`` are those of
:class:`~governor.integrations.HttpGovernance`.

Contract:

- An error response's body is read in the middleware and kept by aiohttp
  (``ClientResponse.read`` caches it), so the caller's ``await response.json()`` works as
  usual. A retried response is released before its retry is sent.
- With retries on, a streamed body (an async iterable) is read into memory before the first
  attempt (aiohttp's payload caches it), so every attempt sends it whole; a body that still
  cannot be replayed (a file that cannot seek) is never resent.
- The session's ``timeout`` bounds each attempt on the wire; ``timeout_s`` the whole call.
- aiohttp itself resends a request once when a pooled keep-alive connection turns out closed
  (``ServerDisconnectedError`` before a reply): that resend goes through the middleware again,
  so it is governed (acquired, counted) like any other attempt.
- Connection errors are classified by :func:`~governor.retry.classify_error`: a connector
  error or connect timeout is not sent (a POST may be resent), a socket read timeout or a
  disconnect is ambiguous (a POST is not resent unless it carries an ``Idempotency-Key``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import aiohttp
from typing_extensions import Unpack

from governor.decorator import ResponseParts, acall_governed
from governor.integrations import DEFAULT_RETRY, GovernOptions, HttpGovernance
from governor.retry import retry_budget

if TYPE_CHECKING:
    from collections.abc import Callable

    from aiohttp import ClientHandlerType, ClientRequest, ClientResponse

    from governor.aio import AsyncGovernor
    from governor.core import Priority
    from governor.retry import RetryPolicy

__all__ = ["GovernedMiddleware", "governed_session"]


class _Sent(NamedTuple):
    response: ClientResponse
    parts: ResponseParts


def _parts(sent: _Sent) -> ResponseParts:
    return sent.parts


async def _release(sent: _Sent) -> None:
    sent.response.release()


class GovernedMiddleware:
    """An aiohttp client middleware governing each request with ``gov`` (see the module
    docstring). A response is handed back whatever its status, after the retries the policy
    allows and ``timeout_s`` leaves time for; a spent quota raises
    :class:`~governor.retry.StopUntilReset`, and the first acquire can raise ``WaitTooLong``
    or ``QuotaExhausted``."""

    def __init__(
        self,
        gov: AsyncGovernor,
        *,
        route_for: Callable[[str, str], str] | None = None,
        retry: RetryPolicy | None = DEFAULT_RETRY,
        idempotency_keys: bool = False,
        priority: Priority = "normal",
        timeout_s: float | None = None,
    ) -> None:
        self.gov = gov
        self.governance = HttpGovernance(route_for, retry, idempotency_keys, priority, timeout_s,
                                         gov.policy.router)
        self.budget = retry_budget(gov, retry)

    async def __call__(self, request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        """Acquire, send through ``handler``, observe, retry."""
        body = request.body
        if self.governance.retry is not None and body:
            await body.as_bytes()  # cached by the payload: every attempt sends it whole
        plan = self.governance.plan(request.method, str(request.url), request.headers,
                                    replayable=not body or not body.consumed)

        async def attempt() -> _Sent:
            response = await handler(request)
            # An error body is read for classifying; aiohttp keeps it for the caller.
            raw = await response.read() if response.status >= 400 else None
            return _Sent(response, (response.status, response.headers, raw))

        sent = await acall_governed(self.gov, plan, attempt, retry=self.governance.retry,
                                    budget=self.budget, read=_parts, discard=_release)
        return sent.response

    def __repr__(self) -> str:
        return f"GovernedMiddleware({self.gov!r}, retry={self.governance.retry!r})"


def governed_session(
    gov: AsyncGovernor,
    *,
    base_url: str | None = None,
    session_options: dict[str, Any] | None = None,
    **options: Unpack[GovernOptions],
) -> aiohttp.ClientSession:
    """A new :class:`aiohttp.ClientSession` whose requests are governed by ``gov``: its only
    middleware is a :class:`GovernedMiddleware` with ``options``; ``session_options`` go to
    ``ClientSession`` (headers, timeout, connector; not ``middlewares``). Call it inside the
    event loop that will use the session, as aiohttp asks."""
    extra = dict(session_options or {})
    if "middlewares" in extra:
        raise TypeError("governed_session builds the session's middlewares itself; to combine "
                        "it with others, pass GovernedMiddleware(gov) in your own list, first")
    return aiohttp.ClientSession(base_url, middlewares=(GovernedMiddleware(gov, **options),),
                                 **extra)
