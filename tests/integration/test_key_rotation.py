"""Key rotation: every sealed value and phone index moves to the newest keys, in place (S10),
and a contact is found by phone before, during and after the re-key (S2)."""

from __future__ import annotations

import itertools
import os
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from outreach.domain.phones import normalize_phone
from outreach.models import AuditEvent, ContactKey, ContactPerson, InboundMessage, User
from outreach.security import totp
from outreach.security.crypto import IndexKeyring, Keyring, SealError, index_key_id_of, key_id_of
from outreach.security.vault import Vault, place
from outreach.services.contact_persons import contacts, preferences
from outreach.services.delivery import inbound
from outreach.services.errors import Invalid
from outreach.services.records.audit import SYSTEM
from outreach.services.records.key_rotation import (
    check_index_keys,
    check_keyring,
    key_counts,
    rotate_contact_keys,
    rotate_phone_indexes,
    rotate_staff_secrets,
)
from outreach.services.staff import second_factor, users
from outreach.settings import Settings
from outreach.settings_secrets import DataKey
from tests.conftest import NOW
from tests.factories import World, make_contact, rolled_back

NEW = DataKey("new2", os.urandom(32))
NEW_INDEX = DataKey("ix2", os.urandom(32))
OLD, OLD_INDEX = "test1", ""  # the test settings' data key, and their unversioned index key
WORLD_PHONE = "+14045550123"  # the world's contact
KEYWORDS = (
    inbound.STOP_WORDS | inbound.START_WORDS | inbound.HELP_WORDS | inbound.TALK_NOW | inbound.LATER
)
_sids = itertools.count(1)

names = st.lists(
    st.text(st.characters(categories=["L"]), min_size=1, max_size=20), min_size=1, max_size=3
).map(" ".join)
# A small pool of numbers written the ways people write them, so contacts share numbers too.
phones = st.builds(
    str.format,
    st.sampled_from(("+1404555{}", "(404) 555-{}", "404.555.{}")),
    st.integers(100, 129).map("{:04d}".format),
)
notes = st.text(min_size=1, max_size=80).filter(lambda body: inbound.keyword(body) not in KEYWORDS)
people = st.lists(st.tuples(names, phones, notes), min_size=1, max_size=8)


@dataclass(frozen=True)
class Keys:
    before: Vault  # as deployed; once the rotation is done, "the old keys alone"
    during: Vault  # the new keys first, the old ones after them
    after: Vault  # the old keys removed


def _keys(settings: Settings) -> Keys:
    data, index = settings.secrets.data_keys, settings.secrets.index_keys
    return Keys(
        before=Vault(Keyring(data), IndexKeyring(index)),
        during=Vault(Keyring((NEW, *data)), IndexKeyring((NEW_INDEX, *index))),
        after=Vault(Keyring((NEW,)), IndexKeyring((NEW_INDEX,))),
    )


def _found(session: Session, vault: Vault, phone: str) -> set[uuid.UUID]:
    return {c.id for c in contacts.find_by_phone(session, vault, phone)}


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(people=people, batch=st.integers(1, 4))
def test_after_rotation_every_value_opens_under_the_new_keys_alone(
    connection: Connection,
    sessions: sessionmaker[Session],
    world: World,
    settings: Settings,
    people: list[tuple[str, str, str]],
    batch: int,
) -> None:
    keys = _keys(settings)
    with rolled_back(connection, sessions) as db:
        made = [
            make_contact(db, keys.before, world.participant, now=NOW, name=n, phone=p)
            for n, p, _ in people
        ]
        by_phone: dict[str, set[uuid.UUID]] = defaultdict(set, {WORLD_PHONE: {world.contact.id}})
        for contact, (_, phone, _) in zip(made, people, strict=True):
            by_phone[normalize_phone(phone)].add(contact.id)
        sent: dict[uuid.UUID, list[str]] = defaultdict(list)
        for _, phone, note in people:
            _text(db, keys.before, normalize_phone(phone), note, by_phone, sent)
        liaison = db.get_one(User, world.users["liaison"].id)
        users.set_phone(
            db, keys.before, user_id=liaison.id, phone="+14045550111", now=NOW, actor=SYSTEM
        )
        seed = _enrol(db, keys.before, liaison)
        assert {p: _found(db, keys.before, p) for p in by_phone} == by_phone

        moved = list(rotate_contact_keys(db, keys.during, now=NOW, batch=batch))
        assert all(0 < n <= batch for n in moved)
        assert sum(moved) == len(made) + 1
        _re_key_half_way_then_resume(db, keys, batch, people, by_phone, sent)
        assert rotate_staff_secrets(db, keys.during.keyring, now=NOW) == 2

        counts = key_counts(db)
        assert counts.contact_keys == Counter({NEW.key_id: len(made) + 1})
        assert counts.phone_indexes == Counter({NEW_INDEX.key_id: len(made) + 1})
        assert set(counts.staff_secrets) == {NEW.key_id}
        _assert_nothing_left_under_an_old_key(db)
        _assert_every_value_opens(db, keys.after, sent)
        _assert_the_old_keys_alone_open_and_find_nothing(db, keys.before, by_phone)
        for contact, (name, phone, _) in zip(made, people, strict=True):
            shown = contacts.reveal_contact(
                db,
                keys.after,
                actor=world.actor("liaison"),
                contact_id=contact.id,
                now=NOW,
                purpose="check",
            )
            assert (shown.name, shown.phone) == (name, normalize_phone(phone))
            _assert_moved_values_do_not_open(db, keys.after, world.contact, contact)
        assert {p: _found(db, keys.after, p) for p in by_phone} == by_phone
        _assert_staff_secrets_open(db, keys.after, liaison, seed)


def _re_key_half_way_then_resume(
    db: Session,
    keys: Keys,
    batch: int,
    people: list[tuple[str, str, str]],
    by_phone: dict[str, set[uuid.UUID]],
    sent: dict[uuid.UUID, list[str]],
) -> None:
    """Stop the re-key after its first batch: every phone still finds its contacts (S2)."""
    total = len(people) + 1
    first = min(batch, total)
    run = rotate_phone_indexes(db, keys.during, now=NOW, batch=batch)
    assert next(run) == first
    run.close()
    counts = key_counts(db)
    assert counts.phone_indexes[NEW_INDEX.key_id] == first
    assert counts.old_indexes(NEW_INDEX.key_id) == total - first
    assert {p: _found(db, keys.during, p) for p in by_phone} == by_phone
    for _, phone, note in people:
        _text(db, keys.during, normalize_phone(phone), note, by_phone, sent)
    assert sum(rotate_phone_indexes(db, keys.during, now=NOW, batch=batch)) == total - first


def _text(
    db: Session,
    vault: Vault,
    phone: str,
    note: str,
    by_phone: dict[str, set[uuid.UUID]],
    sent: dict[uuid.UUID, list[str]],
) -> None:
    """The contact texts a note: it is kept, sealed, for every contact with that number."""
    answered = inbound.handle(db, vault, sender=phone, body=note, sid=f"SM{next(_sids)}", now=NOW)
    assert answered.reply == inbound.Reply.NONE
    for contact_id in by_phone[phone]:
        sent[contact_id].append(note)


def _assert_nothing_left_under_an_old_key(db: Session) -> None:
    for row in db.scalars(select(ContactKey)):
        assert (row.key_id, key_id_of(row.wrapped_key)) == (NEW.key_id, NEW.key_id)
    for index in db.scalars(select(ContactPerson.phone_index)):
        assert index_key_id_of(index) == NEW_INDEX.key_id


def _assert_every_value_opens(db: Session, vault: Vault, sent: dict[uuid.UUID, list[str]]) -> None:
    """Every contact's name, phone and notes open under the new keyring, and each phone's
    index is the one the new index key makes."""
    for contact in db.scalars(select(ContactPerson)):
        cipher = vault.cipher_for(db, contact.id)
        cipher.open(place("contact_person", "name", contact.id), contact.name_sealed)
        phone = cipher.open(place("contact_person", "phone", contact.id), contact.phone_sealed)
        assert contact.phone_index == vault.phone_index(phone)
    kept: dict[uuid.UUID, list[str]] = defaultdict(list)
    for message in db.scalars(select(InboundMessage)):
        cipher = vault.cipher_for(db, message.contact_id)
        kept[message.contact_id].append(
            cipher.open(place("inbound_message", "body", message.id), message.body_sealed)
        )
    assert {k: sorted(v) for k, v in kept.items()} == {k: sorted(v) for k, v in sent.items()}


def _assert_the_old_keys_alone_open_and_find_nothing(
    db: Session, old: Vault, by_phone: dict[str, set[uuid.UUID]]
) -> None:
    for row in db.scalars(select(ContactKey)):
        with pytest.raises(SealError):
            old.cipher_of(row)
    for user in db.scalars(select(User).where(User.phone_sealed.is_not(None))):
        with pytest.raises(SealError):
            old.keyring.unwrap(user.phone_sealed or b"", place("app_user", "phone", user.id))
    assert all(_found(db, old, phone) == set() for phone in by_phone)


def _assert_moved_values_do_not_open(
    db: Session, vault: Vault, source: ContactPerson, target: ContactPerson
) -> None:
    """A value copied to another contact's row, or to another column, does not open (S10)."""
    with pytest.raises(SealError):
        vault.cipher_for(db, target.id).open(
            place("contact_person", "name", target.id), source.name_sealed
        )
    with pytest.raises(SealError):
        vault.cipher_for(db, target.id).open(
            place("contact_person", "name", target.id), target.phone_sealed
        )


def _assert_staff_secrets_open(db: Session, vault: Vault, user: User, seed: bytes) -> None:
    phone = vault.keyring.unwrap(user.phone_sealed or b"", place("app_user", "phone", user.id))
    assert phone == b"+14045550111"
    later = NOW + timedelta(minutes=1)
    code = totp.code_at(seed, totp.step_of(later))
    assert second_factor.check_code(db, vault.keyring, user_id=user.id, code=code, now=later)


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


# --- stopping and resuming --------------------------------------------------------------------


class PowerCut(Exception):
    pass


class _IndexKeysThatFail(IndexKeyring):
    """Index keys that make `good` indexes and then fail, as a process killed mid-batch."""

    def __init__(self, keys: tuple[DataKey, ...], *, good: int) -> None:
        super().__init__(keys)
        self.left = good

    def index(self, value: str) -> str:
        if self.left == 0:
            raise PowerCut
        self.left -= 1
        return super().index(value)


def test_a_rotation_stopped_part_way_resumes_to_what_an_uninterrupted_run_makes(
    connection: Connection,
    sessions: sessionmaker[Session],
    db: Session,
    world: World,
    settings: Settings,
) -> None:
    keys = _keys(settings)
    for n in range(4):
        make_contact(db, keys.before, world.participant, now=NOW, phone=f"+1404555{150 + n:04d}")
    with rolled_back(connection, sessions) as session:
        list(rotate_contact_keys(session, keys.during, now=NOW, batch=2))
        list(rotate_phone_indexes(session, keys.during, now=NOW, batch=2))
        uninterrupted = _end_state(session, keys.after)

    with rolled_back(connection, sessions) as session:
        stopped = rotate_contact_keys(session, keys.during, now=NOW, batch=2)
        assert next(stopped) == 2  # then the operator presses ^C
        stopped.close()
        index_keys = (NEW_INDEX, *settings.secrets.index_keys)
        failing = Vault(keys.during.keyring, _IndexKeysThatFail(index_keys, good=3))
        with pytest.raises(PowerCut):  # in the second batch, after one of its rows
            list(rotate_phone_indexes(session, failing, now=NOW, batch=2))
        session.rollback()
        counts = key_counts(session)
        assert counts.contact_keys == Counter({NEW.key_id: 2, OLD: 3})
        assert counts.phone_indexes == Counter({NEW_INDEX.key_id: 2, OLD_INDEX: 3})

        assert list(rotate_contact_keys(session, keys.during, now=NOW, batch=2)) == [2, 1]
        assert list(rotate_phone_indexes(session, keys.during, now=NOW, batch=2)) == [2, 1]
        assert _end_state(session, keys.after) == uninterrupted
        assert _audited_moves(session) == {"contact_keys": 5, "phone_indexes": 5}


def _end_state(session: Session, vault: Vault) -> dict[uuid.UUID, tuple[str, str, bytes]]:
    """Each contact's wrapping key id, phone index and data key, as the new keys read them."""
    state = {}
    for contact, key in session.execute(
        select(ContactPerson, ContactKey).join_from(ContactPerson, ContactKey)
    ).tuples():
        data_key = vault.keyring.unwrap(
            key.wrapped_key, place("contact_key", "wrapped_key", contact.id)
        )
        state[contact.id] = (key_id_of(key.wrapped_key), contact.phone_index, data_key)
    return state


def _audited_moves(session: Session) -> dict[str, int]:
    moved: Counter[str] = Counter()
    for event in session.scalars(
        select(AuditEvent).where(AuditEvent.action == "system.keys_rotated")
    ):
        moved[event.detail["values"]] += event.detail["moved"]
    return dict(moved)


# --- look-ups by phone in the middle of a re-key (S2) ------------------------------------------


def test_a_stop_half_way_through_a_re_key_reaches_contacts_on_either_side_of_it(
    db: Session, world: World, settings: Settings
) -> None:
    keys = _keys(settings)
    other = make_contact(
        db,
        keys.before,
        world.participant,
        now=NOW,
        phone="+14045550160",
        consent="consented",
        sms=True,
    )
    run = rotate_phone_indexes(db, keys.during, now=NOW, batch=1)
    assert next(run) == 1
    run.close()
    assert key_counts(db).phone_indexes == Counter({NEW_INDEX.key_id: 1, OLD_INDEX: 1})
    for contact, phone in ((world.contact, WORLD_PHONE), (other, "+14045550160")):
        answered = inbound.handle(
            db, keys.during, sender=phone, body="STOP", sid=f"SM{next(_sids)}", now=NOW
        )
        assert answered.reply == inbound.Reply.STOP_CONFIRMATION
        assert preferences.current_preferences(db, contact.id).sms is False


def test_a_phone_index_copied_to_another_contact_finds_only_the_real_one(
    db: Session, world: World, settings: Settings
) -> None:
    keys = _keys(settings)
    other = make_contact(db, keys.before, world.participant, now=NOW, phone="+14045550161")
    list(rotate_phone_indexes(db, keys.during, now=NOW))
    db.execute(
        update(ContactPerson)
        .where(ContactPerson.id == other.id)
        .values(phone_index=keys.after.phone_index(WORLD_PHONE))
    )
    db.expire_all()
    assert _found(db, keys.during, WORLD_PHONE) == {world.contact.id}  # confirmed by opening


def test_an_erased_contact_is_passed_over_and_not_counted(
    db: Session, world: World, settings: Settings
) -> None:
    keys = _keys(settings)
    erased = make_contact(db, keys.before, world.participant, now=NOW, phone="+14045550162")
    db.execute(delete(ContactKey).where(ContactKey.contact_id == erased.id))
    db.commit()
    assert list(rotate_phone_indexes(db, keys.during, now=NOW)) == [1]  # the world's contact
    assert key_counts(db).phone_indexes == Counter({NEW_INDEX.key_id: 1})
    check_index_keys(db, keys.after.index_keys, newest=NEW_INDEX.key_id)


# --- moved values, second runs, refusals ------------------------------------------------------


def test_a_rewrapped_key_moved_to_another_contact_does_not_open(
    db: Session, world: World, settings: Settings
) -> None:
    keys = _keys(settings)
    first = make_contact(db, keys.before, world.participant, now=NOW, phone="+14045550150")
    second = make_contact(db, keys.before, world.participant, now=NOW, phone="+14045550151")
    list(rotate_contact_keys(db, keys.during, now=NOW))
    stolen = db.scalar(select(ContactKey.wrapped_key).where(ContactKey.contact_id == first.id))
    db.execute(
        update(ContactKey).where(ContactKey.contact_id == second.id).values(wrapped_key=stolen)
    )
    db.expire_all()
    with pytest.raises(SealError):
        keys.after.cipher_for(db, second.id)
    assert (
        keys.after.cipher_for(db, first.id).open(
            place("contact_person", "phone", first.id),
            db.get_one(ContactPerson, first.id).phone_sealed,
        )
        == "+14045550150"
    )


def test_a_sealed_name_copied_to_another_contact_is_never_shown(
    db: Session, world: World, settings: Settings
) -> None:
    keys = _keys(settings)
    other = make_contact(db, keys.before, world.participant, now=NOW, phone="+14045550152")
    list(rotate_contact_keys(db, keys.during, now=NOW))
    db.execute(
        update(ContactPerson)
        .where(ContactPerson.id == other.id)
        .values(name_sealed=world.contact.name_sealed)
    )
    db.expire_all()
    with pytest.raises(SealError):
        contacts.reveal_contact(
            db,
            keys.after,
            actor=world.actor("liaison"),
            contact_id=other.id,
            now=NOW,
            purpose="check",
        )


def test_a_second_run_finds_nothing_left_to_move(
    db: Session, world: World, settings: Settings
) -> None:
    during = _keys(settings).during
    assert list(rotate_contact_keys(db, during, now=NOW, batch=1)) == [1]  # the world's contact
    assert list(rotate_phone_indexes(db, during, now=NOW, batch=1)) == [1]
    assert list(rotate_contact_keys(db, during, now=NOW)) == []
    assert list(rotate_phone_indexes(db, during, now=NOW)) == []
    assert rotate_staff_secrets(db, during.keyring, now=NOW) == 0


def test_rotation_refuses_to_start_without_the_expected_newest_key_or_a_used_key(
    db: Session, world: World, settings: Settings
) -> None:
    keys = _keys(settings)
    with pytest.raises(Invalid, match="newest key 'new3' is missing"):
        check_keyring(db, keys.during.keyring, newest="new3")
    with pytest.raises(Invalid, match="not in OUTREACH_DATA_KEYS"):
        check_keyring(db, keys.after.keyring, newest="new2")  # the world's contact needs the old
    check_keyring(db, keys.during.keyring, newest="new2")
    with pytest.raises(Invalid, match="newest index key 'ix3' is missing"):
        check_index_keys(db, keys.during.index_keys, newest="ix3")
    with pytest.raises(Invalid, match="made with keys not configured: OUTREACH_INDEX_KEY"):
        check_index_keys(db, keys.after.index_keys, newest="ix2")
    check_index_keys(db, keys.during.index_keys, newest="ix2")


def test_an_index_in_no_known_format_stops_the_rotation_before_it_starts(
    db: Session, world: World, settings: Settings
) -> None:
    db.execute(
        update(ContactPerson).where(ContactPerson.id == world.contact.id).values(phone_index="0f")
    )
    with pytest.raises(Invalid, match="made with keys not configured: \\?"):
        check_index_keys(db, _keys(settings).during.index_keys, newest=None)
