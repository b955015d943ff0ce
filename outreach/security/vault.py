"""Seal and open contact-person data with a per-contact data key (S10).

Each contact has its own random data key, wrapped by the keyring's newest key and stored in
`contact_key`. Every value is sealed with AES-GCM and bound to its table, column and row.
Deleting the contact's key erases everything sealed for that contact, wherever it lies.
"""

from __future__ import annotations

import hmac
import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from outreach.models import ContactKey
from outreach.security.crypto import (
    IndexKeyring,
    Keyring,
    SealError,
    key_id_of,
    new_data_key,
    open_sealed,
    seal,
)
from outreach.settings_secrets import KEY_ID, Secrets

# The data key's own id inside each sealed value: the generation of the contact's key.
CONTACT_KEY_ID = "c1"


class ContactErased(Exception):
    """The contact's key is gone: the record was purged and cannot be read (S10)."""


class DataKeyMissing(SealError):
    """A contact's data key is wrapped under a key that OUTREACH_DATA_KEYS lacks.

    Seen after a restore without the keys kept beside the backup, or when an old key was
    removed too early. The message names the key id, never anything of the contact (S10), so
    logs and the command line can say which key to put back.
    """

    def __init__(self, key_id: str, what: str = "contact data") -> None:
        shown = key_id if KEY_ID.fullmatch(key_id) else "(an unreadable id)"
        super().__init__(f"{what} cannot be opened: data key {shown} missing")
        self.key_id = key_id


def place(table: str, column: str, row_id: uuid.UUID) -> str:
    return f"{table}.{column}.{row_id}"


class ContactCipher:
    """Seals and opens the values of one contact person."""

    def __init__(self, data_key: bytes) -> None:
        self._keys = {CONTACT_KEY_ID: data_key}

    def seal(self, where: str, text: str) -> bytes:
        return seal(self._keys[CONTACT_KEY_ID], CONTACT_KEY_ID, text.encode("utf-8"), where)

    def open(self, where: str, sealed: bytes) -> str:
        return open_sealed(self._keys, sealed, where).decode("utf-8")


class Vault:
    def __init__(self, keyring: Keyring, index_keys: IndexKeyring) -> None:
        self.keyring = keyring
        self.index_keys = index_keys

    @classmethod
    def from_secrets(cls, secrets: Secrets) -> Vault:
        return cls(Keyring(secrets.data_keys), IndexKeyring(secrets.index_keys))

    def phone_index(self, e164: str) -> str:
        """The blind index to store for a phone: made with the newest index key."""
        return self.index_keys.index(e164)

    def phone_indexes(self, e164: str) -> tuple[str, ...]:
        """Every index a stored phone may carry, one per index key, to look it up by."""
        return self.index_keys.candidates(e164)

    def same_phone(self, a: str, b: str) -> bool:
        return hmac.compare_digest(a.encode(), b.encode())

    def new_contact_key(
        self, contact_id: uuid.UUID, *, now: datetime
    ) -> tuple[ContactCipher, ContactKey]:
        """Create a fresh data key for a new contact; the caller stores the wrapped row."""
        data_key = new_data_key()
        row = ContactKey(
            contact_id=contact_id,
            key_id=self.keyring.primary.key_id,
            wrapped_key=self.keyring.wrap(data_key, _key_place(contact_id)),
            created_at=now,
        )
        return ContactCipher(data_key), row

    def rewrap(self, row: ContactKey) -> None:
        """Wrap a contact's data key again under the keyring's newest key (key rotation)."""
        row.wrapped_key = self.keyring.rewrap(row.wrapped_key, _key_place(row.contact_id))
        row.key_id = self.keyring.primary.key_id

    def cipher_for(self, session: Session, contact_id: uuid.UUID) -> ContactCipher:
        """Unwrap the contact's data key; raise ContactErased once it was shredded."""
        row = session.get(ContactKey, contact_id)
        if row is None:
            raise ContactErased("the contact's record was erased")
        return self.cipher_of(row)

    def cipher_of(self, row: ContactKey) -> ContactCipher:
        """Unwrap a contact's data key from its stored row; DataKeyMissing names a missing key."""
        key_id = key_id_of(row.wrapped_key)
        if key_id not in self.keyring:
            raise DataKeyMissing(key_id)
        return ContactCipher(self.keyring.unwrap(row.wrapped_key, _key_place(row.contact_id)))


def _key_place(contact_id: uuid.UUID) -> str:
    return place("contact_key", "wrapped_key", contact_id)
