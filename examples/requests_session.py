"""A ``requests`` session whose every request waits for its slot: five emails at MailerSend's
120 a minute (Starter plan), each response updating what the governor knows of the limits.

    python examples/requests_session.py [PROVIDER_URL]
"""

from __future__ import annotations

from _provider import EMAIL, HEADERS, TOKEN, provider_url

from governor import Governor
from governor.integrations.requests import governed_session


def main() -> None:
    gov = Governor.from_settings(provider="mailersend", plan="starter", api_token=TOKEN)
    session = governed_session(gov)  # or govern_session(your_session, gov)
    session.headers.update(HEADERS)
    with provider_url() as url:
        for n in range(5):
            reply = session.post(f"{url}/v1/email", json=EMAIL, timeout=10)
            print(f"email {n}: {reply.status_code}, "
                  f"{reply.headers.get('x-ratelimit-remaining')} left this minute")
    gov.close()


if __name__ == "__main__":
    main()
