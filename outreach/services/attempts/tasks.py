"""A task itself: opening one from its protocol's spec, finding one, loading one to work,
and the windows its attempts fall in.

Opening reads what she permits (S1) and whether he may be the victim (S11). Loading refuses a
duty to warn held for a supervisor (S1, S8) and a task another liaison's claim holds. One window
is one group session, else one day in the contact's own time zone (S5).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, case, cast, distinct, func, select
from sqlalchemy.orm import Session

from outreach.domain.planning.group_sessions import GroupSchedule, group_sessions
from outreach.domain.protocols.profile import Permissions, Profile, TaskSpec
from outreach.domain.vocabulary import EventType, Severity, TaskReason, TaskStatus
from outreach.models import (
    Attempt,
    ContactPerson,
    Group,
    OutreachTask,
    Participant,
    Program,
    ProgramEvent,
)
from outreach.security.permissions import Permission
from outreach.services.contact_persons import preferences
from outreach.services.errors import Conflict, NotFound
from outreach.services.records.audit import Actor
from outreach.services.staff.access import require
from outreach.services.supervision import holds

Profiles = Mapping[str, Profile]
TAKEN = "another liaison is working this task; it returns to the queue when their claim ends"
# S1, S8: a duty to warn held for a supervisor.
HELD = "this duty to warn reaches a contact who declined: it waits for a supervisor to confirm it"


# --- opening a task ----------------------------------------------------------------------


def open_task(
    session: Session,
    spec: TaskSpec,
    contact: ContactPerson,
    event: ProgramEvent | None,
    severity: Severity,
    now: datetime,
) -> OutreachTask:
    """Open, in the caller's transaction, the task a protocol's spec describes for her."""
    task = OutreachTask(
        program_id=contact.program_id,
        contact_id=contact.id,
        event_id=None if event is None else event.id,
        reason=spec.reason.value,
        script=spec.script,
        channels=[c.value for c in spec.channels],
        opens_at=spec.opens_at,
        due_by=spec.due_by,
        severity=severity.value,
        min_attempts=spec.min_attempts,
        priority=spec.priority,
        consent_override=spec.consent_override,
        status=TaskStatus.OPEN.value,
        created_at=now,
    )
    task.ensure_id()
    session.add(task)
    return task


def permissions(session: Session, contact: ContactPerson) -> Permissions:
    """What she now permits, for the protocol to choose a task's channels from."""
    # S1: a task only uses channels both the protocol and her current permissions allow.
    prefs = preferences.current_preferences(session, contact.id)
    return preferences.channel_permissions(prefs, contact)


def may_be_victim(session: Session, participant_id: uuid.UUID) -> bool:
    """S11: whether a program event says the participant may be the victim."""
    return (
        session.scalar(
            select(ProgramEvent.id)
            .where(
                ProgramEvent.participant_id == participant_id,
                ProgramEvent.type == EventType.PARTICIPANT_MAY_BE_VICTIM.value,
            )
            .limit(1)
        )
        is not None
    )


def open_of(session: Session, contact_id: uuid.UUID, reason: TaskReason) -> list[OutreachTask]:
    """Her open tasks of one reason."""
    return list(
        session.scalars(
            select(OutreachTask).where(
                OutreachTask.contact_id == contact_id,
                OutreachTask.reason == reason.value,
                OutreachTask.status == TaskStatus.OPEN.value,
            )
        )
    )


# --- loading a task to work -----------------------------------------------------------------


def find_task(session: Session, task_id: uuid.UUID) -> OutreachTask:
    """The task with that id; NotFound if there is none."""
    task = session.get(OutreachTask, task_id)
    if task is None:
        raise NotFound("no task with that id", {"task_id": "unknown"})
    return task


def task_to_work(session: Session, actor: Actor, task_id: uuid.UUID, now: datetime) -> OutreachTask:
    """Load a task the actor may work on: contact work within the task's program (audited)."""
    task = find_task(session, task_id)
    require(
        session,
        actor,
        Permission.ATTEMPT_RECORD,
        task.program_id,
        now=now,
        object_type="task",
        object_id=task_id,
    )
    if holds.is_held(session, task):
        raise Conflict(HELD, {"task": "held"})
    return task


def refuse_if_taken(task: OutreachTask, actor: Actor, now: datetime) -> None:
    """Two liaisons never work one task at once: while another person's claim lasts, nobody
    else records on the task, from the pages or the API. The service's own writes (a call's
    outcome arriving by webhook) belong to the claim holder's call and pass."""
    expires = task.claim_expires_at
    held = task.claimed_by is not None and expires is not None and expires > now
    if held and actor.user_id is not None and task.claimed_by != actor.user_id:
        raise Conflict(TAKEN)


def release_claim(task: OutreachTask) -> None:
    """A closed task leaves the queue; its lease ends, and the version fences late writes."""
    if task.claimed_by is not None:
        task.claimed_by, task.claim_expires_at = None, None
        task.claim_version += 1


# --- the windows attempts fall in (S5) -----------------------------------------------------


def session_of(
    session: Session, task: OutreachTask, at: datetime
) -> tuple[uuid.UUID | None, date | None]:
    """Find the group session the attempt fell in, so S5 can tell windows apart."""
    contact = session.get(ContactPerson, task.contact_id)
    participant = session.get(Participant, contact.participant_id) if contact else None
    group = (
        session.get(Group, participant.group_id) if participant and participant.group_id else None
    )
    if group is None:
        return None, None
    found = group_sessions(schedule_of(group), start=at, end=at + timedelta(seconds=1))
    return (group.id, found[0].session_date) if found else (None, None)


def local_day(session: Session, task: OutreachTask, at: datetime) -> date:
    """The day of `at` where the contact lives, the zone the task page shows (S5 windows)."""
    return at.astimezone(contact_zone_of(session, task)).date()


def contact_zone_of(session: Session, task: OutreachTask) -> ZoneInfo:
    """The zone of the task's contact (preferences.contact_zone), read from the database."""
    program = session.get(Program, task.program_id)
    assert program is not None  # a task's program is a foreign key
    return preferences.contact_zone(
        preferences.current_preferences(session, task.contact_id), program
    )


def schedule_of(group: Group, cancelled: frozenset[date] = frozenset()) -> GroupSchedule:
    """The group's schedule as the planner reads it, the sessions `cancelled` marked so."""
    return GroupSchedule(
        group_id=str(group.id),
        timezone=group.timezone,
        rrule=group.rrule,
        start_time=group.start_time,
        duration_minutes=group.duration_minutes,
        starts_on=group.starts_on,
        ends_on=group.ends_on,
        cancelled=cancelled,
    )


def windows_counted(session: Session, task_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """distinct_windows of many tasks' standing attempts, counted by the database.

    The queue shows "1 of 2" for a page of tasks with hundreds of attempts each; this reads
    one number a task instead of every attempt. It must agree with distinct_windows: the
    same window is the same group session, else the same day in the contact's own time zone
    (`window_day`; the UTC day only for a row without one). A test holds them equal.
    """
    corrected = select(Attempt.corrects_id).where(
        Attempt.task_id.in_(task_ids), Attempt.corrects_id.is_not(None)
    )
    window = case(
        (
            Attempt.session_date.is_not(None),
            "s:"
            + func.coalesce(cast(Attempt.group_id, String), "-")
            + ":"
            + cast(Attempt.session_date, String),
        ),
        else_="d:" + cast(func.coalesce(Attempt.window_day, _utc_day(session, Attempt.at)), String),
    )
    rows = session.execute(
        select(Attempt.task_id, func.count(distinct(window)))
        .where(Attempt.task_id.in_(task_ids), Attempt.id.not_in(corrected))
        .group_by(Attempt.task_id)
    )
    return {task_id: int(count) for task_id, count in rows}


def _utc_day(session: Session, at: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", at))
    return func.date(at)  # SQLite keeps UTC as naive text (models/base.py)
