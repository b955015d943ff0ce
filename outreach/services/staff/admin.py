"""The admin's use cases: users (create, disable), API tokens, programs; each one audited.

An admin acts only within the programs they administer (PRODUCT.md, roles; issue 21 finding
7): they list only accounts that work in one of them, and create, disable or mint a token only
for an account all of whose programs are theirs, since a token or a disabling reaches every
program of the account. An account outside every program is the operator's (`outreach users`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.models import Program, User
from outreach.models.user import user_program
from outreach.security.permissions import Permission
from outreach.services.errors import Conflict, NotFound
from outreach.services.intake import programs
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.staff import tokens, users
from outreach.services.staff.access import require, require_all


def all_users(session: Session, *, actor: Actor, now: datetime) -> list[User]:
    """The accounts that work in at least one of the admin's programs."""
    require(session, actor, Permission.ADMIN_USERS, None, now=now, object_type="user")
    query = select(User).order_by(User.username)
    if actor.user_id is not None:
        mine = select(user_program.c.user_id).where(
            user_program.c.program_id.in_(actor.program_ids)
        )
        query = query.where(User.id.in_(mine))
    return list(session.scalars(query))


def all_programs(session: Session, *, actor: Actor, now: datetime) -> list[Program]:
    """The programs the admin administers."""
    require(session, actor, Permission.ADMIN_PROGRAMS, None, now=now, object_type="program")
    query = select(Program).order_by(Program.key)
    if actor.user_id is not None:
        query = query.where(Program.id.in_(actor.program_ids))
    return list(session.scalars(query))


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
    """Create a staff account with a role, scoped to programs the admin administers."""
    require(session, actor, Permission.ADMIN_USERS, None, now=now, object_type="user")
    wanted = {programs.program_by_key(session, key).id for key in program_keys}
    require_all(session, actor, Permission.ADMIN_USERS, wanted, now=now, object_type="user")
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
    user = _user_within(session, actor, user_id, now, "user")
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
) -> tokens.IssuedToken:
    """A new API token for the user that works for `days` days, shown once."""
    user = _user_within(session, actor, user_id, now, "api_token")
    return tokens.issue_token(session, username=user.username, days=days, now=now, actor=actor)


def create_program(
    session: Session,
    *,
    actor: Actor,
    key: str,
    name: str,
    protocol: str,
    timezone: str,
    now: datetime,
    language: str | None = None,
) -> Program:
    return programs.create_program(
        session, key=key, name=name, protocol=protocol, timezone=timezone, now=now, actor=actor,
        language=language,
    )  # fmt: skip


def _user_within(
    session: Session, actor: Actor, user_id: uuid.UUID, now: datetime, object_type: str
) -> User:
    """The account, once the admin may act on it: all of its programs are the admin's."""
    require(session, actor, Permission.ADMIN_USERS, None, now=now, object_type=object_type)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no user with that id")
    require_all(
        session,
        actor,
        Permission.ADMIN_USERS,
        {p.id for p in user.programs},
        now=now,
        object_type=object_type,
        object_id=user.id,
    )
    return user
