"""Settings: GOVERNOR_* environment, .env, TOML file; clear errors naming the field and the
source of its value; a .env shared with the application; no credential ever shown."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

import pytest
from pydantic import ValidationError

from governor import AsyncGovernor, Governor, GovernorSettings, SettingsError
from governor.keys import AccountId

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

TOKEN = "mlsn.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"

pytestmark = pytest.mark.usefixtures("no_settings_around")


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
    with pytest.raises(SettingsError) as info:
        GovernorSettings.load()
    where = tmp_path.resolve() / "governor.toml"
    assert f"plna ({where}, key plna): not a setting; did you mean plan?" in str(info.value)


def test_unknown_keyword_arguments_are_refused_with_the_closest_setting() -> None:
    with pytest.raises(SettingsError, match=re.escape(
            "plann (keyword argument): not a setting; did you mean plan?")):
        GovernorSettings.load(plann="starter")
    with pytest.raises(SettingsError, match=re.escape("time_scal (keyword argument)")):
        Governor.from_settings(time_scal=6)


def test_a_dotenv_shared_with_the_application_is_read_for_governor_names_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / ".env").write_text("DATABASE_URL=postgres://x\nSECRET_KEY=s\nGOVERNOR_PLAN=hobby\n")
    with caplog.at_level(logging.WARNING, logger="governor"):
        assert GovernorSettings.load().plan == "hobby"
        assert Governor.from_settings().try_acquire("POST /v1/email").allowed
    assert caplog.records == []  # not the governor's business, not even a warning


@pytest.mark.parametrize("place", ["environment", ".env"])
def test_a_governor_name_that_is_no_setting_warns_once_naming_the_closest(
    place: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if place == "environment":
        monkeypatch.setenv("GOVERNOR_PLANN", "starter")
        where = "environment variable"
    else:
        (tmp_path / ".env").write_text("GOVERNOR_PLANN=starter\n")
        where = f"in {tmp_path.resolve() / '.env'}"
    monkeypatch.setenv("GOVERNOR_CONFIG", str(tmp_path / "absent.toml"))  # read elsewhere
    monkeypatch.setenv("GOVERNOR_REDIS_BINARY", "/usr/bin/redis-server")
    with caplog.at_level(logging.WARNING, logger="governor"):
        for _ in range(3):
            assert GovernorSettings.load().plan is None  # ignored, never a crash
        Governor.from_settings()
    assert [r.getMessage() for r in caplog.records] == [
        f"governor: GOVERNOR_PLANN ({where}) is not a setting and is ignored; "
        "did you mean GOVERNOR_PLAN?"
    ]


def test_a_governor_name_far_from_any_setting_warns_without_a_guess(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("GOVERNOR_XYZZY", "1")
    with caplog.at_level(logging.WARNING, logger="governor"):
        GovernorSettings.load()
    assert caplog.messages == [
        "governor: GOVERNOR_XYZZY (environment variable) is not a setting and is ignored"
    ]


def _keyword(name: str, value: str, _: Path, __: pytest.MonkeyPatch) -> dict[str, object]:
    return {name: value}


def _flag(name: str, value: str, _: Path, __: pytest.MonkeyPatch) -> dict[str, object]:
    return {"flags": {"account": None, name: value}}  # None: an option not given


def _env(name: str, value: str, _: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    monkeypatch.setenv(f"GOVERNOR_{name.upper()}", value)
    return {}


def _dotenv(name: str, value: str, tmp: Path, __: pytest.MonkeyPatch) -> dict[str, object]:
    (tmp / ".env").write_text(f"GOVERNOR_{name.upper()}={value}\n")
    return {}


def _toml(name: str, value: str, tmp: Path, __: pytest.MonkeyPatch) -> dict[str, object]:
    (tmp / "governor.toml").write_text(f"{name} = {value!r}\n")
    return {}


@pytest.mark.parametrize(
    ("give", "origin"),
    [
        (_keyword, "keyword argument"),
        (_flag, "flag --{flag}"),
        (_env, "env GOVERNOR_{upper}"),
        (_dotenv, "GOVERNOR_{upper} in {tmp}/.env"),
        (_toml, "{tmp}/governor.toml, key {name}"),
    ],
)
@pytest.mark.parametrize(
    ("name", "value"),
    [("time_scale", "fast"), ("plan", "gold"), ("priority_reserve", "100%"),
     ("redis_url", "redis://u:hunter2@h:99999")],
)
def test_every_error_names_where_the_bad_value_came_from(
    give: Callable[[str, str, Path, pytest.MonkeyPatch], dict[str, object]], origin: str,
    name: str, value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    kwargs = give(name, value, tmp_path, monkeypatch)
    with pytest.raises(SettingsError) as info:
        GovernorSettings.load(**kwargs)  # type: ignore[arg-type]  # flags or one field
    said = origin.format(flag=name.replace("_", "-"), upper=name.upper(), name=name,
                         tmp=tmp_path.resolve())
    assert f"invalid governor settings: {name} ({said}): " in str(info.value)
    assert "hunter2" not in str(info.value)
    assert "GOVERNOR_GOVERNOR" not in str(info.value)


def test_replaced_settings_keep_the_origin_of_every_value_kept(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVERNOR_PLAN", "starter")
    settings = GovernorSettings.load(time_scale=6)
    assert settings.replace(fleet_size=4).plan == "starter"
    with pytest.raises(SettingsError, match=re.escape("plan (env GOVERNOR_PLAN): unknown plan")):
        settings.replace(provider="sendmux")  # sendmux has no plan 'starter'
    with pytest.raises(SettingsError, match=re.escape("reputation (keyword argument)")):
        settings.replace(reputation="shady")


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


PASSWORD = "hunter2-0f9c"
URLS = [
    f"redis://app:{PASSWORD}@127.0.0.1:6390/2",
    f"rediss://:{PASSWORD}@127.0.0.1:6390?ssl_cert_reqs=none",
    f"redis+sentinel://app:{PASSWORD}@127.0.0.1:26390/mymaster",
    f"redis://127.0.0.1:6390?password={PASSWORD}",
]


@pytest.mark.parametrize("url", URLS)
def test_the_redis_password_is_never_shown_by_the_settings(url: str) -> None:
    settings = GovernorSettings.load(redis_url=url)
    shown = [repr(settings), str(settings), str(settings.model_dump()),
             settings.model_dump_json(), repr(settings.model_dump(mode="json"))]
    for text in shown:
        assert PASSWORD not in text
        assert "127.0.0.1" in text  # still says where
    assert settings.redis_url == url  # the attribute is the URL itself
    assert settings.replace(fleet_size=2).redis_url == url  # so from_settings(s, ...) works


def test_a_bad_redis_url_never_shows_its_password_even_built_directly() -> None:
    url = f"redis://app:{PASSWORD}@host:99999"
    with pytest.raises(SettingsError) as info:
        GovernorSettings.load(redis_url=url)
    assert PASSWORD not in str(info.value)
    with pytest.raises(ValidationError) as raw:
        GovernorSettings(redis_url=url)  # type: ignore[call-arg]  # the rest have defaults
    assert PASSWORD not in str(raw.value)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("redis://host:99999", "not '99999'"),
        ("redis://host:port", "not 'port'"),
        ("http://x", "starts with redis://"),
        ("redis://host/db", "/<database number>"),
    ],
)
def test_a_bad_redis_url_is_a_settings_error_before_anything_starts(
    url: str, says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOVERNOR_REDIS_URL", url)
    for start in (GovernorSettings.load, Governor.from_settings, AsyncGovernor.from_settings):
        with pytest.raises(SettingsError, match=re.escape(says)) as info:
            start()
        assert "redis_url (env GOVERNOR_REDIS_URL): " in str(info.value)


def test_pacing_and_lanes_come_from_settings_over_the_profile(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    default = GovernorSettings.load(plan="starter").policy().quota_spec
    assert default is not None
    assert default.pace_end_us == 0  # off by default
    monkeypatch.setenv("GOVERNOR_PACING", "true")
    monkeypatch.setenv("GOVERNOR_PACE_UNTIL_HOUR", "18")
    monkeypatch.setenv("GOVERNOR_LANE_HORIZON", "2")
    policy = GovernorSettings.load(plan="starter").policy()
    quota = policy.quota_spec
    assert quota is not None
    assert (quota.pace_end_us, quota.pace_burst) == (18 * 3600 * 1_000_000, 50)
    assert (policy.spec("POST /v1/email").horizon, policy.spec("POST /v1/email").low.horizon) == (
        2000, 1000)
    profile = tmp_path / "paced.toml"
    profile.write_text(
        'name = "paced"\n[quota]\nlimit = "240/day"\npacing = true\npace_until_hour = 12\n'
        '[buckets]\napi = "10/second"\n[[routes]]\nmatch = "* /**"\nbuckets = ["api"]\n'
    )
    monkeypatch.delenv("GOVERNOR_PACING")
    monkeypatch.delenv("GOVERNOR_PACE_UNTIL_HOUR")
    own = GovernorSettings.load(provider=str(profile)).policy().quota_spec
    assert own is not None
    assert own.pace_end_us == 12 * 3600 * 1_000_000
    off = GovernorSettings.load(provider=str(profile), pacing=False).policy().quota_spec
    assert off is not None
    assert off.pace_end_us == 0
    with pytest.raises(SettingsError, match="pace_until_hour"):
        GovernorSettings.load(pace_until_hour=25)
