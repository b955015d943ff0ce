"""One check for every use case: the actor's role holds the permission within that program."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from outreach.security.permissions import Permission, role_allows
from outreach.services.audit import Actor, AuditAction, record
from outreach.services.errors import Forbidden


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
    if allowed(actor, permission, program_id):
        return
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
