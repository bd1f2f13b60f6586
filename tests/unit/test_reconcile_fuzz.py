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
