"""What the liaison's queue shows beside each task on its page: windows counted, language,
tonight's check-in, an outcome to record, a hold, and why group time is refused.

These are read for the shown rows only (a page at a time), never for every open task: the order
of the whole queue comes from the stored windows alone (queue.ordered).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from outreach.domain import plan_words
from outreach.domain.planning.group_sessions import group_sessions
from outreach.domain.planning.windows import CallWindow, Plan, Skipped
from outreach.domain.vocabulary import TaskStatus
from outreach.models import (
    Attendance,
    ContactPerson,
    ContactPreferences,
    Delivery,
    Group,
    OutreachTask,
    Participant,
    Program,
)
from outreach.services.attempts import attempt_log, tasks
from outreach.services.scheduling import languages
from outreach.services.supervision import holds


class OpenTask(NamedTuple):
    """An open task as its row needs it: its contact, participant, group and zone."""

    id: uuid.UUID
    contact_id: uuid.UUID
    reason: str
    due_by: datetime
    priority: int
    min_attempts: int
    channels: list[str]
    claimed_by: uuid.UUID | None
    claim_expires_at: datetime | None
    participant_id: uuid.UUID
    group_id: uuid.UUID | None
    timezone: str


def in_order(
    session: Session, scope: frozenset[uuid.UUID] | None, ids: list[uuid.UUID]
) -> list[OpenTask]:
    """The open tasks of these ids, in the order of the ids (those closed meanwhile left out)."""
    query = _open_tasks(scope).where(OutreachTask.id.in_(ids))
    found = {row.id: row for row in (OpenTask(*r) for r in session.execute(query))}
    return [found[i] for i in ids if i in found]


def _open_tasks(scope: frozenset[uuid.UUID] | None) -> Select[Any]:
    query = (
        select(
            OutreachTask.id,
            OutreachTask.contact_id,
            OutreachTask.reason,
            OutreachTask.due_by,
            OutreachTask.priority,
            OutreachTask.min_attempts,
            OutreachTask.channels,
            OutreachTask.claimed_by,
            OutreachTask.claim_expires_at,
            ContactPerson.participant_id,
            Participant.group_id,
            Program.timezone,
        )
        .join(ContactPerson, ContactPerson.id == OutreachTask.contact_id)
        .join(Participant, Participant.id == ContactPerson.participant_id)
        .join(Program, Program.id == OutreachTask.program_id)
        .where(OutreachTask.status == TaskStatus.OPEN.value)
    )
    if scope is not None:
        query = query.where(OutreachTask.program_id.in_(list(scope)))
    return query


def next_windows(windows: Iterable[CallWindow], now: datetime) -> dict[uuid.UUID, CallWindow]:
    """Each task's first window not over yet."""
    first: dict[uuid.UUID, CallWindow] = {}
    for window in windows:
        if window.end <= now:
            continue
        key = uuid.UUID(window.task_id)
        if key not in first or window.start < first[key].start:
            first[key] = window
    return first


class Details:
    """What the shown rows need besides the task: attempts, language, tonight's check-in."""

    def __init__(self, session: Session, shown: list[OpenTask], now: datetime, live: Plan) -> None:
        task_ids = [r.id for r in shown]
        self.windows = tasks.windows_counted(session, task_ids)
        self.language = languages.current(session, {r.contact_id for r in shown})
        self.tonight = tonight(session, {r.participant_id for r in shown}, now)
        self.outcome_due = set(
            session.scalars(
                select(Delivery.task_id).where(
                    Delivery.task_id.in_(task_ids), attempt_log.awaiting_outcome()
                )
            )
        )
        self.named = _named_safe_times(session, {r.contact_id for r in shown})
        self.held = set(
            session.scalars(
                select(OutreachTask.id).where(OutreachTask.id.in_(task_ids), holds.held_clause())
            )
        )
        self.plan = live
        self.skipped: dict[str, list[Skipped]] = {}
        for skip in live.skipped:
            self.skipped.setdefault(skip.task_id, []).append(skip)

    def why(self, row: OpenTask) -> tuple[str, ...]:
        return tuple(
            plan_words.why(
                self.skipped.get(str(row.id), []),
                self.plan.statuses.get(str(row.id)),
                named_safe_times=self.named.get(row.contact_id, False),
                zone=ZoneInfo(row.timezone),
            )
        )


def _named_safe_times(session: Session, contact_ids: set[uuid.UUID]) -> dict[uuid.UUID, bool]:
    """Whether each contact's current preferences name a safe time (no sealed value read)."""
    found: dict[uuid.UUID, tuple[int, bool]] = {}
    for contact_id, version, safe_times in session.execute(
        select(
            ContactPreferences.contact_id,
            ContactPreferences.version,
            ContactPreferences.safe_times,
        ).where(ContactPreferences.contact_id.in_(contact_ids))
    ):
        if contact_id not in found or version > found[contact_id][0]:
            found[contact_id] = (version, bool(safe_times))
    return {contact_id: named for contact_id, (_, named) in found.items()}


def tonight(
    session: Session, participant_ids: set[uuid.UUID], now: datetime
) -> dict[uuid.UUID, str]:
    """For participants whose group meets today: checked in, absent, or not yet (S4)."""
    groups = {
        pid: group
        for pid, group in session.execute(
            select(Participant.id, Group)
            .join(Group, Group.id == Participant.group_id)
            .where(Participant.id.in_(participant_ids))
        )
    }
    by_group = {g.id: _session_today(g, now) for g in {g.id: g for g in groups.values()}.values()}
    today = {pid: by_group[group.id] for pid, group in groups.items()}
    marks = {
        (a.participant_id, a.session_date): a
        for a in session.scalars(
            select(Attendance).where(
                Attendance.participant_id.in_(participant_ids),
                Attendance.session_date.in_({d for d in today.values() if d is not None}),
            )
        )
    }
    return {pid: _mark(marks.get((pid, day))) for pid, day in today.items() if day is not None}


def _session_today(group: Group, now: datetime) -> date | None:
    local = now.astimezone(ZoneInfo(group.timezone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    found = group_sessions(
        tasks.schedule_of(group), start=midnight, end=midnight + timedelta(days=1)
    )
    return found[0].session_date if found else None


def _mark(attendance: Attendance | None) -> str:
    if attendance is None:
        return "not checked in yet"
    return "checked in" if attendance.status == "present" else "absent"
