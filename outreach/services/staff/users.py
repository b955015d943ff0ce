"""Staff accounts: creating one, a user's own phone and screen language, and the recovery steps
an operator takes for a user (a new password, a second factor to enrol again).

API tokens are tokens.py's.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.phones import InvalidPhone, normalize_phone
from outreach.domain.vocabulary import Role
from outreach.models import Program, User
from outreach.security.crypto import Keyring
from outreach.security.passwords import WeakPassword, hash_password
from outreach.security.vault import Vault, place
from outreach.services.errors import Conflict, Forbidden, Invalid, NotFound
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.staff import auth, second_factor


def add_user(
    session: Session,
    *,
    username: str,
    role: str,
    password: str | None,
    program_keys: Sequence[str],
    now: datetime,
    actor: Actor,
) -> User:
    """Create a staff account scoped to the named programs."""
    _check_username(username)
    role_value = _role(role)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"a user named {username!r} already exists")
    user = User(
        username=username,
        role=role_value,
        password_hash=_hash(password),
        programs=_programs(session, program_keys),
        created_at=now,
    )
    user.ensure_id()
    session.add(user)
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.USER_CREATED,
        object_type="user",
        object_id=user.id,
        role=role_value,
    )
    session.commit()
    return user


def reset_password(
    session: Session, *, username: str, password: str, now: datetime, actor: Actor
) -> int:
    """Give the user a new password and end their web sessions; return how many ended.

    The lockout is lifted too: the failures it counted were guesses at the old password.
    """
    user = named_user(session, username)
    user.password_hash = _hash(password)
    user.failed_logins, user.locked_until = 0, None
    return _recovered(session, user, AuditAction.USER_PASSWORD_RESET, now, actor)


def reset_second_factor(session: Session, *, username: str, now: datetime, actor: Actor) -> int:
    """Remove the user's second factor so they enrol again; end their web sessions.

    Returns how many sessions ended. A lockout stays: lifting it here would give someone
    guessing the password fresh tries at an account that no longer asks for a code.
    """
    user = named_user(session, username)
    had_one = second_factor.has_second_factor(user)
    second_factor.forget(user)
    return _recovered(
        session, user, AuditAction.USER_SECOND_FACTOR_RESET, now, actor, had_second_factor=had_one
    )


def _recovered(
    session: Session,
    user: User,
    action: AuditAction,
    now: datetime,
    actor: Actor,
    **detail: Any,  # record's own detail values: str, int, bool or None
) -> int:
    """End a recovered account's web sessions, audit the step and commit; answer how many
    ended. Whoever holds one of them may be the reason for the recovery."""
    ended = auth.end_every_session(session, user=user, now=now)
    record(
        session,
        now=now,
        actor=actor,
        action=action,
        object_type="user",
        object_id=user.id,
        **detail,
        sessions_ended=ended,
    )
    session.commit()
    return ended


def set_phone(
    session: Session,
    vault: Vault,
    *,
    user_id: uuid.UUID,
    phone: str,
    now: datetime,
    actor: Actor,
) -> None:
    """Keep a liaison's own phone, sealed: a bridged call rings it before the contact's."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no user with that id", {"user_id": "unknown"})
    try:
        e164 = normalize_phone(phone)
    except InvalidPhone as exc:
        raise Invalid(str(exc), {"phone": "invalid"}) from None
    user.phone_sealed = vault.keyring.wrap(e164.encode(), place("app_user", "phone", user.id))
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.USER_PHONE_SET,
        object_type="user",
        object_id=user.id,
    )
    session.commit()


STAFF_LANGUAGES = ("en", "es")


def set_language(session: Session, *, user_id: uuid.UUID, language: str, actor: Actor) -> None:
    """Keep the language of a user's own screens (issue 22 item 8); "" goes back to their
    programs' language (S12). A user sets only their own."""
    if actor.user_id != user_id:
        raise Forbidden("you choose the language of your own screens only", {})
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no user with that id", {"user_id": "unknown"})
    if language not in (*STAFF_LANGUAGES, ""):
        raise Invalid("choose English or Spanish", {"language": "invalid"})
    user.language = language or None
    session.commit()


def own_phone(keyring: Keyring, user: User) -> str | None:
    """Open a staff member's own phone (a liaison's, an on-call supervisor's), if they gave one."""
    if user.phone_sealed is None:
        return None
    return keyring.unwrap(user.phone_sealed, place("app_user", "phone", user.id)).decode("utf-8")


def named_user(session: Session, username: str) -> User:
    """The user of that name, active or not; NotFound if there is none."""
    # Disabled accounts too: if one is enabled again, what was reset or revoked stays so.
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user named {username!r}", {"username": "unknown"})
    return user


def _check_username(username: str) -> None:
    if (
        not (3 <= len(username) <= 80)
        or not username.replace("-", "").replace(".", "").replace("_", "").isalnum()
        or not username.isascii()
    ):
        raise Invalid(
            "a username has 3 to 80 letters, digits, '.', '-' or '_'",
            {"username": "invalid"},
        )


def _role(role: str) -> str:
    try:
        return Role(role).value
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise Invalid(f"role must be one of {allowed}", {"role": "invalid"}) from None


def _hash(password: str | None) -> str | None:
    if password is None:
        return None
    try:
        return hash_password(password)
    except WeakPassword as exc:
        raise Invalid(str(exc), {"password": "weak"}) from None


def _programs(session: Session, keys: Sequence[str]) -> list[Program]:
    programs = list(session.scalars(select(Program).where(Program.key.in_(keys))))
    missing = sorted(set(keys) - {p.key for p in programs})
    if missing:
        raise NotFound(f"no program with key {', '.join(missing)}", {"program": "unknown"})
    return programs
