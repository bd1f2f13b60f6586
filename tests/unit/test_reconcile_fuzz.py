"""The reconcile path end to end, fuzzed: any response, however hostile, never raises, never
pauses past max_pause, and leaves a governor that still decides."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from governor import Governor, ManualClock, Policy, load_profile

NAMES = ["retry-after", "x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset",
         "x-apiquota-remaining", "x-apiquota-reset", "date", "ratelimit", "ratelimit-policy",
         "ratelimit-reset", "X-Daily-Remaining", "X-Daily-Reset", "x-other"]
VALUES = st.one_of(
    st.text(max_size=40),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["0", "1", "59", "10", "2022-03-05T00:00:00Z", "Wed, 21 Oct 2015 07:28:00 GMT",
                     '"burst";q=100;w=60', '"burst";r=0;t=9999999', "1e309", "-1", "\u00e9"]),
)
BODIES = st.one_of(
    st.none(), st.binary(max_size=64), st.text(max_size=64),
    st.sampled_from([{"message": "#MS42903"}, {"message": "#MS42901"}, {"message": "#MS42204"},
                     {"ok": False, "error": {"code": "service_unavailable", "retryable": True}},
                     {"error_code": "daily_quota_exceeded"}]),
)
MAX_PAUSE_S = 60.0


@settings(max_examples=300, deadline=None)
@given(
    dialect=st.sampled_from(["mailersend", "lettr", "sendmux", "ietf", "generic"]),
    status=st.sampled_from([200, 202, 400, 401, 421, 422, 429, 500, 503, 999, -1]),
    headers=st.lists(st.tuples(st.sampled_from(NAMES), VALUES), max_size=8),
    body=BODIES,
    time_scale=st.sampled_from([60.0, 6.0]),
)
def test_any_response_is_survived(
    dialect: str, status: int, headers: list[tuple[str, str]], body: object, time_scale: float
) -> None:
    resolved = load_profile("mailersend").resolve("starter")
    policy = Policy(resolved.buckets, resolved.routes, resolved.quota, time_scale=time_scale,
                    dialect=dialect, max_pause_s=MAX_PAUSE_S)
    clock = ManualClock()
    gov = Governor(policy, clock=clock)
    d = gov.acquire("POST /v1/email")
    feedback = gov.observe("POST /v1/email", status, headers, body, decision=d)  # type: ignore[arg-type]
    adj = feedback.adjustment
    if adj is not None:
        cap = clock.now_us() + MAX_PAUSE_S * 1_000_000
        assert adj.bucket_pause_us <= cap
        assert adj.account_pause_us <= cap
        assert adj.min_tat_us <= cap
    decision = gov.try_acquire("GET /v1/domains")
    # Still deciding: a pause never outlasts max_pause; only a spent quota waits for midnight.
    assert decision.allowed or decision.scope == "quota" or decision.wait_s <= MAX_PAUSE_S + 1


# --- learned limits: no policy, window or count makes a call wait past max_pause ----------

LEARNED_NAMES = ["ratelimit-policy", "ratelimit", "ratelimit-limit", "x-ratelimit-limit",
                 "x-ratelimit-remaining", "x-ratelimit-reset", "x-ratelimit-reset-after",
                 "x-hubspot-ratelimit-max", "x-hubspot-ratelimit-interval-milliseconds",
                 "x-ratelimit-limit-minute", "x-ratelimit-limit-daily", "x-rate-limit",
                 "anthropic-ratelimit-requests-limit", "retry-after-ms", "unity-ratelimit"]
NUMBERS = st.one_of(st.integers(0, 10**13), st.sampled_from([0, 1, 2, 86_400, 34_560_000]))
LEARNED_VALUES = st.one_of(
    NUMBERS.map(str),
    st.builds(lambda q, w: f'"p";q={q};w={w}', NUMBERS, NUMBERS),
    st.builds(lambda q, w, r, t: f'"p";q={q};w={w}, "p";r={r};t={t}', NUMBERS, NUMBERS,
              NUMBERS, NUMBERS),
    st.builds(lambda q, w: f"{q};w={w}", NUMBERS, NUMBERS),
    st.builds(lambda q, r, t: f"limit={q}, remaining={r}, reset={t}", NUMBERS, NUMBERS, NUMBERS),
    st.sampled_from(["6m0s", "1h", "99999h", "20ms", "0.0", "1/1"]),
)


@settings(max_examples=300, deadline=None)
@given(
    dialect=st.sampled_from(["generic", "ietf"]),
    headers=st.lists(st.tuples(st.sampled_from(LEARNED_NAMES), LEARNED_VALUES), max_size=6),
    max_pause_s=st.sampled_from([1.0, 60.0, 900.0]),
)
def test_no_learned_limit_makes_a_call_wait_past_max_pause(
    dialect: str, headers: list[tuple[str, str]], max_pause_s: float
) -> None:
    """A hostile ``RateLimit-Policy`` (a 400-day window, a quota of 1), or any other learned
    quantity, is bounded like a pause: the next call waits at most ``max_pause_s``."""
    resolved = load_profile("mailersend").resolve("starter")
    policy = Policy(resolved.buckets, resolved.routes, None, time_scale=1.0, dialect=dialect,
                    max_pause_s=max_pause_s)
    clock = ManualClock()
    gov = Governor(policy, clock=clock)
    d = gov.acquire("POST /v1/email")
    feedback = gov.observe("POST /v1/email", 200, headers, b"", decision=d)
    adj = feedback.adjustment
    if adj is not None:
        assert adj.interval_us <= max_pause_s * 1_000_000
    for _ in range(3):  # the learned interval applies to every call after the next one too
        decision = gov.try_acquire("POST /v1/email")
        assert decision.allowed or decision.wait_s <= max_pause_s + 1, (headers, decision)
        if decision.allowed:
            continue
        clock.advance(decision.wait_s)
