"""Outreach tasks and the append-only attempt log (S5)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column

from outreach.domain.vocabulary import (
    Channel,
    EntryPoint,
    Outcome,
    TaskReason,
    TaskStatus,
    WindowKind,
)
from outreach.models.base import Base, HasId, Vocabulary


class OutreachTask(HasId, Base):
    """A required contact: why, by when, how many attempts at least, and who is working it."""

    __tablename__ = "outreach_task"
    __table_args__ = (Index("ix_outreach_task_status_due_by", "status", "due_by"),)

    program_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("program.id"), index=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contact_person.id"), index=True)
    event_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("program_event.id"))
    reason: Mapped[TaskReason] = mapped_column(Vocabulary(TaskReason, 40))
    script: Mapped[str] = mapped_column(String(60))
    # The channels the protocol allows for this task, already narrowed by consent (S1, S2).
    channels: Mapped[list[str]] = mapped_column(JSON)
    opens_at: Mapped[datetime]
    due_by: Mapped[datetime]
    severity: Mapped[str] = mapped_column(String(20))
    min_attempts: Mapped[int]
    # 0 = duty to warn, 1 = immediate, 2 = routine (lower comes first).
    priority: Mapped[int] = mapped_column(default=2)
    # S1/S8: a duty to warn reaching a declined contact; only after a supervisor confirms.
    consent_override: Mapped[bool] = mapped_column(default=False)
    status: Mapped[TaskStatus] = mapped_column(Vocabulary(TaskStatus, 20), default=TaskStatus.OPEN)
    # The claim lease: two liaisons never work one task at once; claim_version fences late writes.
    claimed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    claim_expires_at: Mapped[datetime | None]
    claim_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    signed_off_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    signed_off_at: Mapped[datetime | None]
    # What the supervisor said signing it off (issue 22 item 5; migration 0021). Plain text
    # like an attempt's reason, so the form asks for no names or numbers.
    sign_off_comment: Mapped[str | None] = mapped_column(String(300))
    # S14: the last time a correction took away the basis of a closure and the task reopened;
    # the supervisor's dashboard lists such tasks (migration 0012).
    reopened_at: Mapped[datetime | None]


class TaskPlan(Base):
    """When a task's windows were last planned, and under which rules
    (services/scheduling/call_windows.py).

    No row means stale: any write that can move a window deletes the row, and the queue and the
    scheduler re-plan such tasks before ordering by their windows. Kept off `outreach_task` so
    re-planning never holds the task row a claim needs.
    """

    __tablename__ = "task_plan"

    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("outreach_task.id", ondelete="CASCADE"), primary_key=True
    )
    planned_at: Mapped[datetime]
    planned_until: Mapped[datetime]
    rules_key: Mapped[str] = mapped_column(String(64))


class PlannedWindow(HasId, Base):
    """A call window the planner proposed for an open task, stored so the queue can sort by it.

    Never the last word: the task page and every call re-plan live (S4); this only orders the
    queue, and it is replaced whole each time its task is re-planned.
    """

    __tablename__ = "planned_window"
    # Covering: the queue reads each task's next window from the index alone.
    __table_args__ = (Index("ix_planned_window_task_ends_at", "task_id", "ends_at", "starts_at"),)

    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outreach_task.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    kind: Mapped[WindowKind] = mapped_column(Vocabulary(WindowKind, 20))
    group_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("program_group.id"))
    session_date: Mapped[date | None]
    participant_present: Mapped[bool | None]


class Attempt(HasId, Base):
    """One logged attempt. Never updated or deleted: a correction is a new row (S5)."""

    __tablename__ = "attempt"
    __table_args__ = (
        # Covering (migrations 0005, 0008): the queue counts windows from the index alone.
        Index(
            "ix_attempt_task_window",
            "task_id",
            "session_date",
            "group_id",
            "window_day",
            "at",
            "corrects_id",
            "id",
        ),
        # Only the attempts that asked for a callback (migration 0021): every plan asks which
        # of its tasks have one, and almost none do, so the question reads no attempt at all
        # (the queue page read each shown task's every attempt to find none; issue 22).
        Index(
            "ix_attempt_callback",
            "task_id",
            sqlite_where=text("callback_at IS NOT NULL"),
            postgresql_where=text("callback_at IS NOT NULL"),
        ),
    )

    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("outreach_task.id"), index=True)
    channel: Mapped[Channel] = mapped_column(Vocabulary(Channel, 10))
    # Indexed: the supervisor's log reads newest first within a date range (migration 0003).
    at: Mapped[datetime] = mapped_column(index=True)
    outcome: Mapped[Outcome] = mapped_column(Vocabulary(Outcome, 30))
    made_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("app_user.id"))
    # Which group session the attempt fell in, so the next one goes to a different window (S5).
    group_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("program_group.id"))
    session_date: Mapped[date | None]
    # Outside a group session, the day the attempt was made on in the contact's own time zone
    # (their preferences', else the program's): two calls ten minutes apart across UTC midnight
    # are one evening, one window (S5). Fixed when logged, so a later move does not recount.
    window_day: Mapped[date | None]
    callback_at: Mapped[datetime | None]
    notes_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    corrects_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("attempt.id"))
    # S14: when the attempt was entered (the service's clock, never typed), who entered it
    # (none when the service itself logged a call's outcome) and through what: web, api,
    # webhook, import; "unknown" for attempts logged before migration 0012 kept it.
    recorded_at: Mapped[datetime]
    # No foreign key, as migration 0012 says: users are disabled, never deleted.
    entered_by: Mapped[uuid.UUID | None]
    entered_via: Mapped[EntryPoint] = mapped_column(
        Vocabulary(EntryPoint, 10), default=EntryPoint.UNKNOWN
    )
    # S14: what about its time needs a look (space-separated ATTEMPT_FLAGS, "" for none), fixed
    # when entered, and the reason the person entering it gave. Never a name or a number.
    flags: Mapped[str] = mapped_column(String(80), default="")
    reason: Mapped[str | None] = mapped_column(String(200))

    @property
    def flag_list(self) -> list[str]:
        return self.flags.split()
