"""Real headers read right: every example of ``header_examples.py`` through ``Governor.observe``.

Each value the example states is checked (kind, number, instant within a second, on the local
clock computed from the example's own ``Date`` when it has one); every value it does not state
must read as None. No example may raise.
"""

from __future__ import annotations

from typing import Any

import pytest

from governor import Governor, ManualClock, Policy, Rate
from governor.header_times import datetime_us
from governor.routing import Route
from tests.unit.header_examples import AHEAD_S, EXAMPLES, Example

S = 1_000_000


def _observe(example: Example) -> tuple[Any, int, int]:
    """The observation, the local now and the local-minus-server offset (microseconds)."""
    dates = [v for k, v in example.headers if k.lower() == "date"]
    if dates:
        server_now = datetime_us(dates[0])
        now, offset = server_now + AHEAD_S * S, AHEAD_S * S
    else:
        assert example.now is not None, "an example without a Date states when it arrived"
        now, offset = example.now * S, 0
    clock = ManualClock(now / S)
    policy = Policy({"api": Rate(1000, 60.0)}, [Route("*", "/**", ("api",))], None,
                    dialect=example.dialect)
    gov = Governor(policy, clock=clock)
    feedback = gov.observe("GET /x", 200, example.headers, b"", decision=None)
    return feedback.observation, clock.now_us(), offset


def _instant(expect: dict[str, Any], key: str, now: int, offset: int) -> int | None:
    if f"{key}_at" in expect:
        at_s: float = expect[f"{key}_at"]
        return round(at_s * S) + offset
    if f"{key}_in" in expect:
        in_s: float = expect[f"{key}_in"]
        return now + round(in_s * S)
    return None


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e.source[-60:])
def test_real_headers_read_right(example: Example) -> None:
    obs, now, offset = _observe(example)
    e = example.expect
    window = e.get("window")
    got = (obs.limit, obs.window_us, obs.remaining, obs.quota_remaining)
    want = (e.get("limit"), window * S if window is not None else None, e.get("remaining"),
            e.get("quota_remaining"))
    assert got == want, (example.source, obs)
    for key, at in (("reset", obs.reset_at_us), ("retry", obs.retry_at_us)):
        expected = _instant(e, key, now, offset)
        assert (at is None) == (expected is None), (key, example.source, obs)
        if at is not None and expected is not None:
            assert abs(at - expected) <= S, (key, (at - expected) / S, example.source)
    requests = [x for x in obs.limits if x.unit == "requests"]
    stated = any(k in e for k in ("limit", "remaining", "reset_at", "reset_in"))
    assert len(requests) == e.get("requests", 1 if stated else 0), (example.source, obs.limits)
    tokens = sorted((x.limit, x.remaining, x.reset_at_us) for x in obs.limits
                    if x.unit == "tokens")
    want_tokens = sorted((lim, rem, None if r is None else now + round(r * S))
                         for lim, rem, r in e.get("tokens", []))
    assert len(tokens) == len(want_tokens), (example.source, obs.limits)
    for (lim, rem, at), (wlim, wrem, wat) in zip(tokens, want_tokens, strict=True):
        assert (lim, rem) == (wlim, wrem), example.source
        assert (at is None) == (wat is None), example.source
        assert at is None or wat is None or abs(at - wat) <= S, example.source


def test_the_table_covers_every_verified_provider_and_draft() -> None:
    sources = " ".join(example.source for example in EXAMPLES).lower()
    for name in ("github", "gitlab", "discord", "reddit", "openai", "anthropic", "azure",
                 "zendesk", "shopify", "cloudflare", "sendgrid", "brevo", "google-cloud"):
        assert name in sources, name
    for draft in ("01", "03", "06", "07", "08", "09", "10"):
        assert f"ratelimit-headers-{draft}" in sources, draft
    assert sum(not example.expect for example in EXAMPLES) >= 2, "cases with no rate header"
    assert len(EXAMPLES) >= 80
