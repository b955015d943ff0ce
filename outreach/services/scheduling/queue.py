"""The liaison's call queue: its order (S8), the filters she narrows it with, its pages, and
the rows shown.

The queue never holds a name or a phone number: a contact appears by an opaque reference.
Claiming a task from it is claims.py's; what each shown row reads besides its task is
queue_details.py's.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import IntEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, String, case, cast, func, or_, select
from sqlalchemy.orm import Session

from outreach.domain.planning.windows import CallWindow, Plan
from outreach.domain.protocols.profile import PRIORITY_IMMEDIATE, Profile
from outreach.domain.vocabulary import TaskReason, TaskStatus
from outreach.models import OutreachTask, Program
from outreach.security.permissions import Permission, role_allows
from outreach.services.records.audit import Actor
from outreach.services.scheduling import call_windows, claims, languages
from outreach.services.scheduling.planning import plan_open_tasks
from outreach.services.scheduling.queue_details import Details, OpenTask, in_order, next_windows
from outreach.services.staff.access import require
from outreach.services.supervision import holds

PLAN_DAYS = call_windows.PLAN_DAYS
PER_PAGE = 50


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
    where it is stale; the windows shown on the page come from planning the page's rows live.
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
    found = in_order(session, scope, ids)
    shown = found[:PER_PAGE]
    live = plan_open_tasks(
        session,
        profiles,
        now=now,
        days=PLAN_DAYS,
        calling_hours=calling_hours,
        task_ids=[r.id for r in shown],
    )
    upcoming = next_windows(live.windows, now)
    details = Details(session, shown, now, live)
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


def _section(row: OpenTask, window: CallWindow | None, now: datetime) -> Section:
    if row.reason == TaskReason.DUTY_TO_WARN or row.priority == 0:
        return Section.DUTY_TO_WARN
    if row.priority == PRIORITY_IMMEDIATE:
        return Section.IMMEDIATE  # S8: right after duty to warn, flagged overdue when past due
    if row.due_by < now:
        return Section.OVERDUE
    if window is not None and window.start <= now:
        return Section.CALLABLE_NOW
    return Section.UPCOMING


def _row(
    row: OpenTask, window: CallWindow | None, d: Details, actor: Actor, now: datetime
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
        claim=claims.claim_state(row.claimed_by, row.claim_expires_at, actor, now),
        outcome_due=row.id in d.outcome_due,
        why=d.why(row),
        participant_status=_status_word(d.plan, row.id),
        held=row.id in d.held,
        overdue=row.due_by < now,
    )


def _status_word(plan: Plan, task_id: uuid.UUID) -> str | None:
    found = plan.statuses.get(str(task_id))
    return None if found is None else found.status.value
