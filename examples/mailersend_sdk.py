"""The official MailerSend SDK (``mailersend`` 2.2.0), governed: ``govern_mailersend`` puts the
governor's adapter on the client's session, in place of the SDK's urllib3 retries (which
resend a POST after a 5xx, so an email can go twice).

The SDK joins its paths to ``base_url``, which must include the API's ``/v1/``: against a
mock, ``base_url=f"{url}/v1/"`` (given the host alone, it would post to ``/email``, which sends
nothing); against the real API, the SDK's default is right.

    python examples/mailersend_sdk.py [PROVIDER_URL]
"""

from __future__ import annotations

from _provider import EMAIL, TOKEN, provider_url
from mailersend import EmailRequest, MailerSendClient

from governor import Governor
from governor.integrations.sdk import govern_mailersend


def main() -> None:
    gov = Governor.from_settings(provider="mailersend", plan="starter", api_token=TOKEN)
    with provider_url() as url:
        client = govern_mailersend(MailerSendClient(api_key=TOKEN, base_url=f"{url}/v1/"), gov)
        for n in range(5):
            sent = client.emails.send(EmailRequest.model_validate(EMAIL))
            print(f"email {n}: accepted as {sent['id']}")
    gov.close()


if __name__ == "__main__":
    main()
