"""Settings are strict: a bad value stops start-up with one line that shows no secret."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from outreach.settings import load_settings
from outreach.settings_error import SettingsError
from outreach.settings_secrets import GENERATED_SECRETS_FILE, DataKey


def _key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _production_env() -> dict[str, str]:
    return {
        "OUTREACH_ENV": "production",
        "OUTREACH_CHANNEL": "twilio",
        "OUTREACH_PUBLIC_URL": "https://outreach.example.org",
        "OUTREACH_SECRET_KEY": "s" * 40,
        "OUTREACH_DATA_KEYS": f"k2:{_key()},k1:{_key()}",
        "OUTREACH_INDEX_KEY": _key(),
        "OUTREACH_AUDIT_KEY": _key(),
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "t" * 32,
        "OUTREACH_MESSAGING_SERVICE_SID": "MG" + "ab" * 16,
    }


def test_it_starts_with_no_setup_outside_production(tmp_path: Path) -> None:
    settings = load_settings({}, instance_path=tmp_path)
    assert settings.env == "development"
    assert settings.channel == "simulator"
    assert settings.database_url == f"sqlite:///{tmp_path / 'outreach.db'}"
    assert len(settings.secrets.data_keys) == 1


def test_api_tokens_last_ninety_days_unless_the_setting_says_otherwise(tmp_path: Path) -> None:
    assert load_settings({}, instance_path=tmp_path).api_token_days == 90
    env = {"OUTREACH_API_TOKEN_DAYS": " 30 "}
    assert load_settings(env, instance_path=tmp_path).api_token_days == 30


def test_generated_keys_are_kept_private_and_reused(tmp_path: Path) -> None:
    first = load_settings({}, instance_path=tmp_path)
    second = load_settings({}, instance_path=tmp_path)
    assert first.secrets == second.secrets
    mode = stat.S_IMODE((tmp_path / GENERATED_SECRETS_FILE).stat().st_mode)
    assert mode == 0o600


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("OUTREACH_DATA_KEYS", "not-a-keyring", "OUTREACH_DATA_KEYS entry 1"),
        ("OUTREACH_DATA_KEYS", "k1:c2hvcnQ=", "32 bytes"),
        ("OUTREACH_INDEX_KEY", "!!!", "OUTREACH_INDEX_KEY must be 32 bytes"),
        ("OUTREACH_CHANNEL", "carrier-pigeon", "OUTREACH_CHANNEL must be one of"),
        ("OUTREACH_CALLING_START", "8am", "OUTREACH_CALLING_START must be a time"),
        ("OUTREACH_PROXY_HOPS", "-1", "between 0 and 5"),
        ("OUTREACH_SECRET_KEY", "short", "at least 32 characters"),
        ("OUTREACH_PUBLIC_URL", "ftp://x", "http(s) URL"),
        ("OUTREACH_API_TOKEN_DAYS", "0", "OUTREACH_API_TOKEN_DAYS must be between 1 and 366"),
        ("OUTREACH_API_TOKEN_DAYS", "-30", "OUTREACH_API_TOKEN_DAYS must be between 1 and 366"),
        ("OUTREACH_API_TOKEN_DAYS", "367", "OUTREACH_API_TOKEN_DAYS must be between 1 and 366"),
        ("OUTREACH_API_TOKEN_DAYS", "ninety", "OUTREACH_API_TOKEN_DAYS must be a whole number"),
        ("OUTREACH_API_TOKEN_DAYS", "7.5", "OUTREACH_API_TOKEN_DAYS must be a whole number"),
        ("OUTREACH_API_TOKEN_DAYS", "", "OUTREACH_API_TOKEN_DAYS must be a whole number"),
    ],
)
def test_a_bad_value_stops_start_up_with_one_clear_line(
    tmp_path: Path, name: str, value: str, expected: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({name: value}, instance_path=tmp_path)
    message = caught.value.message
    assert expected in message
    assert "\n" not in message
    assert value not in message or len(value) < 4  # secrets are never echoed back


def test_a_repeated_key_id_in_the_keyring_is_refused(tmp_path: Path) -> None:
    key = _key()
    with pytest.raises(SettingsError, match="repeats the id"):
        load_settings({"OUTREACH_DATA_KEYS": f"a:{key},a:{key}"}, instance_path=tmp_path)


def test_index_keys_are_versioned_newest_first_and_the_single_key_comes_last(
    tmp_path: Path,
) -> None:
    new, old, single = _key(), _key(), _key()
    env = {"OUTREACH_INDEX_KEYS": f"i3:{new},i2:{old}", "OUTREACH_INDEX_KEY": single}
    keys = load_settings(env, instance_path=tmp_path).secrets.index_keys
    assert [k.key_id for k in keys] == ["i3", "i2", ""]
    assert keys[-1].secret == base64.urlsafe_b64decode(single)


def test_index_keys_alone_leave_out_the_single_key(tmp_path: Path) -> None:
    env = {"OUTREACH_INDEX_KEYS": f"i2:{_key()}"}
    settings = load_settings(env, instance_path=tmp_path)
    assert [k.key_id for k in settings.secrets.index_keys] == ["i2"]
    assert "OUTREACH_INDEX_KEY" not in settings.generated_secrets


def test_a_malformed_index_keyring_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="OUTREACH_INDEX_KEYS entry 2"):
        load_settings({"OUTREACH_INDEX_KEYS": f"i2:{_key()},nokey"}, instance_path=tmp_path)


def test_production_starts_with_versioned_index_keys_alone(tmp_path: Path) -> None:
    env = _production_env()
    del env["OUTREACH_INDEX_KEY"]
    settings = load_settings({**env, "OUTREACH_INDEX_KEYS": f"i2:{_key()}"}, instance_path=tmp_path)
    assert [k.key_id for k in settings.secrets.index_keys] == ["i2"]


def test_calling_hours_must_run_forwards(tmp_path: Path) -> None:
    env = {"OUTREACH_CALLING_START": "21:00", "OUTREACH_CALLING_END": "08:00"}
    with pytest.raises(SettingsError, match="before"):
        load_settings(env, instance_path=tmp_path)


def test_every_secret_can_come_from_a_file(tmp_path: Path) -> None:
    key = _key()
    secret_file = tmp_path / "index.key"
    secret_file.write_text(key + "\n")
    settings = load_settings({"OUTREACH_INDEX_KEY_FILE": str(secret_file)}, instance_path=tmp_path)
    assert settings.secrets.index_keys == (DataKey("", base64.urlsafe_b64decode(key)),)


def test_an_unreadable_secret_file_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="OUTREACH_INDEX_KEY_FILE cannot be read"):
        load_settings(
            {"OUTREACH_INDEX_KEY_FILE": str(tmp_path / "missing")}, instance_path=tmp_path
        )


def test_production_starts_with_every_secret_given(tmp_path: Path) -> None:
    settings = load_settings(_production_env(), instance_path=tmp_path)
    assert settings.is_production
    assert [k.key_id for k in settings.secrets.data_keys] == ["k2", "k1"]
    assert not (tmp_path / GENERATED_SECRETS_FILE).exists()


@pytest.mark.parametrize(
    "missing",
    ["OUTREACH_SECRET_KEY", "OUTREACH_DATA_KEYS", "OUTREACH_INDEX_KEY", "OUTREACH_AUDIT_KEY"],
)
def test_production_refuses_a_missing_secret(tmp_path: Path, missing: str) -> None:
    env = _production_env()
    del env[missing]
    with pytest.raises(SettingsError, match=f"{missing} .*must be set in production"):
        load_settings(env, instance_path=tmp_path)


@pytest.mark.parametrize("channel", ["console", "simulator"])
def test_production_refuses_channels_that_send_nothing(tmp_path: Path, channel: str) -> None:
    with pytest.raises(SettingsError, match="OUTREACH_CHANNEL=twilio"):
        load_settings({**_production_env(), "OUTREACH_CHANNEL": channel}, instance_path=tmp_path)


def test_production_refuses_a_generated_development_key(tmp_path: Path) -> None:
    generated = load_settings({}, instance_path=tmp_path)
    assert "OUTREACH_INDEX_KEY" in generated.generated_secrets
    stored = (tmp_path / GENERATED_SECRETS_FILE).read_text()
    import json

    env = {**_production_env(), "OUTREACH_INDEX_KEY": json.loads(stored)["OUTREACH_INDEX_KEY"]}
    with pytest.raises(SettingsError, match="generated development key"):
        load_settings(env, instance_path=tmp_path)


def test_production_refuses_plain_http(tmp_path: Path) -> None:
    env = {**_production_env(), "OUTREACH_PUBLIC_URL": "http://outreach.example.org"}
    with pytest.raises(SettingsError, match="https"):
        load_settings(env, instance_path=tmp_path)
