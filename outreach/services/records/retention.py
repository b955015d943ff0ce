"""Retention: when a contact person's record is due for deletion (S10).

Each program's protocol profile says how many years its contact records are kept
(`retention_years`). A record is *due* when

- no task for the contact is open, and no "unreachable" closure still waits for a
  supervisor's sign-off (so a duty to warn in progress always keeps it), and
- nothing has happened on it for the whole period: the newest of its creation, a change of
  preferences, a task opened, closed or signed off, an attempt, a message sent or received,
  and a program event about the participant (a case still in the program keeps its contact
  records) is at least `retention_years` old (ACTIVITY below).

`outreach.services.records.purge` deletes what is due; docs/security/retention.md tells the whole
story.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    Table,
    and_,
    exists,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from outreach.domain.protocols.profile import Profile
from outreach.domain.vocabulary import TaskStatus
from outreach.models import Base, ContactPerson, OutreachTask, Program, ProgramEvent
from outreach.services.errors import Conflict, NotFound

CONTACT = Base.metadata.tables["contact_person"]
TASK = Base.metadata.tables["outreach_task"]
ATTEMPT = Base.metadata.tables["attempt"]


@dataclass(frozen=True)
class Retention:
    """One program's retention: records whose last activity is at or before `cutoff` are due."""

    program_id: uuid.UUID
    program_key: str
    years: int
    cutoff: datetime


@dataclass(frozen=True)
class DueRecords:
    """The contacts due for deletion, program by program."""

    programs: tuple[tuple[Retention, tuple[uuid.UUID, ...]], ...]

    @property
    def total(self) -> int:
        return sum(len(ids) for _, ids in self.programs)


# --- what is due ----------------------------------------------------------------------


def retention_rules(
    session: Session, profiles: Mapping[str, Profile], *, now: datetime, program_key: str | None
) -> list[Retention]:
    """Answer each program's retention cutoff at `now`; refuse a program without its profile."""
    query = select(Program).order_by(Program.key)
    if program_key is not None:
        query = query.where(Program.key == program_key)
    programs = list(session.scalars(query))
    if program_key is not None and not programs:
        raise NotFound(f"no program with the key {program_key!r}", {"program": "unknown"})
    return [_retention(program, profiles, now) for program in programs]


def _retention(program: Program, profiles: Mapping[str, Profile], now: datetime) -> Retention:
    profile = profiles.get(program.protocol)
    if profile is None:  # never guess a period: deleting too early cannot be undone
        raise Conflict(
            f"program {program.key!r}: its protocol {program.protocol!r} is not loaded, "
            "so its retention period is unknown; nothing was deleted"
        )
    cutoff = now - relativedelta(years=profile.retention_years)
    return Retention(program.id, program.key, profile.retention_years, cutoff)


def find_due(
    session: Session,
    profiles: Mapping[str, Profile],
    *,
    now: datetime,
    program_key: str | None = None,
) -> DueRecords:
    """Find the contact records whose retention has run out, by program."""
    rules = retention_rules(session, profiles, now=now, program_key=program_key)
    return DueRecords(tuple((rule, due_contacts(session, rule)) for rule in rules))


def due_contacts(session: Session, rule: Retention) -> tuple[uuid.UUID, ...]:
    """Answer the program's contacts that are due: no open work, nothing since the cutoff."""
    scope = select(ContactPerson.id).where(ContactPerson.program_id == rule.program_id)
    return tuple(session.scalars(_due(scope, rule.cutoff).order_by(ContactPerson.id)))


def is_due(session: Session, rule: Retention, contact_id: uuid.UUID) -> bool:
    """Tell whether one contact is due now (checked again inside its purge)."""
    scope = select(ContactPerson.id).where(
        ContactPerson.id == contact_id, ContactPerson.program_id == rule.program_id
    )
    return session.scalar(_due(scope, rule.cutoff)) is not None


def _due(scope: Select[tuple[uuid.UUID]], cutoff: datetime) -> Select[tuple[uuid.UUID]]:
    activity = _activity(scope).subquery()
    quiet = (
        select(activity.c.contact_id)
        .group_by(activity.c.contact_id)
        .having(func.max(activity.c.at) <= cutoff)
    )
    return select(ContactPerson.id).where(
        ContactPerson.id.in_(scope), ContactPerson.id.in_(quiet), ~_open_work()
    )


def _open_work() -> ColumnElement[bool]:
    task = OutreachTask
    awaiting_sign_off = and_(
        task.status == TaskStatus.UNREACHABLE.value, task.signed_off_by.is_(None)
    )
    return exists().where(
        task.contact_id == ContactPerson.id,
        or_(task.status == TaskStatus.OPEN.value, awaiting_sign_off),
    )


# What counts as something happening on a record, by table. Every other time in a record is
# a schedule or bookkeeping (NOT_ACTIVITY); a unit test holds each time to one list or the
# other, so a table added to the record later is sorted too. A table absent from this
# version's schema is passed over.
ACTIVITY: dict[str, tuple[str, ...]] = {
    "contact_person": ("created_at",),
    "contact_preferences": ("recorded_at",),
    "outreach_task": ("created_at", "closed_at", "signed_off_at", "reopened_at"),
    "attempt": ("at", "recorded_at"),
    "delivery": ("created_at", "sent_at", "settled_at"),
    "inbound_message": ("received_at", "read_at"),
    "text_trace": ("at",),  # her keyword or answer, our reply to her
    "outbox_message": ("at",),
    "contact_release": ("granted_at", "recorded_at", "revoked_at"),
    "compelled_disclosure": ("disclosed_at", "recorded_at", "danger_confirmed_at"),
    "opt_back_in": ("requested_at", "confirmed_at"),
}
NOT_ACTIVITY: dict[str, tuple[str, ...]] = {
    "contact_key": ("created_at",),  # made with the contact, moved by key rotation
    "outreach_task": ("opens_at", "due_by", "claim_expires_at"),  # plans, not events
    "attempt": ("callback_at",),  # a time the contact suggested
    "delivery": ("due_at", "expires_at", "claimed_at"),
    "contact_release": ("expires_at",),
    "planned_window": ("starts_at", "ends_at"),
    "task_plan": ("planned_at", "planned_until"),
    "webhook_event": ("received_at", "applied_at"),  # its delivery's own times count
}


def _activity(scope: Select[tuple[uuid.UUID]]) -> CompoundSelect[Any]:
    """Every moment something happened on a contact's record: (contact_id, at) rows."""
    parts: list[Select[Any]] = []
    for name, columns in ACTIVITY.items():
        table = Base.metadata.tables.get(name)
        if table is not None:
            parts += [_moments(table, table.c[column]) for column in columns]
    # An event about the participant: a case still in the program keeps its contact records.
    c = ContactPerson
    parts += [
        select(c.id, col).join(ProgramEvent, ProgramEvent.participant_id == c.participant_id)
        for col in (ProgramEvent.at, ProgramEvent.created_at)
    ]
    return union_all(*(part.where(part.selected_columns[0].in_(scope)) for part in parts))


def _moments(table: Table, column: Any) -> Select[Any]:
    if table is CONTACT:
        return select(CONTACT.c.id.label("contact_id"), column.label("at"))
    if table is ATTEMPT:
        return select(TASK.c.contact_id, column).join(ATTEMPT, ATTEMPT.c.task_id == TASK.c.id)
    return select(table.c.contact_id, column)
