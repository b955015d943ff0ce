"""Corrections of the attempt log: a new entry pointing to the one it corrects, never an edit
(S5, S14).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from outreach.domain.vocabulary import STAFF_OUTCOMES, EntryPoint, Outcome
from outreach.models import Attempt, OutreachTask
from outreach.security.permissions import Permission
from outreach.services.attempts import attempt_log, closing
from outreach.services.errors import Invalid, NotFound
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.staff.access import require


def correct_attempt(
    session: Session, *, actor: Actor, attempt_id: uuid.UUID, outcome: str, now: datetime
) -> Attempt:
    """Correct an attempt's outcome with a new entry pointing to the old one (S5).

    The correction is the same call: its time, window, flags and their reason are the old
    entry's; who entered it and when are the correction's own (S14). A correction that takes
    away the basis of the task's closure reopens the task (S14); one that says she declined
    stops all contact (S1)."""
    old = session.get(Attempt, attempt_id)
    task = session.get(OutreachTask, old.task_id) if old else None
    if old is None or task is None:
        raise NotFound("no attempt with that id", {"attempt_id": "unknown"})
    require(
        session,
        actor,
        Permission.ATTEMPT_REVIEW,
        task.program_id,
        now=now,
        object_type="attempt",
        object_id=attempt_id,
    )
    if outcome not in {o.value for o in STAFF_OUTCOMES}:  # a text sent is the service's word
        raise Invalid("outcome is not one of the recorded outcomes", {"outcome": "invalid"})
    attempt_log.refuse_referral_outside_its_protocol(session, task, outcome)  # NY OPDV, seeds/000
    stood = closing.closure_stands(task, attempt_log.standing_attempts(session, task.id))
    fixed = Attempt(
        task_id=old.task_id,
        channel=old.channel,
        at=old.at,
        outcome=outcome,
        made_by=actor.user_id,
        group_id=old.group_id,
        session_date=old.session_date,
        window_day=old.window_day,  # the same call, so the same window (S5)
        corrects_id=old.id,
        recorded_at=now,
        entered_by=actor.user_id,
        entered_via=EntryPoint.WEB.value,
        flags=old.flags,
        reason=old.reason,
    )
    fixed.ensure_id()
    session.add(fixed)
    session.flush()
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.ATTEMPT_CORRECTED,
        object_type="attempt",
        object_id=fixed.id,
        program_id=task.program_id,
        corrects=str(old.id),
        outcome=outcome,
    )
    if outcome == Outcome.DECLINED:
        attempt_log.stop_all_contact(session, actor, task.contact_id, now)
    closing.reopen_if_unfounded(session, actor, task, now, stood=stood, correction=str(fixed.id))
    session.commit()
    return fixed
