"""Provider profiles: the built-in data matches the providers' documentation; bad files give
errors that name the file, the key and the problem."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from governor import DailyQuota, ProfileError, Rate, load_profile
from governor.profile import builtin_profiles

if TYPE_CHECKING:
    from pathlib import Path

PER_MINUTE = 60.0


def test_builtin_profiles_ship() -> None:
    assert {"mailersend", "sendmux", "lettr"} <= set(builtin_profiles())


@pytest.mark.parametrize(
    ("plan", "quota", "bulk"),
    [
        ("trial", 100, 10),
        ("free", 100, 10),
        ("hobby", 1_000, 10),
        ("starter", 100_000, 15),
        ("professional", 500_000, 30),
        ("enterprise", 500_000, 60),
    ],
)
def test_mailersend_plans(plan: str, quota: int, bulk: int) -> None:
    resolved = load_profile("mailersend").resolve(plan)
    assert resolved.quota == DailyQuota(quota)
    assert resolved.buckets["bulk_email"] == Rate(bulk, PER_MINUTE)
    assert resolved.buckets["email"] == Rate(120, PER_MINUTE)
    assert resolved.buckets["activity"] == Rate(10, PER_MINUTE)
    assert resolved.buckets["general"] == Rate(60, PER_MINUTE)
    assert resolved.buckets["smtp"] == Rate(120, PER_MINUTE)


def test_mailersend_under_review() -> None:
    resolved = load_profile("mailersend").resolve("enterprise", "under_review")
    assert resolved.buckets["email"] == Rate(10, PER_MINUTE)
    assert resolved.buckets["bulk_email"] == Rate(1, PER_MINUTE)
    assert resolved.buckets["general"] == Rate(60, PER_MINUTE)


def test_mailersend_quota_rule_and_dialect() -> None:
    profile = load_profile("mailersend")
    assert profile.dialect == "mailersend"
    assert (profile.quota.reset, profile.quota.counts_failed) == ("midnight-utc", True)


def test_sendmux_and_lettr() -> None:
    sendmux = load_profile("sendmux")
    assert sendmux.resolve().buckets["api"] == Rate(1800, PER_MINUTE)
    assert sendmux.max_batch == 100
    lettr = load_profile("lettr").resolve("free")
    assert lettr.buckets["api"] == Rate(3, 1.0)
    assert lettr.quota == DailyQuota(100)


def test_unknown_plan_lists_the_valid_ones() -> None:
    with pytest.raises(ProfileError, match=r"unknown plan 'gold'.*starter"):
        load_profile("mailersend").resolve("gold")


def test_unknown_profile_lists_the_builtins() -> None:
    with pytest.raises(ProfileError, match=r"mailersend"):
        load_profile("postmark")


GOOD = """
name = "acme"
dialect = "ietf"
[buckets]
api = "100/minute"
[[routes]]
match = "* /**"
buckets = ["api"]
"""


def test_a_users_own_profile_works_the_same_way(tmp_path: Path) -> None:
    path = tmp_path / "acme.toml"
    path.write_text(GOOD + '[plans.basic]\nquota = "5000/day"\n')
    resolved = load_profile(path).resolve("basic")
    assert resolved.buckets == {"api": Rate(100, PER_MINUTE)}
    assert resolved.quota == DailyQuota(5000)


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        (GOOD.replace('"100/minute"', '"100/fortnight"'), "buckets.api", "120/minute"),
        (GOOD.replace('["api"]', '["apx"]'), "(top level)", "unknown bucket 'apx'"),
        (GOOD + '[plans.basic]\nquota = "5/hour"\n', "plans.basic.quota", "calendar day"),
        ("colour = 'red'\n" + GOOD, "colour", "Extra inputs"),
        (GOOD.replace('name = "acme"', ""), "name", "Field required"),
        (GOOD.replace('match = "* /**"', 'match = "* /a/**/b"'), "(top level)", "may only end"),
        (GOOD.replace('match = "* /**"', 'match = "/v1/**"'), "(top level)", "POST /v1/email"),
        ("name = [", "", "cannot read TOML"),
    ],
)
def test_bad_profiles_name_file_key_and_problem(
    tmp_path: Path, text: str, key: str, problem: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    err = info.value
    assert str(path) in str(err)
    assert err.key == key
    assert problem in err.problem
