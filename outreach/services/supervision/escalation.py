"""Escalation: every open task past its deadline goes to a supervisor, once each; the audit
event is the record that it was done, so a second run (or a second scheduler) adds none."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from outreach.domain.vocabulary import TaskStatus
from outreach.models import AuditEvent, OutreachTask
from outreach.services.records.audit import SYSTEM, AuditAction, record


def escalate_overdue(session: Session, now: datetime) -> int:
    """Escalate every open task past its deadline to a supervisor, once each."""
    return _once_per_task(session, now, AuditAction.TASK_ESCALATED, OutreachTask.due_by < now)


def _once_per_task(
    session: Session, now: datetime, action: AuditAction, condition: ColumnElement[bool]
) -> int:
    # The audit row is the record that it was done: a task already named there is skipped.
    done = set(
        session.scalars(select(AuditEvent.object_id).where(AuditEvent.action == action.value))
    )
    due = [
        task
        for task in session.scalars(
            select(OutreachTask).where(OutreachTask.status == TaskStatus.OPEN.value, condition)
        )
        if str(task.id) not in done
    ]
    for task in due:
        record(
            session,
            now=now,
            actor=SYSTEM,
            action=action,
            object_type="task",
            object_id=task.id,
            program_id=task.program_id,
            reason=task.reason,
        )
    session.commit()
    return len(due)
