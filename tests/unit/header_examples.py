"""Real rate-limit headers, as providers, their SDKs and their users' bug reports show them.

Each example names its source (a URL, or repository + path) and what it must read to:
``limit``/``window``/``remaining`` of the most constraining request limit, its reset
(``reset_at``: epoch seconds on the server's clock; ``reset_in``: seconds after the response),
the retry time (``retry_at``/``retry_in``), the daily quota (``quota_*``), token limits
(``tokens``: ``(limit, remaining, reset_in)`` each), how many request limits in all
(``requests``, default: 1 when any value is expected, else 0). Every value not named must read
as None: a value read that the example does not state is a misread.

``now`` is when the response arrived (epoch seconds) for examples without a ``Date``; with one,
the local clock is taken :data:`AHEAD_S` ahead of it, so server-absolute times must come out
moved by that much and deltas not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

AHEAD_S = 37

GITHUB = "https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api"
GITHUB_OLD = "github/docs: content/rest/overview/resources-in-the-rest-api.md (2021)"
GITLAB = "https://docs.gitlab.com/ee/user/gitlab_com/index.html#haproxy-api-throttle"
GITLAB_ISSUE = "https://gitlab.com/gitlab-org/gitlab/-/issues/217312"
DISCORD = "discord/discord-api-docs: docs/topics/Rate_Limits.md"
DISCORD_ISSUE = "https://github.com/discord/discord-api-docs/issues/7680"
OPENAI = "https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers"
OPENAI_FORUM = ("https://community.openai.com/t/how-to-get-rate-limit-reset-time-for-response"
                "-api/1268905")
OPENAI_SDK = "openai/openai-python: src/openai/_base_client.py (retry-after-ms)"
AZURE_OPENAI = "https://github.com/openai/openai-dotnet/issues/838"
ANTHROPIC = "https://docs.anthropic.com/en/api/rate-limits#response-headers"
ANTHROPIC_CAPTURE = ("https://rdrr.io/cran/tidyllm/src/tests/testthat/claude/api.anthropic.com/"
                     "v1/messages-e050b5-POST.R")
ARM = "https://learn.microsoft.com/en-us/azure/azure-resource-manager/management/request-limits-and-throttling"
ARM_GIST = ("https://gist.github.com/lastcoolnameleft/4cf6ceb49fdb4fb990ed163f628fa910 "
            "(Azure Resource Manager, az vmss show --debug)")
HUBSPOT = ("https://developers.hubspot.com/changelog/2018-11-06-rate-limit-information-headers-"
           "will-be-included-in-http-responses")
HUBSPOT_USAGE = "https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details"
GHL = "https://marketplace.gohighlevel.com/docs/other/rate-limits"
REDDIT = "https://github.com/reddit-archive/reddit/wiki/API#rules"
ZENDESK = ("https://developer.zendesk.com/documentation/api-basics/best-practices/"
           "best-practices-for-avoiding-rate-limiting")
SHOPIFY = "https://shopify.dev/docs/api/admin-rest/usage/rate-limits"
SHOPIFY_NOTE = "https://zenn.dev/frog/scraps/d08e016761a4e2 (Shopify REST Admin API headers)"
CLOUDFLARE = "https://developers.cloudflare.com/fundamentals/api/reference/limits/"
SENDGRID = ("https://www.twilio.com/docs/sendgrid/api-reference/how-to-use-the-sendgrid-v3-api/"
            "rate-limits")
BREVO = "https://developers.brevo.com/docs/limit-headers"
RESEND = "https://resend.com/docs/api-reference/rate-limit"
RESEND_LOG = "https://resend.com/changelog/api-rate-limit"
ATLASSIAN = "https://developer.atlassian.com/cloud/jira/platform/rate-limiting/"
ATLASSIAN_ISSUE = "https://jira.atlassian.com/browse/JRACLOUD-69262"
CONFLUENCE_DC = "https://confluence.atlassian.com/conf87/_ratelimiting_httpheaders-1333822054.html"
LEMLIST = "https://developer.lemlist.com/api-reference/getting-started/rate-limits"
MAILERLITE = "https://developers-classic.mailerlite.com/docs/api-rate-limits"
UNITY = "https://docs.unity.com/ja-jp/services-web-apis/headers"
SINE = "https://developer.sine.co/api/api-rate-limiting"
UNIPILE = "https://developer.unipile.com/v2.0/reference/rate-limit"
TURN = "https://whatsapp.turn.io/docs/api/rate_limiting"
CAMPAIGN_MONITOR = "https://github.com/campaignmonitor/createsend-java/issues/35"
GITBOOK = "https://gitbook.com/docs/developers/gitbook-api/rate-limiting"
HYPERLINE = "https://docs.hyperline.co/api-reference/docs/rate-limiting"
PERFORCE = "https://help.perforce.com/helix-alm/helixalm/2026.1.0/restapi/Content/RESTAPI/RateLimits.htm"
SLACK = "https://api.slack.com/docs/rate-limits#headers"
STRIPE = "https://docs.stripe.com/rate-limits"
TWILIO = "https://www.twilio.com/docs/usage/rest-api-best-practices#rate-limits"
GOOGLE = "https://cloud.google.com/storage/docs/json_api/v1/status-codes#429_Too_Many_Requests"
MAILGUN = "https://github.com/mailgun/mailgun-java/issues/50"
POSTMARK = "https://postmarkapp.com/developer/api/overview#rate-limits"
SPARKPOST = "https://developers.sparkpost.com/api/#header-rate-limiting"
MANDRILL = "https://mailchimp.com/developer/transactional/docs/fundamentals/#rate-limits"
SES = "https://docs.aws.amazon.com/ses/latest/dg/manage-sending-quotas-errors.html"
TWITTER = "https://developer.x.com/en/docs/x-api/rate-limits#headers-and-codes"
KONG = "https://docs.konghq.com/hub/kong-inc/rate-limiting/#headers-sent-to-the-client"


def _draft(n: str) -> str:
    return (f"ietf-wg-httpapi/ratelimit-headers: draft-ietf-httpapi-ratelimit-headers.md at tag "
            f"draft-ietf-httpapi-ratelimit-headers-{n}")


@dataclass(frozen=True)
class Example:
    source: str
    headers: list[tuple[str, str]]
    expect: dict[str, Any] = field(default_factory=dict)
    now: int | None = None
    dialect: str = "generic"


def ex(source: str, headers: str, now: int | None = None, dialect: str = "generic",
       **expect: Any) -> Example:
    """An example from its headers as the source prints them, one ``Name: value`` a line."""
    pairs = []
    for line in headers.strip().splitlines():
        name, _, value = line.strip().partition(":")
        pairs.append((name.strip(), value.strip()))
    return Example(source, pairs, expect, now, dialect)


EXAMPLES = [
    # --- GitHub: epoch reset, hourly limit not stated in a header -----------------------------
    ex(GITHUB_OLD, """
        Date: Mon, 01 Jul 2013 17:27:06 GMT
        x-ratelimit-limit: 60
        x-ratelimit-remaining: 56
        x-ratelimit-used: 4
        x-ratelimit-reset: 1372700873
    """, limit=60, remaining=56, reset_at=1372700873),
    ex(GITHUB_OLD, """
        Date: Mon, 01 Jul 2013 17:27:06 GMT
        X-RateLimit-Limit: 5000
        X-RateLimit-Remaining: 4966
        X-RateLimit-Reset: 1372700873
    """, limit=5000, remaining=4966, reset_at=1372700873),
    ex(GITHUB, """
        x-ratelimit-limit: 5000
        x-ratelimit-remaining: 4999
        x-ratelimit-used: 1
        x-ratelimit-reset: 1691591363
        x-ratelimit-resource: core
    """, now=1691591363 - 3500, limit=5000, remaining=4999, reset_at=1691591363),
    ex(GITHUB, """
        Date: Tue, 20 Aug 2013 14:50:41 GMT
        X-RateLimit-Limit: 60
        X-RateLimit-Remaining: 0
        X-RateLimit-Reset: 1377013266
    """, limit=60, remaining=0, reset_at=1377013266),
    ex(GITBOOK, """
        X-RateLimit-Limit: 60
        X-RateLimit-Remaining: 0
        X-RateLimit-Reset: 1377013266
    """, now=1377013266 - 60, limit=60, remaining=0, reset_at=1377013266),
    # --- GitLab: RateLimit-* with an epoch reset and an HTTP-date beside it -----------------
    ex(GITLAB_ISSUE, """
        RateLimit-Limit: 600
        RateLimit-Observed: 6
        RateLimit-Remaining: 594
        RateLimit-Reset: 1563325137
        RateLimit-ResetTime: Wed, 17 Jul 2019 00:58:57 GMT
    """, now=1563325137 - 55, limit=600, remaining=594, reset_at=1563325137),
    ex(GITLAB, """
        RateLimit-Limit: 60
        RateLimit-Observed: 67
        RateLimit-Remaining: 0
        RateLimit-Reset: 1609844400
        RateLimit-ResetTime: Tue, 05 Jan 2021 11:00:00 GMT
        Retry-After: 3600
    """, now=1609844400 - 3600, limit=60, remaining=0, reset_at=1609844400, retry_in=3600),
    # --- Discord: epoch with a fraction, and a fractional reset-after beside it -------------
    ex(DISCORD, """
        X-RateLimit-Limit: 5
        X-RateLimit-Remaining: 0
        X-RateLimit-Reset: 1470173023
        X-RateLimit-Reset-After: 1
        X-RateLimit-Bucket: abcd1234
    """, now=1470173022, limit=5, remaining=0, reset_at=1470173023),
    ex(DISCORD, """
        Retry-After: 65
        X-RateLimit-Limit: 10
        X-RateLimit-Remaining: 0
        X-RateLimit-Reset: 1470173023.123
        X-RateLimit-Reset-After: 64.57
        X-RateLimit-Bucket: abcd1234
        X-RateLimit-Scope: user
    """, now=1470172958, limit=10, remaining=0, reset_at=1470173023.123, retry_in=65),
    ex(DISCORD, """
        Retry-After: 65
        X-RateLimit-Global: true
        X-RateLimit-Scope: global
    """, now=1470172958, retry_in=65),
    ex(DISCORD_ISSUE, """
        x-ratelimit-limit: 10
        x-ratelimit-remaining: 9
        x-ratelimit-reset-after: 10.000
    """, now=1752192000, limit=10, remaining=9, reset_in=10),
    ex(DISCORD_ISSUE, """
        Retry-After: 5
        x-ratelimit-limit: 10
        x-ratelimit-remaining: 0
        x-ratelimit-reset-after: 4.815
    """, now=1752192000, limit=10, remaining=0, reset_in=4.815, retry_in=5),
    ex("discord/discord-api-docs: docs/topics/Rate_Limits.md (2016)", """
        X-RateLimit-Limit: 5
        X-RateLimit-Remaining: 0
        X-RateLimit-Reset: 1470173023
    """, now=1470173000, limit=5, remaining=0, reset_at=1470173023),
    # --- OpenAI: per-kind suffixes, Go-style durations, retry-after-ms ----------------------
    ex(OPENAI, """
        x-ratelimit-limit-requests: 60
        x-ratelimit-limit-tokens: 150000
        x-ratelimit-remaining-requests: 59
        x-ratelimit-remaining-tokens: 149984
        x-ratelimit-reset-requests: 1s
        x-ratelimit-reset-tokens: 6m0s
    """, now=1748235604, limit=60, remaining=59, reset_in=1,
       tokens=[(150000, 149984, 360)]),
    ex(OPENAI_FORUM, """
        x-ratelimit-limit-requests: 5000
        x-ratelimit-limit-tokens: 160000
        x-ratelimit-limit-tokens_usage_based: 160000
        x-ratelimit-remaining-requests: 4999
        x-ratelimit-remaining-tokens: 159976
        x-ratelimit-remaining-tokens_usage_based: 159976
        x-ratelimit-reset-requests: 12ms
        x-ratelimit-reset-tokens: 9ms
        x-ratelimit-reset-tokens_usage_based: 9ms
    """, now=1748235604, limit=5000, remaining=4999, reset_in=0.012,
       tokens=[(160000, 159976, 0.009), (160000, 159976, 0.009)]),
    ex(OPENAI_FORUM, """
        date: Mon, 26 May 2025 05:00:04 GMT
        content-type: application/json
        x-ratelimit-limit-requests: 30000
        x-ratelimit-limit-tokens: 150000000
    """, limit=30000, tokens=[(150000000, None, None)]),
    ex(AZURE_OPENAI, """
        x-ratelimit-limit-tokens: -1
        x-ratelimit-remaining-tokens: -1
        x-ratelimit-reset-tokens: 0
    """, now=1748235604, tokens=[(None, None, 0)], requests=0),
    ex(OPENAI + " (values as a public project's notes record a response)", """
        x-ratelimit-limit-requests: 3500
        x-ratelimit-remaining-requests: 35
        x-ratelimit-reset-requests: 6m0s
        x-ratelimit-limit-tokens: 90000
        x-ratelimit-remaining-tokens: 10000
        x-ratelimit-reset-tokens: 6m0s
    """, now=1748235604, limit=3500, remaining=35, reset_in=360,
       tokens=[(90000, 10000, 360)]),
    ex(ANTHROPIC_CAPTURE, """
        date: Thu, 21 Aug 2025 12:41:00 GMT
        anthropic-ratelimit-input-tokens-limit: 80000
        anthropic-ratelimit-input-tokens-remaining: 80000
        anthropic-ratelimit-input-tokens-reset: 2025-08-21T12:40:59Z
        anthropic-ratelimit-output-tokens-limit: 16000
        anthropic-ratelimit-output-tokens-remaining: 16000
        anthropic-ratelimit-output-tokens-reset: 2025-08-21T12:41:00Z
        anthropic-ratelimit-requests-limit: 1000
        anthropic-ratelimit-requests-remaining: 999
        anthropic-ratelimit-requests-reset: 2025-08-21T12:40:59Z
        anthropic-ratelimit-tokens-limit: 96000
        anthropic-ratelimit-tokens-remaining: 96000
        anthropic-ratelimit-tokens-reset: 2025-08-21T12:40:59Z
        request-id: req_011CSLsW7mFqvHHnzrKdKjAE
    """, limit=1000, remaining=999, reset_at=1755780059,
       tokens=[(80000, 80000, -1), (16000, 16000, 0), (96000, 96000, -1)]),
    ex(ARM_GIST, """
        x-ms-ratelimit-remaining-resource: Microsoft.Compute/GetVMScaleSet3Min;197,Microsoft.Compute/GetVMScaleSet30Min;1297
        x-ms-ratelimit-remaining-subscription-reads: 11999
    """, now=1683909000, remaining=197, requests=3),
    ex(HUBSPOT_USAGE, """
        X-HubSpot-RateLimit-Daily: 250000
        X-HubSpot-RateLimit-Daily-Remaining: 249998
        X-HubSpot-RateLimit-Interval-Milliseconds: 10000
        X-HubSpot-RateLimit-Max: 100
        X-HubSpot-RateLimit-Remaining: 97
    """, now=1700000000, limit=100, window=10, remaining=97, requests=2),
    ex(ZENDESK, """
        X-Rate-Limit: 700
        X-Rate-Limit-Remaining: 699
    """, now=1700000000, limit=700, remaining=699),
    ex(ZENDESK, """
        x-rate-limit: 700
        ratelimit-limit: 700
        x-rate-limit-remaining: 699
        ratelimit-remaining: 699
        ratelimit-reset: 41
        zendesk-ratelimit-tickets-index: total=100; remaining=99; resets=41
    """, now=1700000000, limit=100, remaining=99, reset_in=41, requests=3),
    ex("https://developer.zendesk.com/api-reference/introduction/rate-limits/", """
        Retry-After: 93
        X-Rate-Limit: 700
        X-Rate-Limit-Remaining: 0
    """, now=1700000000, limit=700, remaining=0, retry_in=93),
    # --- Shopify: used/limit, a float Retry-After ------------------------------------------
    ex(SHOPIFY_NOTE, """
        X-Shopify-Shop-Api-Call-Limit: 32/40
    """, now=1700000000, limit=40, remaining=8),
    ex(SHOPIFY_NOTE, """
        X-Shopify-Shop-Api-Call-Limit: 40/40
        Retry-After: 2.0
    """, now=1700000000, limit=40, remaining=0, retry_in=2),
    ex(CLOUDFLARE, """
        Ratelimit: "default";r=50;t=30
        Ratelimit-Policy: "burst";q=100;w=60
    """, now=1756900000, remaining=50, reset_in=30, requests=2),
    ex(SENDGRID, """
        X-RateLimit-Limit: 500
        X-RateLimit-Remaining: 499
        X-RateLimit-Reset: 1392815263
    """, now=1392815263 - 30, limit=500, remaining=499, reset_at=1392815263),
    ex(SENDGRID, """
        X-RateLimit-Limit: 150
        X-RateLimit-Remaining: 0
        X-RateLimit-Reset: 1392815263
    """, now=1392815263 - 30, limit=150, remaining=0, reset_at=1392815263),
    # --- Brevo: vendor prefix, a delta reset -------------------------------------------------
    ex(BREVO, """
        x-sib-ratelimit-limit: 1000
        x-sib-ratelimit-remaining: 999
        x-sib-ratelimit-reset: 1
    """, now=1700000000, limit=1000, remaining=999, reset_in=1),
    ex(RESEND, """
        ratelimit-limit: 2
        ratelimit-remaining: 1
        ratelimit-reset: 1
    """, now=1700000000, limit=2, remaining=1, reset_in=1),
    ex(RESEND_LOG, """
        ratelimit-limit: 2
        ratelimit-policy: 2;w=1
        ratelimit-remaining: 0
        ratelimit-reset: 1
        retry-after: 1
    """, now=1700000000, limit=2, window=1, remaining=0, reset_in=1, retry_in=1),
    # --- Atlassian Jira Cloud: an ISO reset without seconds ----------------------------------
    # Postmark, Mailchimp Transactional and Mailgun answer a rate limit with a status and a body
    # only (Mailgun: 420 "try again after <date>" in the body); nothing to read, nothing misread
    ex(POSTMARK + " (429, no rate-limit headers)", """
        Content-Type: application/json
    """, now=1700000000),
    ex(MANDRILL + " (Mailchimp Transactional: no rate-limit headers)", """
        Content-Type: application/json
    """, now=1700000000),
    ex(MAILGUN + " (a 420 with the reset in its body)", """
        Content-Type: application/json
    """, now=1756105200),
    ex(SPARKPOST, """
        Content-Type: application/json
    """, now=1700000000),
    ex(SES, """
        Content-Type: text/xml
        x-amzn-RequestId: 4a7bb3a5-1d66-4e3c-9f4a-0123456789ab
    """, now=1700000000),
    ex(SLACK, """
        HTTP/1.1 429 Too Many Requests
        Retry-After: 30
    """, now=1700000000, retry_in=30),
    ex(LEMLIST, """
        Retry-After: 2
        X-RateLimit-Limit: 20
        X-RateLimit-Remaining: 7
        X-RateLimit-Reset: Tue Feb 16 2021 09:02:42 GMT+0100 (Central European Standard Time)
    """, now=1613462550, limit=20, remaining=7, reset_at=1613462562, retry_in=2),
    ex(UNITY, """
        RateLimit-Policy: 20;w=1, 4000;w=1800
        RateLimit: limit=20, remaining=19, reset=1
        Unity-RateLimit: limit=20, remaining=19, reset=1; limit=4000, remaining=3994, reset=1579
        Retry-After: 42
    """, now=1700000000, limit=20, window=1, remaining=19, reset_in=1, retry_in=42, requests=4),
    ex(SINE, """
        x-ratelimit-limit: 20, 20;w=60
        x-ratelimit-remaining: 19
        x-ratelimit-reset: 32
    """, now=1700000000, limit=20, window=60, remaining=19, reset_in=32),
    ex(UNIPILE, """
        x-ratelimit-limit: 50
        x-ratelimit-remaining: 12
        x-ratelimit-reset: 24
    """, now=1700000000, limit=50, remaining=12, reset_in=24),
    ex(TURN, """
        Retry-After: 1
        X-Ratelimit-Bucket: general
        X-Ratelimit-Limit: 60
        X-Ratelimit-Remaining: 21
        X-Ratelimit-Reset: 1533715145
    """, now=1533715145 - 40, limit=60, remaining=21, reset_at=1533715145, retry_in=1),
    ex(CAMPAIGN_MONITOR, """
        Date: Tue, 20 Jan 2014 14:50:41 GMT
        X-RateLimit-Limit: 60
        X-RateLimit-Remaining: 0
        X-RateLimit-Reset: 348
    """, limit=60, remaining=0, reset_in=348),
    ex(PERFORCE, """
        X-RateLimit-Limit: 30
        X-RateLimit-Remaining: 25
        X-RateLimit-Reset: 17
    """, now=1700000000, limit=30, remaining=25, reset_in=17),
    ex(KONG, """
        RateLimit-Limit: 6
        RateLimit-Remaining: 4
        RateLimit-Reset: 47
        X-RateLimit-Limit-Minute: 10
        X-RateLimit-Remaining-Minute: 4
    """, now=1700000000, limit=10, window=60, remaining=4, requests=2),
    # --- The IETF drafts, every published syntax (the examples of each draft's text) --------
    ex(_draft("01"), """
        RateLimit-Remaining: 0
        RateLimit-Limit: 10
        RateLimit-Reset: 10
    """, now=1700000000, dialect="ietf", limit=10, remaining=0, reset_in=10),
    ex(_draft("01"), """
        RateLimit-Limit: 100
        Ratelimit-Remaining: 0
        Ratelimit-Reset: 48
    """, now=1700000000, dialect="ietf", limit=100, remaining=0, reset_in=48),
    ex(_draft("01"), """
        RateLimit-Limit: 5000
        RateLimit-Remaining: 100
    """, now=1700000000, dialect="ietf", limit=5000, remaining=100),
    ex(_draft("01"), """
        RateLimit-Limit: 100
        RateLimit-Remaining: 60
        RateLimit-Reset: 58
    """, now=1700000000, limit=100, remaining=60, reset_in=58),
    ex(_draft("01"), """
        Date: Mon, 05 Aug 2019 09:27:00 GMT
        Retry-After: Mon, 05 Aug 2019 09:27:05 GMT
        RateLimit-Reset: 5
        RateLimit-Limit: 100
    """, dialect="ietf", limit=100, reset_in=5, retry_in=5),
    ex(_draft("01"), """
        RateLimit-Limit: 100, 100;w=60
        Ratelimit-Remaining: 99
        Ratelimit-Reset: 50
    """, now=1700000000, dialect="ietf", limit=100, window=60, remaining=99, reset_in=50),
    ex(_draft("01"), """
        RateLimit-Limit: 10, 100;w=60
        Ratelimit-Remaining: 9
        Ratelimit-Reset: 50
    """, now=1700000000, dialect="ietf", limit=10, remaining=9, reset_in=50, requests=2),
    ex(_draft("01"), """
        RateLimit-Limit: 0, 15;w=20
        Ratelimit-Remaining: 0
        Ratelimit-Reset: 20
    """, now=1700000000, limit=0, remaining=0, reset_in=20, requests=2),
    ex(_draft("01"), """
        Retry-After: 20
        RateLimit-Limit: 15, 100;w=60
        Ratelimit-Remaining: 15
        Ratelimit-Reset: 40
    """, now=1700000000, limit=15, remaining=15, reset_in=40, retry_in=20, requests=2),
    ex(_draft("01"), """
        RateLimit-Limit: 10
        Ratelimit-Reset: 1
    """, now=1700000000, dialect="ietf", limit=10, reset_in=1),
    ex(_draft("01"), """
        RateLimit-Limit: 5000, 1000;w=3600, 5000;w=86400
        RateLimit-Remaining: 100
        RateLimit-Reset: 36000
    """, now=1700000000, dialect="ietf", limit=5000, window=86400, remaining=100,
       reset_in=36000, requests=2),
    ex(_draft("03"), """
        RateLimit-Limit: 10, 10;w=1, 50;w=60, 1000;w=3600, 5000;w=86400
    """, now=1700000000, dialect="ietf", limit=5000, window=86400, requests=4),
    ex(_draft("03"), """
        RateLimit-Limit: 100, 100;w=60;burst=1000;comment="sliding window", 5000;w=3600;burst=0;comment="fixed window"
    """, now=1700000000, dialect="ietf", limit=5000, window=3600, requests=2),
    ex(_draft("06"), """
        RateLimit-Limit: 100
        RateLimit-Policy: 100;w=60
        Ratelimit-Remaining: 99
        Ratelimit-Reset: 50
    """, now=1700000000, dialect="ietf", limit=100, window=60, remaining=99, reset_in=50),
    ex(_draft("06"), """
        RateLimit-Limit: 10
        RateLimit-Policy: 100;w=60
        Ratelimit-Remaining: 9
        Ratelimit-Reset: 50
    """, now=1700000000, limit=10, remaining=9, reset_in=50, requests=2),
    ex(_draft("06"), """
        RateLimit-Limit: 0
        RateLimit-Policy: 15;w=20
        Ratelimit-Remaining: 0
        Ratelimit-Reset: 20
    """, now=1700000000, dialect="ietf", limit=0, remaining=0, reset_in=20, requests=2),
    ex(_draft("06"), """
        RateLimit-Limit: 5000
        RateLimit-Policy: 1000;w=3600, 5000;w=86400
        RateLimit-Remaining: 100
        RateLimit-Reset: 36000
    """, now=1700000000, limit=5000, window=86400, remaining=100, reset_in=36000, requests=2),
    ex(_draft("06"), """
        RateLimit-Limit: 10
        RateLimit-Policy: 10;w=1, 50;w=60, 1000;w=3600, 5000;w=86400
        RateLimit-Remaining: 1
        RateLimit-Reset: 7
    """, now=1700000000, dialect="ietf", limit=10, window=1, remaining=1, reset_in=7,
       requests=4),
    ex(_draft("07"), """
        RateLimit: limit=100, remaining=50, reset=5
        RateLimit-Policy: 100;w=10
    """, now=1700000000, dialect="ietf", limit=100, window=10, remaining=50, reset_in=5),
    ex(_draft("07"), """
        Date: Tue, 15 Nov 1994 08:00:00 GMT
        RateLimit: limit=1, remaining=1, reset=36000
    """, dialect="ietf", limit=1, remaining=1, reset_in=36000),
    ex(_draft("07"), """
        RateLimit: limit=10, remaining=0, reset=10
    """, now=1700000000, limit=10, remaining=0, reset_in=10),
    ex(_draft("07"), """
        Date: Mon, 05 Aug 2019 09:27:00 GMT
        Retry-After: Mon, 05 Aug 2019 09:27:05 GMT
        RateLimit: limit=100, remaining=0, reset=5
    """, dialect="ietf", limit=100, remaining=0, reset_in=5, retry_in=5),
    ex(_draft("07"), """
        RateLimit: limit=10, remaining=9, reset=50
        RateLimit-Policy: 100;w=60
    """, now=1700000000, dialect="ietf", limit=10, remaining=9, reset_in=50, requests=2),
    ex(_draft("07"), """
        RateLimit: limit=0, remaining=0, reset=20
        RateLimit-Policy: 15;w=20
    """, now=1700000000, limit=0, remaining=0, reset_in=20, requests=2),
    ex(_draft("07"), """
        Retry-After: 20
        RateLimit: limit=15, remaining=15, reset=40
        RateLimit-Policy: 100;w=60
    """, now=1700000000, limit=15, remaining=15, reset_in=40, retry_in=20, requests=2),
    ex(_draft("07"), """
        RateLimit: limit=10, reset=1
    """, now=1700000000, dialect="ietf", limit=10, reset_in=1),
    ex(_draft("07"), """
        RateLimit: limit=5000, remaining=100, reset=36000
        RateLimit-Policy: 1000;w=3600, 5000;w=86400
    """, now=1700000000, dialect="ietf", limit=5000, window=86400, remaining=100,
       reset_in=36000, requests=2),
    ex(_draft("08"), """
        RateLimit-Policy: "burst";q=100;w=60,"daily";q=1000;w=86400
        RateLimit: "daily";r=1;t=36400
    """, now=1700000000, dialect="ietf", limit=1000, window=86400, remaining=1, reset_in=36400,
       requests=2),
    ex(_draft("08"), """
        RateLimit-Policy: "default";q=100;w=10
        RateLimit: "default";r=50;t=30
    """, now=1700000000, dialect="ietf", limit=100, window=10, remaining=50, reset_in=30),
    ex(_draft("08"), """
        RateLimit-Policy: quota;q=10
    """, now=1700000000, limit=10),
    ex(_draft("09"), """
        RateLimit-Policy: "permin";q=50;w=60,"perhr";q=1000;w=3600
    """, now=1700000000, dialect="ietf", limit=1000, window=3600, requests=2),
    ex(_draft("09"), """
        RateLimit-Policy: "peruser";q=100;w=60;pk=:cHsdsRa894==:
    """, now=1700000000, dialect="ietf", limit=100, window=60),
    ex(_draft("09"), """
        RateLimit-Policy: "peruser";q=65535;qu="content-bytes";w=10;pk=:sdfjLJUOUH==:
    """, now=1700000000, dialect="ietf"),
    ex(_draft("10"), """
        RateLimit: "problemPolicy";r=0;t=10
    """, now=1700000000, dialect="ietf", remaining=0, reset_in=10),
    ex(_draft("10"), """
        RateLimit: "dayLimit";r=100;t=36000
    """, now=1700000000, remaining=100, reset_in=36000),
    ex(_draft("10"), """
        RateLimit-Policy: "basic";q=100;w=60
        RateLimit: "basic";r=20;t=56
    """, now=1700000000, dialect="ietf", limit=100, window=60, remaining=20, reset_in=56),
    ex(_draft("10"), """
        Date: Mon, 05 Aug 2019 09:27:00 GMT
        Retry-After: Mon, 05 Aug 2019 09:27:05 GMT
        RateLimit: "default";r=0;t=5
    """, remaining=0, reset_in=5, retry_in=5),
    ex(_draft("10"), """
        RateLimit: "fixedwindow";r=99;t=50
        RateLimit-Policy: "fixedwindow";q=100;w=60
    """, now=1700000000, dialect="ietf", limit=100, window=60, remaining=99, reset_in=50),
    ex(_draft("10"), """
        Retry-After: 20
        RateLimit-Policy: "dynamic";q=100;w=60
        RateLimit: "dynamic";r=15;t=40
    """, now=1700000000, limit=100, window=60, remaining=15, reset_in=40, retry_in=20),
    ex(_draft("10"), """
        RateLimit: "default";r=300000000;t=60;pk=:QXBwLTk5OQ==:
    """, now=1700000000, remaining=300000000, reset_in=60),
    ex(_draft("10"), """
        Date: Tue, 15 Nov 1994 18:00:00 GMT
        RateLimit: "daily";r=1;t=36400
    """, remaining=1, reset_in=36400),
    ex(_draft("10"), """
        RateLimit-Policy: "hour";q=1000;w=3600, "day";q=5000;w=86400
        RateLimit: "day";r=100;t=36000
    """, now=1700000000, limit=5000, window=86400, remaining=100, reset_in=36000, requests=2),
    ex(_draft("10"), """
        RateLimit-Policy: "sliding";q=12;w=1
        RateLimit: "sliding";q=12;r=6;t=1
    """, now=1700000000, limit=12, window=1, remaining=6, reset_in=1),
    ex(HUBSPOT_USAGE + " (values as a public integration's notes record a baseline call)", """
        x-hubspot-ratelimit-daily: 250000
        x-hubspot-ratelimit-daily-remaining: 249998
        x-hubspot-ratelimit-interval-milliseconds: 10000
        x-hubspot-ratelimit-max: 100
        x-hubspot-ratelimit-remaining: 98
        x-hubspot-ratelimit-secondly: 10
        x-hubspot-ratelimit-secondly-remaining: 9
    """, now=1700000000, limit=10, window=1, remaining=9, requests=3),
]
