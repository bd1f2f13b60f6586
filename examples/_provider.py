"""What the examples send, and where: the provider's URL from the command line or
``PROVIDER_URL``, else a mock of the provider started for the run (the one
``python -m governor.mock`` serves; it needs the ``demo`` extra)::

    python examples/requests_session.py                        # a mock it starts itself
    python examples/requests_session.py http://127.0.0.1:8025  # a mock you run yourself
    PROVIDER_URL=https://api.mailersend.com PROVIDER_TOKEN=... python examples/requests_session.py

A mock started here has one account, whose API token is ``PROVIDER_TOKEN``
(default ``example-token``). The examples run at real speed: the governor paces them at the
provider's published limits, as it would against the real API.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterator

TOKEN = os.environ.get("PROVIDER_TOKEN", "example-token")
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
EMAIL: dict[str, Any] = {  # a MailerSend POST /v1/email body
    "from": {"email": "shop@example.com"},
    "to": [{"email": "ann@example.com"}],
    "subject": "Your order",
    "text": "Thanks for your order!",
}


@contextmanager
def provider_url(provider: str = "mailersend", plan: str = "starter") -> Iterator[str]:
    """The provider's URL, without a trailing slash: the first argument, else ``PROVIDER_URL``,
    else that of a mock of ``provider`` (an account on ``plan``) that runs for the block."""
    url = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("PROVIDER_URL")
    if url:
        yield url.rstrip("/")
        return
    from governor.mock.server import MockServer  # noqa: PLC0415 - only without a URL

    with MockServer(provider) as mock:
        mock.admin.add_account("example", TOKEN, plan=plan)
        print(f"(sending to a mock {provider} on {mock.url}; pass a URL to send elsewhere)")
        yield mock.url


@contextmanager
def redis_url() -> Iterator[str]:
    """A Redis URL: the second argument, else ``REDIS_URL``, else that of a private
    Redis-compatible server (:mod:`governor.embedded`) that runs for the block."""
    url = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    from governor.embedded import start_server  # noqa: PLC0415 - only without a URL

    server = start_server()
    try:
        yield server.url
    finally:
        server.stop()
