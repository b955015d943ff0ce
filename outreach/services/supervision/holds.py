"""A duty to warn for a declined contact is held until a supervisor confirms it (S1, S8): the
rule in Python for one task and in SQL for lists, in one place every service reads."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists
from sqlalchemy.orm import Session

from outreach.models import OutreachTask, ProgramEvent


def is_held(session: Session, task: OutreachTask) -> bool:
    """S1/S8: a duty to warn for a declined contact waits until a supervisor confirms it."""
    if not task.consent_override or task.event_id is None:
        return False
    event = session.get(ProgramEvent, task.event_id)
    return event is None or event.confirmed_by is None


def held_clause() -> Any:
    """The SQL form of is_held, for lists that leave held tasks out (or flag them)."""
    confirmed = exists().where(
        ProgramEvent.id == OutreachTask.event_id, ProgramEvent.confirmed_by.is_not(None)
    )
    return and_(OutreachTask.consent_override.is_(True), ~confirmed)


def override_confirmed(session: Session, task: OutreachTask) -> bool:
    """The task may reach a declined contact: its duty to warn was confirmed (S1)."""
    return task.consent_override and not is_held(session, task)
