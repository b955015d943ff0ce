"""Program-side records: programs, groups, cancellations, participants, attendance."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain import validation
from outreach.domain.protocols.profile import Profile
from outreach.domain.vocabulary import LANGUAGES, AttendanceStatus
from outreach.models import Attendance, Group, Participant, Program, SessionCancellation, User
from outreach.security.permissions import Permission
from outreach.services.attempts import tasks
from outreach.services.errors import Conflict, Invalid, NotFound
from outreach.services.intake import absences, events
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.staff.access import require
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
    actor: Actor,
    protocols_dir: Path = PROTOCOLS_DIR,
    language: str | None = None,
) -> Program:
    """Create a program run by one of the protocol profiles in config/protocols/; `language`
    (S12) makes it, say, Spanish-first on a profile others run in English."""
    require(session, actor, Permission.ADMIN_PROGRAMS, None, now=now, object_type="program")
    tz = _checked(validation.timezone_name, "timezone", timezone)
    if not (protocols_dir / f"{protocol}.toml").is_file():
        raise Invalid(f"no protocol profile named {protocol!r}", {"protocol": "unknown"})
    if session.scalar(select(Program.id).where(Program.key == key)) is not None:
        raise Conflict(f"a program with key {key!r} already exists", {"key": "taken"})
    if language is not None and language not in LANGUAGES:
        raise Invalid("no scripts in that language", {"language": f"must be one of {LANGUAGES}"})
    program = Program(
        key=key, name=name, protocol=protocol, timezone=tz, language=language, created_at=now
    )
    program.ensure_id()
    session.add(program)
    _scope_creator(session, actor, program)
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
    actor: Actor,
) -> Group:
    """Create a recurring group session."""
    _get(session, Program, program_id, "program")
    require(
        session,
        actor,
        Permission.PROGRAM_SCHEDULE_WRITE,
        program_id,
        now=now,
        object_type="program",
        object_id=program_id,
    )
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
    session: Session,
    profiles: Mapping[str, Profile],
    *,
    group_id: uuid.UUID,
    session_date: date,
    reason: str,
    now: datetime,
    actor: Actor,
) -> SessionCancellation:
    """Record that the program cancelled one session (S4: it yields no window), and open the
    contacts its protocol requires for the partners of the group's participants (Georgia).

    A second recording of the same cancellation changes nothing and opens nothing new. What
    is answered says only that it was recorded: a facilitator never learns whether a contact
    exists or was asked (S7)."""
    group = _get(session, Group, group_id, "group")
    require(
        session,
        actor,
        Permission.PROGRAM_SCHEDULE_WRITE,
        group.program_id,
        now=now,
        object_type="group",
        object_id=group_id,
    )
    existing = session.scalar(
        select(SessionCancellation).where(
            SessionCancellation.group_id == group_id,
            SessionCancellation.session_date == session_date,
        )
    )
    if existing is not None:
        return existing
    cancellation = SessionCancellation(
        group_id=group_id,
        session_date=session_date,
        reason=reason[:200],
        created_at=now,
        recorded_by=actor.user_id,
    )
    session.add(cancellation)
    profile = _profile_of(session, profiles, group.program_id)
    events.open_for_cancelled_class(
        session, profile, actor=actor, group=group, session_date=session_date, now=now
    )
    session.commit()
    return cancellation


def _profile_of(
    session: Session, profiles: Mapping[str, Profile], program_id: uuid.UUID
) -> Profile:
    program = _get(session, Program, program_id, "program")
    profile = profiles.get(program.protocol)
    if profile is None:
        raise Conflict(f"the program's protocol {program.protocol!r} is not loaded")
    return profile


def add_participant(
    session: Session,
    *,
    program_id: uuid.UUID,
    group_id: uuid.UUID | None,
    reference: str,
    now: datetime,
    actor: Actor,
) -> Participant:
    """Enrol a participant, known here only by the program's own reference (S7)."""
    _get(session, Program, program_id, "program")
    require(
        session,
        actor,
        Permission.PROGRAM_SCHEDULE_WRITE,
        program_id,
        now=now,
        object_type="program",
        object_id=program_id,
    )
    if session.scalar(
        select(Participant.id).where(
            Participant.program_id == program_id, Participant.reference == reference
        )
    ):
        raise Conflict("that reference is already enrolled", {"reference": "taken"})
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
    profiles: tasks.Profiles,
    *,
    participant_id: uuid.UUID,
    session_date: date,
    status: str,
    checked_in_at: datetime | None,
    now: datetime,
    actor: Actor,
) -> Attendance:
    """Record or update whether the participant is in group on that date; a new absence is
    news for the contacts who asked for updates on his attendance (services/absences)."""
    participant = _get(session, Participant, participant_id, "participant")
    require(
        session,
        actor,
        Permission.ATTENDANCE_WRITE,
        participant.program_id,
        now=now,
        object_type="participant",
        object_id=participant_id,
    )
    value = _checked(validation.choice, "status", status, AttendanceStatus)
    row = session.scalar(
        select(Attendance).where(
            Attendance.participant_id == participant_id, Attendance.session_date == session_date
        )
    )
    if row is None:
        row = Attendance(participant_id=participant_id, session_date=session_date, recorded_at=now)
        session.add(row)
    newly_absent = value == AttendanceStatus.ABSENT.value and row.status != value
    row.status, row.checked_in_at = value, checked_in_at
    row.recorded_by, row.recorded_at = actor.user_id, now
    if newly_absent:
        absences.marked_absent(
            session, profiles, actor=actor, participant=participant, day=session_date, now=now
        )
    session.commit()
    return row


def _scope_creator(session: Session, actor: Actor, program: Program) -> None:
    """The admin who creates a program can work in it at once."""
    if actor.user_id is not None:
        user = session.get(User, actor.user_id)
        if user is not None:
            user.programs.append(program)


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


def program_by_key(session: Session, key: str) -> Program:
    program = session.scalar(select(Program).where(Program.key == key))
    if program is None:
        raise NotFound("no program with that key", {"program": "unknown"})
    return program
