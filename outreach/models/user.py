"""Staff accounts, their program scope, API tokens and web sessions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, LargeBinary, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from outreach.domain.vocabulary import Role
from outreach.models.base import Base, HasId, Vocabulary
from outreach.models.program import Program

user_program = Table(
    "user_program",
    Base.metadata,
    Column("user_id", ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True),
    Column("program_id", ForeignKey("program.id", ondelete="CASCADE"), primary_key=True),
)


class User(HasId, Base):
    __tablename__ = "app_user"

    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(Vocabulary(Role, 20))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    # TOTP second factor: the seed sealed under the keyring, and the last time step accepted
    # so a code cannot be replayed within its window.
    totp_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_last_step: Mapped[int | None]
    # The liaison's own phone, rung first for a bridged call; sealed like contact data.
    phone_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    # The language of their screens, "en" or "es" (issue 22 item 8); NULL follows their
    # programs' language (S12: a Spanish-first program's staff screens are Spanish).
    language: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime]

    programs: Mapped[list[Program]] = relationship(secondary=user_program)


class ApiToken(HasId, Base):
    """A bearer token for program systems; only its SHA-256 is stored."""

    __tablename__ = "api_token"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Refused from this instant on. NULL only on tokens issued before migration 0009, which
    # never expire: upgrading must not cut off a running program system (reissue them).
    expires_at: Mapped[datetime | None]


class WebSession(HasId, Base):
    """A server-side login session: revocable, with idle and absolute expiry."""

    __tablename__ = "web_session"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class SignInFailure(HasId, Base):
    """One failed sign-in step from a client address, kept while it still counts.

    The address throttle reads these rows, so every worker process shares one count (issue 21
    finding 9). The address is kept as its SHA-256 only; a row stops counting after the
    throttle's period and is deleted at the next failure, and an address that reached the
    limit adds no more rows, so the table never holds more than the failures of the last
    period, at most the limit per address.
    """

    __tablename__ = "sign_in_failure"
    __table_args__ = (Index("ix_sign_in_failure_address_at", "address_hash", "failed_at"),)

    address_hash: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(index=True)
