"""The backup and restore drill an operator runs (docs/operations.md), on SQLite and PostgreSQL.

A seeded database is backed up while it is live (`outreach backup copy` on SQLite, pg_dump on
PostgreSQL), restored into a new database, and every contact is opened there with the keys
kept beside the backup alone: `outreach backup check` and the vault itself. Without the data
key, the restore says which key is missing, and nothing of any contact (S10). Without the
index key a texted STOP would not find her (S2), and the check says so too.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from outreach.db import make_engine
from outreach.models import AuditEvent, ContactKey, ContactPerson
from outreach.security.crypto import IndexKeyring, Keyring
from outreach.security.vault import DataKeyMissing, Vault, place
from outreach.settings_secrets import DataKey
from tests import databases
from tests.conftest import NOW, engine_url
from tests.factories import build_world, enrol_second_factor, make_contact
from tests.functional.test_cli import run
from tests.sessions import app_sessions

NAMES = ("Avery Sample", "Jordan Example", "Rosa Ejemplo", "Sam O'Neil")
PHONES = ("+1 404 555 0123", "+1 212 555 0145", "+1 415 555 0177", "+1 617 555 0190")


def _key() -> bytes:
    return os.urandom(32)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


@dataclass(frozen=True)
class Kept:
    """The keys kept beside the backup, as an operator's secret store holds them."""

    data: dict[str, bytes]
    index: dict[str, bytes]
    audit: bytes
    secret_key: str

    def environ(self, *, data: tuple[str, ...], index: tuple[str, ...]) -> dict[str, str]:
        return {
            "OUTREACH_DATA_KEYS": ",".join(f"{k}:{_b64(self.data[k])}" for k in data),
            "OUTREACH_INDEX_KEYS": ",".join(f"{k}:{_b64(self.index[k])}" for k in index),
            "OUTREACH_AUDIT_KEY": _b64(self.audit),
            "OUTREACH_SECRET_KEY": self.secret_key,
        }

    def vault(self) -> Vault:
        keyring = Keyring(tuple(DataKey(k, v) for k, v in self.data.items()))
        return Vault(keyring, IndexKeyring(tuple(DataKey(k, v) for k, v in self.index.items())))


@pytest.fixture
def kept() -> Kept:
    # k2 is the newest data key: every contact's data key is wrapped under it.
    return Kept({"k2": _key(), "k1": _key()}, {"i2": _key()}, _key(), "s" * 48)


def _seed(engine: Engine, kept: Kept) -> int:
    """A program's records as they stand in use: contacts, staff, one with a second factor."""
    sessions = app_sessions(engine, audit_key=kept.audit)
    vault = kept.vault()
    with sessions() as db:
        world = build_world(db, vault, now=NOW)
        enrol_second_factor(db, vault, world.users["supervisor"], now=NOW)
        for name, phone in zip(NAMES[1:], PHONES[1:], strict=True):
            make_contact(db, vault, world.participant, now=NOW, name=name, phone=phone)
        db.commit()
        return len(db.scalars(select(ContactPerson)).all())


def _opened_names(url: str, kept: Kept) -> set[str]:
    """Open every contact of the restored database with the kept keys, as the product does."""
    engine = make_engine(url, poolclass=NullPool)
    vault = kept.vault()
    try:
        with app_sessions(engine, audit_key=kept.audit)() as db:
            rows = db.execute(
                select(ContactPerson, ContactKey).join_from(ContactPerson, ContactKey)
            )
            return {
                vault.cipher_of(key).open(place("contact_person", "name", c.id), c.name_sealed)
                for c, key in rows.tuples()
            }
    finally:
        engine.dispose()


@pytest.fixture
def restored(own_engine: Engine, kept: Kept, tmp_path: Path) -> Iterator[tuple[str, int]]:
    """Seed, back up while live, restore into a new database: its URL and the contact count."""
    seeded = _seed(own_engine, kept)
    if own_engine.dialect.name == "sqlite":
        yield _sqlite_restore(own_engine, kept, tmp_path), seeded
    else:
        yield from _postgres_restore(own_engine, tmp_path, seeded)


def _sqlite_restore(engine: Engine, kept: Kept, tmp_path: Path) -> str:
    folder = tmp_path / "backups"
    folder.mkdir()
    keys = kept.environ(data=("k2", "k1"), index=("i2",))
    copied = run(tmp_path / "live", "backup", "copy", str(folder), **keys, **_url(engine))
    assert copied.returncode == 0, copied.stderr
    [backup] = folder.iterdir()  # named by the UTC time, as the nightly timer leaves them
    assert re.fullmatch(r"outreach-\d{8}T\d{6}Z\.db", backup.name)
    assert backup.stat().st_mode & 0o077 == 0, "the backup is readable by its owner alone"
    again = run(tmp_path / "live", "backup", "copy", str(backup), **keys, **_url(engine))
    assert again.returncode == 1
    assert "exists already" in again.stderr
    restored = tmp_path / "restored" / "outreach.db"
    restored.parent.mkdir()
    shutil.copyfile(backup, restored)  # a restore is the file put in place, service stopped
    return f"sqlite:///{restored}"


def _postgres_restore(engine: Engine, tmp_path: Path, seeded: int) -> Iterator[tuple[str, int]]:
    url = make_url(engine_url(engine))
    with engine.connect() as conn:
        schema = conn.exec_driver_sql("SHOW search_path").scalar_one()
    dump = tmp_path / "outreach.dump"
    server = _libpq(databases.POSTGRES_URL)
    subprocess.run(
        [
            "pg_dump",
            "--format=custom",
            f"--schema={schema}",
            f"--file={dump}",
            *server,
            str(url.database),
        ],
        check=True,
        timeout=120,
    )
    new = f"outreach_restore_{os.getpid()}"
    admin = make_engine(databases.POSTGRES_URL, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {new}"))
        conn.execute(text(f"CREATE DATABASE {new}"))
    try:
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={new}", *server, str(dump)],
            check=True,
            timeout=120,
        )
        restored = url.set(database=new).render_as_string(hide_password=False)
        yield restored, seeded
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {new} WITH (FORCE)"))
        admin.dispose()


def _libpq(url: str) -> list[str]:
    parsed = make_url(url)
    return [
        f"--host={parsed.host}",
        f"--port={parsed.port or 5432}",
        f"--username={parsed.username}",
    ]


def _url(engine: Engine) -> dict[str, str]:
    return {"OUTREACH_DATABASE_URL": engine_url(engine)}


def test_a_restored_backup_opens_every_contact_with_the_kept_keys_alone_and_names_a_missing_one(
    restored: tuple[str, int], kept: Kept, tmp_path: Path
) -> None:
    url, seeded = restored
    host = tmp_path / "new-host"  # its own instance folder: nothing generated, nothing left over

    def check(**keys: str) -> subprocess.CompletedProcess[str]:
        return run(host, "backup", "check", OUTREACH_DATABASE_URL=url, **keys)

    every_key = kept.environ(data=("k2", "k1"), index=("i2",))
    checked = check(**every_key)
    assert checked.returncode == 0, checked.stderr
    assert f"{seeded} contacts" in checked.stdout
    assert "1 staff secrets" in checked.stdout
    assert _opened_names(url, kept) == set(NAMES)
    verified = run(host, "audit", "verify", OUTREACH_DATABASE_URL=url, **every_key)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert _check_events(url, kept) == [{"contacts": seeded, "staff_secrets": 1}]

    # k2 was not kept beside the backup.
    no_data_key = check(**kept.environ(data=("k1",), index=("i2",)))
    assert no_data_key.returncode == 1
    assert "contact data cannot be opened: data key k2 missing" in no_data_key.stderr

    # The index key was lost: she could still be read, but her STOP would find no one (S2).
    other = Kept(kept.data, {**kept.index, "i3": _key()}, kept.audit, kept.secret_key)
    no_index_key = check(**other.environ(data=("k2", "k1"), index=("i3",)))
    assert no_index_key.returncode == 1
    assert "a texted STOP cannot find its contact: index key i2 missing" in no_index_key.stderr

    for shown in (checked, no_data_key, no_index_key):
        assert not any(secret in shown.stdout + shown.stderr for secret in (*NAMES, "555"))


def _check_events(url: str, kept: Kept) -> list[dict[str, object]]:
    engine = make_engine(url, poolclass=NullPool)
    try:
        with app_sessions(engine, audit_key=kept.audit)() as db:
            events = db.scalars(
                select(AuditEvent).where(AuditEvent.action == "system.backup_checked")
            )
            return [event.detail for event in events]
    finally:
        engine.dispose()


def test_the_vault_names_the_missing_key_and_nothing_of_the_contact() -> None:
    kept = Kept({"k2": _key(), "k1": _key()}, {"i2": _key()}, _key(), "s" * 48)
    contact_id = uuid.uuid4()
    cipher, key = kept.vault().new_contact_key(contact_id, now=NOW)
    cipher.seal(place("contact_person", "name", contact_id), NAMES[0])
    partial = Vault(Keyring((DataKey("k1", kept.data["k1"]),)), kept.vault().index_keys)
    with pytest.raises(DataKeyMissing) as refused:
        partial.cipher_of(key)
    assert str(refused.value) == "contact data cannot be opened: data key k2 missing"
    assert refused.value.key_id == "k2"


def test_copy_refuses_a_postgresql_database_and_names_pg_dump(tmp_path: Path) -> None:
    # Refused before any connection is made, so no PostgreSQL server is needed to check it.
    url = "postgresql+psycopg://outreach_app@db.invalid:5432/outreach"
    target = tmp_path / "x.db"
    copied = run(tmp_path / "live", "backup", "copy", str(target), OUTREACH_DATABASE_URL=url)
    assert copied.returncode == 1
    assert "back it up with pg_dump" in copied.stderr
    assert not target.exists()
