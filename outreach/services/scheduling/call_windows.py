"""The stored plan: each open task's proposed call windows, kept so the queue can sort by them.

Planning ten thousand tasks takes seconds, so the queue cannot re-plan on every load. The
windows are stored instead, and a task's plan is dropped (`task_plan` row deleted) by any
write that can move one of its windows: an attempt, a preference, an attendance mark, a
group's schedule or cancellation, a confirmed duty to warn, the task itself. The queue and the
scheduler re-plan dropped, old and differently-ruled plans before they sort by them.

The stored plan only orders the queue. The rows a liaison sees, the task page and every call
are planned live (S4), so a plan that is wrong for a moment can misplace a row, never open a
window that is closed.

On PostgreSQL a transaction that drops plans holds a shared advisory lock until it commits,
and re-planning takes it exclusively: a re-plan never reads the data an unfinished write is
changing and then stores a plan that write has already dropped.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    delete,
    event,
    func,
    insert,
    inspect,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session, UOWTransaction, sessionmaker

from outreach.domain.participation import STATUS_EVENTS
from outreach.domain.planning.windows import CallWindow, Plan
from outreach.domain.protocols.profile import Profile
from outreach.domain.vocabulary import TaskStatus
from outreach.models import (
    Attempt,
    Attendance,
    ContactPerson,
    ContactPreferences,
    Group,
    OutreachTask,
    Participant,
    PlannedWindow,
    Program,
    ProgramEvent,
    SessionCancellation,
    TaskPlan,
)
from outreach.services.scheduling.planning import plan_open_tasks

PLAN_DAYS = 7
# A plan is redone at least this often, so its seven days always reach well past tomorrow.
REPLAN_AFTER = timedelta(hours=12)
BATCH = 200
# The advisory lock between dropping and re-planning ("outp" in ASCII).
PLAN_LOCK = 0x6F757470
_EXCLUSIVE = text("SELECT pg_advisory_xact_lock(CAST(:key AS integer), hashtext(current_schema()))")
_SHARED = text(
    "SELECT pg_advisory_xact_lock_shared(CAST(:key AS integer), hashtext(current_schema()))"
)
# Changing a task's claim never moves a window: those columns do not drop the plan.
CLAIM_COLUMNS = frozenset({"claimed_by", "claim_expires_at", "claim_version"})


def rules_key(profiles: Mapping[str, Profile], calling_hours: tuple[time, time]) -> str:
    """A digest of everything besides the data that shapes a plan: the protocols' planning
    rules and the calling hours. A plan made under other rules is redone."""
    parts = [f"{name}={profiles[name].planning!r}" for name in sorted(profiles)]
    parts.append(f"hours={calling_hours[0]}-{calling_hours[1]} days={PLAN_DAYS}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


# --- re-planning --------------------------------------------------------------------------


def refresh(
    session: Session,
    profiles: Mapping[str, Profile],
    *,
    now: datetime,
    calling_hours: tuple[time, time],
    program_ids: Iterable[uuid.UUID] | None = None,
    batch: int = BATCH,
) -> Iterator[int]:
    """Re-plan the open tasks whose stored plan is missing, old or made under other rules.

    One transaction a batch; yields how many tasks each batch re-planned.
    """
    key = rules_key(profiles, calling_hours)
    scope = None if program_ids is None else list(program_ids)
    while True:
        _lock(session, exclusive=True)
        due = list(session.scalars(_stale(scope, key, now).limit(batch)))
        if not due:
            session.rollback()
            return
        plan = plan_open_tasks(
            session,
            profiles,
            now=now,
            days=PLAN_DAYS,
            calling_hours=calling_hours,
            task_ids=due,
        )
        _store(session, due, plan, now=now, key=key)
        session.commit()
        yield len(due)


def refresh_all(
    session: Session,
    profiles: Mapping[str, Profile],
    *,
    now: datetime,
    calling_hours: tuple[time, time],
    program_ids: Iterable[uuid.UUID] | None = None,
) -> int:
    """Re-plan every stale task; return how many."""
    return sum(
        refresh(session, profiles, now=now, calling_hours=calling_hours, program_ids=program_ids)
    )


def _stale(scope: list[uuid.UUID] | None, key: str, now: datetime) -> Select[tuple[uuid.UUID]]:
    query = (
        select(OutreachTask.id)
        .outerjoin(TaskPlan, TaskPlan.task_id == OutreachTask.id)
        .where(
            OutreachTask.status == TaskStatus.OPEN.value,
            or_(
                TaskPlan.task_id.is_(None),
                TaskPlan.rules_key != key,
                TaskPlan.planned_at <= now - REPLAN_AFTER,
                # A clock set back (a restored server, a replayed day) sees windows it skipped.
                TaskPlan.planned_at > now,
            ),
        )
        .order_by(OutreachTask.id)
    )
    if scope is not None:
        query = query.where(OutreachTask.program_id.in_(scope))
    return query


def _store(
    session: Session, task_ids: list[uuid.UUID], plan: Plan, *, now: datetime, key: str
) -> None:
    session.execute(delete(PlannedWindow).where(PlannedWindow.task_id.in_(task_ids)))
    session.execute(delete(TaskPlan).where(TaskPlan.task_id.in_(task_ids)))
    windows = [_window_row(w) for w in plan.windows]
    if windows:
        session.execute(insert(PlannedWindow), windows)
    until = now + timedelta(days=PLAN_DAYS)
    session.execute(
        insert(TaskPlan),
        [
            {"task_id": t, "planned_at": now, "planned_until": until, "rules_key": key}
            for t in task_ids
        ],
    )


def _window_row(window: CallWindow) -> dict[str, Any]:
    return {
        "id": uuid.uuid4(),
        "task_id": uuid.UUID(window.task_id),
        "starts_at": window.start,
        "ends_at": window.end,
        "kind": window.kind.value,
        "group_id": uuid.UUID(window.group_id) if window.group_id else None,
        "session_date": window.session_date,
        "participant_present": window.participant_present,
    }


def next_window_starts(now: datetime) -> Subquery:
    """For the queue's ORDER BY: each task's earliest stored window not yet over, by task_id.

    One pass over the (task_id, ends_at, starts_at) index rather than a look-up per task.
    """
    return (
        select(PlannedWindow.task_id, func.min(PlannedWindow.starts_at).label("starts_at"))
        .where(PlannedWindow.ends_at > now)
        .group_by(PlannedWindow.task_id)
        .subquery("next_window")
    )


# --- dropping plans when their inputs change ------------------------------------------------


def watch(factory: sessionmaker[Session]) -> None:
    """Drop the stored plan of every task a flush may have moved a window of. Registered once
    per factory however often it is asked: a second listener would only repeat the work."""
    if not event.contains(factory, "after_flush", _drop_moved_plans):
        event.listen(factory, "after_flush", _drop_moved_plans)


@dataclass
class _Moved:
    tasks: set[uuid.UUID] = field(default_factory=set)
    contacts: set[uuid.UUID] = field(default_factory=set)
    participants: set[uuid.UUID] = field(default_factory=set)
    groups: set[uuid.UUID] = field(default_factory=set)
    events: set[uuid.UUID] = field(default_factory=set)
    programs: set[uuid.UUID] = field(default_factory=set)

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.tasks:
            found.append(OutreachTask.id.in_(self.tasks))
        if self.contacts:
            found.append(OutreachTask.contact_id.in_(self.contacts))
        if self.participants:
            found.append(OutreachTask.contact_id.in_(_contacts_of_participants(self.participants)))
        if self.groups:
            found.append(OutreachTask.contact_id.in_(_contacts_in_groups(self.groups)))
        if self.events:
            found.append(OutreachTask.event_id.in_(self.events))
        if self.programs:
            found.append(OutreachTask.program_id.in_(self.programs))
        return found


def _drop_moved_plans(session: Session, _flush: UOWTransaction) -> None:
    moved = _Moved()
    for obj in [*session.new, *session.dirty, *session.deleted]:
        _note(obj, moved, changed=obj in session.dirty)
    conditions = moved.conditions()
    if not conditions:
        return
    _lock(session, exclusive=False)
    tasks = select(OutreachTask.id).where(or_(*conditions))
    session.connection().execute(delete(TaskPlan).where(TaskPlan.task_id.in_(tasks)))


def _note(obj: object, moved: _Moved, *, changed: bool) -> None:
    if isinstance(obj, OutreachTask):
        if not changed or _changed_beyond_claim(obj):
            moved.tasks.add(obj.id)
    elif isinstance(obj, Attempt):
        moved.tasks.add(obj.task_id)
    elif isinstance(obj, ContactPreferences):
        moved.contacts.add(obj.contact_id)
    elif isinstance(obj, ContactPerson):
        moved.contacts.add(obj.id)
    elif isinstance(obj, Participant | Attendance):
        moved.participants.add(obj.id if isinstance(obj, Participant) else obj.participant_id)
    elif isinstance(obj, Group):
        moved.groups.add(obj.id)
    elif isinstance(obj, SessionCancellation):
        moved.groups.add(obj.group_id)
    elif isinstance(obj, ProgramEvent):
        moved.events.add(obj.id)
        if obj.type in STATUS_EVENTS:  # his status moves every task's group time (S4)
            moved.participants.add(obj.participant_id)
    elif isinstance(obj, Program):
        moved.programs.add(obj.id)


def _changed_beyond_claim(task: OutreachTask) -> bool:
    state = inspect(task)
    return any(attr.history.has_changes() for attr in state.attrs if attr.key not in CLAIM_COLUMNS)


def _contacts_of_participants(ids: set[uuid.UUID]) -> Select[tuple[uuid.UUID]]:
    return select(ContactPerson.id).where(ContactPerson.participant_id.in_(ids))


def _contacts_in_groups(ids: set[uuid.UUID]) -> Select[tuple[uuid.UUID]]:
    return (
        select(ContactPerson.id)
        .join(Participant, Participant.id == ContactPerson.participant_id)
        .where(Participant.group_id.in_(ids))
    )


def _lock(session: Session, *, exclusive: bool) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: every write transaction already holds the one write lock (BEGIN IMMEDIATE)
    # Beside the schema's hash, as the audit and leader locks: deployments or test runs that
    # share one server never wait on each other's re-planning.
    session.connection().execute(_EXCLUSIVE if exclusive else _SHARED, {"key": PLAN_LOCK})
