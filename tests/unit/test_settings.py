"""Settings: GOVERNOR_* environment, .env, TOML file; clear errors naming the field."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from governor import AsyncGovernor, Governor, GovernorSettings, SettingsError
from governor.keys import AccountId

if TYPE_CHECKING:
    from pathlib import Path

TOKEN = "mlsn.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("GOVERNOR_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults() -> None:
    s = GovernorSettings.load()
    assert (s.provider, s.plan, s.reputation, s.time_scale, s.redis_url) == (
        "mailersend", None, "healthy", 60.0, None)
    assert s.resolved().plan == "free"


def test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVERNOR_PLAN", "starter")
    monkeypatch.setenv("GOVERNOR_REPUTATION", "under_review")
    monkeypatch.setenv("GOVERNOR_TIME_SCALE", "6")
    s = GovernorSettings.load()
    assert (s.plan, s.reputation, s.time_scale) == ("starter", "under_review", 6.0)
    assert str(s.policy().buckets["email"]) == "10/minute"


def test_dotenv_and_toml_file_with_precedence(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "governor.toml").write_text('plan = "hobby"\naccount = "from-toml"\n')
    assert GovernorSettings.load().plan == "hobby"
    (tmp_path / ".env").write_text("GOVERNOR_PLAN=starter\n")
    s = GovernorSettings.load()
    assert (s.plan, s.account) == ("starter", "from-toml")
    monkeypatch.setenv("GOVERNOR_PLAN", "professional")
    assert GovernorSettings.load().plan == "professional"
    assert GovernorSettings.load(plan="enterprise").plan == "enterprise"


def test_toml_file_named_by_governor_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "elsewhere.toml"
    path.write_text('provider = "sendmux"\n')
    monkeypatch.setenv("GOVERNOR_CONFIG", str(path))
    assert GovernorSettings.load().provider == "sendmux"


@pytest.mark.parametrize(
    ("env", "value", "says"),
    [
        ("GOVERNOR_TIME_SCALE", "fast", "time_scale (env GOVERNOR_TIME_SCALE)"),
        ("GOVERNOR_TIME_SCALE", "-1", "greater than 0"),
        ("GOVERNOR_TIME_SCALE", "nan", "time_scale"),
        ("GOVERNOR_REDIS_URL", "http://x", "redis_url (env GOVERNOR_REDIS_URL)"),
        ("GOVERNOR_KEY_PREFIX", "a{b}", "key_prefix"),
        ("GOVERNOR_PLAN", "gold", "valid plans: ['trial', 'free', 'hobby'"),
        ("GOVERNOR_REPUTATION", "shady", "valid: ['healthy', 'under_review']"),
        ("GOVERNOR_PROVIDER", "postmark", "built-in profiles"),
        ("GOVERNOR_PRIORITY_RESERVE", "lots", "priority_reserve"),
        ("GOVERNOR_PRIORITY_RESERVE", "100", "not below the daily quota"),
    ],
)
def test_bad_settings_fail_at_start_up_naming_the_field(
    monkeypatch: pytest.MonkeyPatch, env: str, value: str, says: str
) -> None:
    monkeypatch.setenv(env, value)
    with pytest.raises(SettingsError, match="invalid governor settings") as info:
        GovernorSettings.load()
    assert says in str(info.value)
    with pytest.raises(SettingsError):
        Governor.from_settings()


def test_unknown_keys_in_the_toml_file_are_refused(tmp_path: Path) -> None:
    (tmp_path / "governor.toml").write_text('plna = "starter"\n')
    with pytest.raises(SettingsError, match="plna"):
        GovernorSettings.load()


def test_priority_reserve_as_count_or_percentage() -> None:
    assert GovernorSettings.load(plan="hobby", priority_reserve="5%").policy().quota is not None
    assert GovernorSettings.load(plan="hobby", priority_reserve="5%").reserve_calls() == 50
    assert GovernorSettings.load(plan="hobby", priority_reserve=20).reserve_calls() == 20


def test_api_token_is_only_ever_a_keyed_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVERNOR_API_TOKEN", TOKEN)
    s = GovernorSettings.load()
    account = s.account_id()
    assert TOKEN not in repr(s)
    assert TOKEN not in str(s.model_dump())
    assert TOKEN not in account.key
    assert TOKEN not in str(account)
    assert TOKEN not in repr(account)
    assert account == AccountId.from_token(TOKEN)
    gov = Governor.from_settings()
    assert TOKEN not in repr(gov)
    monkeypatch.setenv("GOVERNOR_HASH_KEY", "secret")
    assert GovernorSettings.load().account_id().key != account.key


def test_from_settings_builds_both_shells() -> None:
    gov = Governor.from_settings(plan="starter", account="acme")
    agov = AsyncGovernor.from_settings(plan="starter", account="acme")
    assert gov.account == agov.account == AccountId.from_label("acme")
    assert gov.try_acquire("POST /v1/email").allowed


def test_header_time_says_how_response_times_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOVERNOR_TIME_SCALE", "6")
    assert GovernorSettings.load().policy().header_factor == pytest.approx(0.1)
    monkeypatch.setenv("GOVERNOR_HEADER_TIME", "real")
    assert GovernorSettings.load().policy().header_factor == 1.0
    monkeypatch.setenv("GOVERNOR_HEADER_TIME", "virtual")
    with pytest.raises(SettingsError, match="header_time"):
        GovernorSettings.load()
