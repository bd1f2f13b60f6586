"""A fleet: four worker processes share one MailerSend account's limits through Redis. However
many workers there are, together they send at the account's 120 emails a minute.

    python examples/redis_fleet.py [PROVIDER_URL [REDIS_URL]]

Without a Redis URL (argument or ``REDIS_URL``) it starts a private Redis-compatible server.
Every worker names the same account (here by its API token, which the governor keeps only
as a keyed hash) and the same Redis: that is all it takes to share the limits.
"""

from __future__ import annotations

import multiprocessing
import time

from _provider import EMAIL, HEADERS, TOKEN, provider_url, redis_url

from governor import Governor
from governor.integrations.requests import governed_session

WORKERS, EMAILS_EACH = 4, 3


def worker(provider: str, redis: str) -> list[float]:
    """Send ``EMAILS_EACH`` emails; return when each accepted one went (epoch seconds)."""
    gov = Governor.from_settings(provider="mailersend", plan="starter", api_token=TOKEN,
                                 redis_url=redis, fleet_size=WORKERS)  # Redis down: 1/4 each
    session = governed_session(gov)
    session.headers.update(HEADERS)
    accepted = []
    for _ in range(EMAILS_EACH):
        if session.post(f"{provider}/v1/email", json=EMAIL, timeout=10).status_code == 202:
            accepted.append(time.time())
    gov.close()
    return accepted


def main() -> None:
    spawn = multiprocessing.get_context("spawn")
    with provider_url() as provider, redis_url() as redis, spawn.Pool(WORKERS) as pool:
        sent = sorted(t for ts in pool.starmap(worker, [(provider, redis)] * WORKERS) for t in ts)
    print(f"{len(sent)} of {WORKERS * EMAILS_EACH} emails accepted from {WORKERS} workers")
    if len(sent) > 1:  # the account allows 2 a second, for the whole fleet
        print(f"together {(len(sent) - 1) / (sent[-1] - sent[0]):.1f} a second")


if __name__ == "__main__":
    main()
