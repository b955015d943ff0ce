"""Program events reaching tasks: an event recorded opens the tasks its program's protocol
requires and the status updates her contact asked for; a cancelled class opens the contacts
its profile asks for.

S1: a declined contact gets nothing but a supervisor-confirmed duty to warn. S4/S13: his status
over time stays a history that could have happened. S7: only staff who may read contacts learn
what an event opened. S11: once he may be the victim, only the resources-only contact is made.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain import participation
from outreach.domain.protocols.engine import tasks_for_event, update_due
from outreach.domain.protocols.profile import Profile, TaskSpec
from outreach.domain.vocabulary import EventType, Severity, TaskReason, TaskStatus
from outreach.models import ContactPerson, Group, OutreachTask, Participant, Program, ProgramEvent
from outreach.security.permissions import Permission
from outreach.services.attempts import closing, tasks
from outreach.services.contact_persons import preferences
from outreach.services.errors import Conflict, Invalid, NotFound
from outreach.services.intake import event_dates, participant_status
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.staff.access import allowed, require
from outreach.services.supervision import on_call_notice


def report_event(
    session: Session,
    profiles: tasks.Profiles,
    *,
    actor: Actor,
    participant_id: uuid.UUID,
    event_type: str,
    at: datetime,
    severity: str,
    now: datetime,
    days: Mapping[str, date | None] | None = None,
) -> tuple[ProgramEvent, list[OutreachTask]]:
    """Record a program event and open the tasks the program's protocol requires; `days`
    carries the day a dated event is about (event_dates)."""
    participant = _participant(session, participant_id)
    require(
        session,
        actor,
        Permission.PROGRAM_EVENT_WRITE,
        participant.program_id,
        now=now,
        object_type="participant",
        object_id=participant_id,
    )
    found = record_event(
        session,
        profiles,
        actor=actor,
        participant=participant,
        event_type=event_type,
        at=at,
        severity=severity,
        now=now,
        days=days,
    )
    session.commit()
    return found


def record_event(
    session: Session,
    profiles: tasks.Profiles,
    *,
    actor: Actor,
    participant: Participant,
    event_type: str,
    at: datetime,
    severity: str,
    now: datetime,
    days: Mapping[str, date | None] | None = None,
) -> tuple[ProgramEvent, list[OutreachTask]]:
    """report_event's work in the caller's transaction, for a service that has checked the
    actor's right to write what brings the event (an absence marked on the attendance)."""
    participant_id = participant.id
    kind, level = _event_type(event_type), _severity(severity)
    recorded = participant_status.recording_time(session, participant.id, now)
    _check_history(session, participant, kind, at, recorded)
    planned = event_dates.planned_day(session, participant.program_id, kind, at, days or {})
    flagged = tasks.may_be_victim(session, participant_id)  # S11: read before this event is added
    event = ProgramEvent(
        participant_id=participant_id,
        type=kind.value,
        at=at,
        severity=level.value,
        planned_for=planned.day,
        recorded_by=actor.user_id,
        created_at=recorded,
    )
    event.ensure_id()
    session.add(event)
    profile = _profile(session, profiles, participant.program_id)
    opened = [
        tasks.open_task(session, spec, contact, event, level, now)
        for contact in _contacts_of(session, participant_id)
        for spec in tasks_for_event(
            profile,
            kind,
            at=at,
            severity=level,
            permissions=tasks.permissions(session, contact),
            participant_may_be_victim=flagged,
            day_begins=planned.begins,
        )
    ]
    opened += _status_updates(session, profile, actor, event, kind, opened, flagged, now)
    on_call_notice.event_recorded(session, actor, event, participant.program_id, opened, now)
    if kind is EventType.PARTICIPANT_MAY_BE_VICTIM and not flagged:
        _stand_down(session, actor, participant_id, opened, now)
    return event, opened


# --- status updates she asked for (issue 20 item 8) ----------------------------------------


def _status_updates(
    session: Session,
    profile: Profile,
    actor: Actor,
    event: ProgramEvent,
    kind: EventType,
    opened: Sequence[OutreachTask],
    flagged: bool,
    now: datetime,
) -> list[OutreachTask]:
    """Open, in the caller's transaction, the status updates this event of his gives the
    contacts who asked for them (seeds/001 Caminar Latino: "general updates on the abusive
    partner's attendance and progress"; seeds/004 PCADV item 4: "attendance"; seeds/001
    Emerge: "monthly participant progress reports, which victims are entitled to receive").

    A contact the event already gives a task (a leave the protocol requires a call for) hears
    his status on that call: no second task. While an update of hers is open, a new event is
    recorded on it, not opened again: the script reads his status when she is called, so
    that one call tells her the latest."""
    told = {task.contact_id for task in opened}
    found: list[OutreachTask] = []
    for contact in _contacts_of(session, event.participant_id):
        if contact.id in told:
            continue
        spec = update_due(
            profile,
            kind,
            at=event.at,
            permissions=tasks.permissions(session, contact),
            wants_updates=preferences.current_preferences(session, contact.id).updates,
            participant_may_be_victim=flagged,
        )
        if spec is None:
            continue
        waiting = tasks.open_of(session, contact.id, TaskReason.STATUS_UPDATE)
        if waiting:
            _note_update(session, actor, waiting[0], event, now)
        else:
            found.append(
                tasks.open_task(
                    session, _from_now(spec, now), contact, event, Severity.ROUTINE, now
                )
            )
    return found


def _from_now(spec: TaskSpec, now: datetime) -> TaskSpec:
    """An update reported late is due from the news, as a cancelled class is: never already
    overdue the moment it opens."""
    if spec.opens_at >= now:
        return spec
    return replace(spec, opens_at=now, due_by=now + (spec.due_by - spec.opens_at))


def _note_update(
    session: Session, actor: Actor, task: OutreachTask, event: ProgramEvent, now: datetime
) -> None:
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.TASK_EVENT_NOTED,
        object_type="task",
        object_id=task.id,
        program_id=task.program_id,
        event=str(event.id),
        type=event.type,
    )


def withdraw_updates(session: Session, actor: Actor, contact_id: uuid.UUID, now: datetime) -> None:
    """She no longer wants status updates: the ones still open are cancelled, in the
    caller's transaction, each audited (issue 20 item 8; S1, her contact is hers to narrow)."""
    for task in tasks.open_of(session, contact_id, TaskReason.STATUS_UPDATE):
        closing.close(session, actor, task, TaskStatus.CANCELLED.value, now, because="updates_off")


def tasks_visible_to(
    session: Session, actor: Actor, event: ProgramEvent, opened: Sequence[OutreachTask]
) -> list[uuid.UUID] | None:
    """The tasks an event opened, for a caller who may read contacts in its program; None for
    anyone else, not even an empty list: tasks open only for a contact who exists and agreed
    to contact, so a facilitator must not see them (S7; issue 21 finding 6)."""
    participant = _participant(session, event.participant_id)
    if not allowed(actor, Permission.CONTACT_READ, participant.program_id):
        return None
    return [task.id for task in opened]


def _check_history(
    session: Session, participant: Participant, kind: EventType, at: datetime, now: datetime
) -> None:
    """S4/S13: his status over time must stay a history that could have happened; an event
    that breaks it is refused before anything is written (issue 19)."""
    new = participation.Mark(kind, at, now)
    try:
        participation.check_new_event(
            participant_status.marks_of(session, participant.id), new, participant.created_at
        )
    except participation.HistoryError as exc:
        raise Invalid(str(exc), {exc.field: str(exc)}) from None


def _stand_down(
    session: Session,
    actor: Actor,
    participant_id: uuid.UUID,
    opened: Sequence[OutreachTask],
    now: datetime,
) -> None:
    """S11: once he may be the victim, the one resources-only contact is all that is made;
    the intake, check-ins and letters still open for his contacts are cancelled. A duty to
    warn stays: it is about someone's life, and it alone may still be raised (protocols)."""
    keep = {task.id for task in opened}
    for task in session.scalars(
        select(OutreachTask)
        .join(ContactPerson, ContactPerson.id == OutreachTask.contact_id)
        .where(
            ContactPerson.participant_id == participant_id,
            OutreachTask.status == TaskStatus.OPEN.value,
            OutreachTask.reason != TaskReason.DUTY_TO_WARN.value,
        )
    ):
        if task.id not in keep:
            closing.close(
                session,
                actor,
                task,
                TaskStatus.CANCELLED.value,
                now,
                because=EventType.PARTICIPANT_MAY_BE_VICTIM.value,
            )


# --- a cancelled class -------------------------------------------------------------------


def open_for_cancelled_class(
    session: Session,
    profile: Profile,
    *,
    actor: Actor,
    group: Group,
    session_date: date,
    now: datetime,
) -> list[OutreachTask]:
    """Open, in the caller's transaction, the contacts a cancelled class requires where the
    profile asks for them (seeds/001, Georgia: "the program cancels class for any reason").

    One `class_cancelled` event, dated now, is recorded for each participant active in the
    group for the whole session; each of his contacts consenting or not yet asked gets the
    profile's task, due within its deadline from now; a declined contact gets nothing (S1),
    nor one whose participant may be the victim (S11)."""
    if EventType.CLASS_CANCELLED not in profile.events:
        return []
    start = datetime.combine(session_date, group.start_time, tzinfo=ZoneInfo(group.timezone))
    end = start + timedelta(minutes=group.duration_minutes)
    opened: list[OutreachTask] = []
    for participant in _in_group_during(session, group, start, end):
        event = _cancelled_class_event(session, actor, participant, now)
        flagged = tasks.may_be_victim(session, participant.id)
        mine = [
            tasks.open_task(session, spec, contact, event, Severity.ROUTINE, now)
            for contact in _contacts_of(session, participant.id)
            for spec in tasks_for_event(
                profile,
                EventType.CLASS_CANCELLED,
                at=now,
                severity=Severity.ROUTINE,
                permissions=tasks.permissions(session, contact),
                participant_may_be_victim=flagged,
            )
        ]
        on_call_notice.event_recorded(session, actor, event, participant.program_id, mine, now)
        opened += mine
    return opened


def _in_group_during(
    session: Session, group: Group, start: datetime, end: datetime
) -> list[Participant]:
    """The group's participants who were active in the program for the whole session (S4)."""
    members = list(session.scalars(select(Participant).where(Participant.group_id == group.id)))
    lines = participant_status.timelines(session, {p.id: p.created_at for p in members})
    return [p for p in members if lines[p.id].covers(start, end)]


def _cancelled_class_event(
    session: Session, actor: Actor, participant: Participant, now: datetime
) -> ProgramEvent:
    # Dated when the program recorded it: the session itself may be days ahead, and the
    # contact is due from the news, not from the session (retention counts from it too).
    event = ProgramEvent(
        participant_id=participant.id,
        type=EventType.CLASS_CANCELLED.value,
        at=now,
        severity=Severity.ROUTINE.value,
        recorded_by=actor.user_id,
        created_at=now,
    )
    event.ensure_id()
    session.add(event)
    return event


# --- small readers ------------------------------------------------------------------------


def _profile(session: Session, profiles: tasks.Profiles, program_id: uuid.UUID) -> Profile:
    program = session.get(Program, program_id)
    assert program is not None
    profile = profiles.get(program.protocol)
    if profile is None:
        raise Conflict(f"the program's protocol {program.protocol!r} is not loaded")
    return profile


def _contacts_of(session: Session, participant_id: uuid.UUID) -> list[ContactPerson]:
    return list(
        session.scalars(
            select(ContactPerson)
            .where(ContactPerson.participant_id == participant_id)
            .order_by(ContactPerson.created_at, ContactPerson.id)
        )
    )


def _participant(session: Session, participant_id: uuid.UUID) -> Participant:
    participant = session.get(Participant, participant_id)
    if participant is None:
        raise NotFound("no participant with that id", {"participant_id": "unknown"})
    return participant


def _event_type(value: str) -> EventType:
    try:
        return EventType(value)
    except ValueError:
        raise Invalid("type is not a known program event", {"type": "invalid"}) from None


def _severity(value: str) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        raise Invalid(
            "severity must be routine, elevated or high", {"severity": "invalid"}
        ) from None
