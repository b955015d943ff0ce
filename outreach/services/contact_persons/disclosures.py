"""Compelled disclosures (S7): logged with the attempt to tell the contact, or with the
reason telling them would endanger them, which a second supervisor confirms.

A disclosure the program could not refuse has already happened when it is recorded, so the
record is never refused for want of a notice: it is refused only when it says neither how
the contact will be told nor why they must not be.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain import validation
from outreach.domain.releases import Authority, DisclosedItem
from outreach.models import CompelledDisclosure, ContactPerson, OutreachTask
from outreach.security.permissions import Permission
from outreach.security.vault import Vault, place
from outreach.services.attempts import attempt_log
from outreach.services.contact_persons.releases import (
    choice,
    contact_of,
    program_zone,
)
from outreach.services.errors import Conflict, Invalid, NotFound
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.scheduling import queue
from outreach.services.staff.access import require_on_contact

MAX_TEXT = 2000
# A disclosure time typed a little ahead of the server's clock is a typing slip, not a plan.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class DisclosureReport:
    """What was disclosed under compulsion. `disclosed_at` is aware, or a wall-clock time in
    the program's zone, or None for now."""

    authority: str
    authority_detail: str
    items: tuple[str, ...]
    description: str
    disclosed_at: datetime | None = None
    notice_task_id: uuid.UUID | None = None
    danger_reason: str = ""


@dataclass(frozen=True)
class DisclosureView:
    row: CompelledDisclosure
    authority_detail: str
    description: str
    danger_reason: str | None
    notice_task: OutreachTask | None
    notice_attempts: int

    @property
    def awaiting_confirmation(self) -> bool:
        return self.danger_reason is not None and self.row.danger_confirmed_by is None


def record_disclosure(
    session: Session,
    vault: Vault,
    *,
    actor: Actor,
    contact_id: uuid.UUID,
    report: DisclosureReport,
    now: datetime,
) -> CompelledDisclosure:
    """Log a compelled disclosure with its notice to the contact, or the danger reason."""
    contact = contact_of(session, contact_id)
    require_on_contact(session, actor, Permission.DISCLOSURE_RECORD, contact, now)
    row = _row(session, contact, report, now)
    row.disclosed_by, row.recorded_at = actor.user_id, now
    cipher = vault.cipher_for(session, contact_id)
    row.authority_detail_sealed = cipher.seal(
        _place("authority_detail", row.id), report.authority_detail.strip()
    )
    row.description_sealed = cipher.seal(_place("description", row.id), report.description.strip())
    if report.danger_reason.strip():
        row.danger_reason_sealed = cipher.seal(
            _place("danger_reason", row.id), report.danger_reason.strip()
        )
    session.add(row)
    notice = "task" if row.notice_task_id else "danger_reason"
    _audit(session, actor, AuditAction.DISCLOSURE_RECORDED, row, now, notice=notice)
    session.commit()
    return row


def confirm_danger(
    session: Session,
    *,
    actor: Actor,
    contact_id: uuid.UUID,
    disclosure_id: uuid.UUID,
    now: datetime,
) -> CompelledDisclosure:
    """A second supervisor confirms that telling the contact would endanger them."""
    contact = contact_of(session, contact_id)
    require_on_contact(session, actor, Permission.DISCLOSURE_RECORD, contact, now)
    row = session.get(CompelledDisclosure, disclosure_id)
    if row is None or row.contact_id != contact_id:
        raise NotFound("this contact has no disclosure with that id", {"disclosure_id": "unknown"})
    if row.danger_reason_sealed is None or row.danger_confirmed_by is not None:
        raise Conflict("only an unconfirmed reason not to tell the contact can be confirmed")
    if row.disclosed_by == actor.user_id:
        raise Conflict("a second supervisor confirms this, not the one who recorded it")
    row.danger_confirmed_by, row.danger_confirmed_at = actor.user_id, now
    _audit(session, actor, AuditAction.DISCLOSURE_DANGER_CONFIRMED, row, now)
    session.commit()
    return row


def disclosures_of(
    session: Session, vault: Vault, *, actor: Actor, contact_id: uuid.UUID, now: datetime
) -> list[DisclosureView]:
    """A contact's compelled disclosures, newest first, opened for a supervisor (audited)."""
    contact = contact_of(session, contact_id)
    require_on_contact(session, actor, Permission.DISCLOSURE_RECORD, contact, now)
    rows = list(
        session.scalars(
            select(CompelledDisclosure)
            .where(CompelledDisclosure.contact_id == contact_id)
            .order_by(CompelledDisclosure.disclosed_at.desc())
        )
    )
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.DISCLOSURES_READ,
        object_type="contact",
        object_id=contact_id,
        program_id=contact.program_id,
        contact=queue.reference(contact_id),
        disclosures=len(rows),
    )
    session.commit()
    return [_view(session, vault, row) for row in rows]


def notice_tasks(session: Session, contact_id: uuid.UUID) -> list[OutreachTask]:
    """The contact's tasks, open ones first: where a liaison can tell them of a disclosure."""
    query = select(OutreachTask).where(OutreachTask.contact_id == contact_id)
    found = session.scalars(query.order_by(OutreachTask.created_at.desc()))
    return sorted(found, key=lambda t: t.status != "open")


# --- helpers -------------------------------------------------------------------------------


def _row(
    session: Session, contact: ContactPerson, report: DisclosureReport, now: datetime
) -> CompelledDisclosure:
    fields: dict[str, str] = {}
    authority = choice(fields, "authority", report.authority, Authority)
    items = sorted({choice(fields, "items", i, DisclosedItem) for i in report.items})
    if not items:
        fields["items"] = "say what was disclosed"
    for name in ("authority_detail", "description"):
        if not 0 < len(getattr(report, name).strip()) <= MAX_TEXT:
            fields[name] = f"write 1 to {MAX_TEXT} characters"
    at = _when(session, contact, report.disclosed_at, now, fields)
    _check_notice(session, contact, report, fields)
    if fields:
        raise Invalid("some details of the disclosure are not valid", fields)
    row = CompelledDisclosure(
        contact_id=contact.id,
        program_id=contact.program_id,
        authority=authority,
        disclosed_items=items,
        disclosed_at=at,
        notice_task_id=report.notice_task_id,
    )
    row.ensure_id()
    return row


def _check_notice(
    session: Session, contact: ContactPerson, report: DisclosureReport, fields: dict[str, str]
) -> None:
    # S7: the attempt to tell the contact, or why telling them would endanger them: one of them.
    has_reason = bool(report.danger_reason.strip())
    if (report.notice_task_id is None) == (not has_reason):
        fields["notice"] = (
            "link the task whose attempts tell the contact, or give the reason telling them "
            "would endanger them (one of the two)"
        )
        return
    if len(report.danger_reason) > MAX_TEXT:
        fields["danger_reason"] = f"at most {MAX_TEXT} characters"
    if report.notice_task_id is not None:
        task = session.get(OutreachTask, report.notice_task_id)
        if task is None or task.contact_id != contact.id:
            fields["notice_task_id"] = "must be one of this contact's tasks"


def _when(
    session: Session,
    contact: ContactPerson,
    at: datetime | None,
    now: datetime,
    fields: dict[str, str],
) -> datetime:
    if at is None:
        return now
    if at.tzinfo is None:
        try:
            at = validation.local_instant("disclosed_at", at, program_zone(session, contact))
        except validation.InvalidInput as exc:
            fields[exc.field] = str(exc)
            return now  # refused with the other fields' problems; never stored
    if at > now + CLOCK_SKEW:
        fields["disclosed_at"] = "a disclosure is recorded once it has happened"
    return at


def _view(session: Session, vault: Vault, row: CompelledDisclosure) -> DisclosureView:
    cipher = vault.cipher_for(session, row.contact_id)
    reason = (
        cipher.open(_place("danger_reason", row.id), row.danger_reason_sealed)
        if row.danger_reason_sealed
        else None
    )
    notice = session.get(OutreachTask, row.notice_task_id) if row.notice_task_id else None
    return DisclosureView(
        row=row,
        authority_detail=cipher.open(
            _place("authority_detail", row.id), row.authority_detail_sealed
        ),
        description=cipher.open(_place("description", row.id), row.description_sealed),
        danger_reason=reason,
        notice_task=notice,
        notice_attempts=len(attempt_log.standing_attempts(session, notice.id)) if notice else 0,
    )


def _place(column: str, row_id: uuid.UUID) -> str:
    return place("compelled_disclosure", column, row_id)


def _audit(
    session: Session,
    actor: Actor,
    action: AuditAction,
    row: CompelledDisclosure,
    now: datetime,
    **detail: str,
) -> None:
    record(
        session,
        now=now,
        actor=actor,
        action=action,
        object_type="compelled_disclosure",
        object_id=row.id,
        program_id=row.program_id,
        contact=queue.reference(row.contact_id),
        authority=row.authority,
        items=",".join(row.disclosed_items),
        **detail,
    )
