"""Program-side records: what facilitators and program systems keep. No contact data here (S7)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from outreach.models.base import Base, HasId


class Program(HasId, Base):
    __tablename__ = "program"

    key: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    protocol: Mapped[str] = mapped_column(String(60))
    timezone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    # S8: the supervisor the program's duty to warn rings the moment it is raised (on-call).
    on_call_supervisor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    # S8: the response (raised -> first attempt) a duty to warn is measured against.
    duty_to_warn_target_minutes: Mapped[int] = mapped_column(default=60, server_default="60")
    # S12: "a Spanish-first program makes Spanish the default for its contacts and its staff
    # screens": "es" for Caminar Latino on the Georgia profile; None keeps the profile's.
    language: Mapped[str | None] = mapped_column(String(5))

    groups: Mapped[list[Group]] = relationship(back_populates="program")


class Group(HasId, Base):
    """A recurring group session: an RFC 5545 rule in the group's own time zone."""

    __tablename__ = "program_group"

    program_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("program.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    rrule: Mapped[str] = mapped_column(String(500))
    start_time: Mapped[time]
    duration_minutes: Mapped[int]
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    created_at: Mapped[datetime]

    program: Mapped[Program] = relationship(back_populates="groups")


class SessionCancellation(HasId, Base):
    """A session the program cancelled: it yields no call window (S4)."""

    __tablename__ = "session_cancellation"
    __table_args__ = (UniqueConstraint("group_id", "session_date"),)

    group_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("program_group.id"), index=True)
    session_date: Mapped[date]
    reason: Mapped[str] = mapped_column(String(200))
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime]


class Participant(HasId, Base):
    """The person attending the program; known here only by the program's own reference."""

    __tablename__ = "participant"
    __table_args__ = (UniqueConstraint("program_id", "reference"),)

    program_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("program.id"), index=True)
    group_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("program_group.id"), index=True)
    reference: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime]


class ProgramEvent(HasId, Base):
    """Something the program reports about a participant; the protocol decides what it requires."""

    __tablename__ = "program_event"

    participant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participant.id"), index=True)
    type: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime]
    severity: Mapped[str] = mapped_column(String(20), default="routine")
    # The day still to come an event is about (DATED_EVENTS: `discharge_on` of a planned
    # discharge), in the program's time zone; tasks may be due before it.
    planned_for: Mapped[date | None]
    # S8/S1: a duty to warn may reach a declined contact only once a supervisor confirms it.
    confirmed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    confirmed_at: Mapped[datetime | None]
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime]


class Attendance(HasId, Base):
    """Whether the participant was in group on a session date (S4: absent means not proposed)."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("participant_id", "session_date"),)

    participant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("participant.id"), index=True)
    session_date: Mapped[date]
    status: Mapped[str] = mapped_column(String(10))
    checked_in_at: Mapped[datetime | None]
    recorded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)
