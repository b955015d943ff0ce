"""Sign-offs: the unreachable closures waiting for a supervisor, her sign-off (S5), and the
ones signed off lately with their comments (issue 22 item 5).

The sign-offs page lists the closures still to sign off and, below them, the ones signed off
in the last 30 days: when, by whom, and what they said, each linking to its attempts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain import attempt_rules
from outreach.domain.vocabulary import TaskStatus
from outreach.models import OutreachTask, User
from outreach.security.permissions import Permission
from outreach.services.attempts import attempt_log
from outreach.services.errors import Conflict, Invalid, NotFound
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.scheduling import queue
from outreach.services.staff.access import require

LATELY = timedelta(days=30)
MAX_SIGN_OFF_COMMENT = 300


def awaiting_sign_off(session: Session, *, actor: Actor, now: datetime) -> list[OutreachTask]:
    """Tasks closed as unreachable that no supervisor has signed off yet."""
    require(session, actor, Permission.TASK_CLOSE_UNREACHABLE, None, now=now, object_type="task")
    query = select(OutreachTask).where(
        OutreachTask.status == TaskStatus.UNREACHABLE.value,
        OutreachTask.signed_off_by.is_(None),
    )
    if actor.user_id is not None:
        query = query.where(OutreachTask.program_id.in_(list(actor.program_ids)))
    return list(session.scalars(query.order_by(OutreachTask.closed_at)))


def sign_off(
    session: Session, *, actor: Actor, task_id: uuid.UUID, now: datetime, comment: str = ""
) -> None:
    """A supervisor confirms an unreachable closure, which must meet the minimum (S5), with
    what they would say about it (issue 22 item 5), kept with the sign-off."""
    comment = comment.strip()
    if len(comment) > MAX_SIGN_OFF_COMMENT:
        raise Invalid(
            f"a comment has at most {MAX_SIGN_OFF_COMMENT} characters", {"comment": "too long"}
        )
    task = _task(session, task_id)
    require(
        session,
        actor,
        Permission.TASK_CLOSE_UNREACHABLE,
        task.program_id,
        now=now,
        object_type="task",
        object_id=task_id,
    )
    if task.status != TaskStatus.UNREACHABLE or task.signed_off_by is not None:
        raise Conflict("only an unreachable closure not yet signed off can be signed off")
    if (
        attempt_rules.distinct_windows(attempt_log.standing_attempts(session, task.id))
        < task.min_attempts
    ):
        raise Conflict("this closure has too few attempts in different windows to sign off (S5)")
    task.signed_off_by, task.signed_off_at = actor.user_id, now
    task.sign_off_comment = comment or None
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.TASK_SIGNED_OFF,
        object_type="task",
        object_id=task.id,
        program_id=task.program_id,
    )
    session.commit()


@dataclass(frozen=True)
class SignedOff:
    task_id: uuid.UUID
    reference: str
    reason: str
    signed_off_at: datetime
    by: str
    comment: str | None


def signed_off_lately(session: Session, *, actor: Actor, now: datetime) -> list[SignedOff]:
    """Unreachable closures signed off in the last 30 days in the actor's programs, newest
    first."""
    require(session, actor, Permission.TASK_CLOSE_UNREACHABLE, None, now=now, object_type="task")
    query = (
        select(OutreachTask, User.username)
        .join(User, User.id == OutreachTask.signed_off_by)
        .where(
            OutreachTask.status == TaskStatus.UNREACHABLE.value,
            OutreachTask.signed_off_at > now - LATELY,
        )
        .order_by(OutreachTask.signed_off_at.desc())
        .limit(200)
    )
    if actor.user_id is not None:
        query = query.where(OutreachTask.program_id.in_(list(actor.program_ids)))
    return [
        SignedOff(
            task.id,
            queue.reference(task.contact_id),
            task.reason,
            task.signed_off_at,
            username,
            task.sign_off_comment,
        )
        for task, username in session.execute(query)
        if task.signed_off_at is not None
    ]


def _task(session: Session, task_id: uuid.UUID) -> OutreachTask:
    task = session.get(OutreachTask, task_id)
    if task is None:
        raise NotFound("no task with that id", {"task_id": "unknown"})
    return task
