"""Backups: an online copy of a live SQLite database, and the check that a restored database
opens with the keys kept beside it (docs/operations.md, "Backup and restore drill").

A backup holds contact data only sealed (S10): it is worth nothing without OUTREACH_DATA_KEYS,
and a STOP texted from her phone finds her only with the index keys (S2). So a restore is
proven by opening every contact with the configured keys alone, not by the copy's existence.
PostgreSQL is backed up with its own tools (pg_dump, pg_restore): the product runs no
operating-system command.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from outreach.models import ContactKey, ContactPerson, User
from outreach.security.crypto import SealError, index_key_id_of, key_id_of
from outreach.security.vault import DataKeyMissing, Vault, place
from outreach.services.errors import Invalid
from outreach.services.records.audit import SYSTEM, AuditAction, record
from outreach.services.records.key_rotation import STAFF_SECRETS, index_key_name
from outreach.settings_secrets import KEY_ID


@dataclass(frozen=True)
class Opened:
    """What a check opened: counts only, never a value."""

    contacts: int
    staff_secrets: int

    def line(self) -> str:
        return (
            f"opened with the configured keys: {self.contacts} contacts (name, number and "
            f"phone index), {self.staff_secrets} staff secrets"
        )


class IndexKeyMissing(SealError):
    """A contact's phone index was made with an index key that is not configured (S2)."""

    def __init__(self, key_name: str) -> None:
        shown = key_name if KEY_ID.fullmatch(key_name) or key_name == "OUTREACH_INDEX_KEY" else "?"
        super().__init__(f"a texted STOP cannot find its contact: index key {shown} missing")


def copy_sqlite(engine: Engine, target: Path, *, now: datetime) -> Path:
    """Copy the live SQLite database to a new file with SQLite's online backup API; answer it.

    The copy is one consistent snapshot, taken in a single step while web requests and the
    scheduler go on writing. The file is created readable by its owner alone; a folder as the
    target gets a file named by the UTC time, so a nightly timer needs no shell.
    """
    if target.is_dir():
        target = target / f"outreach-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}.db"
    if engine.dialect.name != "sqlite":
        raise Invalid(
            "this database is PostgreSQL: back it up with pg_dump (docs/operations.md)",
            {"database": "postgresql"},
        )
    try:
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise Invalid(f"{target} exists already: name a new file", {"target": "exists"}) from None
    raw = engine.raw_connection()
    try:
        source = raw.driver_connection
        assert isinstance(source, sqlite3.Connection)
        with sqlite3.connect(target) as copy:
            source.backup(copy)
        copy.close()
    except BaseException:
        target.unlink(missing_ok=True)  # never leave half a backup that looks whole
        raise
    finally:
        raw.close()
    return target


def open_everything(session: Session, vault: Vault, *, now: datetime) -> Opened:
    """Open every contact's name and number, match her phone index, and open every staff
    secret, with the configured keys alone; audited with counts only.

    Raises DataKeyMissing or IndexKeyMissing, naming the key to restore. Every other value of
    a contact is sealed with the same data key, so her key opening is the proof for them.
    """
    contacts = 0
    rows = session.execute(select(ContactPerson, ContactKey).join_from(ContactPerson, ContactKey))
    for contact, key in rows.tuples():
        cipher = vault.cipher_of(key)
        cipher.open(place("contact_person", "name", contact.id), contact.name_sealed)
        phone = cipher.open(place("contact_person", "phone", contact.id), contact.phone_sealed)
        if contact.phone_index not in vault.phone_indexes(phone):
            raise _index_refusal(index_key_id_of(contact.phone_index), vault)
        contacts += 1
    opened = Opened(contacts, _open_staff_secrets(session, vault))
    record(
        session,
        now=now,
        actor=SYSTEM,
        action=AuditAction.BACKUP_CHECKED,
        object_type="database",
        contacts=opened.contacts,
        staff_secrets=opened.staff_secrets,
    )
    session.commit()
    return opened


def _index_refusal(made_with: str, vault: Vault) -> SealError:
    if made_with not in vault.index_keys:
        return IndexKeyMissing(index_key_name(made_with))
    # The id is configured but its key made another index: not the key the backup was made with.
    return SealError(
        f"a phone index does not match under index key {index_key_name(made_with)}: "
        "that id holds another key than the one the backup was made with"
    )


def _open_staff_secrets(session: Session, vault: Vault) -> int:
    opened = 0
    for user in session.scalars(select(User)):
        for attr, column in STAFF_SECRETS:
            sealed = getattr(user, attr)
            if sealed is None:
                continue
            if key_id_of(sealed) not in vault.keyring:
                raise DataKeyMissing(key_id_of(sealed), "staff sign-in secrets")
            vault.keyring.unwrap(sealed, place("app_user", column, user.id))
            opened += 1
    return opened
