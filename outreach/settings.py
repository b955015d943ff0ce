"""Typed, strict settings from config/outreach.toml and OUTREACH_* environment variables: their
shape, each value's check, and the checks of values together (production's needs).

A bad value stops start-up with one line that names the setting and never shows a secret.
The secrets are read apart (settings_secrets): from the environment or a file, or, outside
production, generated once into instance/ (mode 600) and reused.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from outreach.settings_error import SettingsError
from outreach.settings_secrets import Secrets, load_secrets

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "outreach.toml"
ENVIRONMENTS = ("development", "demo", "production")
CHANNELS = ("console", "simulator", "twilio")
# The longest an API token may be issued for (OUTREACH_API_TOKEN_DAYS, `users token --days`).
MAX_API_TOKEN_DAYS = 366


@dataclass(frozen=True)
class Settings:
    env: str
    instance_path: Path
    database_url: str
    channel: str
    public_url: str
    proxy_hops: int
    neutral_number: str
    messaging_service_sid: str
    calling_start: time
    calling_end: time
    sms_rate_per_second: float
    sender_first_name: str
    log_level: str
    api_token_days: int
    secrets: Secrets = field(repr=False)
    generated_secrets: tuple[str, ...] = ()
    # S14: an attempt entered more than this many hours after it happened needs a reason.
    late_entry_hours: int = 24
    # The neutral return address printed on letters, one line per item (seeds/001
    # "Massachusetts": the letter is mailed; S9: nothing on the envelope names the program).
    letter_return_address: tuple[str, ...] = ()

    @property
    def late_entry(self) -> timedelta:
        return timedelta(hours=self.late_entry_hours)

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @cached_property  # read by every webhook request; derived once, not hashed per request
    def webhook_token(self) -> str:
        """The token webhook signatures are checked with: Twilio's, or a local one for demos."""
        if self.secrets.twilio_auth_token:
            return self.secrets.twilio_auth_token
        # Outside production the simulator signs with a token derived from the secret key.
        import hashlib

        return hashlib.sha256(f"simulator|{self.secrets.secret_key}".encode()).hexdigest()[:32]


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    config_file: Path | None = None,
    instance_path: Path | None = None,
) -> Settings:
    """Build settings from the TOML defaults overlaid with OUTREACH_* variables."""
    env = dict(os.environ if environ is None else environ)
    instance = Path(env.get("OUTREACH_INSTANCE_PATH") or instance_path or PROJECT_ROOT / "instance")
    raw = _read_config(Path(env.get("OUTREACH_CONFIG") or config_file or DEFAULT_CONFIG))
    value = _overlay(raw, env)
    mode = _choice("env", value("env"), ENVIRONMENTS)
    channel = _choice("channel", value("channel"), CHANNELS)
    secrets_, generated = load_secrets(env, instance, production=mode == "production")
    settings = Settings(
        env=mode,
        instance_path=instance,
        database_url=value("database_url") or f"sqlite:///{instance / 'outreach.db'}",
        channel=channel,
        public_url=_url("public_url", value("public_url")),
        proxy_hops=_int("proxy_hops", value("proxy_hops"), low=0, high=5),
        neutral_number=_e164("neutral_number", value("neutral_number")),
        messaging_service_sid=_messaging_service(value("messaging_service_sid")),
        calling_start=_clock("calling_start", value("calling_start")),
        calling_end=_clock("calling_end", value("calling_end")),
        sms_rate_per_second=_float("sms_rate_per_second", value("sms_rate_per_second")),
        sender_first_name=_first_name("sender_first_name", value("sender_first_name")),
        log_level=_choice("log_level", value("log_level").upper(), _LOG_LEVELS),
        api_token_days=_int(
            "api_token_days", value("api_token_days"), low=1, high=MAX_API_TOKEN_DAYS
        ),
        secrets=secrets_,
        generated_secrets=generated,
        late_entry_hours=_int(
            "late_entry_hours", value("late_entry_hours") or "24", low=1, high=720
        ),
        letter_return_address=_address_lines(
            "letter_return_address", value("letter_return_address")
        ),
    )
    _check_consistency(settings)
    return settings


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _read_config(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise SettingsError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"config file {path}: {exc}") from None
    section = data.get("outreach", {})
    if not isinstance(section, dict):
        raise SettingsError(f"config file {path}: [outreach] must be a table")
    return section


def _overlay(raw: Mapping[str, Any], env: Mapping[str, str]) -> Any:
    def value(name: str) -> str:
        from_env = env.get(f"OUTREACH_{name.upper()}")
        return str(from_env if from_env is not None else raw.get(name, "")).strip()

    return value


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise SettingsError(f"OUTREACH_{name.upper()} must be one of {', '.join(allowed)}")
    return value


def _int(name: str, value: str, *, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SettingsError(f"OUTREACH_{name.upper()} must be a whole number") from None
    if not low <= number <= high:
        raise SettingsError(f"OUTREACH_{name.upper()} must be between {low} and {high}")
    return number


def _float(name: str, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(f"OUTREACH_{name.upper()} must be a number") from None
    if not 0 < number <= 100:
        raise SettingsError(f"OUTREACH_{name.upper()} must be above 0 and at most 100")
    return number


def _clock(name: str, value: str) -> time:
    if not re.fullmatch(r"\d\d:\d\d", value):
        raise SettingsError(f"OUTREACH_{name.upper()} must be a time as HH:MM")
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise SettingsError(f"OUTREACH_{name.upper()} must be a time as HH:MM") from None


def _url(name: str, value: str) -> str:
    if not re.fullmatch(r"https?://[A-Za-z0-9.\-]+(:\d+)?(/[A-Za-z0-9._~/-]*)?", value):
        raise SettingsError(f"OUTREACH_{name.upper()} must be an http(s) URL")
    return value.rstrip("/")


def _e164(name: str, value: str) -> str:
    if not re.fullmatch(r"\+[1-9]\d{6,14}", value):
        raise SettingsError(
            f"OUTREACH_{name.upper()} must be a number in E.164 form (+15550100100)"
        )
    return value


def _first_name(name: str, value: str) -> str:
    if not re.fullmatch(r"[A-Za-zÀ-ÿ]{2,20}", value):
        raise SettingsError(f"OUTREACH_{name.upper()} must be one first name of 2 to 20 letters")
    return value


def _address_lines(name: str, value: str) -> tuple[str, ...]:
    """A postal address written on one line, its lines parted by "|"."""
    lines = tuple(line.strip() for line in value.split("|") if line.strip())
    if len(lines) > 5 or any(len(line) > 60 or not line.isprintable() for line in lines):
        raise SettingsError(
            f"OUTREACH_{name.upper()} must be at most 5 printable lines of 60 characters, "
            'parted by "|"'
        )
    return lines


def _messaging_service(value: str) -> str:
    if value and not re.fullmatch(r"MG[0-9a-f]{32}", value):
        raise SettingsError(
            "OUTREACH_MESSAGING_SERVICE_SID must be a Messaging Service SID: MG and 32 hex digits"
        )
    return value


def _check_consistency(settings: Settings) -> None:
    if settings.calling_start >= settings.calling_end:
        raise SettingsError("OUTREACH_CALLING_START must be before OUTREACH_CALLING_END")
    if not settings.is_production:
        return
    if settings.channel != "twilio":
        raise SettingsError(
            "production needs OUTREACH_CHANNEL=twilio (console and simulator send nothing)"
        )
    if not settings.public_url.startswith("https://"):
        raise SettingsError("production needs an https:// OUTREACH_PUBLIC_URL")
    if not (settings.secrets.twilio_account_sid and settings.secrets.twilio_auth_token):
        raise SettingsError("production needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
    if not settings.messaging_service_sid:
        # Without its Advanced Opt-Out, Twilio answers STOP in English with its own text and
        # the product's reply would be a second one (issue 24 item 4; docs/operations.md).
        raise SettingsError("production needs OUTREACH_MESSAGING_SERVICE_SID")
