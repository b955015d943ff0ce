"""Each program's duty-to-warn settings (S8): who is on call, and the response it is held to.

S8: a duty to warn "notifies the on-call supervisor on their own phone and on screen, and its
response time (raised -> first attempt -> reached) is measured and shown". The on-call
supervisor is a supervisor of the program, named per program by its admin (or the operator,
`outreach programs on-call`); their own phone is kept sealed on their account, as a liaison's
is (`users.set_phone`). The target is minutes from the raise to the first attempt.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.vocabulary import Role
from outreach.models import Program, User
from outreach.security.permissions import Permission
from outreach.security.vault import Vault
from outreach.services.errors import Invalid, NotFound
from outreach.services.intake import programs
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.staff import users
from outreach.services.staff.access import require

DEFAULT_TARGET_MINUTES = 60
# A day: a target longer than that is no emergency response any more.
MAX_TARGET_MINUTES = 24 * 60


@dataclass(frozen=True)
class Supervisor:
    """A supervisor who may be put on call, and whether a notice could reach them."""

    id: uuid.UUID
    username: str
    has_phone: bool


@dataclass(frozen=True)
class OnCall:
    """One program's duty-to-warn settings, as the settings page shows them."""

    program: Program
    on_call: Supervisor | None
    supervisors: list[Supervisor]
    target_minutes: int


def settings_of(session: Session, *, actor: Actor, now: datetime) -> list[OnCall]:
    """The duty-to-warn settings of every program the admin administers."""
    require(session, actor, Permission.ADMIN_PROGRAMS, None, now=now, object_type="program")
    query = select(Program).order_by(Program.key)
    if actor.user_id is not None:
        query = query.where(Program.id.in_(actor.program_ids))
    return [_settings(session, program) for program in session.scalars(query)]


def _settings(session: Session, program: Program) -> OnCall:
    supervisors = supervisors_of(session, program.id)
    chosen = [s for s in supervisors if s.id == program.on_call_supervisor_id]
    return OnCall(program, chosen[0] if chosen else None, supervisors, target_of(program))


def supervisors_of(session: Session, program_id: uuid.UUID) -> list[Supervisor]:
    """The program's active supervisors: the only people who may be on call for it."""
    found = session.scalars(
        select(User)
        .where(User.role == Role.SUPERVISOR.value, User.active.is_(True))
        .order_by(User.username)
    )
    return [
        Supervisor(u.id, u.username, u.phone_sealed is not None)
        for u in found
        if program_id in {p.id for p in u.programs}
    ]


def set_on_call(
    session: Session,
    *,
    program_key: str | uuid.UUID,
    username: str | None,
    now: datetime,
    actor: Actor,
) -> Program:
    """Name the program's on-call supervisor (None: nobody), audited."""
    program = _program(session, program_key)
    _require(session, actor, program, now)
    chosen = None if username is None else _supervisor(session, program, username)
    program.on_call_supervisor_id = chosen
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.ON_CALL_SET,
        object_type="program",
        object_id=program.id,
        program_id=program.id,
        supervisor=None if chosen is None else str(chosen),
    )
    session.commit()
    return program


def set_target(
    session: Session,
    *,
    program_key: str | uuid.UUID,
    minutes: int,
    now: datetime,
    actor: Actor,
) -> Program:
    """Set the minutes a duty to warn may wait for its first attempt, audited."""
    program = _program(session, program_key)
    _require(session, actor, program, now)
    if not 1 <= minutes <= MAX_TARGET_MINUTES:
        raise Invalid(
            f"give the target in minutes, from 1 to {MAX_TARGET_MINUTES}", {"minutes": "range"}
        )
    program.duty_to_warn_target_minutes = minutes
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.DUTY_TO_WARN_TARGET_SET,
        object_type="program",
        object_id=program.id,
        program_id=program.id,
        minutes=minutes,
    )
    session.commit()
    return program


def set_phone_of(
    session: Session, vault: Vault, *, username: str, phone: str, now: datetime, actor: Actor
) -> None:
    """The operator keeps a staff member's own phone, sealed as a liaison's (users.set_phone)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound("no user with that name", {"username": "unknown"})
    users.set_phone(session, vault, user_id=user.id, phone=phone, now=now, actor=actor)


def target_of(program: Program) -> int:
    """The program's target in minutes (the default where none was stored yet)."""
    return program.duty_to_warn_target_minutes or DEFAULT_TARGET_MINUTES


def _program(session: Session, ref: str | uuid.UUID) -> Program:
    """A program by its key (the operator's word) or its id (the pages')."""
    if isinstance(ref, str):
        return programs.program_by_key(session, ref)
    found = session.get(Program, ref)
    if found is None:
        raise NotFound("no program with that id", {"program": "unknown"})
    return found


def _require(session: Session, actor: Actor, program: Program, now: datetime) -> None:
    require(
        session,
        actor,
        Permission.ADMIN_PROGRAMS,
        program.id,
        now=now,
        object_type="program",
        object_id=program.id,
    )


def _supervisor(session: Session, program: Program, username: str) -> uuid.UUID:
    # Only someone who may open the task and confirm it can answer the notice (S8, S1).
    for supervisor in supervisors_of(session, program.id):
        if supervisor.username == username:
            return supervisor.id
    raise Invalid(
        "the on-call person must be an active supervisor of this program",
        {"supervisor": "not_a_supervisor_of_the_program"},
    )
