"""The claim lease that keeps two liaisons off one task: claim, renew, and the check before
recording.

A claim is a lease: it expires on its own, so a liaison who walks away blocks nobody for long,
and `claim_version` fences a late write from a lease that was already taken over.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, or_, select, update
from sqlalchemy.orm import Session

from outreach.domain.vocabulary import TaskStatus
from outreach.models import OutreachTask
from outreach.services.attempts import tasks
from outreach.services.errors import Conflict
from outreach.services.records.audit import Actor, AuditAction, record

LEASE = timedelta(minutes=30)
TAKEN = tasks.TAKEN


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


def claim_state(
    claimed_by: uuid.UUID | None, expires: datetime | None, actor: Actor, now: datetime
) -> str:
    """How the queue shows a task's lease to this actor: free, yours or taken."""
    if claimed_by is None or expires is None or expires <= now:
        return "free"
    return "yours" if claimed_by == actor.user_id else "taken"
