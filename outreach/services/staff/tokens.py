"""API tokens: issued to a staff account for a number of days, shown once, kept only as a hash;
listed, revoked one by one or all at once by an operator.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.models import ApiToken, User
from outreach.services.errors import Conflict, Invalid, NotFound
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.staff.users import named_user
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
    user = named_user(session, username)
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
    user = named_user(session, username)
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
    user = named_user(session, username)
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
