"""governor status on a real server: the snapshot matches what the memory backend says."""

from __future__ import annotations

import pytest

from governor import Governor, ManualClock, MemoryBackend, Policy, RedisBackend, load_profile
from governor.status import describe

EMAIL = "POST /v1/email"


@pytest.mark.redis
def test_redis_and_memory_describe_the_same_state(redis_url: str, key_prefix: str) -> None:
    policy = Policy.from_profile(load_profile("mailersend").resolve("hobby"))
    described = []
    for backend in (MemoryBackend(ManualClock()),
                    RedisBackend.from_url(redis_url, prefix=key_prefix, clock=ManualClock())):
        gov = Governor(policy, backend)
        for _ in range(3):
            gov.reserve(EMAIL)
        gov.observe(EMAIL, 202, {"x-ratelimit-limit": "10"})
        described.append(describe(backend.snapshot(gov.account.key), policy))
        gov.close()
    assert described[0] == described[1]
    email = next(b for b in described[1]["buckets"] if b["bucket"] == "email")
    assert email["learned_per_minute"] == 10.0
    assert described[1]["quota"]["used"] == 3
