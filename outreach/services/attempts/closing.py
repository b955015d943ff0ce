"""Closing a task, and reopening one a correction left without the basis of its closure.

S5: unreachable only after the minimum attempts, in different windows. S6: a "not safe" answer
is logged but never completes a contact. S14: an answered call ends in its outcome before the
task closes, and a closure whose basis a correction takes away is undone.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from outreach.domain import attempt_rules
from outreach.domain.vocabulary import Consent, TaskStatus
from outreach.models import Attempt, OutreachTask
from outreach.services.attempts import attempt_log, tasks
from outreach.services.contact_persons import preferences
from outreach.services.errors import Conflict, Invalid
from outreach.services.records.audit import Actor, AuditAction, record


def close_task(
    session: Session, *, actor: Actor, task_id: uuid.UUID, resolution: str, now: datetime
) -> OutreachTask:
    """Close a task as completed (a safe conversation happened) or unreachable (S5)."""
    task = tasks.task_to_work(session, actor, task_id, now)
    tasks.refuse_if_taken(task, actor, now)
    if task.status != TaskStatus.OPEN:
        raise Conflict("the task is already closed")
    if attempt_log.calls_awaiting_outcome(
        session, task.id
    ):  # S14: an answered call ends in an outcome
        raise Conflict(
            "a person answered a call on this task: record how it went before closing",
            {"resolution": "call outcome not recorded"},
        )
    attempts = attempt_log.standing_attempts(session, task.id)
    if resolution == TaskStatus.COMPLETED:
        refused = attempt_rules.why_not_completed(task.reason, attempts)
    elif resolution == TaskStatus.UNREACHABLE:
        refused = attempt_rules.why_not_unreachable(task.min_attempts, attempts)
    else:
        raise Invalid("resolution must be completed or unreachable", {"resolution": "invalid"})
    if refused is not None:
        raise Conflict(refused.message, refused.fields or None)
    close(session, actor, task, resolution, now, attempts=len(attempts))
    session.commit()
    return task


def close(
    session: Session,
    actor: Actor,
    task: OutreachTask,
    resolution: str,
    now: datetime,
    **detail: str | int,
) -> None:
    """Close a task as `resolution` in the caller's transaction, ending its claim (audited)."""
    task.status, task.closed_at, task.closed_by = TaskStatus(resolution), now, actor.user_id
    tasks.release_claim(task)
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.TASK_CLOSED,
        object_type="task",
        object_id=task.id,
        program_id=task.program_id,
        resolution=resolution,
        **detail,
    )


def closure_stands(task: OutreachTask, attempts: Sequence[Attempt]) -> bool:
    """Whether a closed task's standing attempts still bear its closure (S14)."""
    return attempt_rules.closure_stands(task.status, task.reason, task.min_attempts, attempts)


def reopen_if_unfounded(
    session: Session,
    actor: Actor,
    task: OutreachTask,
    now: datetime,
    *,
    stood: bool,
    **detail: str,
) -> bool:
    """S14: a correction that takes away the basis of a closure reopens the task (audited).

    `stood` says whether the closure rested on its basis before the correction: only a
    correction that takes the basis away reopens, not any correction on a task closed on
    grounds a supervisor already accepted. The closure's sign-off, if any, went with its
    basis: a new closure needs a new one. A task whose contact has since declined stays closed
    (S1): only a duty to warn a supervisor confirmed may reach her (S8). The supervisor's
    dashboard lists the reopened tasks.
    """
    if task.status not in (TaskStatus.COMPLETED, TaskStatus.UNREACHABLE) or not stood:
        return False
    if closure_stands(task, attempt_log.standing_attempts(session, task.id)):
        return False
    declined = preferences.current_preferences(session, task.contact_id).consent == Consent.DECLINED
    if declined and not task.consent_override:
        return False
    closed = task.status
    task.status, task.closed_at, task.closed_by = TaskStatus.OPEN, None, None
    task.signed_off_by, task.signed_off_at, task.reopened_at = None, None, now
    task.sign_off_comment = None
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.TASK_REOPENED,
        object_type="task",
        object_id=task.id,
        program_id=task.program_id,
        was=closed,
        **detail,
    )
    return True
