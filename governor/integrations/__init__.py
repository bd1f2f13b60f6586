"""Govern HTTP clients: every request acquires its route, every response is observed, failed
requests are retried by a :class:`~governor.retry.RetryPolicy`.

``governor.integrations.requests``   :class:`GovernedAdapter`, ``governed_session``,
                                      ``govern_session`` (needs ``requests``)
``governor.integrations.httpx``      :class:`GovernedTransport`, :class:`AsyncGovernedTransport`,
                                      ``govern_client``, ``govern_async_client`` (needs ``httpx``)
``governor.integrations.sdk``        ``govern_mailersend``, ``govern_async_mailersend``,
                                      ``govern_lettr``: the official SDKs, governed

This module holds what they share, with no I/O and no HTTP library imported: how a request
becomes a :class:`~governor.decorator.CallPlan` (:class:`HttpGovernance`). The loop itself is
:func:`~governor.decorator.call_governed` / :func:`~governor.decorator.acall_governed`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypedDict

from governor.decorator import CallPlan
from governor.retry import IDEMPOTENT_METHODS, RetryPolicy

if TYPE_CHECKING:
    from collections.abc import Callable, MutableMapping

    from governor.core import Priority
    from governor.routing import Router

__all__ = [
    "DEFAULT_RETRY",
    "IDEMPOTENCY_HEADER",
    "GovernOptions",
    "HttpGovernance",
    "route_of",
]

DEFAULT_RETRY = RetryPolicy()
"""The retry policy of the HTTP integrations unless told otherwise (``retry=None``: none)."""

IDEMPOTENCY_HEADER = "Idempotency-Key"

def route_of(method: str, url: str) -> str:
    """The route text of a request, ``"POST https://host/v1/email?x=1"``: the router keeps the
    path only (``"POST /v1/email"``)."""
    return f"{method.upper()} {url}"


class GovernOptions(TypedDict, total=False):
    """The options every HTTP integration takes (see :class:`HttpGovernance`)."""

    route_for: Callable[[str, str], str] | None
    retry: RetryPolicy | None
    idempotency_keys: bool
    priority: Priority
    timeout_s: float | None


@dataclass(frozen=True, slots=True)
class HttpGovernance:
    """How requests are governed.

    ``route_for(method, url)`` names a request's route (default :func:`route_of`). ``retry`` is
    the policy (None: never retry; responses are still observed). ``idempotency_keys`` adds an
    ``Idempotency-Key`` header to every non-idempotent request that has none, generated once
    per request and reused on each of its attempts, which makes resending it after an
    ambiguous failure safe; turn it on only for a provider that honours the header (Sendmux,
    Lettr; MailerSend ignores it). ``priority`` goes to ``acquire``. ``timeout_s`` bounds a
    request's whole governed call: every acquire gets only what is left of it, and a retry
    whose delay would not end before it is not slept (the last response is handed back, or
    :class:`~governor.retry.RetriesExhausted` raised from the last exception). The time on the
    wire counts against it but is never cut short, since an interrupted send may have been
    delivered: the HTTP client's own timeout bounds each attempt, and is left as the client
    set it.
    ``router`` (the governor's ``policy.router``) turns the route text into the name of the
    profile route it matches, so that every URL of one route shares one route (and its
    caches): ``"GET https://host/v1/activity/42?page=2"`` becomes ``"GET /v1/activity/**"``.
    """

    route_for: Callable[[str, str], str] | None = None
    retry: RetryPolicy | None = DEFAULT_RETRY
    idempotency_keys: bool = False
    priority: Priority = "normal"
    timeout_s: float | None = None
    router: Router | None = None

    def plan(
        self, method: str, url: str, headers: MutableMapping[str, Any], *, replayable: bool
    ) -> CallPlan:
        """The call plan of one request; adds its idempotency key to ``headers`` if asked to.

        A request is resend-safe when its method is idempotent or it carries an
        ``Idempotency-Key``; ``replayable`` says whether its body can be sent again."""
        method = method.upper()
        keyed = IDEMPOTENCY_HEADER in headers  # requests' and httpx's headers ignore case
        if self.idempotency_keys and not keyed and method not in IDEMPOTENT_METHODS:
            headers[IDEMPOTENCY_HEADER] = uuid.uuid4().hex
            keyed = True
        route = (self.route_for or route_of)(method, url)
        if self.router is not None:
            route = self.router.resolve(route).name
        safe = keyed or method in IDEMPOTENT_METHODS
        return CallPlan(route, 1, self.priority, self.timeout_s, safe, replayable)
