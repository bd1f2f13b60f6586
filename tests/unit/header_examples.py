"""Real rate-limit headers, as providers, their SDKs and their users' bug reports show them.

Every example is a header set printed by the source named beside it (a vendor's doc page, a
repository + path, at a commit where the text has changed since, or a public issue thread),
with the values as printed there; headers that say nothing about limits may be left out.
Where a page prints one example value per header (Brevo, Unity, OpenAI's table), the example
is that page's values together. Cases with no rate-limit header at all are real responses too:
they must read as nothing. Each example names what it must read to:
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

GITHUB = ("github/docs@015d8c38: content/rest/overview/resources-in-the-rest-api.md "
          "(https://docs.github.com/en/rest/overview/resources-in-the-rest-api)")
GITBOOK = "https://gitbook.com/docs/developers/gitbook-api/rate-limiting"
GITLAB_DOCS = ("gitlab-org/gitlab: doc/user/admin_area/settings/user_and_ip_rate_limits.md, the "
               "response headers table (https://gitlab.com/gitlab-org/gitlab/-/commit/f5968db5)")
GITLAB_217312 = "https://gitlab.com/gitlab-org/gitlab/-/issues/217312 (quoting the GitLab.com docs)"
GITLAB_199738 = "https://gitlab.com/gitlab-org/gitlab/-/issues/199738 (a 429 from gitlab.com)"
GITBEAKER = "https://github.com/jdalrymple/gitbeaker/issues/3411 (gitlab.com)"
GO_GITLAB = "https://github.com/xanzy/go-gitlab/issues/346 (gitlab.com)"
DISCORD = "discord/discord-api-docs@c98d64bc: developers/topics/rate-limits.mdx"
DISCORD_2016 = "discord/discord-api-docs@ea589a6f: docs/topics/Rate_Limits.md (2016)"
DISCORD_5646 = "https://github.com/discord/discord-api-docs/issues/5646"
REDDIT_1458 = "https://github.com/reddit-archive/reddit/issues/1458 (api.reddit.com, a browser)"
OPENAI = ("https://platform.openai.com/docs/guides/rate-limits#rate-limits-in-headers (the "
          "sample value of each header)")
OPENAI_FORUM = ("https://community.openai.com/t/how-to-get-rate-limit-reset-time-for-response"
                "-api/1268905")
OPENAI_NO_HEADERS = ("https://community.openai.com/t/x-ratelimit-headers-missing/935514 (a "
                     "chat completion answered with no rate-limit header)")
AZURE_OPENAI = ("https://learn.microsoft.com/en-us/answers/questions/5625878/azure-openai-"
                "responses-api-x-ratelimit-headers-val (Azure OpenAI Responses API)")
ANTHROPIC_CAPTURE = ("edubruell/tidyllm@ae88c6f7: tests/testthat/claude/api.anthropic.com/v1/"
                     "messages-e050b5-POST.R (a recorded api.anthropic.com response)")
AZURE_COMPUTE = ("MicrosoftDocs/azure-docs: articles/virtual-machines/troubleshooting/"
                 "troubleshooting-throttling-errors.md")
ZENDESK = ("https://developer.zendesk.com/documentation/api-basics/best-practices/"
           "best-practices-for-avoiding-rate-limiting")
SHOPIFY_GIST = ("https://gist.github.com/shopifypartners/053adab11b03cedfb9d6fe9939401242 "
                "(Shopify Partners)")
SHOPIFY_NOTE = ("https://zenn.dev/frog/scraps/d08e016761a4e2 (third-party notes quoting "
                "https://shopify.dev/docs/api/admin-rest/usage/rate-limits)")
CLOUDFLARE = "https://developers.cloudflare.com/changelog/2025-09-03-rate-limiting-improvement"
SENDGRID = ("https://www.twilio.com/docs/sendgrid/api-reference/how-to-use-the-sendgrid-v3-api/"
            "rate-limits")
BREVO = "https://developers.brevo.com/docs/limit-headers"
LEMLIST = "https://developer.lemlist.com/api-reference/getting-started/rate-limits"
UNITY = "https://docs.unity.com/en-us/services-web-apis/headers (the page's example of each)"
TURN = "https://whatsapp.turn.io/docs/api/rate_limiting"
PERFORCE = "https://help.perforce.com/helix-alm/helixalm/2019.2.1/restapi/Content/RESTAPI/RateLimits.htm"
GOOGLE_GCS_429 = ("https://github.com/googleapis/google-cloud-python/pull/2161 (a Cloud Storage "
                  "429 rateLimitExceeded; no rate-limit header)")

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
    # --- GitHub: epoch resets; the hourly window is not stated in a header -------------------
    ex(GITHUB, """
        x-ratelimit-limit: 60
        x-ratelimit-remaining: 56
        x-ratelimit-used: 4
        x-ratelimit-reset: 1372700873
    """, now=1372700873 - 600, limit=60, remaining=56, reset_at=1372700873),
    ex(GITHUB, """
        Date: Tue, 20 Aug 2013 14:50:41 GMT
        x-ratelimit-limit: 60
        x-ratelimit-remaining: 0
        x-ratelimit-used: 60
        x-ratelimit-reset: 1377013266
    """, limit=60, remaining=0, reset_at=1377013266),
    ex(GITHUB, """
        Date: Mon, 01 Jul 2013 17:27:06 GMT
        x-ratelimit-limit: 5000
        x-ratelimit-remaining: 4966
        x-ratelimit-used: 34
        x-ratelimit-reset: 1372700873
    """, limit=5000, remaining=4966, reset_at=1372700873),
    ex(GITHUB, """
        Server: nginx
        Date: Fri, 12 Oct 2012 23:33:14 GMT
        Content-Type: application/json; charset=utf-8
        x-ratelimit-limit: 5000
        x-ratelimit-remaining: 4987
        x-ratelimit-reset: 1350085394
    """, limit=5000, remaining=4987, reset_at=1350085394),
    ex(GITHUB, """
        Cache-Control: private, max-age=60
        Last-Modified: Thu, 05 Jul 2012 15:31:30 GMT
        x-ratelimit-limit: 5000
        x-ratelimit-remaining: 4996
        x-ratelimit-reset: 1372700873
    """, now=1372700873 - 600, limit=5000, remaining=4996, reset_at=1372700873),
    ex(GITBOOK, """
        X-RateLimit-Limit: 60
        X-RateLimit-Remaining: 0
        X-RateLimit-Reset: 1377013266
    """, now=1377013266 - 60, limit=60, remaining=0, reset_at=1377013266),
    # --- GitLab: RateLimit-* with an epoch reset and an HTTP-date beside it -----------------
    ex(GITLAB_DOCS, """
        RateLimit-Limit: 60
        RateLimit-Name: throttle_authenticated_web
        RateLimit-Observed: 67
        RateLimit-Remaining: 0
        RateLimit-Reset: 1609844400
        RateLimit-ResetTime: Tue, 05 Jan 2021 11:00:00 GMT
        Retry-After: 30
    """, now=1609844400 - 30, limit=60, remaining=0, reset_at=1609844400, retry_in=30),
    ex(GITLAB_217312, """
        RateLimit-Limit: 600
        RateLimit-Observed: 6
        RateLimit-Remaining: 594
        RateLimit-Reset: 1563325137
        RateLimit-ResetTime: Wed, 17 Jul 2019 00:58:57 GMT
    """, now=1563325137 - 55, limit=600, remaining=594, reset_at=1563325137),
    ex(GITLAB_199738, """
        Server: nginx
        Date: Thu, 30 Jan 2020 14:14:16 GMT
        Content-Type: application/json
        Cache-Control: no-cache
        RateLimit-Limit: 600
        RateLimit-Observed: 5
        RateLimit-Remaining: 595
        RateLimit-Reset: 1580393717
        RateLimit-ResetTime: Thu, 30 Jan 2020 14:15:17 GMT
        GitLab-LB: fe-15-lb-gprd
    """, limit=600, remaining=595, reset_at=1580393717),
    ex(GITBEAKER, """
        ratelimit-observed: 1
        ratelimit-remaining: 1999
        ratelimit-reset: 1694791726
        ratelimit-resettime: Fri, 15 Sep 2023 15:28:46 GMT
        ratelimit-limit: 2000
    """, now=1694791726 - 60, limit=2000, remaining=1999, reset_at=1694791726),
    ex(GO_GITLAB, """
        ratelimit-limit: 600
        ratelimit-observed: 1
        ratelimit-remaining: 599
        ratelimit-reset: 1519126320
        ratelimit-resettime: Wed, 20 Feb 2018 11:32:00 GMT
    """, now=1519126320 - 60, limit=600, remaining=599, reset_at=1519126320),
    # --- Discord: epoch with a fraction, and a fractional reset-after beside it -------------
    ex(DISCORD, """
        X-RateLimit-Limit: 5
        X-RateLimit-Remaining: 0
        X-RateLimit-Reset: 1470173023
        X-RateLimit-Reset-After: 1
        X-RateLimit-Bucket: abcd1234
    """, now=1470173022, limit=5, remaining=0, reset_at=1470173023),
    ex(DISCORD, """
        Content-Type: application/json
        Retry-After: 65
        X-RateLimit-Limit: 10
        X-RateLimit-Remaining: 0
        X-RateLimit-Reset: 1470173023.123
        X-RateLimit-Reset-After: 64.57
        X-RateLimit-Bucket: abcd1234
        X-RateLimit-Scope: user
    """, now=1470172958, limit=10, remaining=0, reset_at=1470173023.123, retry_in=65),
    ex(DISCORD, """
        Content-Type: application/json
        Retry-After: 1337
        X-RateLimit-Limit: 10
        X-RateLimit-Remaining: 9
        X-RateLimit-Reset: 1470173023.123
        X-RateLimit-Reset-After: 64.57
        X-RateLimit-Bucket: abcd1234
        X-RateLimit-Scope: shared
    """, now=1470172958, limit=10, remaining=9, reset_at=1470173023.123, retry_in=1337),
    ex(DISCORD, """
        Content-Type: application/json
        Retry-After: 65
        X-RateLimit-Global: true
        X-RateLimit-Scope: global
    """, now=1470172958, retry_in=65),
    ex(DISCORD_2016, """
        X-RateLimit-Limit: 5
        X-RateLimit-Remaining: 0
        X-RateLimit-Reset: 1470173023
    """, now=1470173000, limit=5, remaining=0, reset_at=1470173023),
    ex(DISCORD_5646, """
        x-ratelimit-bucket: d1240eeffb4c549bd62b579ece0ffd01
        x-ratelimit-limit: 50000
        x-ratelimit-remaining: 48773
        x-ratelimit-reset: 1668720787.644
        x-ratelimit-reset-after: 102737.719
    """, now=1668618050, limit=50000, remaining=48773, reset_at=1668720787.644),
    ex(DISCORD_5646, """
        x-ratelimit-bucket: 1d3c67957bcdccc6709861c232df8529
        x-ratelimit-limit: 5
        x-ratelimit-remaining: 0
        x-ratelimit-reset: 1668618055.755
        x-ratelimit-reset-after: 5.588
    """, now=1668618050, limit=5, remaining=0, reset_at=1668618055.755),
    # --- Reddit: used and remaining, a delta reset --------------------------------------------
    ex(REDDIT_1458, """
        content-type: application/json; charset=UTF-8
        date: Fri, 06 Nov 2015 23:31:39 GMT
        server: cloudflare-nginx
        x-moose: majestic
        x-ratelimit-remaining: 298
        x-ratelimit-reset: 502
        x-ratelimit-used: 2
    """, remaining=298, reset_in=502),
    # --- OpenAI: per-kind suffixes, Go-style durations -----------------------------------------
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
        transfer-encoding: chunked
        connection: keep-alive
        x-ratelimit-limit-requests: 30000
        x-ratelimit-limit-tokens: 150000000
    """, limit=30000, tokens=[(150000000, None, None)]),
    ex(OPENAI_NO_HEADERS, """
        date: Tue, 10 Sep 2024 23:58:08 GMT
        content-type: application/json
        access-control-expose-headers: X-Request-ID
        openai-processing-ms: 1032
        openai-version: 2020-10-01
        x-request-id: req_deaa3616cbd15d33b4db96b3ba74d2b4
        server: cloudflare
    """),
    ex(AZURE_OPENAI, """
        x-ratelimit-limit-tokens: -1
        x-ratelimit-remaining-tokens: -1
        x-ratelimit-reset-tokens: 0
    """, now=1748235604, tokens=[(None, None, 0)], requests=0),
    # --- Anthropic: vendor prefix, per-kind infix, RFC 3339 resets -----------------------------
    ex(ANTHROPIC_CAPTURE, """
        date: Tue, 15 Oct 2024 09:48:23 GMT
        content-type: application/json
        anthropic-ratelimit-requests-limit: 50
        anthropic-ratelimit-requests-remaining: 49
        anthropic-ratelimit-requests-reset: 2024-10-15T09:49:10Z
        anthropic-ratelimit-tokens-limit: 40000
        anthropic-ratelimit-tokens-remaining: 40000
        anthropic-ratelimit-tokens-reset: 2024-10-15T09:48:23Z
        request-id: req_019wGfiTXuPVGqimAyq4912o
    """, limit=50, remaining=49, reset_at=1728985750, tokens=[(40000, 40000, 0)]),
    # --- Azure Resource Manager / Compute: one remaining count per policy, repeated --------
    ex(AZURE_COMPUTE, """
        x-ms-ratelimit-remaining-resource: Microsoft.Compute/DeleteVMScaleSet3Min;107
        x-ms-ratelimit-remaining-resource: Microsoft.Compute/DeleteVMScaleSet30Min;587
        x-ms-ratelimit-remaining-resource: Microsoft.Compute/VMScaleSetBatchedVMRequests5Min;3704
        x-ms-ratelimit-remaining-resource: Microsoft.Compute/VmssQueuedVMOperations;4720
    """, now=1530302061, remaining=107, requests=4),
    ex(AZURE_COMPUTE, """
        x-ms-ratelimit-remaining-resource: Microsoft.Compute/HighCostGet3Min;46
        x-ms-ratelimit-remaining-resource: Microsoft.Compute/HighCostGet30Min;0
        Retry-After: 1200
        Content-Type: application/json; charset=utf-8
    """, now=1530302061, remaining=0, retry_in=1200, requests=2),
    # --- Zendesk: X-Rate-Limit, and key=value items per endpoint -------------------------------
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
    # --- Shopify: used/limit, a float Retry-After ------------------------------------------
    ex(SHOPIFY_GIST, """
        X-Shopify-Shop-Api-Call-Limit: 1/40
    """, now=1700000000, limit=40, remaining=39),
    ex(SHOPIFY_NOTE, """
        X-Shopify-Shop-Api-Call-Limit: 32/40
    """, now=1700000000, limit=40, remaining=8),
    ex(SHOPIFY_NOTE, """
        X-Shopify-Shop-Api-Call-Limit: 40/40
        Retry-After: 2.0
    """, now=1700000000, limit=40, remaining=0, retry_in=2),
    # --- Cloudflare: the IETF draft-10 fields (the example value of each) ----------------------
    ex(CLOUDFLARE, """
        Ratelimit: "default";r=50;t=30
    """, now=1756900000, remaining=50, reset_in=30),
    ex(CLOUDFLARE, """
        Ratelimit-Policy: "burst";q=100;w=60
    """, now=1756900000, limit=100, window=60),
    # --- SendGrid: epoch resets ------------------------------------------------------------
    ex(SENDGRID, """
        Content-Type: application/json
        X-RateLimit-Limit: 500
        X-RateLimit-Remaining: 499
        X-RateLimit-Reset: 1392815263
    """, now=1392815263 - 30, limit=500, remaining=499, reset_at=1392815263),
    ex(SENDGRID, """
        Content-Type: application/json
        X-RateLimit-Limit: 150
        X-RateLimit-Remaining: 0
        X-RateLimit-Reset: 1392815263
    """, now=1392815263 - 30, limit=150, remaining=0, reset_at=1392815263),
    # --- Brevo: vendor prefix, a delta reset (the page's example value of each header) -------
    ex(BREVO, """
        x-sib-ratelimit-limit: 1000
        x-sib-ratelimit-remaining: 750
        x-sib-ratelimit-reset: 45
    """, now=1700000000, limit=1000, remaining=750, reset_in=45),
    # --- Others with a documented header set --------------------------------------------------
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
    ex(TURN, """
        Retry-After: 1
        X-Ratelimit-Bucket: general
        X-Ratelimit-Limit: 60
        X-Ratelimit-Remaining: 21
        X-Ratelimit-Reset: 1533715145
    """, now=1533715145 - 40, limit=60, remaining=21, reset_at=1533715145, retry_in=1),
    ex(PERFORCE, """
        X-RateLimit-Limit: 30
        X-RateLimit-Remaining: 25
        X-RateLimit-Reset: 17
    """, now=1700000000, limit=30, remaining=25, reset_in=17),
    # --- No rate-limit header at all: nothing to read, nothing misread -------------------------
    ex(GOOGLE_GCS_429, """
        content-length: 301
        x-xss-protection: 1; mode=block
        x-content-type-options: nosniff
        transfer-encoding: chunked
        expires: Mon, 22 Aug 2016 21:10:37 GMT
        vary: Origin, X-Origin
        server: GSE
        cache-control: private, max-age=0
        date: Mon, 22 Aug 2016 21:10:37 GMT
        x-frame-options: SAMEORIGIN
    """),
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
        RateLimit-Remaining: 1
        RateLimit-Reset: 7
    """, now=1700000000, dialect="ietf", limit=10, remaining=1, reset_in=7),
    ex(_draft("06"), """
        RateLimit-Policy: 10;w=1, 50;w=60, 1000;w=3600, 5000;w=86400
    """, now=1700000000, dialect="ietf", limit=5000, window=86400, requests=4),
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
    """, now=1700000000, dialect="ietf", limit=1000, window=86400, requests=2),
    ex(_draft("08"), """
        RateLimit-Policy: "default";q=100;w=10
    """, now=1700000000, dialect="ietf", limit=100, window=10),
    ex(_draft("08"), """
        RateLimit: "default";r=50;t=30
    """, now=1700000000, dialect="ietf", remaining=50, reset_in=30),
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
]
