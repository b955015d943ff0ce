"""The admin's use cases: users (create, disable), API tokens, programs; each one audited."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.models import Program, User
from outreach.security.permissions import Permission
from outreach.services import programs, users
from outreach.services.access import require
from outreach.services.audit import Actor, AuditAction, record
from outreach.services.errors import Conflict, NotFound


def all_users(session: Session, *, actor: Actor, now: datetime) -> list[User]:
    require(session, actor, Permission.ADMIN_USERS, None, now=now, object_type="user")
    return list(session.scalars(select(User).order_by(User.username)))


def all_programs(session: Session, *, actor: Actor, now: datetime) -> list[Program]:
    require(session, actor, Permission.ADMIN_PROGRAMS, None, now=now, object_type="program")
    return list(session.scalars(select(Program).order_by(Program.key)))


def create_user(
    session: Session,
    *,
    actor: Actor,
    username: str,
    role: str,
    password: str,
    program_keys: Sequence[str],
    now: datetime,
) -> User:
    """Create a staff account with a role, scoped to programs."""
    require(session, actor, Permission.ADMIN_USERS, None, now=now, object_type="user")
    return users.add_user(
        session,
        username=username,
        role=role,
        password=password,
        program_keys=program_keys,
        now=now,
        actor=actor,
    )


def disable_user(session: Session, *, actor: Actor, user_id: uuid.UUID, now: datetime) -> None:
    """Disable an account at once: its sessions stop working on their next request."""
    require(session, actor, Permission.ADMIN_USERS, None, now=now, object_type="user")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no user with that id")
    if user.id == actor.user_id:
        raise Conflict("you cannot disable your own account")
    user.active = False
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.USER_DISABLED,
        object_type="user",
        object_id=user.id,
    )
    session.commit()


def issue_token(
    session: Session, *, actor: Actor, user_id: uuid.UUID, days: int, now: datetime
) -> users.IssuedToken:
    """A new API token for the user that works for `days` days, shown once."""
    require(session, actor, Permission.ADMIN_USERS, None, now=now, object_type="api_token")
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no user with that id")
    return users.issue_token(session, username=user.username, days=days, now=now, actor=actor)


def create_program(
    session: Session,
    *,
    actor: Actor,
    key: str,
    name: str,
    protocol: str,
    timezone: str,
    now: datetime,
) -> Program:
    return programs.create_program(
        session, key=key, name=name, protocol=protocol, timezone=timezone, now=now, actor=actor
    )
