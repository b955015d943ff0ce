"""Build the planner's input from the database and plan every open task (S4).

Reads no sealed value: time zones come from the stated zone, the zones recorded from the
number's area code, or the program's zone.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from outreach.domain.attempt_rules import pending_callback, standing
from outreach.domain.planning import planner
from outreach.domain.planning.group_sessions import GroupSchedule
from outreach.domain.planning.inputs import ContactSchedule, PlanItem, PlanningRules, TaskToPlan
from outreach.domain.planning.safe_times import SafeTime
from outreach.domain.planning.windows import Plan
from outreach.domain.protocols.profile import PRIORITY_IMMEDIATE, Profile
from outreach.domain.vocabulary import Consent, Severity, TaskReason, TaskStatus
from outreach.models import (
    Attempt,
    Attendance,
    ContactPerson,
    ContactPreferences,
    Group,
    OutreachTask,
    Participant,
    Program,
    ProgramEvent,
    SessionCancellation,
)
from outreach.services.attempts.tasks import schedule_of
from outreach.services.contact_persons import preferences
from outreach.services.intake import participant_status

Profiles = Mapping[str, Profile]


def plan_open_tasks(
    session: Session,
    profiles: Profiles,
    *,
    now: datetime,
    days: int,
    calling_hours: tuple[time, time],
    program_ids: Iterable[uuid.UUID] | None = None,
    task_ids: Iterable[uuid.UUID] | None = None,
    texting: bool = False,
) -> Plan:
    """Plan the call windows of every open task (of the given programs or ids) from `now`.

    `texting` plans the windows in which a text may arrive for a contact who turned calls
    off (check_ins): the same safe times (S4), though no call is made in them."""
    rows = [_Row(*row) for row in session.execute(_open_tasks(program_ids, task_ids))]
    if not rows:
        return Plan((), ())
    end = now + timedelta(days=days)
    context = _Context(session, rows, now=now, end=end, texting=texting)
    items = [context.item(row, profiles, calling_hours) for row in rows]
    return planner.plan(items, now=now, horizon_days=days)


class _Row(NamedTuple):
    task: OutreachTask
    phone_zones: str
    participant_id: uuid.UUID
    group_id: uuid.UUID | None
    program_tz: str
    protocol: str
    confirmed_by: uuid.UUID | None
    participant_since: datetime


def _open_tasks(
    program_ids: Iterable[uuid.UUID] | None, task_ids: Iterable[uuid.UUID] | None = None
) -> Select[Any]:
    query = (
        select(
            OutreachTask,
            ContactPerson.phone_zones,
            ContactPerson.participant_id,
            Participant.group_id,
            Program.timezone,
            Program.protocol,
            ProgramEvent.confirmed_by,
            Participant.created_at,
        )
        .join(ContactPerson, ContactPerson.id == OutreachTask.contact_id)
        .join(Participant, Participant.id == ContactPerson.participant_id)
        .join(Program, Program.id == OutreachTask.program_id)
        .outerjoin(ProgramEvent, ProgramEvent.id == OutreachTask.event_id)
        .where(OutreachTask.status == TaskStatus.OPEN.value)
    )
    if program_ids is not None:
        query = query.where(OutreachTask.program_id.in_(list(program_ids)))
    if task_ids is not None:
        query = query.where(OutreachTask.id.in_(list(task_ids)))
    return query


class _Context:
    """Everything the open tasks need, fetched in a handful of queries."""

    def __init__(
        self, session: Session, rows: list[_Row], *, now: datetime, end: datetime, texting: bool
    ) -> None:
        self.texting = texting
        tasks = [row.task for row in rows]
        contact_ids = {t.contact_id for t in tasks}
        group_ids = {row.group_id for row in rows if row.group_id is not None}
        participant_ids = {row.participant_id for row in rows}
        self.preferences = preferences.current_preferences_of(session, contact_ids)
        self.groups = _groups(session, group_ids)
        self.attendance = _attendance(
            session, participant_ids, now.date() - timedelta(days=1), end.date() + timedelta(days=1)
        )
        self.attempted = _attempted_sessions(session, {t.id for t in tasks})
        self.callbacks = _pending_callbacks(session, {t.id for t in tasks})
        self.timelines = participant_status.timelines(
            session, {row.participant_id: row.participant_since for row in rows}
        )

    def item(self, row: _Row, profiles: Profiles, calling_hours: tuple[time, time]) -> PlanItem:
        task = row.task
        prefs = self.preferences[task.contact_id]
        profile = profiles.get(row.protocol)
        rules = profile.planning if profile else PlanningRules()
        return PlanItem(
            task=TaskToPlan(
                task_id=str(task.id),
                contact_id=str(task.contact_id),
                reason=TaskReason(task.reason),
                due_by=task.due_by,
                severity=Severity(task.severity),
                duty_to_warn=task.reason == TaskReason.DUTY_TO_WARN,
                duty_to_warn_confirmed=row.confirmed_by is not None,
                attempted_sessions=self.attempted.get(task.id, frozenset()),
                attendance=self.attendance.get(row.participant_id, {}),
                callback_at=self.callbacks.get(task.id),
                timeline=self.timelines[row.participant_id],
                opens_at=task.opens_at,
                immediate=task.priority == PRIORITY_IMMEDIATE,
            ),
            contact=_contact_schedule(
                task.contact_id, prefs, row.phone_zones, row.program_tz, texting=self.texting
            ),
            group=self.groups.get(row.group_id) if row.group_id else None,
            rules=_narrowed(rules, calling_hours),
        )


def _contact_schedule(
    contact_id: uuid.UUID,
    prefs: ContactPreferences,
    phone_zones: str,
    program_tz: str,
    *,
    texting: bool = False,
) -> ContactSchedule:
    zones = (
        (prefs.timezone,)
        if prefs.timezone
        else tuple(z for z in phone_zones.split(",") if z) or (program_tz,)
    )
    return ContactSchedule(
        contact_id=str(contact_id),
        consent=Consent(prefs.consent),
        voice=prefs.voice or (texting and prefs.sms),
        sms=prefs.sms,
        voicemail=prefs.voicemail,
        timezones=zones,
        safe_times=tuple(SafeTime.parse(t["days"], t["start"], t["end"]) for t in prefs.safe_times),
        only_during_group=prefs.only_during_group,
    )


def _narrowed(rules: PlanningRules, hours: tuple[time, time]) -> PlanningRules:
    """The program's calling hours, never wider than the service-wide setting."""
    return replace(
        rules,
        calling_start=max(rules.calling_start, hours[0]),
        calling_end=min(rules.calling_end, hours[1]),
    )


def _groups(session: Session, group_ids: set[uuid.UUID]) -> dict[uuid.UUID, GroupSchedule]:
    cancelled: dict[uuid.UUID, set[date]] = defaultdict(set)
    for group_id, day in session.execute(
        select(SessionCancellation.group_id, SessionCancellation.session_date).where(
            SessionCancellation.group_id.in_(group_ids)
        )
    ):
        cancelled[group_id].add(day)
    groups = session.scalars(select(Group).where(Group.id.in_(group_ids)))
    return {g.id: schedule_of(g, frozenset(cancelled[g.id])) for g in groups}


def _attendance(
    session: Session, participant_ids: set[uuid.UUID], first: date, last: date
) -> dict[uuid.UUID, dict[date, bool]]:
    found: dict[uuid.UUID, dict[date, bool]] = defaultdict(dict)
    for participant_id, day, status in session.execute(
        select(Attendance.participant_id, Attendance.session_date, Attendance.status).where(
            Attendance.participant_id.in_(participant_ids),
            Attendance.session_date.between(first, last),
        )
    ):
        found[participant_id][day] = status == "present"
    return found


def _attempted_sessions(
    session: Session, task_ids: set[uuid.UUID]
) -> dict[uuid.UUID, frozenset[tuple[str, date]]]:
    found: dict[uuid.UUID, set[tuple[str, date]]] = defaultdict(set)
    for task_id, group_id, day in session.execute(
        select(Attempt.task_id, Attempt.group_id, Attempt.session_date).where(
            Attempt.task_id.in_(task_ids), Attempt.session_date.is_not(None)
        )
    ):
        found[task_id].add((str(group_id), day))
    return {task_id: frozenset(s) for task_id, s in found.items()}


def _pending_callbacks(session: Session, task_ids: set[uuid.UUID]) -> dict[uuid.UUID, datetime]:
    """Each task's callback time not yet kept (S6). Few tasks have asked for one, so only
    theirs have their attempts read."""
    asked = set(
        session.scalars(
            select(Attempt.task_id).where(
                Attempt.task_id.in_(task_ids), Attempt.callback_at.is_not(None)
            )
        )
    )
    if not asked:
        return {}  # the usual case: planning runs on every queue and task page
    attempts: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for row in session.execute(
        select(
            Attempt.task_id, Attempt.id, Attempt.corrects_id, Attempt.at, Attempt.callback_at
        ).where(Attempt.task_id.in_(asked))
    ):
        attempts[row.task_id].append(row)
    found = {task_id: pending_callback(standing(rows)) for task_id, rows in attempts.items()}
    return {task_id: at for task_id, at in found.items() if at is not None}
