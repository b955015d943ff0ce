"""Key rotation: wrap every contact's data key, and seal every staff secret, under the newest key.

The contact data itself is sealed with per-contact data keys (S10) and never needs
re-encrypting: only the small wrapped keys in `contact_key` move to the new key-encrypting key.
Staff TOTP seeds and phones are sealed with the keyring directly, so they are sealed again.

Each batch is its own transaction and selects only rows still under an older key, so a run
that stops half-way is resumed by running it again. Once the counts show nothing under an old
key id, that key can be removed from OUTREACH_DATA_KEYS (REFERENCE.md C.2).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from outreach.models import ContactKey, User
from outreach.security.crypto import Keyring, key_id_of
from outreach.security.vault import Vault, place
from outreach.services.audit import SYSTEM, AuditAction, record
from outreach.services.errors import Invalid

BATCH = 500

# The places staff secrets are sealed at: (column attribute, place column name).
STAFF_SECRETS = (("totp_secret_sealed", "totp"), ("phone_sealed", "phone"))


@dataclass(frozen=True)
class KeyCounts:
    """How many sealed values each key id holds: contact data keys and staff secrets."""

    contact_keys: Counter[str]
    staff_secrets: Counter[str]

    def old(self, newest: str) -> int:
        return sum(n for k, n in (self.contact_keys + self.staff_secrets).items() if k != newest)


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
    return KeyCounts(Counter({str(k): int(n) for k, n in rows}), staff)


def check_keyring(session: Session, keyring: Keyring, *, newest: str | None) -> None:
    """Refuse to start unless the newest key is the one expected and every key in use is known."""
    if newest is not None and keyring.primary.key_id != newest:
        raise Invalid(
            f"the newest key {newest!r} is missing: put it first in OUTREACH_DATA_KEYS",
            {"key": "missing"},
        )
    counts = key_counts(session)
    unknown = sorted(set(counts.contact_keys) | set(counts.staff_secrets))
    unknown = [k for k in unknown if k not in keyring]
    if unknown:
        raise Invalid(
            f"values are sealed under key ids not in OUTREACH_DATA_KEYS: {', '.join(unknown)}",
            {"key": "unknown"},
        )


def rotate_contact_keys(
    session: Session, vault: Vault, *, now: datetime, batch: int = BATCH
) -> Iterator[int]:
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
