"""Contact-person records, kept apart from participant records (S7) and sealed at rest (S10).

Name, phone and free text are stored only as sealed bytes; `outreach.security.vault` seals and
opens them, and every open is audited by the service that asks for it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from outreach.domain.vocabulary import Consent
from outreach.models.base import Base, HasId, Vocabulary


class ContactPerson(HasId, Base):
    __tablename__ = "contact_person"

    participant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participant.id"), index=True)
    # Copied from the participant so access checks need no join through participant records.
    program_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("program.id"), index=True)
    name_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    phone_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # HMAC of the E.164 number: finds a contact from an inbound SMS without decrypting all rows.
    phone_index: Mapped[str] = mapped_column(String(64), index=True)
    # The time zones the number's area code may be in (S4), so planning never needs to open
    # the sealed number. Comma-separated IANA names; empty when the number says nothing.
    phone_zones: Mapped[str] = mapped_column(String(400), default="")
    relationship_to_participant: Mapped[str] = mapped_column(String(40))
    # A mailing address she named as safe for letters (seeds/001 "Massachusetts"), sealed
    # under her own key like her phone (S10); NULL until she names one, or once removed.
    address_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime]


class ContactKey(Base):
    """The contact's own data key, wrapped by the keyring; deleting it erases the record (S10)."""

    __tablename__ = "contact_key"

    contact_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("contact_person.id", ondelete="CASCADE"), primary_key=True
    )
    key_id: Mapped[str] = mapped_column(String(20))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class ContactPreferences(HasId, Base):
    """One version of a contact's consent and preferences; a change is a new version (S1)."""

    __tablename__ = "contact_preferences"
    __table_args__ = (UniqueConstraint("contact_id", "version"),)

    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contact_person.id"), index=True)
    version: Mapped[int]
    consent: Mapped[Consent] = mapped_column(Vocabulary(Consent, 20))
    voice: Mapped[bool]
    sms: Mapped[bool]
    voicemail: Mapped[bool]
    mail: Mapped[bool]
    # [{"days": "MO,TU", "start": "HH:MM", "end": "HH:MM"}] in the contact's own time zone.
    safe_times: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    only_during_group: Mapped[bool]
    language: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # S13: how often she wants a check-in, one of her program profile's choices or "none";
    # NULL until she chooses (the profile's default, if any, applies).
    cadence: Mapped[str | None] = mapped_column(String(40))
    # Issue 20 item 8: she asked for status updates on his attendance and progress, where
    # her program offers them (seeds/001 Caminar Latino, Emerge; seeds/004 PCADV).
    updates: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Why this version exists: "liaison", "api", "import", "sms_keyword", "demo".
    source: Mapped[str] = mapped_column(String(20))
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime]


class OptBackIn(HasId, Base):
    """She asked to be contacted again after declining (S1): held until a supervisor confirms.

    Her words are sealed under her own key, as her notes are (S10); `changes` holds only the
    permissions she gave (booleans), applied as a new preferences version on confirmation."""

    __tablename__ = "opt_back_in"

    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contact_person.id"), index=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    words_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    requested_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    requested_at: Mapped[datetime]
    confirmed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    confirmed_at: Mapped[datetime | None]
