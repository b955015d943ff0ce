"""Contact persons: created sealed (name and phone under her own data key), read only through an
audited reveal, found by her phone through the blind index (S1, S7, S10).

Her preferences, and each later version of them, are preferences.py's and her_word.py's.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.phones import InvalidPhone, normalize_phone, zones_for_number
from outreach.models import ContactPerson, Participant, Program
from outreach.security.permissions import Permission
from outreach.security.vault import Vault, place
from outreach.services.contact_persons.preferences import (
    Preferences,
    Profiles,
    check_rhythm,
    check_updates_offered,
    preferences_row,
)
from outreach.services.errors import Invalid, NotFound
from outreach.services.intake import referrals
from outreach.services.records.audit import Actor, AuditAction, record, record_reveal
from outreach.services.staff.access import require, require_on_contact

RELATIONSHIPS = ("partner", "ex_partner", "spouse", "co_parent", "other")
MAX_NAME = 120


@dataclass(frozen=True)
class ContactDetails:
    """Opened contact data; returned only after the reveal was audited."""

    contact_id: uuid.UUID
    name: str
    phone: str


def add_contact(
    session: Session,
    vault: Vault,
    *,
    actor: Actor,
    participant_id: uuid.UUID,
    name: str,
    phone: str,
    relationship: str,
    preferences: Preferences | Mapping[str, Any],
    now: datetime,
    profiles: Profiles | None = None,
    language_stated: bool = True,
) -> ContactPerson:
    """Create a contact person with sealed name and phone and a first preferences version.

    S12: when nobody stated her language, her program's profile's language is her default
    (a Spanish-first program's contacts start in Spanish)."""
    participant = session.get(Participant, participant_id)
    if participant is None:
        raise NotFound("no participant with that id", {"participant_id": "unknown"})
    require(
        session,
        actor,
        Permission.CONTACT_WRITE,
        participant.program_id,
        now=now,
        object_type="participant",
        object_id=participant.id,
    )
    if not isinstance(preferences, Preferences):
        # As sent to the API: read once the caller may write here, so a 403 or 404 comes
        # before what is wrong with her preferences.
        preferences = Preferences.from_mapping(preferences)
    check_rhythm(session, profiles, participant.program_id, preferences.cadence)  # S13
    if preferences.updates:
        check_updates_offered(session, profiles, participant.program_id)
    if not language_stated:
        language = _program_language(session, profiles, participant.program_id)
        preferences = dataclasses.replace(preferences, language=language)
    e164 = _phone(phone)
    contact = ContactPerson(
        participant_id=participant.id,
        program_id=participant.program_id,
        relationship_to_participant=_relationship(relationship),
        phone_index=vault.phone_index(e164),
        phone_zones=",".join(zones_for_number(e164)),
        created_at=now,
    )
    contact_id = contact.ensure_id()
    cipher, key_row = vault.new_contact_key(contact_id, now=now)
    contact.name_sealed = cipher.seal(place("contact_person", "name", contact_id), _name(name))
    contact.phone_sealed = cipher.seal(place("contact_person", "phone", contact_id), e164)
    session.add(contact)
    session.flush()  # the key and preferences rows refer to the contact by foreign key
    session.add(key_row)
    session.add(preferences_row(contact_id, 1, preferences, actor, now, source="create"))
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.CONTACT_CREATED,
        object_type="contact",
        object_id=contact_id,
        program_id=contact.program_id,
    )
    session.commit()
    return contact


def reveal_contact(
    session: Session,
    vault: Vault,
    *,
    actor: Actor,
    contact_id: uuid.UUID,
    now: datetime,
    purpose: str,
) -> ContactDetails:
    """Open a contact's name and phone for someone allowed to see them; audit it first.

    The audit row is committed before anything is returned: if it cannot be written,
    nothing is shown (S10).
    """
    contact = known_contact(session, contact_id)
    require_on_contact(session, actor, Permission.CONTACT_READ, contact, now)
    cipher = vault.cipher_for(session, contact_id)
    details = ContactDetails(
        contact_id=contact_id,
        name=cipher.open(place("contact_person", "name", contact_id), contact.name_sealed),
        phone=cipher.open(place("contact_person", "phone", contact_id), contact.phone_sealed),
    )
    record_reveal(session, actor=actor, contact=contact, purpose=purpose, now=now)
    session.commit()
    return details


def find_by_phone(session: Session, vault: Vault, raw_phone: str) -> list[ContactPerson]:
    """Find contacts by phone through the blind index, confirming each match by decryption."""
    try:
        e164 = normalize_phone(raw_phone)
    except InvalidPhone:
        return []
    # Every index key: mid re-key a contact's index may be under the old key or the new (S2).
    candidates = session.scalars(
        select(ContactPerson).where(ContactPerson.phone_index.in_(vault.phone_indexes(e164)))
    )
    return [c for c in candidates if _phone_matches(session, vault, c, e164)]


def known_contact(session: Session, contact_id: uuid.UUID) -> ContactPerson:
    """The contact person with this id; 404 naming `contact_id` if there is none."""
    contact = session.get(ContactPerson, contact_id)
    if contact is None:
        raise NotFound("no contact with that id", {"contact_id": "unknown"})
    return contact


def _program_language(session: Session, profiles: Profiles | None, program_id: uuid.UUID) -> str:
    # S12: the program's own language (Caminar Latino), else its profile's.
    program = session.get(Program, program_id)
    return "en" if program is None else referrals.program_language(program, profiles)


def _phone_matches(session: Session, vault: Vault, contact: ContactPerson, e164: str) -> bool:
    cipher = vault.cipher_for(session, contact.id)
    stored = cipher.open(place("contact_person", "phone", contact.id), contact.phone_sealed)
    return vault.same_phone(stored, e164)


def _phone(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except InvalidPhone as exc:
        raise Invalid(str(exc), {"phone": "invalid"}) from None


def _name(raw: str) -> str:
    name = " ".join(raw.split()) if isinstance(raw, str) else ""
    if not name or len(name) > MAX_NAME:
        raise Invalid(f"a name has 1 to {MAX_NAME} characters", {"name": "invalid"})
    return name


def _relationship(value: str) -> str:
    if value not in RELATIONSHIPS:
        raise Invalid(
            f"relationship must be one of {', '.join(RELATIONSHIPS)}", {"relationship": "invalid"}
        )
    return value
