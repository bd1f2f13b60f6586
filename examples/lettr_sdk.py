"""The official Lettr SDK (``lettr`` 1.7.0), governed: it builds its own ``httpx.Client`` and
takes no transport, so ``govern_lettr`` wraps that client's transport in the governor's
(keeping its base URL, headers and timeout). Lettr allows 3 requests a second.

    python examples/lettr_sdk.py [PROVIDER_URL]
"""

from __future__ import annotations

import lettr
from _provider import TOKEN, provider_url

from governor import Governor
from governor.integrations.sdk import govern_lettr


def main() -> None:
    gov = Governor.from_settings(provider="lettr", plan="pro", api_token=TOKEN)
    with provider_url("lettr", plan="pro") as url:
        client = govern_lettr(lettr.Lettr(TOKEN, base_url=f"{url}/api"), gov)
        for n in range(6):
            sent = client.emails.send(from_email="shop@example.com", to=["ann@example.com"],
                                      subject="Your order", text="Thanks for your order!",
                                      idempotency_key=f"order-{n}")
            print(f"email {n}: {sent.accepted} accepted")
    gov.close()


if __name__ == "__main__":
    main()
