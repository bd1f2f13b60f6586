"""The official SDKs, governed: one supported way each, tested with the real packages.

``mailersend`` 2.2.0, :func:`govern_mailersend`
    ``MailerSendClient`` sends through ``client.session``, a ``requests.Session`` whose
    ``https://`` and ``http://`` adapters carry a urllib3 ``Retry`` that resends on 429, 500,
    502, 503 and 504, POSTs included. Both are replaced by a
    :class:`~governor.integrations.requests.GovernedAdapter`: urllib3 never resends, the
    governor retries where it is safe.
``mailersend`` 2.2.0, :func:`govern_async_mailersend`
    ``AsyncMailerSendClient`` sends through an ``httpx.AsyncClient`` (``client._client``) in a
    loop of its own that resends on the same statuses and on any ``httpx.RequestError``. Its
    transport is wrapped in an :class:`~governor.integrations.httpx.AsyncGovernedTransport`
    and its own loop is switched off (``client.max_retries = 0``).
``lettr`` 1.7.0, :func:`govern_lettr`
    ``Lettr`` sends through ``client._client._http``, an ``httpx.Client`` it builds itself and
    takes no transport for. Its transport is wrapped in a
    :class:`~governor.integrations.httpx.GovernedTransport` (its base URL, headers and timeout
    stay). The SDK never retries; the governor does.

Each returns the client it was given. The SDK still raises its own errors for the responses
the governor hands back (a 422, a 429 after the retries allowed, or a 503 whose
``Retry-After`` is past the ``timeout_s`` given here); a spent quota raises
:class:`~governor.retry.StopUntilReset`, and acquiring may raise ``WaitTooLong``. With
``timeout_s``, one SDK call returns or raises within it plus one request's time on the wire,
which the SDK's own timeout bounds (``MailerSendClient(timeout=...)``,
``lettr.Lettr(timeout=...)``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import httpx
from typing_extensions import Unpack

from governor.integrations.httpx import govern_async_client, govern_client

if TYPE_CHECKING:
    from governor.aio import AsyncGovernor
    from governor.client import Governor
    from governor.integrations import GovernOptions

__all__ = ["govern_async_mailersend", "govern_lettr", "govern_mailersend"]

C = TypeVar("C")


def govern_mailersend(client: C, gov: Governor, **options: Unpack[GovernOptions]) -> C:
    """Govern a ``mailersend.MailerSendClient`` (2.2.0) with ``gov``: a governed adapter on its
    ``session`` for ``https://`` and ``http://`` in place of the SDK's retrying one."""
    import requests  # noqa: PLC0415 - requests only for MailerSend (Lettr users need httpx only)

    from governor.integrations.requests import govern_session  # noqa: PLC0415 - same

    session = getattr(client, "session", None)
    if not isinstance(session, requests.Session):
        raise TypeError(
            f"govern_mailersend takes a mailersend.MailerSendClient (2.2), which sends through "
            f"a requests.Session at .session; {type(client).__name__} has none "
            "(for AsyncMailerSendClient use govern_async_mailersend)"
        )
    govern_session(session, gov, **options)
    return client


def govern_async_mailersend(
    client: C, gov: AsyncGovernor, **options: Unpack[GovernOptions]
) -> C:
    """Govern a ``mailersend.AsyncMailerSendClient`` (2.2.0) with ``gov``: its
    ``httpx.AsyncClient`` gets an :class:`AsyncGovernedTransport`, and the SDK's own retry
    loop is switched off (``max_retries = 0``)."""
    http = getattr(client, "_client", None)
    if not isinstance(http, httpx.AsyncClient) or not hasattr(client, "max_retries"):
        raise TypeError(
            "govern_async_mailersend takes a mailersend.AsyncMailerSendClient (2.2), which "
            f"sends through an httpx.AsyncClient at ._client; {type(client).__name__} has none"
        )
    govern_async_client(http, gov, **options)
    client.max_retries = 0  # the SDK resends POSTs itself otherwise (checked above: hasattr)
    return client


def govern_lettr(client: C, gov: Governor, **options: Unpack[GovernOptions]) -> C:
    """Govern a ``lettr.Lettr`` (1.7.0), or its ``ApiClient``, with ``gov``: the
    ``httpx.Client`` the SDK built (``ApiClient._http``) sends through a
    :class:`GovernedTransport` wrapping its own transport."""
    api = getattr(client, "_client", client)
    http = getattr(api, "_http", None)
    if not isinstance(http, httpx.Client):
        raise TypeError(
            "govern_lettr takes a lettr.Lettr or lettr.ApiClient (1.7), which sends through "
            f"an httpx.Client at ApiClient._http; {type(client).__name__} has none"
        )
    govern_client(http, gov, **options)
    return client
