"""``requests``, governed: :class:`GovernedAdapter`, and sessions that use it.

Mount the adapter and every request of the session acquires its route before it goes, every
response is observed (reconciling the fleet's shared state), and failures are retried by the
governor's :class:`~governor.retry.RetryPolicy`, never by urllib3::

    session = governed_session(gov)                     # a new session
    govern_session(sdk_client.session, gov)             # or an existing one

**urllib3 never resends.** The adapter's ``max_retries`` is always ``Retry(0, read=False)``
(setting anything that would resend raises). This matters with the official MailerSend SDK,
whose session retries POSTs on 429 and 5xx through urllib3: a 500 after the email was
accepted would send it again. Once governed, a POST is resent only when that is safe (see
:mod:`governor.retry`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests
from requests.adapters import DEFAULT_POOLBLOCK, DEFAULT_POOLSIZE, HTTPAdapter
from typing_extensions import Unpack
from urllib3.util.retry import Retry

from governor.decorator import call_governed, response_parts
from governor.integrations import DEFAULT_RETRY, GovernOptions, HttpGovernance
from governor.retry import retry_budget

if TYPE_CHECKING:
    from collections.abc import Callable

    from requests import PreparedRequest, Response

    from governor.client import Governor
    from governor.core import Priority
    from governor.retry import RetryPolicy

__all__ = ["GovernedAdapter", "govern_session", "governed_session"]

_NEVER = Retry(0, read=False)


class GovernedAdapter(HTTPAdapter):
    """An :class:`~requests.adapters.HTTPAdapter` that governs every request it sends with
    ``gov`` (a sync :class:`~governor.Governor`).

    The route of a request is ``route_for(method, url)`` (default ``"METHOD url"``; the
    router keeps the path); ``retry``, ``idempotency_keys``, ``priority`` and ``timeout_s`` are
    those of :class:`~governor.integrations.HttpGovernance`. Pool settings as ``HTTPAdapter``.
    A response is handed back whatever its status, after the retries the policy allows and
    ``timeout_s`` leaves time for; a spent quota raises
    :class:`~governor.retry.StopUntilReset`, and the first acquire can raise ``WaitTooLong``
    or ``QuotaExhausted`` (with ``timeout_s``). The ``timeout`` a request is sent with (requests'
    own) bounds each attempt on the wire.
    """

    def __init__(
        self,
        gov: Governor,
        *,
        route_for: Callable[[str, str], str] | None = None,
        retry: RetryPolicy | None = DEFAULT_RETRY,
        idempotency_keys: bool = False,
        priority: Priority = "normal",
        timeout_s: float | None = None,
        pool_connections: int = DEFAULT_POOLSIZE,
        pool_maxsize: int = DEFAULT_POOLSIZE,
        pool_block: bool = DEFAULT_POOLBLOCK,
    ) -> None:
        self.gov = gov
        self.governance = HttpGovernance(route_for, retry, idempotency_keys, priority, timeout_s,
                                         gov.policy.router)
        self.budget = retry_budget(gov, retry)
        super().__init__(pool_connections, pool_maxsize, 0, pool_block)

    @property
    def max_retries(self) -> Retry:
        """Always ``Retry(0, read=False)``: urllib3 never resends; retries are the governor's."""
        return _NEVER

    @max_retries.setter
    def max_retries(self, value: Retry | int) -> None:
        if Retry.from_int(value).total != 0:
            raise ValueError(
                "a GovernedAdapter never lets urllib3 resend a request (a POST could be sent "
                "twice); retries are the governor's: pass retry=RetryPolicy(...)"
            )

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: dict[str, str] | None = None,
    ) -> Response:
        """Acquire, send, observe and retry ``request`` (see the class docstring)."""
        plan = self.governance.plan(
            request.method or "GET", request.url or "", request.headers,
            replayable=request.body is None or isinstance(request.body, (bytes, str)),
        )

        def attempt() -> Response:
            response = HTTPAdapter.send(self, request, stream, timeout, verify, cert, proxies)
            if response.status_code >= 400:
                _ = response.content  # read (and kept) for classifying: provider error codes
            return response

        return call_governed(
            self.gov, plan, attempt, retry=self.governance.retry, budget=self.budget,
            read=response_parts, discard=_close,
        )

    def __repr__(self) -> str:
        return f"GovernedAdapter({self.gov!r}, retry={self.governance.retry!r})"


def _close(response: Response) -> None:
    response.close()


def govern_session(
    session: requests.Session,
    gov: Governor,
    *,
    base_url: str | None = None,
    **options: Unpack[GovernOptions],
) -> requests.Session:
    """Mount a :class:`GovernedAdapter` on ``session``, for ``https://`` and ``http://``
    (replacing the adapters there, and their urllib3 retries), or only for URLs under
    ``base_url``. Returns the session."""
    adapter = GovernedAdapter(gov, **options)
    for prefix in [base_url] if base_url else ["https://", "http://"]:
        session.mount(prefix, adapter)
    return session


def governed_session(
    gov: Governor, *, base_url: str | None = None, **options: Unpack[GovernOptions]
) -> requests.Session:
    """A new :class:`requests.Session` governed by ``gov`` (see :func:`govern_session`)."""
    return govern_session(requests.Session(), gov, base_url=base_url, **options)
