"""AES-GCM sealing with a key id in every value and associated data binding it to its place.

A sealed value is ``version(1) | len(key_id)(1) | key_id | nonce(12) | ciphertext+tag``.
The associated data names the table, column, row and key id, so a value copied to
another row or column fails to open (S10).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from outreach.settings import DataKey

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
    return hmac.new(index_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)
