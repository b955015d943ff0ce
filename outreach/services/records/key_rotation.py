"""Key rotation: wrap every contact's data key, and seal every staff secret, under the newest key;
make every contact's phone index again under the newest index key.

The contact data itself is sealed with per-contact data keys (S10) and never needs
re-encrypting: only the small wrapped keys in `contact_key` move to the new key-encrypting key.
Staff TOTP seeds and phones are sealed with the keyring directly, so they are sealed again.
A phone index is an HMAC that cannot be converted: the phone is opened with the contact's data
key and indexed again. Look-ups try every index key meanwhile, so inbound SMS still finds its
contact half-way through (S2).

Each batch is its own transaction and selects only rows still under an older key, so a run
that stops half-way is resumed by running it again. Once the counts show nothing under an old
key id, that key can be removed from OUTREACH_DATA_KEYS or OUTREACH_INDEX_KEYS (REFERENCE.md
C.2, docs/security/keys.md).
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.orm import Session

from outreach.models import ContactKey, ContactPerson, User
from outreach.security.crypto import (
    UNVERSIONED_INDEX_LENGTH,
    VERSIONED_DIGEST_LENGTH,
    IndexKeyring,
    Keyring,
    key_id_of,
)
from outreach.security.vault import Vault, place
from outreach.services.errors import Invalid
from outreach.services.records.audit import SYSTEM, AuditAction, record
from outreach.settings_secrets import UNVERSIONED_INDEX_KEY

BATCH = 500
MALFORMED_INDEX = "?"

# The places staff secrets are sealed at: (column attribute, place column name).
STAFF_SECRETS = (("totp_secret_sealed", "totp"), ("phone_sealed", "phone"))


@dataclass(frozen=True)
class KeyCounts:
    """How many values each key id holds: contact data keys, staff secrets, phone indexes.

    Phone indexes are counted for contacts whose data key exists: an erased contact's phone
    cannot be opened to index it again, and its index matches no one once its key is gone.
    """

    contact_keys: Counter[str]
    staff_secrets: Counter[str]
    phone_indexes: Counter[str]

    def old(self, newest: str) -> int:
        return sum(n for k, n in (self.contact_keys + self.staff_secrets).items() if k != newest)

    def old_indexes(self, newest: str) -> int:
        return sum(n for k, n in self.phone_indexes.items() if k != newest)


def index_key_name(key_id: str) -> str:
    """How an operator knows an index key: its id, or the variable the unversioned one is in."""
    return "OUTREACH_INDEX_KEY" if key_id == UNVERSIONED_INDEX_KEY else key_id


def key_counts(session: Session) -> KeyCounts:
    """Count sealed values by the id of the key that sealed them."""
    rows = session.execute(
        select(ContactKey.key_id, func.count()).group_by(ContactKey.key_id)
    ).all()
    staff: Counter[str] = Counter()
    for user in session.scalars(_users_with_secrets()):
        for attr, _ in STAFF_SECRETS:
            sealed = getattr(user, attr)
            if sealed is not None:
                staff[key_id_of(sealed)] += 1
    return KeyCounts(Counter({str(k): int(n) for k, n in rows}), staff, _index_counts(session))


def _index_counts(session: Session) -> Counter[str]:
    made_with = (
        select(_index_key_id().label("key_id")).join_from(ContactPerson, ContactKey).subquery()
    )
    rows = session.execute(
        select(made_with.c.key_id, func.count()).group_by(made_with.c.key_id)
    ).all()
    return Counter({str(k): int(n) for k, n in rows})


def _index_key_id() -> ColumnElement[str]:
    """The id of the key a stored phone index was made with, in SQL (format: crypto.py)."""
    index, length = ContactPerson.phone_index, func.length(ContactPerson.phone_index)
    return case(
        (length == UNVERSIONED_INDEX_LENGTH, UNVERSIONED_INDEX_KEY),
        (
            length > VERSIONED_DIGEST_LENGTH + 1,
            func.substr(index, 1, length - 1 - VERSIONED_DIGEST_LENGTH),
        ),
        else_=MALFORMED_INDEX,  # counted as a key nobody has, so rotation refuses to start
    )


def check_keyring(session: Session, keyring: Keyring, *, newest: str | None) -> None:
    """Refuse to start unless the newest key is the one expected and every key in use is known."""
    if newest is not None and keyring.primary.key_id != newest:
        raise Invalid(
            f"the newest key {newest!r} is missing: put it first in OUTREACH_DATA_KEYS",
            {"key": "missing"},
        )
    counts = key_counts(session)
    unknown = _unknown(set(counts.contact_keys) | set(counts.staff_secrets), keyring)
    if unknown:
        raise Invalid(
            f"values are sealed under key ids not in OUTREACH_DATA_KEYS: {', '.join(unknown)}",
            {"key": "unknown"},
        )


def check_index_keys(session: Session, index_keys: IndexKeyring, *, newest: str | None) -> None:
    """Refuse to start unless the newest index key is the one expected and every one in use is
    known: a phone indexed under a missing key would not be found (S2)."""
    if newest is not None and index_keys.primary.key_id != newest:
        raise Invalid(
            f"the newest index key {newest!r} is missing: put it first in OUTREACH_INDEX_KEYS",
            {"index_key": "missing"},
        )
    unknown = _unknown(_index_counts(session), index_keys)
    if unknown:
        names = ", ".join(index_key_name(k) for k in unknown)
        raise Invalid(
            f"phone indexes are made with keys not configured: {names}", {"index_key": "unknown"}
        )


def _unknown(in_use: Iterable[str], keys: Keyring | IndexKeyring) -> list[str]:
    return sorted(k for k in in_use if k not in keys)


def rotate_contact_keys(
    session: Session, vault: Vault, *, now: datetime, batch: int = BATCH
) -> Generator[int, None, None]:
    """Rewrap contact data keys a batch per transaction; yield how many each batch moved."""
    newest = vault.keyring.primary.key_id
    while True:
        rows = session.scalars(
            select(ContactKey)
            .where(ContactKey.key_id != newest)
            .order_by(ContactKey.contact_id)
            .limit(batch)
            .with_for_update()  # a purge of the same contact waits for this batch
        ).all()
        if not rows:
            return
        for row in rows:
            vault.rewrap(row)
        _audit(session, newest, now=now, what="contact_keys", moved=len(rows))
        session.commit()
        yield len(rows)


def rotate_phone_indexes(
    session: Session, vault: Vault, *, now: datetime, batch: int = BATCH
) -> Generator[int, None, None]:
    """Index each contact's phone again under the newest index key, a batch per transaction;
    yield how many each batch moved. Neither the phone nor an index is ever logged (S10)."""
    newest = vault.index_keys.primary.key_id
    after: uuid.UUID | None = None  # within one run, never scan the rows already done again
    while True:
        rows = session.execute(_stale_indexes(newest, after).limit(batch)).tuples().all()
        if not rows:
            return
        for contact, key in rows:
            where = place("contact_person", "phone", contact.id)
            phone = vault.cipher_of(key).open(where, contact.phone_sealed)
            contact.phone_index = vault.phone_index(phone)
        after = rows[-1][0].id
        _audit(session, index_key_name(newest), now=now, what="phone_indexes", moved=len(rows))
        session.commit()
        yield len(rows)


def _stale_indexes(
    newest: str, after: uuid.UUID | None
) -> Select[tuple[ContactPerson, ContactKey]]:
    query = (
        select(ContactPerson, ContactKey)
        .join_from(ContactPerson, ContactKey)
        .where(_index_key_id() != newest)
        .order_by(ContactPerson.id)
        .with_for_update(of=ContactPerson)  # an edit or purge of the contact waits for this
    )
    return query if after is None else query.where(ContactPerson.id > after)


def rotate_staff_secrets(session: Session, keyring: Keyring, *, now: datetime) -> int:
    """Seal staff TOTP seeds and phones again under the newest key; return how many moved.

    Staff accounts number in the hundreds at most, so this is one transaction.
    """
    newest, moved = keyring.primary.key_id, 0
    for user in session.scalars(_users_with_secrets().with_for_update()):
        for attr, column in STAFF_SECRETS:
            sealed = getattr(user, attr)
            if sealed is not None and key_id_of(sealed) != newest:
                setattr(user, attr, keyring.rewrap(sealed, place("app_user", column, user.id)))
                moved += 1
    if moved:
        _audit(session, newest, now=now, what="staff_secrets", moved=moved)
    session.commit()
    return moved


def _users_with_secrets() -> Select[tuple[User]]:
    return select(User).where(
        or_(User.totp_secret_sealed.is_not(None), User.phone_sealed.is_not(None))
    )


def _audit(session: Session, newest: str, *, now: datetime, what: str, moved: int) -> None:
    record(
        session,
        now=now,
        actor=SYSTEM,
        action=AuditAction.KEYS_ROTATED,
        object_type="keyring",
        object_id=newest,
        values=what,
        moved=moved,
    )
