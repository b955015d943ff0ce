"""One check for every use case: the actor's role holds the permission within that program."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import NoReturn

from sqlalchemy.orm import Session

from outreach.models import ContactPerson, OutreachTask
from outreach.security.permissions import Permission, role_allows
from outreach.services.errors import Forbidden
from outreach.services.records.audit import Actor, AuditAction, record


def allowed(actor: Actor, permission: Permission, program_id: uuid.UUID | None) -> bool:
    if actor.user_id is None:  # the system itself: scheduler, webhooks, imports, demo seed
        return True
    if not role_allows(actor.role, permission):
        return False
    return program_id is None or program_id in actor.program_ids


def require(
    session: Session,
    actor: Actor,
    permission: Permission,
    program_id: uuid.UUID | None,
    *,
    now: datetime,
    object_type: str | None = None,
    object_id: uuid.UUID | None = None,
) -> None:
    """Refuse (and audit the refusal) unless the actor may do this in that program."""
    if not allowed(actor, permission, program_id):
        _refuse(session, actor, permission, now, object_type, object_id)


def require_on_contact(
    session: Session, actor: Actor, permission: Permission, contact: ContactPerson, now: datetime
) -> None:
    """`require`, within the contact's program, naming her record if refused."""
    require(
        session,
        actor,
        permission,
        contact.program_id,
        now=now,
        object_type="contact",
        object_id=contact.id,
    )


def require_on_task(
    session: Session, actor: Actor, permission: Permission, task: OutreachTask, now: datetime
) -> None:
    """`require`, within the task's program, naming the task if refused."""
    require(
        session,
        actor,
        permission,
        task.program_id,
        now=now,
        object_type="task",
        object_id=task.id,
    )


def require_all(
    session: Session,
    actor: Actor,
    permission: Permission,
    program_ids: Collection[uuid.UUID],
    *,
    now: datetime,
    object_type: str | None = None,
    object_id: uuid.UUID | None = None,
) -> None:
    """Refuse (audited) unless the actor may do this in every one of the programs, and there
    is at least one: for what reaches all of them at once, such as another user's account."""
    if not program_ids and actor.user_id is not None:
        _refuse(session, actor, permission, now, object_type, object_id)
    for program_id in program_ids:
        require(
            session,
            actor,
            permission,
            program_id,
            now=now,
            object_type=object_type,
            object_id=object_id,
        )


def _refuse(
    session: Session,
    actor: Actor,
    permission: Permission,
    now: datetime,
    object_type: str | None,
    object_id: uuid.UUID | None,
) -> NoReturn:
    session.rollback()  # nothing half-done goes in with the refusal
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.ACCESS_DENIED,
        object_type=object_type,
        object_id=object_id,
        program_id=None,
        permission=str(permission),
    )
    session.commit()
    raise Forbidden("you do not have access to this")
