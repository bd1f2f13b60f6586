"""asyncio and ``aiohttp``: ten emails sent at once through a governed ``ClientSession`` (a
client middleware, ``GovernedMiddleware``). Each request sleeps until its own slot, once; every
response is observed and a 429 or 503 is retried after its ``Retry-After``.

    python examples/aiohttp_session.py [PROVIDER_URL]
"""

from __future__ import annotations

import asyncio

from _provider import EMAIL, HEADERS, TOKEN, provider_url

from governor import AsyncGovernor
from governor.integrations.aiohttp import governed_session


async def send_all(url: str) -> None:
    gov = AsyncGovernor.from_settings(provider="mailersend", plan="starter", api_token=TOKEN)
    async with governed_session(gov, base_url=url, session_options={"headers": HEADERS}) as http:

        async def send() -> int:
            async with http.post("/v1/email", json=EMAIL) as response:
                return response.status

        statuses = await asyncio.gather(*(send() for _ in range(10)))
    print("statuses:", sorted(statuses))
    await gov.aclose()


if __name__ == "__main__":
    with provider_url() as url:
        asyncio.run(send_all(url))
