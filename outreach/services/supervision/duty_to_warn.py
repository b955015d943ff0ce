"""A supervisor confirms a duty to warn that reaches a contact who declined (S1, S8).

S1: declined means no further contact of any kind; only a supervisor-confirmed duty to warn
may override it, and that override is logged. The task exists from the moment the warning is
raised, held: only supervisors see it (queue, API), nobody can call on it, until one confirms.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from outreach.domain.vocabulary import TaskStatus
from outreach.models import OutreachTask, ProgramEvent
from outreach.security.permissions import Permission
from outreach.services.errors import Conflict, NotFound
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.staff.access import require
from outreach.services.supervision import holds


def confirm(session: Session, *, actor: Actor, task_id: uuid.UUID, now: datetime) -> OutreachTask:
    """A supervisor confirms the held duty to warn; from then on it is worked as any other."""
    task = session.get(OutreachTask, task_id)
    if task is None:
        raise NotFound("no task with that id", {"task_id": "unknown"})
    require(
        session,
        actor,
        Permission.DUTY_TO_WARN_CONFIRM,
        task.program_id,
        now=now,
        object_type="task",
        object_id=task_id,
    )
    if not holds.is_held(session, task):
        raise Conflict("nothing on this task waits for a supervisor's confirmation")
    if task.status != TaskStatus.OPEN:
        raise Conflict("the task is closed")
    event = session.get(ProgramEvent, task.event_id)
    assert event is not None  # is_held found it
    # Changing the event drops the task's stored plan (call_windows): it is re-planned now.
    event.confirmed_by, event.confirmed_at = actor.user_id, now
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.DUTY_TO_WARN_CONFIRMED,
        object_type="task",
        object_id=task.id,
        program_id=task.program_id,
        event=str(event.id),
    )
    session.commit()
    return task
