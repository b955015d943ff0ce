"""Program-side records: programs, groups, cancellations, participants, attendance."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain import validation
from outreach.domain.vocabulary import AttendanceStatus
from outreach.models import Attendance, Group, Participant, Program, SessionCancellation
from outreach.services.audit import SYSTEM, Actor, AuditAction, record
from outreach.services.errors import Conflict, Invalid, NotFound
from outreach.settings import PROJECT_ROOT

PROTOCOLS_DIR = PROJECT_ROOT / "config" / "protocols"
_Row = TypeVar("_Row")
_Value = TypeVar("_Value")


def create_program(
    session: Session,
    *,
    key: str,
    name: str,
    protocol: str,
    timezone: str,
    now: datetime,
    actor: Actor = SYSTEM,
    protocols_dir: Path = PROTOCOLS_DIR,
) -> Program:
    """Create a program run by one of the protocol profiles in config/protocols/."""
    tz = _checked(validation.timezone_name, "timezone", timezone)
    if not (protocols_dir / f"{protocol}.toml").is_file():
        raise Invalid(f"no protocol profile named {protocol!r}", {"protocol": "unknown"})
    if session.scalar(select(Program.id).where(Program.key == key)) is not None:
        raise Conflict(f"a program with key {key!r} already exists", {"key": "taken"})
    program = Program(key=key, name=name, protocol=protocol, timezone=tz, created_at=now)
    program.ensure_id()
    session.add(program)
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.PROGRAM_CREATED,
        object_type="program",
        object_id=program.id,
        program_id=program.id,
    )
    session.commit()
    return program


def create_group(
    session: Session,
    *,
    program_id: uuid.UUID,
    name: str,
    timezone: str,
    rrule: str,
    start_time: str,
    duration_minutes: int,
    starts_on: date,
    ends_on: date | None,
    now: datetime,
) -> Group:
    """Create a recurring group session."""
    _get(session, Program, program_id, "program")
    if not 15 <= duration_minutes <= 600:
        raise Invalid("duration must be 15 to 600 minutes", {"duration_minutes": "out of range"})
    if ends_on is not None and ends_on < starts_on:
        raise Invalid("the group cannot end before it starts", {"ends_on": "before starts_on"})
    group = Group(
        program_id=program_id,
        name=name,
        timezone=_checked(validation.timezone_name, "timezone", timezone),
        rrule=_checked(validation.recurrence_rule, "rrule", rrule, starts_on),
        start_time=_checked(validation.clock_time, "start_time", start_time),
        duration_minutes=duration_minutes,
        starts_on=starts_on,
        ends_on=ends_on,
        created_at=now,
    )
    session.add(group)
    session.commit()
    return group


def cancel_session(
    session: Session, *, group_id: uuid.UUID, session_date: date, reason: str, now: datetime
) -> SessionCancellation:
    """Record that the program cancelled one session (S4: it yields no window)."""
    _get(session, Group, group_id, "group")
    existing = session.scalar(
        select(SessionCancellation).where(
            SessionCancellation.group_id == group_id,
            SessionCancellation.session_date == session_date,
        )
    )
    if existing is not None:
        return existing
    cancellation = SessionCancellation(
        group_id=group_id, session_date=session_date, reason=reason[:200], created_at=now
    )
    session.add(cancellation)
    session.commit()
    return cancellation


def add_participant(
    session: Session,
    *,
    program_id: uuid.UUID,
    group_id: uuid.UUID | None,
    reference: str,
    now: datetime,
) -> Participant:
    _get(session, Program, program_id, "program")
    if group_id is not None and _get(session, Group, group_id, "group").program_id != program_id:
        raise Invalid("the group belongs to another program", {"group_id": "other program"})
    participant = Participant(
        program_id=program_id, group_id=group_id, reference=reference, created_at=now
    )
    session.add(participant)
    session.commit()
    return participant


def record_attendance(
    session: Session,
    *,
    participant_id: uuid.UUID,
    session_date: date,
    status: str,
    checked_in_at: datetime | None,
    now: datetime,
    actor: Actor = SYSTEM,
) -> Attendance:
    """Record or update whether the participant is in group on that date."""
    _get(session, Participant, participant_id, "participant")
    value = _checked(validation.choice, "status", status, AttendanceStatus)
    row = session.scalar(
        select(Attendance).where(
            Attendance.participant_id == participant_id, Attendance.session_date == session_date
        )
    )
    if row is None:
        row = Attendance(participant_id=participant_id, session_date=session_date, recorded_at=now)
        session.add(row)
    row.status, row.checked_in_at = value, checked_in_at
    row.recorded_by, row.recorded_at = actor.user_id, now
    session.commit()
    return row


def _get(session: Session, model: type[_Row], row_id: uuid.UUID, what: str) -> _Row:
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"no {what} with that id", {f"{what}_id": "unknown"})
    return row


def _checked(check: Callable[..., _Value], field: str, *args: object) -> _Value:
    """Run a validation check and turn its complaint into an Invalid naming the field."""
    try:
        return check(field, *args)
    except validation.InvalidInput as exc:
        raise Invalid(f"{field} {exc}", {field: str(exc)}) from None
