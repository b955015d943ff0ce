"""Sign-offs a supervisor gave lately, with their comments (issue 22 item 5).

The sign-offs page lists the closures still to sign off and, below them, the ones signed off
in the last 30 days: when, by whom, and what they said, each linking to its attempts.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.vocabulary import TaskStatus
from outreach.models import OutreachTask, User
from outreach.security.permissions import Permission
from outreach.services.records.audit import Actor
from outreach.services.scheduling import queue
from outreach.services.staff.access import require

LATELY = timedelta(days=30)


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
