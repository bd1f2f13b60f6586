"""Response -> Outcome (``governor/outcome.py``): one row per case the providers document."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governor.outcome import Outcome, OutcomeKind, classify

OK = OutcomeKind.OK
RETRY = OutcomeKind.RETRY_LATER
BACKOFF = OutcomeKind.BACKOFF
UNTIL_RESET = OutcomeKind.STOP_UNTIL_RESET
STOP = OutcomeKind.STOP
FAIL = OutcomeKind.FAIL


def ms(message: str, **extra: Any) -> bytes:
    return json.dumps({"message": message, **extra}).encode()


def sendmux(code: str, retryable: bool) -> dict[str, Any]:
    return {
        "ok": False,
        "error": {"code": code, "message": f"about {code}", "retryable": retryable},
        "meta": {"request_id": "req_clxxxxxxxxxxxxxxxxxxxxxxxxx"},
    }


def lettr(code: str) -> str:
    return json.dumps({"message": f"about {code}", "error_code": code})


MS_422_SAMPLE = ms("The given data was invalid.", errors={"from.email": [
    "The from.email domain must be verified in your account to send emails. #MS42207"]})
MS_RATE_SAMPLE = ms("Your account reached its rate limit of 120 requests/min. "
                    "Please wait before trying again. #MS42903")
MS_QUOTA_SAMPLE = ms("Your account reached its API daily quota limit. Upgrade to increase it. "
                     "#MS42901")

MAILERSEND = [
    (200, None, OK, None, None),
    (202, b'{"bulk_email_id": "614470d1588b866d0454f3e2"}', OK, None, None),
    (204, b"", OK, None, None),
    (400, ms("Bad request"), FAIL, None, None),
    (400, ms("The bulk request sent is malformed. #MS40001"), FAIL, "MS40001", None),
    (401, ms("Unauthenticated."), FAIL, None, None),
    (403, ms("The custom API token you're using doesn't have the required permissions. "
             "#MS40301"), FAIL, "MS40301", None),
    (403, ms("Your account's access to API/SMTP has been switched off. #MS40302"),
     STOP, "MS40302", "account"),
    (403, ms("Your account is not authorized to perform this action. #MS40303"),
     STOP, "MS40303", "account"),
    (403, ms("Your account is suspended, you can't do any more requests. #MS40304"),
     STOP, "MS40304", "account"),
    (403, ms("Your IP address is not allowlisted. #MS40305"), FAIL, "MS40305", None),
    (404, ms("Not Found"), FAIL, None, None),
    (405, None, FAIL, None, None),
    (408, None, BACKOFF, None, "service"),
    (421, ms("Service isn't available, try again later"), RETRY, None, "service"),
    (422, MS_422_SAMPLE, FAIL, "MS42207", None),
    (422, ms("Your account reached its email quota limit. Contact support to increase it. "
             "#MS42204"), STOP, "MS42204", "account"),
    (422, ms("Your trial domain reached its email quota limit. #MS42222"),
     STOP, "MS42222", "account"),
    (422, ms("The given data was invalid.", errors={"to": ["dup #MS42201"]}),
     FAIL, "MS42201", None),
    (429, MS_RATE_SAMPLE, RETRY, "MS42903", "rate"),
    (429, MS_QUOTA_SAMPLE, UNTIL_RESET, "MS42901", "quota"),
    (429, ms("Too Many Attempts."), RETRY, None, "rate"),
    (500, None, BACKOFF, None, "service"),
    (502, None, BACKOFF, None, "service"),
    (503, None, RETRY, None, "service"),
    (504, None, BACKOFF, None, "service"),
    (500, ms("Something unexpected happened while processing the bulk request. #MS5001"),
     BACKOFF, "MS5001", "service"),
]

SENDMUX = [
    (202, {"ok": True, "data": {"id": "em_1"}}, OK, None, None),
    (401, sendmux("authentication_required", False), FAIL, "authentication_required", None),
    (403, sendmux("insufficient_permissions", False), FAIL, "insufficient_permissions", None),
    (400, sendmux("invalid_parameter", False), FAIL, "invalid_parameter", None),
    (400, sendmux("missing_parameter", False), FAIL, "missing_parameter", None),
    (404, sendmux("not_found", False), FAIL, "not_found", None),
    (429, sendmux("rate_limit_exceeded", True), RETRY, "rate_limit_exceeded", "rate"),
    (500, sendmux("internal_error", True), BACKOFF, "internal_error", "service"),
    (402, sendmux("insufficient_credits", False), STOP, "insufficient_credits", "account"),
    (422, sendmux("validation_error", False), FAIL, "validation_error", None),
    (409, sendmux("idempotency_conflict", True), RETRY, "idempotency_conflict", None),
    (409, sendmux("idempotency_conflict", False), FAIL, "idempotency_conflict", None),
    (413, sendmux("payload_too_large", False), FAIL, "payload_too_large", None),
    (503, sendmux("no_active_providers", True), RETRY, "no_active_providers", "account"),
    (503, sendmux("service_unavailable", True), RETRY, "service_unavailable", "service"),
    # the envelope's flag wins over the status table
    (503, sendmux("service_unavailable", False), FAIL, "service_unavailable", "service"),
    (400, sendmux("something_new", True), BACKOFF, "something_new", None),
]

LETTR = [
    (200, lettr("ignored on success"), OK, None, None),
    (201, None, OK, None, None),
    (204, None, OK, None, None),
    (400, lettr("bad_request"), FAIL, "bad_request", None),
    (401, None, FAIL, None, None),
    (403, None, FAIL, None, None),
    (404, None, FAIL, None, None),
    (409, lettr("conflict"), FAIL, "conflict", None),
    (422, json.dumps({"message": "invalid", "errors": {"to": ["required"]}}), FAIL, None, None),
    (429, lettr("rate_limit_exceeded"), RETRY, "rate_limit_exceeded", "rate"),
    (429, lettr("daily_quota_exceeded"), UNTIL_RESET, "daily_quota_exceeded", "quota"),
    (429, lettr("quota_exceeded"), UNTIL_RESET, "quota_exceeded", "monthly_quota"),
    (429, {"error": {"code": "daily_quota_exceeded"}}, UNTIL_RESET, "daily_quota_exceeded",
     "quota"),
    (451, None, FAIL, None, None),
    (500, None, BACKOFF, None, "service"),
    (502, None, BACKOFF, None, "service"),
    (503, None, RETRY, None, "service"),
]


@pytest.mark.parametrize(
    ("dialect", "status", "body", "kind", "code", "scope"),
    [("mailersend", *row) for row in MAILERSEND]
    + [("sendmux", *row) for row in SENDMUX]
    + [("lettr", *row) for row in LETTR],
)
def test_documented_cases(dialect: str, status: int, body: Any, kind: OutcomeKind,
                          code: str | None, scope: str | None) -> None:
    outcome = classify(status, {}, body, dialect)
    assert (outcome.kind, outcome.code, outcome.scope_hint) == (kind, code, scope)
    assert outcome.retryable is (kind in (RETRY, BACKOFF))
    assert outcome.message.startswith(str(status))


def test_message_names_the_code_and_the_providers_words() -> None:
    outcome = classify(422, {}, MS_422_SAMPLE, "mailersend")
    assert outcome.message == (
        "422 request refused (MS42207): The from.email domain must be verified in your "
        "account to send emails. #MS42207")
    assert classify(429, {}, MS_QUOTA_SAMPLE, "mailersend").message.startswith(
        "429 daily API quota spent until midnight UTC (MS42901): Your account reached")


def test_the_most_severe_code_wins() -> None:
    body = ms("The given data was invalid.", errors={
        "from.email": ["#MS42207"], "quota": ["Your account reached its email quota. #MS42204"]})
    assert classify(422, {}, body, "mailersend") == Outcome(
        STOP, "MS42204", False, "account",
        "422 custom email quota reached; contact MailerSend support (MS42204): "
        "Your account reached its email quota. #MS42204")


@pytest.mark.parametrize(
    ("dialect", "headers", "kind", "scope"),
    [
        ("mailersend", {"x-apiquota-remaining": "0", "retry-after": "59"}, UNTIL_RESET, "quota"),
        ("mailersend", {"x-apiquota-remaining": "3"}, RETRY, "rate"),
        ("lettr", {"X-Daily-Remaining": "0"}, UNTIL_RESET, "quota"),
        ("lettr", {"X-Monthly-Remaining": "0"}, UNTIL_RESET, "monthly_quota"),
        ("lettr", {"X-RateLimit-Remaining": "0"}, RETRY, "rate"),
        ("sendmux", {"X-Daily-Remaining": "0"}, RETRY, "rate"),
        ("generic", {"x-apiquota-remaining": "0"}, UNTIL_RESET, "quota"),
        ("generic", [("x-apiquota-remaining", "junk")], RETRY, "rate"),
    ],
)
def test_a_429_without_a_code_reads_the_quota_headers(
        dialect: str, headers: Any, kind: OutcomeKind, scope: str) -> None:
    outcome = classify(429, headers, b"", dialect)
    assert (outcome.kind, outcome.scope_hint, outcome.code) == (kind, scope, None)


def test_a_code_wins_over_the_quota_headers() -> None:
    outcome = classify(429, {"x-apiquota-remaining": "0"}, MS_RATE_SAMPLE, "mailersend")
    assert (outcome.kind, outcome.code) == (RETRY, "MS42903")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (MS_QUOTA_SAMPLE.decode(), "MS42901"),  # text
        ({"message": "quota #MS42901"}, "MS42901"),  # already decoded
        (bytearray(MS_QUOTA_SAMPLE), "MS42901"),
        (memoryview(MS_QUOTA_SAMPLE), "MS42901"),
        (b"<html>429 #MS42901</html>", "MS42901"),  # not JSON: scanned for a code
        (b'{"message": "#MS42901"', "MS42901"),  # truncated JSON
        (b"\xff\xfe#MS42901\x00\x80", "MS42901"),  # not UTF-8
        (b'{"message": "#MS42901", "pad": "' + b"x" * 70_000 + b'"}', "MS42901"),  # > 64 KiB
        (b"x" * 70_000 + b"#MS42901", None),  # beyond the 64 KiB read
        (b"[" * 60_000, None),  # nested too deep for the JSON parser
        (b'["#MS42901"]', "MS42901"),  # JSON, but not an object: scanned as text
        (b'"#MS42901"', "MS42901"),
        (b"", None),
        (None, None),
        ({"error_code": "x" * 65}, None),  # not a plausible code
        ({"error_code": "bad code!"}, None),
        ({"error_code": 42901}, None),
        ({"error": "daily_quota_exceeded"}, None),
        ({"error": {"code": ["daily_quota_exceeded"]}}, None),
        ({"errors": "#MS42901"}, None),
        ({"errors": {"a": [1, None, "#MS42901"]}}, "MS42901"),
        ({1: 2, "message": None}, None),
        (12345, None),
    ],
)
def test_bodies_of_any_shape(body: Any, code: str | None) -> None:
    outcome = classify(429, {}, body, "mailersend")
    assert outcome.code == code
    assert outcome.kind is (UNTIL_RESET if code else RETRY)


def test_a_non_boolean_retryable_flag_is_ignored() -> None:
    body = {"ok": False, "error": {"code": "service_unavailable", "retryable": "no"}}
    assert classify(503, {}, body, "sendmux").kind is RETRY


def test_provider_text_is_cleaned_and_capped() -> None:
    outcome = classify(400, {}, {"message": "bad\x00\n\tinput " + "é" * 500}, "lettr")
    assert outcome.message.startswith("400 request refused: bad input éé")
    assert outcome.message.endswith("...")
    assert len(outcome.message) < 200


@pytest.mark.parametrize("status", [0, -1, 99, 600, 999, 10**30])
def test_a_status_outside_http_fails(status: int) -> None:
    outcome = classify(status, {}, None, "generic")
    assert (outcome.kind, outcome.retryable) == (FAIL, False)
    assert "unexpected status" in outcome.message


@pytest.mark.parametrize("status", ["429", b"429", 429.0])
def test_a_status_of_the_wrong_type_is_read_as_a_number(status: Any) -> None:
    assert classify(status, {}, None, "generic").kind is RETRY


@pytest.mark.parametrize("status", ["x", None, float("nan"), float("inf"), [429]])
def test_a_status_that_is_no_number_fails(status: Any) -> None:
    assert classify(status, {}, None, "generic").kind is FAIL


def test_outcome_kinds() -> None:
    assert [k.name for k in OutcomeKind] == [
        "OK", "RETRY_LATER", "BACKOFF", "STOP_UNTIL_RESET", "STOP", "FAIL"]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
    | st.sampled_from(["#MS42901", "#MS42903", "rate_limit_exceeded", "quota_exceeded"]),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["ok", "error", "code", "retryable", "message",
                                       "error_code", "errors"]) | st.text(max_size=8),
                      children, max_size=5),
    max_leaves=20,
)
_BODIES = st.one_of(
    st.none(), st.binary(max_size=200), st.text(max_size=200),
    _JSON.map(json.dumps), _JSON.map(lambda j: json.dumps(j).encode()),
    st.dictionaries(st.text(max_size=10), _JSON, max_size=5),
)
_CODE = re.compile(r"[A-Za-z0-9_.\-]{1,64}")


@settings(max_examples=300, deadline=None)
@given(status=st.integers(-1000, 1000) | st.sampled_from([402, 408, 409, 421, 429, 503]),
       headers=st.dictionaries(
           st.sampled_from(["x-apiquota-remaining", "X-Daily-Remaining", "retry-after"])
           | st.text(max_size=10), st.text(max_size=20) | st.binary(max_size=20), max_size=4),
       body=_BODIES, dialect=st.sampled_from(["mailersend", "sendmux", "lettr", "ietf",
                                              "generic", "other"]))
def test_classify_never_raises_and_stays_consistent(
        status: int, headers: dict[Any, Any], body: Any, dialect: str) -> None:
    outcome = classify(status, headers, body, dialect)
    assert (outcome.kind is OK) == (100 <= status < 400)
    assert outcome.retryable is (outcome.kind in (RETRY, BACKOFF))
    assert outcome.code is None or _CODE.fullmatch(outcome.code)
    assert outcome.scope_hint in (None, "rate", "quota", "monthly_quota", "account", "service")
    assert isinstance(outcome.message, str)
    assert len(outcome.message) < 300


MS_TOKEN = "mlsn.9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
SMX_TOKEN = "smx_mbx_4hT9qLk2Vw8ZpX3r"
LETTR_TOKEN = "lttr_Zq81mPx0aB77cDe"
OTHER_TOKEN = "sk_live_51HcQ2eJ8rT4yU6iO0pA9sD3fG7hJ2kL"
TOKENS = [MS_TOKEN, SMX_TOKEN, LETTR_TOKEN, OTHER_TOKEN]


@pytest.mark.parametrize("token", TOKENS)
@pytest.mark.parametrize(
    ("dialect", "status", "body"),
    [
        ("mailersend", 401, lambda t: ms(f"Unauthenticated: token {t} is invalid.")),
        ("mailersend", 403, lambda t: ms("Invalid scope(s) provided. #MS40301",
                                         errors={"token": [f"{t} lacks email_full"]})),
        ("mailersend", 422, lambda t: ms(f"Bearer {t} rejected #MS42204")),
        ("sendmux", 401, lambda t: {"ok": False, "error": {
            "code": "unauthorized", "message": f"API key {t} was revoked", "retryable": False}}),
        ("lettr", 403, lambda t: json.dumps({"message": f"api_key={t} has no permission",
                                             "error_code": "forbidden"})),
        ("lettr", 400, lambda t: json.dumps({"message": "bad key", "error_code": t})),
        ("generic", 401, lambda t: ms(f'{{"authorization": "Bearer {t}"}}')),
    ],
)
def test_an_echoed_token_never_reaches_the_outcome(
    dialect: str, status: int, body: Any, token: str
) -> None:
    outcome = classify(status, {}, body(token), dialect)
    assert token not in repr(outcome)
    assert token[8:24] not in repr(outcome)  # not even in part
    assert outcome.kind is not OutcomeKind.OK


def test_a_token_of_any_shape_is_redacted_when_the_caller_passes_it() -> None:
    token = "plain-words-token"  # no known shape, too short for the length rule
    body = ms(f"Unauthenticated: {token} is not a valid key.")
    assert token in classify(401, {}, body, "mailersend").message
    outcome = classify(401, {}, body, "mailersend", secrets=[token, "", "short"])
    assert token not in outcome.message
    assert outcome.message == "401 request refused: Unauthenticated: [redacted] is not a valid key."


@pytest.mark.parametrize(
    "text",
    [
        "The from.email domain must be verified in your account to send emails. #MS42207",
        "Your account reached its rate limit of 120 requests/min. Please wait. #MS42903",
        "Template 123e4567-e89b-12d3-a456-426614174000 was not found.",
        "Send-only keys use the smx_mbx_ prefix; upgrade from the Basic plan.",
        "The provided API token is invalid.",
    ],
)
def test_ordinary_provider_words_are_kept(text: str) -> None:
    assert text in classify(422, {}, ms(text), "mailersend").message
