"""The cost of one in-process decision: governor's memory backend against ``limits``' memory
limiters.

Every candidate gets limits so large that every call is allowed: this measures the decision,
not denials. Each round starts from fresh state (a new governor, a new ``MemoryStorage``).
Candidates are called the way a user calls them, with no wrapper frame: a bound method or a
``functools.partial``.

Two rows time ``Governor.observe`` on a MailerSend response (its own dialect, and ``generic``),
the reconcile half of a call; a target keeps the MailerSend one within 2x of its cost before
the generic header families came (as a share of the decision's cost in the same run, since
absolute rates vary between runs on a shared machine).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    RateLimiter,
    SlidingWindowCounterRateLimiter,
)

from benchmarks.harness import (
    BenchmarkError,
    Candidate,
    Options,
    Report,
    Target,
    measure,
    render_report,
    write_results,
)
from governor import DailyQuota, Governor, Policy, Rate, load_profile
from governor.decision import Feedback
from governor.outcome import OutcomeKind

if TYPE_CHECKING:
    from benchmarks.harness import Op

__all__ = ["BASELINE", "CANDIDATES", "TARGETS", "run"]

HUGE = 1_000_000_000
LIMIT_TEXT = f"{HUGE}/minute"
# A burst as large as the limit: no call can be refused however fast the loop runs, and the
# decision does the same arithmetic as with a burst of 1.
HUGE_RATE = Rate(HUGE, 60.0, burst=HUGE)
HUGE_QUOTA = DailyQuota(1_000_000_000_000)

SINGLE = "governor: single limit"
EMAIL = "governor: POST /v1/email"
ACTIVITY = "governor: GET /v1/activity/x"
OBSERVE = "governor: observe, MailerSend headers"
OBSERVE_GENERIC = "governor: observe, MailerSend headers read as generic"
FIXED = "limits: fixed window"
MOVING = "limits: moving window"
SLIDING = "limits: sliding window counter"

CANDIDATES = (SINGLE, EMAIL, ACTIVITY, OBSERVE, OBSERVE_GENERIC, FIXED, MOVING, SLIDING)
# Governor.observe per try_acquire of POST /v1/email, medians of this suite run at bc91cb6
# (before the generic header families; python -m benchmarks memory --calls 4000 --rounds 5,
# 2 shared cores): 3,967 / 256,353 = 0.0155. After: 3,716 / 193,322 = 0.019 (noise).
OBSERVE_SHARE_BEFORE = 0.0155
BASELINE = FIXED
TARGETS = (
    Target(
        "governor single limit at least 2x the fastest of limits fixed/moving window",
        SINGLE,
        (FIXED, MOVING),
        2.0,
    ),
    Target(
        "MailerSend POST /v1/email decision (bucket + daily quota) ahead of limits' fastest "
        "single limit",
        EMAIL,
        (FIXED, MOVING, SLIDING),
        1.0,
    ),
    Target(
        "Governor.observe on MailerSend headers within 2x its cost before the generic "
        f"families (at least {OBSERVE_SHARE_BEFORE / 2:g}x the POST /v1/email decision)",
        OBSERVE,
        (EMAIL,),
        OBSERVE_SHARE_BEFORE / 2,
    ),
)

FULL = (50_000, 7)
QUICK = (200, 2)
MACHINE = "2 shared cores; absolute rates vary between runs, ratios within one run are the figures"
NOTES = (
    "Each candidate runs as a tight loop of N calls; rounds are interleaved (every candidate's "
    "round 1, then every round 2, ...) and the table shows the median round (and the best).",
    f"Every limit is {LIMIT_TEXT} (governor: burst as large, daily quota 10^12), so every call "
    "is allowed; the harness checks a call after each round.",
    "Every round starts from fresh state: a new Governor with its MemoryBackend, a new limits "
    "MemoryStorage. The limits moving window inserts each hit at the front of a list, so its "
    "cost grows with the hits in the window: a round ends with warm-up + N entries.",
    "governor candidates call Governor.try_acquire (route, cost 1, normal priority); the "
    "MailerSend ones use the mailersend profile's routes with every rate and the quota made huge. "
    "POST /v1/email spends the email bucket and the daily quota; GET /v1/activity/x spends the "
    "activity and general buckets and the daily quota (three scopes in one decision).",
    "limits candidates call limiter.hit(item, 'key') through functools.partial.",
    "Speed is never asserted in tests; tests/unit/test_benchmarks_smoke.py only runs the quick "
    "mode so this file cannot rot.",
)


def mailersend_policy(*, pacing: bool = False, lane_horizon: float | None = None) -> Policy:
    """The MailerSend enterprise profile's routes with every rate and the quota made huge
    (``pacing`` and ``lane_horizon``: the day paced, lanes on; every call still allowed)."""
    resolved = load_profile("mailersend").resolve("enterprise")
    buckets = dict.fromkeys(resolved.buckets, HUGE_RATE)
    policy = Policy(buckets, resolved.routes, HUGE_QUOTA, name="mailersend:huge",
                    pacing=pacing, lane_horizon=lane_horizon)
    expected = {"POST /v1/email": ["email"], "GET /v1/activity/x": ["activity", "general"]}
    for route, want in expected.items():
        spec = policy.spec(route)
        got = [b.name for b in spec.buckets]
        if got != want or spec.quota is None:
            raise BenchmarkError(
                f"the mailersend profile no longer routes {route!r} to {want} + quota "
                f"(got {got}, quota={spec.quota is not None}); update this benchmark"
            )
    return policy


def _governor(name: str, policy: Policy, route: str | None, note: str) -> Candidate:
    def setup() -> Op:
        gov = Governor(policy)
        return gov.try_acquire if route is None else partial(gov.try_acquire, route)

    return Candidate(name, setup, note, expect=bool)


# A MailerSend send's answer (docs: x-ratelimit-*, x-apiquota-*), the limit as configured.
MAILERSEND_HEADERS = (
    ("date", "Thu, 05 Mar 2026 12:00:00 GMT"), ("content-type", "application/json"),
    ("x-ratelimit-limit", "120"), ("x-ratelimit-remaining", "119"),
    ("x-apiquota-remaining", "99000"), ("x-apiquota-reset", "2026-03-06T00:00:00Z"),
)


def _observed_ok(feedback: object) -> bool:
    return isinstance(feedback, Feedback) and feedback.outcome.kind is OutcomeKind.OK


def _observe(name: str, dialect: str) -> Candidate:
    def setup() -> Op:
        resolved = load_profile("mailersend").resolve("enterprise")
        gov = Governor(Policy(resolved.buckets, resolved.routes, resolved.quota, dialect=dialect))
        decision = gov.try_acquire("POST /v1/email")
        return partial(gov.observe, "POST /v1/email", 202, MAILERSEND_HEADERS, b'{"id": "m"}',
                       decision=decision)

    return Candidate(name, setup, f"{dialect} dialect", expect=_observed_ok)


def _limits(name: str, strategy: type[RateLimiter]) -> Candidate:
    item = parse(LIMIT_TEXT)

    def setup() -> Op:
        return partial(strategy(MemoryStorage()).hit, item, "key")

    return Candidate(name, setup, "1 limit", expect=bool)


def candidates() -> list[Candidate]:
    """Every candidate of this suite, in table order."""
    single = Policy.of({"api": HUGE_RATE})
    mailersend = mailersend_policy()
    return [
        _governor(SINGLE, single, None, "1 bucket"),
        _governor(EMAIL, mailersend, "POST /v1/email", "email + quota"),
        _governor(ACTIVITY, mailersend, "GET /v1/activity/x", "activity + general + quota"),
        _observe(OBSERVE, "mailersend"),
        _observe(OBSERVE_GENERIC, "generic"),
        _limits(FIXED, FixedWindowRateLimiter),
        _limits(MOVING, MovingWindowRateLimiter),
        _limits(SLIDING, SlidingWindowCounterRateLimiter),
    ]


def run(options: Options) -> Report:
    """Measure, render the markdown, write ``memory.md`` into ``options.out_dir`` if set."""
    calls, rounds = options.counts(FULL, QUICK)
    results = measure(candidates(), calls=calls, rounds=rounds, log=options.log)
    checks = tuple(t.check(results) for t in TARGETS)
    title = "In-memory decision cost: governor vs limits"
    markdown = render_report(
        title,
        command=options.command or f"python -m benchmarks memory --calls {calls} --rounds {rounds}",
        machine=MACHINE,
        results=results,
        baseline=BASELINE,
        checks=checks,
        notes=(f"N = {calls:,} calls per round, {rounds} rounds.", *NOTES),
    )
    path = write_results(options, "memory.md", markdown)
    return Report(title, tuple(results), checks, markdown, path)
