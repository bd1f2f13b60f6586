"""Any function that calls the provider, governed by a decorator: each call waits for its slot,
its response is observed, and a 429 or 503 is retried after ``Retry-After`` (a POST is never
resent after a failure that may have delivered it). ``@gov.limited`` works on ``async def``
functions with an ``AsyncGovernor`` too.

    python examples/decorated_function.py [PROVIDER_URL]
"""

from __future__ import annotations

from typing import Any

import requests
from _provider import EMAIL, HEADERS, TOKEN, provider_url

from governor import Governor, RetryPolicy

gov = Governor.from_settings(provider="mailersend", plan="starter", api_token=TOKEN)


@gov.limited("POST /v1/email", retry=RetryPolicy(max_attempts=3), timeout_s=30.0)
def send(url: str, email: dict[str, Any]) -> requests.Response:
    return requests.post(f"{url}/v1/email", json=email, headers=HEADERS, timeout=10)


if __name__ == "__main__":
    with provider_url() as url:
        for n in range(5):
            print(f"email {n}: {send(url, EMAIL).status_code}")
