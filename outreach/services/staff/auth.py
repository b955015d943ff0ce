"""Logging in and out: server-side sessions that expire when idle and after a working day."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from outreach.models import SignInFailure, User, WebSession
from outreach.security.crypto import Keyring
from outreach.security.passwords import (
    WeakPassword,
    hash_password,
    needs_rehash,
    verify_password,
)
from outreach.services.errors import Forbidden, Invalid
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.staff import second_factor

IDLE_LIMIT = timedelta(minutes=15)
ABSOLUTE_LIMIT = timedelta(hours=8)
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
CLIENT_FAILURES = 20
# One message for every refusal, so the page does not tell which usernames exist.
REFUSED = "That username and password do not match an active account."


@dataclass(frozen=True)
class AddressThrottle:
    """Failed sign-in steps per client address, counted in the database (`sign_in_failure`).

    Every worker process reads and writes the same rows, so N workers give an attacker no
    more than one budget, and a restart forgets nothing (issue 21 finding 9). A failure counts
    for `period`; each new failure deletes the ones that no longer count, and an address at
    the limit adds no more, so the table stays as small as the last period's failures.
    Behind a proxy the address is right only when `proxy_hops` is set. The per-account
    lockout is the other guard; this one slows down one address trying many accounts.
    """

    limit: int = CLIENT_FAILURES
    period: timedelta = LOCKOUT

    def blocked(self, session: Session, address: str, now: datetime) -> bool:
        counted = session.scalar(
            select(func.count())
            .select_from(SignInFailure)
            .where(
                SignInFailure.address_hash == _digest(address),
                SignInFailure.failed_at >= now - self.period,
            )
        )
        return (counted or 0) >= self.limit

    def failed(self, session: Session, address: str, now: datetime) -> None:
        """Count one failure in the caller's transaction; drop the ones that expired."""
        session.execute(delete(SignInFailure).where(SignInFailure.failed_at < now - self.period))
        if not self.blocked(session, address, now):
            session.add(SignInFailure(address_hash=_digest(address), failed_at=now))


THROTTLE = AddressThrottle()


def log_in(session: Session, *, username: str, password: str, now: datetime) -> str:
    """Check the password and open a session; return the session token."""
    return open_session(
        session, authenticate(session, username=username, password=password, now=now), now
    )


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    now: datetime,
    address: str | None = None,
) -> User:
    """Check the password (with account and, given an address, client throttling).

    Every answer costs one password hash, whether the address is throttled, the account is
    unknown, disabled or locked, or the password is wrong or right: timing tells nothing.
    """
    if address is not None and THROTTLE.blocked(session, address, now):
        verify_password(None, password)
        _refuse(session, None, now, locked=True, address=address)
    return _checked_user(session, username, password, now, address)


def second_step(
    session: Session,
    keyring: Keyring,
    *,
    user_id: uuid.UUID,
    code: str,
    now: datetime,
    address: str,
) -> User:
    """The code after the password: refused while the account is locked or the address is
    throttled, even when right; a wrong code counts toward both (issue 21 finding 8)."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        _refuse(session, None, now, address=address)
    assert user is not None
    if THROTTLE.blocked(session, address, now) or _locked(user, now):
        _refuse(session, user, now, locked=True, address=address)
    if not second_factor.check_code(session, keyring, user_id=user.id, code=code, now=now):
        refuse_second_factor(session, user.id, now, address=address)
    return user


def _checked_user(
    session: Session, username: str, password: str, now: datetime, address: str | None = None
) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        verify_password(None, password)  # the same work whether or not the account exists
        _refuse(session, None, now, address=address)
    assert user is not None
    if _locked(user, now):
        verify_password(user.password_hash, password)  # the same work as an open account
        _refuse(session, user, now, locked=True, address=address)
    if not verify_password(user.password_hash, password):
        _count_failure(user, now)
        _refuse(session, user, now, address=address)
    if user.password_hash is not None and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def _locked(user: User, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


def _count_failure(user: User, now: datetime) -> None:
    user.failed_logins += 1
    if user.failed_logins >= MAX_FAILURES:
        user.locked_until, user.failed_logins = now + LOCKOUT, 0


def confirm_identity(
    session: Session, keyring: Keyring, *, user: User, password: str, code: str, now: datetime
) -> None:
    """Before a second factor is set up or replaced: the password again and, where there is
    one, a code from the factor in use. A screen left signed in is not enough to move someone's
    second factor to another phone. Failures count toward the lockout like a sign-in's."""
    _checked_user(session, user.username, password, now)
    if second_factor.has_second_factor(user) and not second_factor.check_code(
        session, keyring, user_id=user.id, code=code, now=now
    ):
        refuse_second_factor(session, user.id, now)


def change_password(
    session: Session, *, user: User, current: str, new: str, keep_token: str, now: datetime
) -> int:
    """Change the user's own password; end every other session of theirs; return how many.

    Whoever learnt the old password may be signed in elsewhere: the change shuts them out.
    """
    _checked_user(session, user.username, current, now)
    if new == current:
        raise Invalid("the new password must differ from the current one", {"new": "unchanged"})
    try:
        user.password_hash = hash_password(new)
    except WeakPassword as error:
        raise Invalid(str(error), {"new": "weak"}) from None
    ended = _end_other_sessions(session, user, keep_token, now)
    record(
        session,
        now=now,
        actor=Actor.of(user),
        action=AuditAction.PASSWORD_CHANGED,
        object_type="user",
        object_id=user.id,
        sessions_ended=ended,
    )
    session.commit()
    return ended


def sign_out_elsewhere(session: Session, *, user: User, keep_token: str, now: datetime) -> int:
    """End every session of the user's but this one (after a second factor changed)."""
    ended = _end_other_sessions(session, user, keep_token, now)
    session.commit()
    return ended


def end_every_session(session: Session, *, user: User, now: datetime) -> int:
    """End every live session of the user in the caller's transaction; return how many.

    For an operator's recovery step: whoever holds one of them may be the reason for it.
    """
    return _end_sessions(session, user, now)


def _end_other_sessions(session: Session, user: User, keep_token: str, now: datetime) -> int:
    return _end_sessions(session, user, now, WebSession.token_hash != _digest(keep_token))


def _end_sessions(session: Session, user: User, now: datetime, *only: ColumnElement[bool]) -> int:
    rows = session.scalars(
        select(WebSession).where(
            WebSession.user_id == user.id, WebSession.revoked_at.is_(None), *only
        )
    ).all()
    for row in rows:
        row.revoked_at = now
    return len(rows)


def refuse_second_factor(
    session: Session, user_id: object, now: datetime, *, address: str | None = None
) -> NoReturn:
    """A wrong second-factor code counts toward the account's lockout, like a wrong password,
    and, given the client's address, toward the address throttle."""
    user = session.get(User, user_id)
    if user is not None:
        _count_failure(user, now)
    _refuse(session, user, now, address=address)


def session_user(session: Session, token: str, *, now: datetime) -> User | None:
    """Return the user of a live session and mark it seen; None once it expired or was revoked."""
    row = session.scalar(select(WebSession).where(WebSession.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None:
        return None
    if now - row.last_seen_at > IDLE_LIMIT or now - row.created_at > ABSOLUTE_LIMIT:
        row.revoked_at = now
        session.commit()
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    row.last_seen_at = now
    session.commit()
    return user


def log_out(session: Session, token: str, *, now: datetime) -> None:
    row = session.scalar(select(WebSession).where(WebSession.token_hash == _digest(token)))
    if row is None or row.revoked_at is not None:
        return
    row.revoked_at = now
    user = session.get(User, row.user_id)
    if user is not None:
        record(
            session,
            now=now,
            actor=Actor.of(user),
            action=AuditAction.LOGGED_OUT,
            object_type="user",
            object_id=user.id,
        )
    session.commit()


def open_session(session: Session, user: User, now: datetime) -> str:
    """Open a server-side session for a user who passed every check; return its token."""
    token = secrets.token_urlsafe(32)
    user.failed_logins, user.locked_until = 0, None
    session.add(
        WebSession(user_id=user.id, token_hash=_digest(token), created_at=now, last_seen_at=now)
    )
    record(
        session,
        now=now,
        actor=Actor.of(user),
        action=AuditAction.LOGIN_SUCCEEDED,
        object_type="user",
        object_id=user.id,
    )
    session.commit()
    return token


def _refuse(
    session: Session,
    user: User | None,
    now: datetime,
    *,
    locked: bool = False,
    address: str | None = None,
) -> NoReturn:
    """Audit the refusal, count it against the client's address, and refuse."""
    if address is not None:
        THROTTLE.failed(session, address, now)
    actor = Actor.of(user) if user is not None else Actor(None, "anonymous")
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.LOGIN_FAILED,
        object_type="user",
        object_id=None if user is None else user.id,
        locked=locked,
    )
    session.commit()
    raise Forbidden(REFUSED)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
