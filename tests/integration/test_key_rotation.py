"""Key rotation: every sealed value moves to the newest key and opens there, in place (S10)."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from outreach.models import ContactKey, ContactPerson, User
from outreach.security import totp
from outreach.security.crypto import Keyring, SealError
from outreach.security.vault import Vault, place
from outreach.services import contacts, second_factor, users
from outreach.services.errors import Invalid
from outreach.services.key_rotation import (
    check_keyring,
    key_counts,
    rotate_contact_keys,
    rotate_staff_secrets,
)
from outreach.settings import DataKey, Settings
from tests.conftest import NOW
from tests.factories import World, make_contact

NEW = DataKey("new2", os.urandom(32))

names = st.lists(
    st.text(st.characters(categories=["L"]), min_size=1, max_size=20), min_size=1, max_size=3
).map(" ".join)
phones = st.integers(100, 199).map(lambda n: f"+1404555{n:04d}")
people = st.lists(st.tuples(names, phones), min_size=2, max_size=12)


def _vaults(settings: Settings) -> tuple[Vault, Vault, Vault]:
    """The keyring before rotation, during it (new key first) and after the old key is gone."""
    old = settings.secrets.data_keys
    index = settings.secrets.index_key
    return (
        Vault(Keyring(old), index),
        Vault(Keyring((NEW, *old)), index),
        Vault(Keyring((NEW,)), index),
    )


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(people=people, batch=st.integers(1, 7))
def test_after_rotation_every_value_opens_under_the_new_key_alone(
    db: Session, world: World, settings: Settings, people: list[tuple[str, str]], batch: int
) -> None:
    before, during, after = _vaults(settings)
    made = [
        make_contact(db, before, world.participant, now=NOW, name=n, phone=p) for n, p in people
    ]
    liaison = world.users["liaison"]
    users.set_phone(db, before, user_id=liaison.id, phone="+14045550111", now=NOW)
    seed = _enrol(db, before, liaison)

    moved = list(rotate_contact_keys(db, during, now=NOW, batch=batch))
    assert all(0 < n <= batch for n in moved)
    assert rotate_staff_secrets(db, during.keyring, now=NOW) == 2
    counts = key_counts(db)
    assert set(counts.contact_keys) == {"new2"}
    assert set(counts.staff_secrets) == {"new2"}

    for contact, (name, phone) in zip(made, people, strict=True):
        shown = contacts.reveal_contact(
            db, after, actor=world.actor("liaison"), contact_id=contact.id, now=NOW, purpose="x"
        )
        assert (shown.name, shown.phone) == (" ".join(name.split()), phone)
    assert after.keyring.unwrap(liaison.phone_sealed or b"", _phone_place(liaison)) == (
        b"+14045550111"
    )
    code = totp.code_at(seed, totp.step_of(NOW + timedelta(minutes=1)))
    assert second_factor.check_code(
        db, after.keyring, user_id=liaison.id, code=code, now=NOW + timedelta(minutes=1)
    )


def _enrol(db: Session, vault: Vault, user: User) -> bytes:
    pending, _ = second_factor.start_enrolment(vault.keyring, user)
    seed = vault.keyring.unwrap(pending, f"app_user.totp_pending.{user.id}")
    code = totp.code_at(seed, totp.step_of(NOW))
    second_factor.confirm_enrolment(
        db, vault.keyring, user_id=user.id, pending=pending, code=code, now=NOW
    )
    user.totp_last_step = None  # a fresh start for the code checked after rotation
    db.commit()
    return seed


def _phone_place(user: User) -> str:
    return place("app_user", "phone", user.id)


def test_a_rewrapped_key_moved_to_another_contact_does_not_open(
    db: Session, world: World, settings: Settings
) -> None:
    before, during, after = _vaults(settings)
    first = make_contact(db, before, world.participant, now=NOW, phone="+14045550150")
    second = make_contact(db, before, world.participant, now=NOW, phone="+14045550151")
    list(rotate_contact_keys(db, during, now=NOW))
    stolen = db.scalar(select(ContactKey.wrapped_key).where(ContactKey.contact_id == first.id))
    db.execute(
        update(ContactKey).where(ContactKey.contact_id == second.id).values(wrapped_key=stolen)
    )
    db.expire_all()
    with pytest.raises(SealError):
        after.cipher_for(db, second.id)
    assert (
        after.cipher_for(db, first.id).open(
            place("contact_person", "phone", first.id),
            db.get(ContactPerson, first.id).phone_sealed,  # type: ignore[union-attr]
        )
        == "+14045550150"
    )


def test_a_second_run_finds_nothing_left_to_move(
    db: Session, world: World, settings: Settings
) -> None:
    _, during, _ = _vaults(settings)
    first = list(rotate_contact_keys(db, during, now=NOW, batch=1))
    assert first == [1]  # the world's one contact
    assert list(rotate_contact_keys(db, during, now=NOW)) == []
    assert rotate_staff_secrets(db, during.keyring, now=NOW) == 0


def test_rotation_refuses_to_start_without_the_expected_newest_key_or_a_used_key(
    db: Session, world: World, settings: Settings
) -> None:
    _, during, after = _vaults(settings)
    with pytest.raises(Invalid, match="newest key 'new3' is missing"):
        check_keyring(db, during.keyring, newest="new3")
    with pytest.raises(Invalid, match="not in OUTREACH_DATA_KEYS"):
        check_keyring(db, after.keyring, newest="new2")  # the world's contact needs the old key
    check_keyring(db, during.keyring, newest="new2")
