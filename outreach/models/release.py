"""Releases of information and compelled disclosures, kept with the contact's record (S7).

Free text that could name or locate someone (the recipient, the contact's own words, a case
number, why telling the contact would endanger them) is sealed with the contact's key (S10),
so erasing the contact erases it too. Vocabulary values and dates stay plain so the
service can decide whether a release is live without opening anything.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from outreach.models.base import Base, HasId


class ContactRelease(HasId, Base):
    """The contact's written release: one recipient, one purpose, what may go, until when."""

    __tablename__ = "contact_release"

    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contact_person.id"), index=True)
    # Copied from the contact so access checks need no join.
    program_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("program.id"), index=True)
    recipient_kind: Mapped[str] = mapped_column(String(30))
    recipient_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    purpose: Mapped[str] = mapped_column(String(30))
    # ScopeItem values (outreach/domain/releases.py).
    scope: Mapped[list[str]] = mapped_column(JSON)
    # What the contact agreed may be shared, in their words; only with the "statement" scope.
    statement_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    given_as: Mapped[str] = mapped_column(String(30))
    granted_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    revoked_how: Mapped[str | None] = mapped_column(String(20))


class CompelledDisclosure(HasId, Base):
    """A disclosure the program could not refuse (court order, subpoena, statute), and how
    the contact was told, or why telling them would endanger them (confirmed by a supervisor)."""

    __tablename__ = "compelled_disclosure"
    __table_args__ = (
        CheckConstraint(
            "notice_task_id IS NOT NULL OR danger_reason_sealed IS NOT NULL", name="notice"
        ),
    )

    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contact_person.id"), index=True)
    program_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("program.id"), index=True)
    authority: Mapped[str] = mapped_column(String(20))
    # The court, case number or statute: sealed, it can point to the people involved.
    authority_detail_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # DisclosedItem values, and what exactly went, sealed.
    disclosed_items: Mapped[list[str]] = mapped_column(JSON)
    description_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    disclosed_at: Mapped[datetime]
    # The supervisor who made or oversaw the disclosure and records it.
    disclosed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime]
    # The outreach task whose attempts tell the contact about it ...
    notice_task_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("outreach_task.id"))
    # ... or why telling them would endanger them, which a second supervisor confirms.
    danger_reason_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    danger_confirmed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    danger_confirmed_at: Mapped[datetime | None]
