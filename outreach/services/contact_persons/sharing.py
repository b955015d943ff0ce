"""The one onward path (S7): what goes to a release's recipient, only under a live release.

Any new way of sending a contact's information outside the program (an export, an API
answer to another system) must do what `share` does: check its permission, call
`releases.require_release` for the recipient, purpose and items, and audit the share.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.releases import ScopeItem
from outreach.domain.vocabulary import Outcome
from outreach.models import ContactPerson, ContactRelease, OutreachTask, Participant
from outreach.security.permissions import Permission
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log
from outreach.services.contact_persons.releases import (
    audit_release,
    choice,
    contact_of,
    program_zone,
    release_of,
    require_release,
    sealed_at,
)
from outreach.services.errors import Invalid
from outreach.services.records.audit import Actor, AuditAction
from outreach.services.scheduling import queue
from outreach.services.staff.access import require_on_contact


@dataclass(frozen=True)
class SharingSummary:
    """What goes to the recipient: only the items asked for that the release covers."""

    release_id: uuid.UUID
    reference: str
    participant_reference: str
    recipient_kind: str
    recipient: str
    purpose: str
    expires_at: datetime
    shared_at: datetime
    zone: ZoneInfo
    contact_made: tuple[date, ...] | None
    statement: str | None


def share(
    session: Session,
    vault: Vault,
    *,
    actor: Actor,
    contact_id: uuid.UUID,
    release_id: uuid.UUID,
    items: Collection[str],
    now: datetime,
) -> SharingSummary:
    """Produce what may go to the release's recipient, only under a live release (audited)."""
    contact = contact_of(session, contact_id)
    require_on_contact(session, actor, Permission.RELEASE_SHARE, contact, now)
    row = release_of(session, contact_id, release_id)
    wanted = _items(items)
    row = require_release(
        session,
        actor=actor,
        contact_id=contact.id,
        recipient_kind=row.recipient_kind,
        purpose=row.purpose,
        items=wanted,
        now=now,
        release_id=release_id,
    )
    summary = _summary(session, vault, row, contact, wanted, now)
    audit_release(session, actor, AuditAction.INFORMATION_SHARED, row, now, items=",".join(wanted))
    session.commit()
    return summary


def _summary(
    session: Session,
    vault: Vault,
    row: ContactRelease,
    contact: ContactPerson,
    items: tuple[str, ...],
    now: datetime,
) -> SharingSummary:
    cipher = vault.cipher_for(session, contact.id)
    zone = program_zone(session, contact)
    statement = None
    if ScopeItem.STATEMENT in items and row.statement_sealed:
        statement = cipher.open(sealed_at("statement", row.id), row.statement_sealed)
    participant = session.get(Participant, contact.participant_id)
    reached = ScopeItem.CONTACT_MADE in items
    return SharingSummary(
        release_id=row.id,
        reference=queue.reference(contact.id),
        participant_reference=participant.reference if participant else "",
        recipient_kind=row.recipient_kind,
        recipient=cipher.open(sealed_at("recipient", row.id), row.recipient_sealed),
        purpose=row.purpose,
        expires_at=row.expires_at,
        shared_at=now,
        zone=zone,
        contact_made=_days_reached(session, contact.id, zone, now) if reached else None,
        statement=statement,
    )


def _days_reached(
    session: Session, contact_id: uuid.UUID, zone: ZoneInfo, now: datetime
) -> tuple[date, ...]:
    """The days the program had a conversation that was safe to have (S6), nothing more."""
    task_ids = list(
        session.scalars(select(OutreachTask.id).where(OutreachTask.contact_id == contact_id))
    )
    days = {
        a.at.astimezone(zone).date()
        for task_id in task_ids
        for a in attempt_log.standing_attempts(session, task_id)
        if a.outcome == Outcome.REACHED_SAFE and a.at <= now
    }
    return tuple(sorted(days))


def _items(items: Collection[str]) -> tuple[str, ...]:
    fields: dict[str, str] = {}
    chosen = tuple(sorted({choice(fields, "items", i, ScopeItem) for i in items}))
    if fields or not chosen:
        raise Invalid("choose what to share from what the release covers", {"items": "invalid"})
    return chosen
