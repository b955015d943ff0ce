"""Sealed values: round-trip, bound to their place, tamper-evident, keyed by id (S10)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outreach.security.crypto import (
    IndexKeyring,
    Keyring,
    SealError,
    blind_index,
    index_key_id_of,
    key_id_of,
    open_sealed,
    seal,
)
from outreach.settings_secrets import UNVERSIONED_INDEX_KEY, DataKey

KEY = os.urandom(32)
places = st.from_regex(r"[a-z_]{1,12}\.[a-z_]{1,12}\.[0-9a-f-]{36}", fullmatch=True)


@settings(max_examples=200)
@given(text=st.text(max_size=300), where=places)
def test_a_sealed_value_opens_to_what_was_sealed(text: str, where: str) -> None:
    sealed = seal(KEY, "k1", text.encode(), where)
    assert open_sealed({"k1": KEY}, sealed, where).decode() == text


@settings(max_examples=200)
@given(text=st.text(min_size=1, max_size=100), a=places, b=places)
def test_a_value_moved_to_another_place_does_not_open(text: str, a: str, b: str) -> None:
    if a == b:
        return
    sealed = seal(KEY, "k1", text.encode(), a)
    with pytest.raises(SealError):
        open_sealed({"k1": KEY}, sealed, b)


@given(text=st.text(min_size=1, max_size=50), flip=st.integers(min_value=0))
def test_any_changed_byte_is_detected(text: str, flip: int) -> None:
    sealed = bytearray(seal(KEY, "k1", text.encode(), "t.c.1"))
    header = 2 + len("k1")
    position = header + flip % (len(sealed) - header)
    sealed[position] ^= 0x01
    with pytest.raises(SealError):
        open_sealed({"k1": KEY}, bytes(sealed), "t.c.1")


def test_the_same_text_seals_differently_every_time() -> None:
    assert seal(KEY, "k1", b"+14045550123", "t.c.1") != seal(KEY, "k1", b"+14045550123", "t.c.1")


def test_each_value_names_its_key_and_an_older_key_still_opens_it() -> None:
    old, new = DataKey("old", os.urandom(32)), DataKey("new", os.urandom(32))
    wrapped = Keyring((old,)).wrap(b"data key", "contact_key.wrapped_key.1")
    assert key_id_of(wrapped) == "old"
    rotated = Keyring((new, old))
    assert rotated.unwrap(wrapped, "contact_key.wrapped_key.1") == b"data key"
    assert key_id_of(rotated.wrap(b"data key", "contact_key.wrapped_key.1")) == "new"


def test_a_value_under_a_key_no_longer_in_the_ring_does_not_open() -> None:
    wrapped = Keyring((DataKey("gone", os.urandom(32)),)).wrap(b"k", "p")
    with pytest.raises(SealError, match="no key"):
        Keyring((DataKey("other", os.urandom(32)),)).unwrap(wrapped, "p")


def test_the_blind_index_is_stable_and_depends_on_its_key() -> None:
    a, b = os.urandom(32), os.urandom(32)
    assert blind_index(a, "+14045550123") == blind_index(a, "+14045550123")
    assert blind_index(a, "+14045550123") != blind_index(b, "+14045550123")
    assert "4045550123" not in blind_index(a, "+14045550123")


key_ids = st.from_regex(r"[A-Za-z0-9_-]{1,16}", fullmatch=True)
e164s = st.integers(2_000_000_000, 9_999_999_999).map(lambda n: f"+1{n}")


@settings(max_examples=100)
@given(key_id=key_ids, phone=e164s)
def test_an_index_names_its_key_and_fits_the_column(key_id: str, phone: str) -> None:
    index = IndexKeyring((DataKey(key_id, KEY),)).index(phone)
    assert index_key_id_of(index) == key_id
    assert len(index) <= 64  # contact_person.phone_index is String(64)
    assert phone[2:] not in index


def test_the_unversioned_key_indexes_as_earlier_versions_did() -> None:
    unversioned = IndexKeyring((DataKey(UNVERSIONED_INDEX_KEY, KEY),))
    index = unversioned.index("+14045550123")
    assert index == blind_index(KEY, "+14045550123")  # rows indexed before stay valid
    assert index_key_id_of(index) == UNVERSIONED_INDEX_KEY


def test_a_look_up_tries_every_index_key_and_new_values_use_the_newest() -> None:
    old, new = DataKey(UNVERSIONED_INDEX_KEY, os.urandom(32)), DataKey("i2", os.urandom(32))
    made_before = IndexKeyring((old,)).index("+14045550123")
    both = IndexKeyring((new, old))
    assert made_before in both.candidates("+14045550123")
    assert index_key_id_of(both.index("+14045550123")) == "i2"
    assert both.index("+14045550123") == IndexKeyring((new,)).index("+14045550123")
    assert made_before not in IndexKeyring((new,)).candidates("+14045550123")
    assert both.candidates("+14045550124")[0] != both.candidates("+14045550123")[0]
