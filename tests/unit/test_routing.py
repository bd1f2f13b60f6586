"""Routing: (method, path) -> the route whose buckets a call spends."""

from __future__ import annotations

import pytest

from governor import UnknownRoute, load_profile
from governor.routing import Route, Router, split_route

MAILERSEND = Router(load_profile("mailersend").resolve().routes)


@pytest.mark.parametrize(
    ("call", "route", "buckets"),
    [
        ("POST /v1/email", "POST /v1/email", ("email",)),
        ("post /v1/email/", "POST /v1/email", ("email",)),
        ("POST https://api.mailersend.com/v1/email?x=1", "POST /v1/email", ("email",)),
        ("POST /v1/bulk-email", "POST /v1/bulk-email", ("bulk_email", "general")),
        ("GET /v1/activity/abc123", "GET /v1/activity/**", ("activity", "general")),
        ("GET /v1/activity", "GET /v1/activity/**", ("activity", "general")),
        ("GET /v1/email/abc", "* /**", ("general",)),
        ("DELETE /v1/domains/1", "* /**", ("general",)),
        ("GET /v1/api-quota", "GET /v1/api-quota", ("general",)),
        ("SMTP", "SMTP", ("smtp",)),
    ],
)
def test_mailersend_routes(call: str, route: str, buckets: tuple[str, ...]) -> None:
    matched = MAILERSEND.resolve(call)
    assert (matched.name, matched.buckets) == (route, buckets)


def test_api_quota_endpoint_does_not_count() -> None:
    assert MAILERSEND.resolve("GET /v1/api-quota").quota is False


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/v1/domains/{id}", "/v1/domains/42", True),
        ("/v1/domains/{id}", "/v1/domains/42/records", False),
        ("/v1/domains/*/records", "/v1/domains/42/records", True),
        ("/v1/**", "/v1", True),
        ("/v1/**", "/v2/x", False),
        ("/v1/email", "/v1/emails", False),
    ],
)
def test_patterns_match_whole_segments(pattern: str, path: str, matches: bool) -> None:
    router = Router([Route("GET", pattern, ())])
    if matches:
        assert router.match("GET", path).pattern == pattern
    else:
        with pytest.raises(UnknownRoute, match="catch-all"):
            router.match("GET", path)


def test_double_star_only_at_the_end() -> None:
    with pytest.raises(ValueError, match="may only end"):
        Route("GET", "/v1/**/x", ()).compile()


def test_split_route() -> None:
    assert split_route("get https://h/v1/x?y#z") == ("GET", "/v1/x")
    assert split_route("SMTP") == ("SMTP", "")


def test_a_star_alone_is_the_catch_all() -> None:
    assert MAILERSEND.resolve("*").name == "* /**"


@pytest.mark.parametrize(
    "text", ["/v1/email", "https://api.mailersend.com/v1/email", "", "POST: /v1/email"]
)
def test_a_route_text_without_a_method_names_the_expected_form(text: str) -> None:
    with pytest.raises(UnknownRoute, match=r"does not start with a method.*'POST /v1/email'"):
        MAILERSEND.resolve(text)
