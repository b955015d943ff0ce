"""The secrets among the settings: the session secret, the data, index and audit keys and the
Twilio credentials, each read from NAME or from the file NAME_FILE names (a secret store's
mount), and parsed into keyrings. Outside production, a missing key is generated once into
instance/ (mode 600) and reused; production refuses both a missing key and a generated one."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from outreach.settings_error import SettingsError

GENERATED_SECRETS_FILE = "generated-secrets.json"
KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
# The id of the single OUTREACH_INDEX_KEY of earlier versions: its index values carry no key id.
UNVERSIONED_INDEX_KEY = ""


@dataclass(frozen=True)
class DataKey:
    key_id: str
    secret: bytes = field(repr=False)


@dataclass(frozen=True)
class Secrets:
    secret_key: str = field(repr=False)
    data_keys: tuple[DataKey, ...] = field(repr=False)
    # Blind-index keys, newest first; OUTREACH_INDEX_KEY, if set, comes last (id "").
    index_keys: tuple[DataKey, ...] = field(repr=False)
    audit_key: bytes = field(repr=False)
    twilio_account_sid: str | None = field(default=None, repr=False)
    twilio_auth_token: str | None = field(default=None, repr=False)


_GENERATED = {
    "OUTREACH_SECRET_KEY": lambda: secrets.token_urlsafe(48),
    "OUTREACH_DATA_KEYS": lambda: f"dev1:{_b64(secrets.token_bytes(32))}",
    "OUTREACH_INDEX_KEY": lambda: _b64(secrets.token_bytes(32)),
    "OUTREACH_AUDIT_KEY": lambda: _b64(secrets.token_bytes(32)),
}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii")


def load_secrets(
    env: Mapping[str, str], instance: Path, *, production: bool
) -> tuple[Secrets, tuple[str, ...]]:
    """Read every secret from NAME or NAME_FILE; outside production, generate the missing ones
    (answered by name, so start-up can say so). Production takes no generated key."""
    generated_store = _GeneratedStore(instance / GENERATED_SECRETS_FILE)
    used_generated: list[str] = []

    def required(name: str) -> str:
        given = _read_secret(env, name)
        if given is not None:
            if production and generated_store.holds(name, given):
                raise SettingsError(
                    f"{name} is a generated development key; production needs its own"
                )
            return given
        if production:
            raise SettingsError(f"{name} (or {name}_FILE) must be set in production")
        used_generated.append(name)
        return generated_store.get_or_create(name)

    def index_keys() -> tuple[DataKey, ...]:
        # The single key of existing deployments stays usable, as the oldest, while they re-key.
        versioned = _read_secret(env, "OUTREACH_INDEX_KEYS")
        single = _read_secret(env, "OUTREACH_INDEX_KEY")
        if versioned is None and single is None and production:
            raise SettingsError(
                "OUTREACH_INDEX_KEY (or OUTREACH_INDEX_KEYS, or the _FILE of one) "
                "must be set in production"
            )
        keys: tuple[DataKey, ...] = ()
        if versioned is not None:
            keys = parse_data_keys(versioned, "OUTREACH_INDEX_KEYS")
        if versioned is None or single is not None:
            secret = _raw_key("OUTREACH_INDEX_KEY", required("OUTREACH_INDEX_KEY"))
            keys = (*keys, DataKey(UNVERSIONED_INDEX_KEY, secret))
        return keys

    loaded = Secrets(
        secret_key=_secret_key(required("OUTREACH_SECRET_KEY")),
        data_keys=parse_data_keys(required("OUTREACH_DATA_KEYS")),
        index_keys=index_keys(),
        audit_key=_raw_key("OUTREACH_AUDIT_KEY", required("OUTREACH_AUDIT_KEY")),
        twilio_account_sid=_read_secret(env, "TWILIO_ACCOUNT_SID"),
        twilio_auth_token=_read_secret(env, "TWILIO_AUTH_TOKEN"),
    )
    return loaded, tuple(used_generated)


def _read_secret(env: Mapping[str, str], name: str) -> str | None:
    """Read NAME, else the file named by NAME_FILE; an empty value counts as missing."""
    direct = env.get(name, "").strip()
    if direct:
        return direct
    path = env.get(f"{name}_FILE", "").strip()
    if not path:
        return None
    try:
        content = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"{name}_FILE cannot be read ({exc.strerror})") from None
    if not content:
        raise SettingsError(f"{name}_FILE names an empty file")
    return content


def _secret_key(value: str) -> str:
    if len(value) < 32:
        raise SettingsError("OUTREACH_SECRET_KEY must be at least 32 characters")
    return value


def _raw_key(name: str, value: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(value.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise SettingsError(f"{name} must be 32 bytes in URL-safe base64") from None
    if len(raw) != 32:
        raise SettingsError(f"{name} must be 32 bytes in URL-safe base64")
    return raw


def parse_data_keys(value: str, name: str = "OUTREACH_DATA_KEYS") -> tuple[DataKey, ...]:
    """Parse 'id:base64key,id:base64key' (newest first) into a keyring."""
    keys: list[DataKey] = []
    for position, entry in enumerate(value.split(","), start=1):
        key_id, sep, encoded = entry.strip().partition(":")
        if not sep or not KEY_ID.fullmatch(key_id):
            raise SettingsError(
                f"{name} entry {position} must be 'id:key' with an id of "
                "letters, digits, '-' or '_' (at most 16)"
            )
        secret = _raw_key(f"{name} entry {position}", encoded)
        if any(k.key_id == key_id for k in keys):
            raise SettingsError(f"{name} entry {position} repeats the id {key_id!r}")
        keys.append(DataKey(key_id, secret))
    return tuple(keys)


class _GeneratedStore:
    """Development keys generated once into instance/ with mode 600 and reused."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            raise SettingsError(
                f"{self.path} is unreadable; remove it to generate new keys"
            ) from None
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def holds(self, name: str, value: str) -> bool:
        return secrets.compare_digest(self._read().get(name, ""), value)

    def get_or_create(self, name: str) -> str:
        data = self._read()
        if name not in data:
            data[name] = _GENERATED[name]()
            self._write(data)
        return data[name]

    def _write(self, data: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)
        os.replace(tmp, self.path)
        os.chmod(self.path, 0o600)
