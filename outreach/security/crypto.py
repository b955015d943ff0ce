"""AES-GCM sealing with a key id in every value and associated data binding it to its place.

A sealed value is ``version(1) | len(key_id)(1) | key_id | nonce(12) | ciphertext+tag``.
The associated data names the table, column, row and key id, so a value copied to
another row or column fails to open (S10).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from outreach.settings_secrets import UNVERSIONED_INDEX_KEY, DataKey

FORMAT_VERSION = 1
NONCE_BYTES = 12


class SealError(Exception):
    """A sealed value cannot be opened: wrong key, wrong place, or tampered."""


def seal(key: bytes, key_id: str, plaintext: bytes, place: str) -> bytes:
    """Encrypt plaintext under key, bound to its place (table|column|row)."""
    kid = key_id.encode("ascii")
    nonce = os.urandom(NONCE_BYTES)
    body = AESGCM(key).encrypt(nonce, plaintext, _aad(place, key_id))
    return bytes([FORMAT_VERSION, len(kid)]) + kid + nonce + body


def key_id_of(sealed: bytes) -> str:
    """Return the id of the key a value was sealed with."""
    if len(sealed) < 2 or sealed[0] != FORMAT_VERSION:
        raise SealError("unknown sealed-value format")
    return sealed[2 : 2 + sealed[1]].decode("ascii")


def open_sealed(keys: Mapping[str, bytes], sealed: bytes, place: str) -> bytes:
    """Decrypt a sealed value with the key its id names; raise SealError otherwise."""
    key_id = key_id_of(sealed)
    key = keys.get(key_id)
    if key is None:
        raise SealError(f"no key with id {key_id!r} in the keyring")
    start = 2 + sealed[1]
    nonce, body = sealed[start : start + NONCE_BYTES], sealed[start + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, _aad(place, key_id))
    except InvalidTag:
        raise SealError("sealed value does not open here (tampered or moved)") from None


def _aad(place: str, key_id: str) -> bytes:
    return f"outreach|{place}|{key_id}".encode()


class Keyring:
    """The key-encrypting keys from OUTREACH_DATA_KEYS; the first one seals, all of them open."""

    def __init__(self, keys: tuple[DataKey, ...]) -> None:
        if not keys:
            raise ValueError("a keyring needs at least one key")
        self.primary = keys[0]
        self._by_id = {k.key_id: k.secret for k in keys}

    def wrap(self, data_key: bytes, place: str) -> bytes:
        return seal(self.primary.secret, self.primary.key_id, data_key, place)

    def unwrap(self, wrapped: bytes, place: str) -> bytes:
        return open_sealed(self._by_id, wrapped, place)

    def rewrap(self, wrapped: bytes, place: str) -> bytes:
        """Open a value under whichever key sealed it and seal it again under the newest."""
        return self.wrap(self.unwrap(wrapped, place), place)

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._by_id)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._by_id


def blind_index(index_key: bytes, value: str) -> str:
    """Keyed HMAC of a normalised value, for equality lookups without decrypting."""
    return _hmac(index_key, value).hexdigest()


# An index value is "key_id$" and the HMAC in unpadded base64url (43 characters): at most 60
# characters, within the 64 of the column. A value made with the unversioned key is the bare
# 64-digit hex HMAC of earlier versions, so existing rows stay valid as they are.
INDEX_SEPARATOR = "$"
VERSIONED_DIGEST_LENGTH = 43
UNVERSIONED_INDEX_LENGTH = 64


class IndexKeyring:
    """The blind-index keys, newest first: the first indexes values, every one finds them.

    Look-ups try every key, so a contact is found whichever key its index was last made with,
    while a re-key runs and after (S2: a STOP is always matched to its contact).
    """

    def __init__(self, keys: tuple[DataKey, ...]) -> None:
        if not keys:
            raise ValueError("an index keyring needs at least one key")
        self.primary = keys[0]
        self._keys = keys

    def index(self, value: str) -> str:
        """Index a value under the newest key."""
        return _index_under(self.primary, value)

    def candidates(self, value: str) -> tuple[str, ...]:
        """Index a value under every key: a stored index equal to one of them is a match."""
        return tuple(_index_under(key, value) for key in self._keys)

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(k.key_id for k in self._keys)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self.key_ids


def index_key_id_of(stored: str) -> str:
    """Return the id of the key an index value was made with ("" for the unversioned key)."""
    key_id, sep, _ = stored.rpartition(INDEX_SEPARATOR)
    return key_id if sep else UNVERSIONED_INDEX_KEY


def _index_under(key: DataKey, value: str) -> str:
    if key.key_id == UNVERSIONED_INDEX_KEY:
        return blind_index(key.secret, value)
    digest = base64.urlsafe_b64encode(_hmac(key.secret, value).digest()).rstrip(b"=")
    return f"{key.key_id}{INDEX_SEPARATOR}{digest.decode('ascii')}"


def _hmac(key: bytes, value: str) -> hmac.HMAC:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256)


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)
