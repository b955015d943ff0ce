"""Contact persons are sealed at rest, found by blind index, and read only through an audit."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from outreach.domain.protocols.loading import load_profiles
from outreach.models import AuditEvent, ContactKey, ContactPerson, ContactPreferences
from outreach.security.crypto import SealError
from outreach.security.vault import ContactErased, Vault
from outreach.services.contact_persons import contacts, her_word, preferences
from outreach.services.errors import Forbidden, Invalid
from outreach.services.intake.programs import PROTOCOLS_DIR
from outreach.services.records.audit import SYSTEM
from tests.conftest import NOW
from tests.factories import World, make_contact


def _audit(db: Session, action: str) -> list[AuditEvent]:
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_the_stored_row_holds_no_name_or_number_in_plaintext(db: Session, world: World) -> None:
    row = db.execute(
        text("SELECT name_sealed, phone_sealed, phone_index FROM contact_person WHERE id = :id"),
        {
            "id": world.contact.id
            if db.bind.dialect.name == "postgresql"  # type: ignore[union-attr]
            else world.contact.id.hex
        },
    ).one()
    blob = bytes(row.name_sealed) + bytes(row.phone_sealed) + row.phone_index.encode()
    for secret in (b"Avery", b"Sample", b"4045550123", b"+14045550123"):
        assert secret not in blob


def test_a_liaison_of_the_program_sees_the_contact_and_the_read_is_audited(
    db: Session, world: World, vault: Vault
) -> None:
    details = contacts.reveal_contact(
        db,
        vault,
        actor=world.actor("liaison"),
        contact_id=world.contact.id,
        now=NOW,
        purpose="call",
    )
    assert (details.name, details.phone) == ("Avery Sample", "+14045550123")
    [event] = _audit(db, "contact.revealed")
    assert event.actor_id == world.users["liaison"].id
    assert event.object_id == str(world.contact.id)
    assert "4045550123" not in str(event.detail)


@pytest.mark.parametrize("persona", ["facilitator", "outsider"])
def test_a_facilitator_or_another_programs_liaison_is_refused_and_that_is_audited(
    db: Session, world: World, vault: Vault, persona: str
) -> None:
    with pytest.raises(Forbidden) as refused:
        contacts.reveal_contact(
            db,
            vault,
            actor=world.actor(persona),
            contact_id=world.contact.id,
            now=NOW,
            purpose="call",
        )
    assert "Avery" not in refused.value.message
    assert _audit(db, "contact.revealed") == []
    [denied] = _audit(db, "auth.access_denied")
    assert denied.actor_id == world.users[persona].id


def test_a_contact_is_found_by_a_differently_written_number(
    db: Session, world: World, vault: Vault
) -> None:
    assert [c.id for c in contacts.find_by_phone(db, vault, "404.555.0123")] == [world.contact.id]
    assert contacts.find_by_phone(db, vault, "+1 404 555 0199") == []
    assert contacts.find_by_phone(db, vault, "not a number") == []


def test_a_sealed_value_copied_to_another_contact_does_not_open(
    db: Session, world: World, vault: Vault
) -> None:
    other = make_contact(
        db, vault, world.participant, now=NOW, name="Brooke Example", phone="404-555-0124"
    )
    db.execute(
        update(ContactPerson)
        .where(ContactPerson.id == other.id)
        .values(name_sealed=world.contact.name_sealed)
    )
    db.expire_all()
    with pytest.raises(SealError):
        contacts.reveal_contact(
            db, vault, actor=world.actor("liaison"), contact_id=other.id, now=NOW, purpose="call"
        )


def test_deleting_the_contact_key_erases_the_record_for_good(
    db: Session, world: World, vault: Vault
) -> None:
    db.execute(delete(ContactKey).where(ContactKey.contact_id == world.contact.id))
    db.expire_all()
    with pytest.raises(ContactErased):
        contacts.reveal_contact(
            db,
            vault,
            actor=world.actor("liaison"),
            contact_id=world.contact.id,
            now=NOW,
            purpose="call",
        )


def test_a_preferences_change_is_a_new_version_and_the_old_one_stays(
    db: Session, world: World
) -> None:
    her_word.change_preferences(
        db,
        actor=world.actor("liaison"),
        contact_id=world.contact.id,
        changes={"consent": "declined"},
        now=NOW,
    )
    versions = db.scalars(
        select(ContactPreferences)
        .where(ContactPreferences.contact_id == world.contact.id)
        .order_by(ContactPreferences.version)
    )
    assert [(v.version, v.consent) for v in versions] == [(1, "consented"), (2, "declined")]
    assert preferences.current_preferences(db, world.contact.id).sms is True


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"consent": "maybe"}, "consent"),
        ({"sms": "yes"}, "sms"),
        ({"language": "tlh"}, "language"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"safe_times": [{"days": "XX", "start": "09:00", "end": "10:00"}]}, "safe_times[0]"),
        ({"safe_times": [{"days": "MO", "start": "11:00", "end": "10:00"}]}, "safe_times[0]"),
        ({"favourite_colour": "blue"}, "favourite_colour"),
    ],
)
def test_bad_preferences_are_refused_field_by_field(
    db: Session, world: World, changes: dict[str, object], field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        her_word.change_preferences(
            db, actor=world.actor("liaison"), contact_id=world.contact.id, changes=changes, now=NOW
        )
    assert field in refused.value.fields


@pytest.mark.parametrize("phone", ["555-1234", "", "twelve"])
def test_a_contact_with_an_undiallable_number_is_refused(
    db: Session, world: World, vault: Vault, phone: str
) -> None:
    with pytest.raises(Invalid) as refused:
        make_contact(db, vault, world.participant, now=NOW, phone=phone)
    assert refused.value.fields == {"phone": "invalid"}


def test_a_facilitator_cannot_create_a_contact(db: Session, world: World, vault: Vault) -> None:
    with pytest.raises(Forbidden):
        contacts.add_contact(
            db,
            vault,
            actor=world.actor("facilitator"),
            participant_id=world.participant.id,
            name="Casey Demo",
            phone="404-555-0125",
            relationship="partner",
            preferences=preferences.Preferences(),
            now=NOW,
        )


# --- S12: a Spanish-first program -------------------------------------------------------


def test_a_spanish_first_programs_new_contact_starts_in_spanish_unless_told_otherwise(
    db: Session, vault: Vault, world: World
) -> None:
    # S12: "a Spanish-first program makes Spanish the default for its contacts" (Caminar
    # Latino, seeds/001, sets language = "es" in its profile).
    loaded = load_profiles(PROTOCOLS_DIR)
    spanish = {k: dataclasses.replace(p, language="es") for k, p in loaded.items()}

    def add(phone: str, stated: bool, language: str = "en") -> str:
        contact = contacts.add_contact(
            db, vault, actor=SYSTEM, participant_id=world.participant.id, name="Ana Ejemplo",
            phone=phone, relationship="partner", now=NOW, profiles=spanish,
            preferences=preferences.Preferences(language=language), language_stated=stated,
        )  # fmt: skip
        return preferences.current_preferences(db, contact.id).language

    assert add("404-555-0161", stated=False) == "es"
    assert add("404-555-0162", stated=True, language="en") == "en"  # her own word wins
