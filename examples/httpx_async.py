"""asyncio and ``httpx``: ten emails sent at once, paced by the governor's async transport
(``AsyncGovernedTransport``; ``GovernedTransport`` is the sync one). Each task sleeps until
its own slot, once: no polling, no 429s.

    python examples/httpx_async.py [PROVIDER_URL]
"""

from __future__ import annotations

import asyncio

import httpx
from _provider import EMAIL, HEADERS, TOKEN, provider_url

from governor import AsyncGovernor
from governor.integrations.httpx import AsyncGovernedTransport


async def send_all(url: str) -> None:
    gov = AsyncGovernor.from_settings(provider="mailersend", plan="starter", api_token=TOKEN)
    transport = AsyncGovernedTransport(gov)  # wraps httpx.AsyncHTTPTransport() by default
    async with httpx.AsyncClient(base_url=url, headers=HEADERS, transport=transport) as client:
        replies = await asyncio.gather(*(client.post("/v1/email", json=EMAIL) for _ in range(10)))
    print("statuses:", sorted(r.status_code for r in replies))
    await gov.aclose()


if __name__ == "__main__":
    with provider_url() as url:
        asyncio.run(send_all(url))
