"""The TOTP second factor: enrolment, and checking a code at login without replay."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from outreach.domain.vocabulary import Role
from outreach.models import User
from outreach.security import totp
from outreach.security.crypto import Keyring
from outreach.services.errors import Invalid, NotFound
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.settings import Settings

# Roles that reach contact data or change who can: a second factor outside demos.
REQUIRED_ROLES = frozenset({Role.LIAISON.value, Role.SUPERVISOR.value, Role.ADMIN.value})
BAD_CODE = "That code is not valid. Use the newest code your authenticator app shows."


def must_enrol(user: User, settings: Settings) -> bool:
    """In production, these roles may do nothing until they have a second factor."""
    return (
        settings.is_production and user.role in REQUIRED_ROLES and user.totp_secret_sealed is None
    )


def has_second_factor(user: User) -> bool:
    return user.totp_secret_sealed is not None


def forget(user: User) -> None:
    """Drop the user's seed in the caller's transaction: their next sign-in asks for no code.

    The last accepted step goes with it, as it counted steps of the seed that is gone.
    """
    user.totp_secret_sealed = None
    user.totp_last_step = None


def start_enrolment(keyring: Keyring, user: User) -> tuple[bytes, str]:
    """A new seed, sealed for the pending step, and the URI to type into an app."""
    secret = totp.new_secret()
    pending = keyring.wrap(secret, _pending_place(user.id))
    return pending, totp.provisioning_uri(secret, user.username)


def pending_uri(keyring: Keyring, user: User, pending: bytes) -> str:
    return totp.provisioning_uri(keyring.unwrap(pending, _pending_place(user.id)), user.username)


def confirm_enrolment(
    session: Session,
    keyring: Keyring,
    *,
    user_id: uuid.UUID,
    pending: bytes,
    code: str,
    now: datetime,
) -> None:
    """Keep the pending seed once the user proves their app produces its codes."""
    user = _user(session, user_id)
    secret = keyring.unwrap(pending, _pending_place(user.id))
    step = totp.matching_step(secret, code, now, None)
    if step is None:
        raise Invalid(BAD_CODE, {"code": "invalid"})
    user.totp_secret_sealed = keyring.wrap(secret, _place(user.id))
    user.totp_last_step = step
    record(
        session,
        now=now,
        actor=Actor.of(user),
        action=AuditAction.SECOND_FACTOR_ENROLLED,
        object_type="user",
        object_id=user.id,
    )
    session.commit()


def check_code(
    session: Session, keyring: Keyring, *, user_id: uuid.UUID, code: str, now: datetime
) -> bool:
    """Accept a fresh code once; a used or stale one is refused and counted as a failure."""
    user = _user(session, user_id)
    if user.totp_secret_sealed is None or not user.active:
        return False
    secret = keyring.unwrap(user.totp_secret_sealed, _place(user.id))
    step = totp.matching_step(secret, code, now, user.totp_last_step)
    if step is None:
        return False
    user.totp_last_step = step
    session.commit()
    return True


def _user(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    return user


def _place(user_id: uuid.UUID) -> str:
    return f"app_user.totp.{user_id}"


def _pending_place(user_id: uuid.UUID) -> str:
    return f"app_user.totp_pending.{user_id}"
