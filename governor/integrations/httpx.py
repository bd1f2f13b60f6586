"""``httpx``, governed: :class:`GovernedTransport` and :class:`AsyncGovernedTransport` wrap an
inner transport; every request acquires its route, every response is observed, failures are
retried by the governor's :class:`~governor.retry.RetryPolicy`::

    client = httpx.Client(base_url=..., transport=GovernedTransport(gov))
    client = httpx.AsyncClient(base_url=..., transport=AsyncGovernedTransport(agov))
    govern_client(existing_client, gov)        # a client built elsewhere (an SDK's)

An error response's body is read inside the transport (the provider's error code tells a rate
limit from a spent quota) and handed on as a fresh, unread response with the same status,
headers and raw bytes, so the client reads and decodes it as usual. A request body is read
into memory before the first attempt when retries are on, so that every attempt sends it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import httpx
from typing_extensions import Unpack

from governor.decorator import ResponseParts, acall_governed, call_governed
from governor.integrations import DEFAULT_RETRY, GovernOptions, HttpGovernance
from governor.retry import retry_budget

if TYPE_CHECKING:
    from collections.abc import Callable

    from governor.aio import AsyncGovernor
    from governor.client import Governor
    from governor.core import Priority
    from governor.retry import RetryPolicy

__all__ = ["AsyncGovernedTransport", "GovernedTransport", "govern_async_client", "govern_client"]


class _Sent(NamedTuple):
    response: httpx.Response
    parts: ResponseParts


def _parts(sent: _Sent) -> ResponseParts:
    return sent.parts


def _decoded(status: int, headers: httpx.Headers, raw: bytes) -> bytes:
    try:
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(raw)).read()
    except httpx.DecodingError:
        return raw


def _sent(request: httpx.Request, response: httpx.Response, raw: bytes | None) -> _Sent:
    """The response to hand on and its parts; ``raw``: the error body read off the wire."""
    status, headers = response.status_code, response.headers
    if status < 400:
        return _Sent(response, (status, headers, None))
    if raw is None:  # already read (a MockTransport reply): hand it on as it is
        return _Sent(response, (status, headers, response.content))
    fresh = httpx.Response(status, headers=headers, stream=httpx.ByteStream(raw),
                           extensions=response.extensions, request=request)
    return _Sent(fresh, (status, headers, _decoded(status, headers, raw)))


def _unread_error(response: httpx.Response) -> bool:
    return response.status_code >= 400 and not response.is_stream_consumed


class GovernedTransport(httpx.BaseTransport):
    """A sync transport that governs each request with ``gov`` and sends it through ``inner``
    (default ``httpx.HTTPTransport()``). ``route_for``, ``retry``, ``idempotency_keys``,
    ``priority`` and ``timeout_s`` are those of :class:`~governor.integrations.HttpGovernance`.
    A response is handed back whatever its status, after the retries the policy allows and
    ``timeout_s`` leaves time for; a spent quota raises
    :class:`~governor.retry.StopUntilReset`. The client's timeout (``request.extensions``)
    bounds each attempt on the wire."""

    def __init__(
        self,
        gov: Governor,
        inner: httpx.BaseTransport | None = None,
        *,
        route_for: Callable[[str, str], str] | None = None,
        retry: RetryPolicy | None = DEFAULT_RETRY,
        idempotency_keys: bool = False,
        priority: Priority = "normal",
        timeout_s: float | None = None,
    ) -> None:
        self.gov = gov
        self.inner = inner if inner is not None else httpx.HTTPTransport()
        self.governance = HttpGovernance(route_for, retry, idempotency_keys, priority, timeout_s,
                                         gov.policy.router)
        self.budget = retry_budget(gov, retry)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Acquire, send through ``inner``, observe, retry."""
        plan = self.governance.plan(request.method, str(request.url), request.headers,
                                    replayable=True)
        if self.governance.retry is not None:
            request.read()

        def attempt() -> _Sent:
            response = self.inner.handle_request(request)
            raw = b"".join(response.iter_raw()) if _unread_error(response) else None
            return _sent(request, response, raw)

        sent = call_governed(self.gov, plan, attempt, retry=self.governance.retry,
                             budget=self.budget, read=_parts, discard=_close)
        return sent.response

    def close(self) -> None:
        """Close the inner transport."""
        self.inner.close()

    def __repr__(self) -> str:
        return f"GovernedTransport({self.gov!r}, inner={self.inner!r})"


class AsyncGovernedTransport(httpx.AsyncBaseTransport):
    """The asyncio twin of :class:`GovernedTransport`, governed by an
    :class:`~governor.AsyncGovernor` (``inner`` default: ``httpx.AsyncHTTPTransport()``)."""

    def __init__(
        self,
        gov: AsyncGovernor,
        inner: httpx.AsyncBaseTransport | None = None,
        *,
        route_for: Callable[[str, str], str] | None = None,
        retry: RetryPolicy | None = DEFAULT_RETRY,
        idempotency_keys: bool = False,
        priority: Priority = "normal",
        timeout_s: float | None = None,
    ) -> None:
        self.gov = gov
        self.inner = inner if inner is not None else httpx.AsyncHTTPTransport()
        self.governance = HttpGovernance(route_for, retry, idempotency_keys, priority, timeout_s,
                                         gov.policy.router)
        self.budget = retry_budget(gov, retry)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Acquire, send through ``inner``, observe, retry."""
        plan = self.governance.plan(request.method, str(request.url), request.headers,
                                    replayable=True)
        if self.governance.retry is not None:
            await request.aread()

        async def attempt() -> _Sent:
            response = await self.inner.handle_async_request(request)
            raw = None
            if _unread_error(response):
                raw = b"".join([chunk async for chunk in response.aiter_raw()])
            return _sent(request, response, raw)

        sent = await acall_governed(self.gov, plan, attempt, retry=self.governance.retry,
                                    budget=self.budget, read=_parts, discard=_aclose)
        return sent.response

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self.inner.aclose()

    def __repr__(self) -> str:
        return f"AsyncGovernedTransport({self.gov!r}, inner={self.inner!r})"


def _close(sent: _Sent) -> None:
    sent.response.close()


async def _aclose(sent: _Sent) -> None:
    await sent.response.aclose()


def govern_client(
    client: httpx.Client, gov: Governor, **options: Unpack[GovernOptions]
) -> httpx.Client:
    """Govern a client built elsewhere (an SDK's): its transport, and those of its mounts
    (proxies), are wrapped in :class:`GovernedTransport`, so its base URL, headers, timeouts
    and pool stay. Governing again replaces the earlier governance. Relies on httpx's
    ``Client._transport`` and ``Client._mounts`` (httpx 0.28); returns the client."""
    def wrap(transport: httpx.BaseTransport) -> httpx.BaseTransport:
        if isinstance(transport, GovernedTransport):
            transport = transport.inner
        return GovernedTransport(gov, transport, **options)

    client._transport = wrap(client._transport)
    client._mounts = {p: None if t is None else wrap(t) for p, t in client._mounts.items()}
    return client


def govern_async_client(
    client: httpx.AsyncClient, gov: AsyncGovernor, **options: Unpack[GovernOptions]
) -> httpx.AsyncClient:
    """The asyncio twin of :func:`govern_client`."""
    def wrap(transport: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        if isinstance(transport, AsyncGovernedTransport):
            transport = transport.inner
        return AsyncGovernedTransport(gov, transport, **options)

    client._transport = wrap(client._transport)
    client._mounts = {p: None if t is None else wrap(t) for p, t in client._mounts.items()}
    return client
