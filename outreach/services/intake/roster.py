"""What a facilitator sees: groups, sessions, participants by reference, attendance (S7).

Nothing here reads a contact-person table: a facilitator's page cannot leak what it never had.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.planning.group_sessions import Session as GroupSession
from outreach.domain.planning.group_sessions import group_sessions
from outreach.models import Attendance, Group, Participant, Program, SessionCancellation
from outreach.security.permissions import Permission
from outreach.services.attempts.tasks import schedule_of
from outreach.services.errors import NotFound
from outreach.services.records.audit import Actor
from outreach.services.staff.access import require


@dataclass(frozen=True)
class GroupView:
    group: Group
    program: Program
    day: date
    meets: bool
    cancelled: bool
    sessions: list[GroupSession]
    participants: list[Participant]
    marks: dict[uuid.UUID, Attendance]


def groups(session: Session, *, actor: Actor, now: datetime) -> list[tuple[Program, list[Group]]]:
    """The groups of the actor's programs."""
    require(session, actor, Permission.ATTENDANCE_WRITE, None, now=now, object_type="group")
    query = select(Program).order_by(Program.key)
    if actor.user_id is not None:
        query = query.where(Program.id.in_(list(actor.program_ids)))
    return [(p, sorted(p.groups, key=lambda g: g.name)) for p in session.scalars(query)]


def group_view(
    session: Session, *, actor: Actor, group_id: uuid.UUID, day: date | None, now: datetime
) -> GroupView:
    """One group: its coming sessions, and its participants' attendance on one date."""
    group = session.get(Group, group_id)
    if group is None:
        raise NotFound("no group with that id", {"group_id": "unknown"})
    require(
        session,
        actor,
        Permission.ATTENDANCE_WRITE,
        group.program_id,
        now=now,
        object_type="group",
        object_id=group_id,
    )
    zone = ZoneInfo(group.timezone)
    chosen = day or now.astimezone(zone).date()
    sessions = _sessions(session, group, now)
    on_day = [s for s in _sessions(session, group, _midnight(chosen, zone), days=1)]
    participants = list(
        session.scalars(
            select(Participant)
            .where(Participant.group_id == group.id)
            .order_by(Participant.reference)
        )
    )
    return GroupView(
        group=group,
        program=group.program,
        day=chosen,
        meets=any(s.session_date == chosen for s in on_day),
        cancelled=any(s.session_date == chosen and s.cancelled for s in on_day),
        sessions=sessions,
        participants=participants,
        marks=_marks(session, [p.id for p in participants], chosen),
    )


def _sessions(
    session: Session, group: Group, start: datetime, days: int = 28
) -> list[GroupSession]:
    cancelled = frozenset(
        session.scalars(
            select(SessionCancellation.session_date).where(SessionCancellation.group_id == group.id)
        )
    )
    return group_sessions(
        schedule_of(group, cancelled), start=start, end=start + timedelta(days=days)
    )


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _marks(session: Session, ids: list[uuid.UUID], day: date) -> dict[uuid.UUID, Attendance]:
    rows = session.scalars(
        select(Attendance).where(Attendance.participant_id.in_(ids), Attendance.session_date == day)
    )
    return {row.participant_id: row for row in rows}
