"""The liaison's call queue and the claim lease that keeps two liaisons off one task.

The queue never holds a name or a phone number: a contact appears by an opaque reference.
A claim is a lease: it expires on its own, so a liaison who walks away blocks nobody for long,
and `claim_version` fences a late write from a lease that was already taken over.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import IntEnum
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import CursorResult, Select, String, case, cast, func, or_, select, update
from sqlalchemy.orm import Session

from outreach.domain import plan_words
from outreach.domain.planning.group_sessions import group_sessions
from outreach.domain.planning.windows import CallWindow, Plan, Skipped
from outreach.domain.protocols.profile import PRIORITY_IMMEDIATE, Profile
from outreach.domain.vocabulary import TaskReason, TaskStatus
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
from outreach.security.permissions import Permission, role_allows
from outreach.services.attempts import attempt_log, tasks
from outreach.services.errors import Conflict
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.scheduling import call_windows, languages
from outreach.services.scheduling.planning import plan_open_tasks
from outreach.services.staff.access import require
from outreach.services.supervision import holds

LEASE = timedelta(minutes=30)
PLAN_DAYS = call_windows.PLAN_DAYS
PER_PAGE = 50
TAKEN = tasks.TAKEN


class Section(IntEnum):
    """The queue's order: duty to warn, an immediate safety concern, overdue, a window open
    now, then the rest (S8)."""

    DUTY_TO_WARN = 0
    IMMEDIATE = 1
    OVERDUE = 2
    CALLABLE_NOW = 3
    UPCOMING = 4


@dataclass(frozen=True)
class QueueRow:
    task_id: uuid.UUID
    reference: str
    section: Section
    reason: str
    due_by: datetime
    attempts: int
    min_attempts: int
    next_window: CallWindow | None
    checked_in: str
    language: str
    channels: tuple[str, ...]
    zone: ZoneInfo
    claim: str
    # S14: a person answered a call on this task and its outcome is not recorded yet.
    outcome_due: bool = False
    # S4: why group time is refused and what is left, in words (issue 19).
    why: tuple[str, ...] = ()
    participant_status: str | None = None
    # S1/S8: a duty to warn for a declined contact, waiting for a supervisor to confirm it.
    held: bool = False
    # Past its deadline: shown on an immediate concern too, which ranks above overdue (S8).
    overdue: bool = False


@dataclass(frozen=True)
class Filters:
    """What the liaison narrowed the queue to (issue 22 item 4); empty means everything."""

    program: uuid.UUID | None = None
    reason: str | None = None
    overdue: bool = False
    open_now: bool = False
    mine: bool = False
    # The start of a contact's reference ("C-1A2B" or "1a2b"): hex digits only.
    reference: str = ""
    # The language the contact speaks now (her latest preferences, S12): "en", "es".
    language: str | None = None

    @property
    def active(self) -> bool:
        return self != Filters()


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    page: int
    has_next: bool
    total: int
    filters: Filters = Filters()
    # How many open tasks the filters keep; None when nothing is filtered.
    matching: int | None = None
    programs: list[tuple[uuid.UUID, str]] = field(default_factory=list)


def reference(contact_id: uuid.UUID) -> str:
    """An opaque short reference for a contact: random, and says nothing about the person."""
    return "C-" + contact_id.hex[:8].upper()


# --- the queue ------------------------------------------------------------------------------


def call_queue(
    session: Session,
    profiles: Mapping[str, Profile],
    *,
    actor: Actor,
    now: datetime,
    calling_hours: tuple[time, time],
    page: int = 1,
    filters: Filters = Filters(),
) -> QueuePage:
    """The open tasks of the actor's programs, in the order a liaison should work them.

    The order comes from the stored plan (services/scheduling/call_windows.py), re-planned first
    where it
    is stale; the windows shown on the page come from planning the page's rows live.
    """
    require(session, actor, Permission.ATTEMPT_RECORD, None, now=now, object_type="queue")
    scope = None if actor.user_id is None else actor.program_ids
    call_windows.refresh_all(
        session, profiles, now=now, calling_hours=calling_hours, program_ids=scope
    )
    page = max(page, 1)
    start = (page - 1) * PER_PAGE
    held = sees_held(actor)
    query = ordered(scope, now, filters, actor=actor, held_too=held)
    ids = list(session.scalars(query.offset(start).limit(PER_PAGE + 1)))
    found = _in_order(session, scope, ids)
    shown = found[:PER_PAGE]
    live = plan_open_tasks(
        session,
        profiles,
        now=now,
        days=PLAN_DAYS,
        calling_hours=calling_hours,
        task_ids=[r.id for r in shown],
    )
    upcoming = _next_windows(live.windows, now)
    details = _Details(session, shown, now, live)
    rows = [_row(r, upcoming.get(r.id), details, actor, now) for r in shown]
    matching = _count(session, query) if filters.active else None
    return QueuePage(
        rows,
        page,
        len(found) > PER_PAGE,
        _count_open(session, scope, held),
        filters,
        matching,
        _programs(session, scope),
    )


def sees_held(actor: Actor) -> bool:
    """S1/S8: a held duty to warn is a supervisor's to confirm; liaisons do not see it yet."""
    return actor.user_id is None or role_allows(actor.role, Permission.DUTY_TO_WARN_CONFIRM)


def _narrowed(
    query: Select[tuple[uuid.UUID]],
    next_start: Any,
    filters: Filters,
    actor: Actor | None,
    now: datetime,
) -> Select[tuple[uuid.UUID]]:
    """The queue's query kept to what the filters ask for, so paging pages the matches."""
    if filters.program is not None:
        query = query.where(OutreachTask.program_id == filters.program)
    if filters.reason:
        query = query.where(OutreachTask.reason == filters.reason)
    if filters.overdue:
        query = query.where(OutreachTask.due_by < now)
    if filters.open_now:
        query = query.where(next_start.c.starts_at <= now)  # the earliest window not over
    if filters.mine:
        user = actor.user_id if actor else None
        query = query.where(OutreachTask.claimed_by == user, OutreachTask.claim_expires_at > now)
    if filters.reference:
        # A reference is "C-" and the first 8 hex digits of the contact's id (see reference);
        # both databases spell an id's first 8 characters that way.
        prefix = func.lower(func.substr(cast(OutreachTask.contact_id, String), 1, 8))
        query = query.where(prefix.startswith(filters.reference))
    if filters.language:
        query = query.where(OutreachTask.contact_id.in_(languages.speaking(filters.language)))
    return query


def _count(session: Session, query: Select[tuple[uuid.UUID]]) -> int:
    return int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)


def _programs(session: Session, scope: frozenset[uuid.UUID] | None) -> list[tuple[uuid.UUID, str]]:
    query = select(Program.id, Program.name).order_by(Program.name)
    if scope is not None:
        query = query.where(Program.id.in_(list(scope)))
    return [(pid, name) for pid, name in session.execute(query)]


def ordered(
    scope: frozenset[uuid.UUID] | None,
    now: datetime,
    filters: Filters = Filters(),
    *,
    actor: Actor,
    held_too: bool = False,
) -> Select[tuple[uuid.UUID]]:
    """The ids of the open tasks in queue order (S8), by their stored windows.

    Only ids: the page reads the rest for the rows it shows. This is the query the page runs
    over every open task, so it reads no other table than the stored windows.
    """
    next_start = call_windows.next_window_starts(now)
    section = case(
        (
            or_(OutreachTask.reason == TaskReason.DUTY_TO_WARN.value, OutreachTask.priority == 0),
            int(Section.DUTY_TO_WARN),
        ),
        (OutreachTask.priority == PRIORITY_IMMEDIATE, int(Section.IMMEDIATE)),
        (OutreachTask.due_by < now, int(Section.OVERDUE)),
        (next_start.c.starts_at <= now, int(Section.CALLABLE_NOW)),
        else_=int(Section.UPCOMING),
    )
    query = (
        select(OutreachTask.id)
        .outerjoin(next_start, next_start.c.task_id == OutreachTask.id)
        .where(OutreachTask.status == TaskStatus.OPEN.value)
        .order_by(
            section, OutreachTask.due_by, next_start.c.starts_at.asc().nulls_last(), OutreachTask.id
        )
    )
    if scope is not None:
        query = query.where(OutreachTask.program_id.in_(list(scope)))
    if not held_too:
        query = query.where(~holds.held_clause())
    return _narrowed(query, next_start, filters, actor, now) if filters.active else query


def _in_order(
    session: Session, scope: frozenset[uuid.UUID] | None, ids: list[uuid.UUID]
) -> list[_Open]:
    query = _open_tasks(scope).where(OutreachTask.id.in_(ids))
    found = {row.id: row for row in (_Open(*r) for r in session.execute(query))}
    return [found[i] for i in ids if i in found]


def _count_open(session: Session, scope: frozenset[uuid.UUID] | None, held_too: bool) -> int:
    query = (
        select(func.count())
        .select_from(OutreachTask)
        .where(OutreachTask.status == TaskStatus.OPEN.value)
    )
    if not held_too:
        query = query.where(~holds.held_clause())
    if scope is not None:
        query = query.where(OutreachTask.program_id.in_(list(scope)))
    return int(session.scalar(query) or 0)


class _Open(NamedTuple):
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


def _next_windows(windows: Iterable[CallWindow], now: datetime) -> dict[uuid.UUID, CallWindow]:
    first: dict[uuid.UUID, CallWindow] = {}
    for window in windows:
        if window.end <= now:
            continue
        key = uuid.UUID(window.task_id)
        if key not in first or window.start < first[key].start:
            first[key] = window
    return first


def _section(row: _Open, window: CallWindow | None, now: datetime) -> Section:
    if row.reason == TaskReason.DUTY_TO_WARN or row.priority == 0:
        return Section.DUTY_TO_WARN
    if row.priority == PRIORITY_IMMEDIATE:
        return Section.IMMEDIATE  # S8: right after duty to warn, flagged overdue when past due
    if row.due_by < now:
        return Section.OVERDUE
    if window is not None and window.start <= now:
        return Section.CALLABLE_NOW
    return Section.UPCOMING


class _Details:
    """What the shown rows need besides the task: attempts, language, tonight's check-in."""

    def __init__(self, session: Session, shown: list[_Open], now: datetime, live: Plan) -> None:
        task_ids = [r.id for r in shown]
        self.windows = tasks.windows_counted(session, task_ids)
        self.language = _languages(session, {r.contact_id for r in shown})
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

    def why(self, row: _Open) -> tuple[str, ...]:
        return tuple(
            plan_words.why(
                self.skipped.get(str(row.id), []),
                self.plan.statuses.get(str(row.id)),
                named_safe_times=self.named.get(row.contact_id, False),
                zone=ZoneInfo(row.timezone),
            )
        )


def _row(
    row: _Open, window: CallWindow | None, d: _Details, actor: Actor, now: datetime
) -> QueueRow:
    return QueueRow(
        task_id=row.id,
        reference=reference(row.contact_id),
        section=_section(row, window, now),
        reason=row.reason,
        due_by=row.due_by,
        attempts=d.windows.get(row.id, 0),
        min_attempts=row.min_attempts,
        next_window=window,
        checked_in=d.tonight.get(row.participant_id, "no group tonight"),
        language=d.language.get(row.contact_id, "en"),
        channels=tuple(row.channels),
        zone=ZoneInfo(row.timezone),
        claim=_claim_state(row.claimed_by, row.claim_expires_at, actor, now),
        outcome_due=row.id in d.outcome_due,
        why=d.why(row),
        participant_status=_status_word(d.plan, row.id),
        held=row.id in d.held,
        overdue=row.due_by < now,
    )


def _status_word(plan: Plan, task_id: uuid.UUID) -> str | None:
    found = plan.statuses.get(str(task_id))
    return None if found is None else found.status.value


def _claim_state(
    claimed_by: uuid.UUID | None, expires: datetime | None, actor: Actor, now: datetime
) -> str:
    if claimed_by is None or expires is None or expires <= now:
        return "free"
    return "yours" if claimed_by == actor.user_id else "taken"


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


def _languages(session: Session, contact_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    found: dict[uuid.UUID, tuple[int, str]] = {}
    for contact_id, version, language in session.execute(
        select(
            ContactPreferences.contact_id, ContactPreferences.version, ContactPreferences.language
        ).where(ContactPreferences.contact_id.in_(contact_ids))
    ):
        if contact_id not in found or version > found[contact_id][0]:
            found[contact_id] = (version, language)
    return {contact_id: language for contact_id, (_, language) in found.items()}


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


# --- the claim lease ------------------------------------------------------------------------


def claim_task(
    session: Session, *, actor: Actor, task_id: uuid.UUID, now: datetime, lease: timedelta = LEASE
) -> OutreachTask:
    """Take (or renew) the lease on an open task; Conflict if another liaison holds it."""
    task = tasks.task_to_work(session, actor, task_id, now)
    if session.get_bind().dialect.name == "postgresql":
        _claim_locked(session, actor, task_id, now, lease)
    else:
        _claim_compare_and_set(session, actor, task, now, lease)
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.TASK_CLAIMED,
        object_type="task",
        object_id=task_id,
        program_id=task.program_id,
    )
    session.commit()
    return task


def _claim_locked(
    session: Session, actor: Actor, task_id: uuid.UUID, now: datetime, lease: timedelta
) -> None:
    # Wait for whatever write holds the row (another claim, a re-plan, the applier: all short,
    # none waits on anything this transaction holds), then judge by the holder it left. SKIP
    # LOCKED refused a free task whenever any other write had its row (issue 21 finding 16).
    task = session.scalar(
        select(OutreachTask)
        .where(OutreachTask.id == task_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if task is None or not _claimable(task, actor, now):
        session.rollback()
        raise Conflict(TAKEN)
    task.claimed_by, task.claim_expires_at = actor.user_id, now + lease
    task.claim_version += 1


def _claim_compare_and_set(
    session: Session, actor: Actor, task: OutreachTask, now: datetime, lease: timedelta
) -> None:
    # SQLite has no row locks: the UPDATE only lands if nobody moved the version meanwhile.
    result: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(OutreachTask)
        .where(
            OutreachTask.id == task.id,
            OutreachTask.status == TaskStatus.OPEN.value,
            OutreachTask.claim_version == task.claim_version,
            or_(
                OutreachTask.claimed_by.is_(None),
                OutreachTask.claimed_by == actor.user_id,
                OutreachTask.claim_expires_at < now,
            ),
        )
        .values(
            claimed_by=actor.user_id,
            claim_expires_at=now + lease,
            claim_version=OutreachTask.claim_version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        session.rollback()
        raise Conflict(TAKEN)
    session.refresh(task)


def _claimable(task: OutreachTask, actor: Actor, now: datetime) -> bool:
    if task.status != TaskStatus.OPEN:
        return False
    free = task.claimed_by is None or task.claim_expires_at is None
    return free or task.claimed_by == actor.user_id or task.claim_expires_at < now  # type: ignore[operator]


def holds_claim(task: OutreachTask, actor: Actor, now: datetime) -> bool:
    expires = task.claim_expires_at
    return task.claimed_by == actor.user_id and expires is not None and expires > now


def require_claim(session: Session, actor: Actor, task_id: uuid.UUID, now: datetime) -> None:
    """Only the liaison holding the lease records on a task from the web pages."""
    task = tasks.task_to_work(session, actor, task_id, now)
    if not holds_claim(task, actor, now):
        raise Conflict("claim the task first; the claim may have run out")
