"""Staff accounts, API tokens, and the recovery steps an operator takes for a user."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.phones import InvalidPhone, normalize_phone
from outreach.domain.vocabulary import Role
from outreach.models import ApiToken, Program, User
from outreach.security.crypto import Keyring
from outreach.security.passwords import WeakPassword, hash_password
from outreach.security.vault import Vault, place
from outreach.services.errors import Conflict, Forbidden, Invalid, NotFound
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.staff import auth, second_factor
from outreach.settings import MAX_API_TOKEN_DAYS

TOKEN_PREFIX = "otk_"  # noqa: S105 - a visible prefix so leaked tokens are recognisable
# Hex digits of an API token's row id that name it to an operator: public, unlike the token.
TOKEN_ID_LENGTH = 8
_UUID_HEX_DIGITS = 32


@dataclass(frozen=True)
class IssuedToken:
    """A new API token, to be shown once, and the instant the API starts refusing it."""

    token: str = field(repr=False)  # never in a log line or a traceback by accident
    expires_at: datetime


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


def issue_token(
    session: Session, *, username: str, days: int, now: datetime, actor: Actor
) -> IssuedToken:
    """Create an API token for the user that works for `days` days; only its hash is kept."""
    _check_token_days(days)
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        raise NotFound(f"no active user named {username!r}")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires_at = now + timedelta(days=days)
    row = ApiToken(
        user_id=user.id, token_hash=token_digest(token), created_at=now, expires_at=expires_at
    )
    row.ensure_id()
    session.add(row)
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.TOKEN_ISSUED,
        object_type="api_token",
        object_id=row.id,
        user=str(user.id),
        days=days,
    )
    session.commit()
    return IssuedToken(token, expires_at)


def token_user(session: Session, token: str, *, now: datetime) -> User | None:
    """Return the active user of a live API token and mark it used; None for any other token.

    Unknown, revoked and expired tokens all answer None, so a caller cannot tell them apart.
    """
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    if row is None or row.revoked_at is not None or _expired(row, now):
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    row.last_used_at = now
    session.commit()
    return user


def reset_password(
    session: Session, *, username: str, password: str, now: datetime, actor: Actor
) -> int:
    """Give the user a new password and end their web sessions; return how many ended.

    The lockout is lifted too: the failures it counted were guesses at the old password.
    """
    user = _named_user(session, username)
    user.password_hash = _hash(password)
    user.failed_logins, user.locked_until = 0, None
    return _recovered(session, user, AuditAction.USER_PASSWORD_RESET, now, actor)


def reset_second_factor(session: Session, *, username: str, now: datetime, actor: Actor) -> int:
    """Remove the user's second factor so they enrol again; end their web sessions.

    Returns how many sessions ended. A lockout stays: lifting it here would give someone
    guessing the password fresh tries at an account that no longer asks for a code.
    """
    user = _named_user(session, username)
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


def revoke_tokens(
    session: Session,
    *,
    username: str,
    now: datetime,
    actor: Actor,
    only_without_expiry: bool = False,
) -> int:
    """Revoke every live API token of the user at once; return how many.

    `only_without_expiry` revokes just the tokens issued before tokens expired: a program
    system given a new token first is then never refused while it changes over."""
    user = _named_user(session, username)
    query = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
    if only_without_expiry:
        query = query.where(ApiToken.expires_at.is_(None))
    live = session.scalars(query).all()
    for token in live:
        token.revoked_at = now
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.TOKENS_REVOKED,
        object_type="user",
        object_id=user.id,
        revoked=len(live),
        only_without_expiry=only_without_expiry,
    )
    session.commit()
    return len(live)


class TokenState(StrEnum):
    """Where an API token stands at an instant: the API accepts a live one only."""

    LIVE = "live"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True)
class TokenSummary:
    """One API token as an operator sees it: its public id and dates, never the token."""

    id: uuid.UUID
    issued_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    state: TokenState

    @property
    def short_id(self) -> str:
        """The first hex digits of the row id: enough to name it, nothing of the token."""
        return _short_id(self.id)


def list_tokens(session: Session, *, username: str, now: datetime) -> list[TokenSummary]:
    """List the user's API tokens, newest first, each in its state at `now`."""
    user = _named_user(session, username)
    rows = session.scalars(
        select(ApiToken)
        .where(ApiToken.user_id == user.id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id)
    )
    return [_summary(row, now) for row in rows]


def revoke_token(
    session: Session, *, username: str, token_id: str, now: datetime, actor: Actor
) -> TokenSummary:
    """Revoke the one API token of the user whose id starts with `token_id`; return it.

    For a leaked token while the user's other tokens keep working. An id matching none, or
    more than one, of the user's tokens, or a token already revoked, is refused unchanged."""
    user = _named_user(session, username)
    row = _token_of(session, user, _token_id_prefix(token_id))
    if row.revoked_at is not None:
        raise Conflict(
            f"API token {_short_id(row.id)} of {user.username!r} was already revoked"
            f" at {row.revoked_at:%Y-%m-%d %H:%M} UTC",
            {"token_id": "revoked"},
        )
    row.revoked_at = now
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.TOKEN_REVOKED,
        object_type="api_token",
        object_id=row.id,
        user=str(user.id),
    )
    session.commit()
    return _summary(row, now)


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


def token_digest(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _expired(token: ApiToken, now: datetime) -> bool:
    # No expiry only on tokens issued before migration 0009: they work until revoked.
    return token.expires_at is not None and now >= token.expires_at


def _short_id(token_id: uuid.UUID) -> str:
    return token_id.hex[:TOKEN_ID_LENGTH]


def _summary(row: ApiToken, now: datetime) -> TokenSummary:
    if row.revoked_at is not None:
        state = TokenState.REVOKED
    else:
        state = TokenState.EXPIRED if _expired(row, now) else TokenState.LIVE
    return TokenSummary(row.id, row.created_at, row.expires_at, row.last_used_at, state)


def _token_id_prefix(token_id: str) -> str:
    # Never repeated in a message: an operator may paste the token itself, or its hash, here.
    prefix = token_id.strip().replace("-", "").lower()
    if not TOKEN_ID_LENGTH <= len(prefix) <= _UUID_HEX_DIGITS or not _is_hex(prefix):
        raise Invalid(
            f"a token id is {TOKEN_ID_LENGTH} to {_UUID_HEX_DIGITS} hex digits,"
            " as `users tokens` lists it",
            {"token_id": "invalid"},
        )
    return prefix


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdef" for c in text)


def _token_of(session: Session, user: User, prefix: str) -> ApiToken:
    # A user holds a handful of tokens: matching here works alike on SQLite and PostgreSQL.
    rows = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).all()
    matches = [row for row in rows if row.id.hex.startswith(prefix)]
    if not matches:
        raise NotFound(
            f"no API token of {user.username!r} has that id; `users tokens` lists them",
            {"token_id": "unknown"},
        )
    if len(matches) > 1:
        raise Conflict(
            f"{len(matches)} API tokens of {user.username!r} have ids starting that way;"
            " give more of the id",
            {"token_id": "ambiguous"},
        )
    return matches[0]


def _check_token_days(days: int) -> None:
    if not 1 <= days <= MAX_API_TOKEN_DAYS:
        raise Invalid(f"a token works for 1 to {MAX_API_TOKEN_DAYS} days", {"days": "out_of_range"})


def _named_user(session: Session, username: str) -> User:
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
