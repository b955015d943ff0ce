"""What the planner answers: call windows, and what it left out and why.

A liaison sees the windows in rank order; a skipped session or task carries the reason
("participant not in group"), so the page says why rather than stay silent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from outreach.domain.participation import StatusAt
from outreach.domain.vocabulary import WindowKind


class SkipReason(StrEnum):
    """Why the planner proposed nothing for a task or for one session of it."""

    CONTACT_DECLINED = "contact_declined"
    VOICE_NOT_PERMITTED = "voice_not_permitted"
    PARTICIPANT_NOT_IN_GROUP = "participant_not_in_group"
    # S4: not enrolled yet, or completed, terminated, rejected or on leave at that session.
    PARTICIPANT_NOT_ACTIVE = "participant_not_active"
    # S4: a task his exit opened never uses group time; only the times she named.
    GROUP_TIME_AFTER_EXIT = "group_time_after_exit"
    SESSION_CANCELLED = "session_cancelled"
    ALREADY_ATTEMPTED = "already_attempted"
    OUTSIDE_CALLING_HOURS = "outside_calling_hours"
    OUTSIDE_SAFE_TIMES = "outside_safe_times"


class CallWindow(NamedTuple):
    """A span in which a liaison may call the contact person about a task.

    An immutable named tuple rather than a dataclass: the planner makes one per
    session per contact, and a tuple is six times cheaper to build.
    """

    task_id: str
    contact_id: str
    start: datetime
    end: datetime
    kind: WindowKind
    group_id: str | None = None
    session_date: date | None = None
    participant_present: bool | None = None

    def to_json(self) -> dict[str, Any]:
        """Answer the INTERFACES.md window shape; optional keys only when they apply."""
        out: dict[str, Any] = {
            "task_id": self.task_id,
            "contact_id": self.contact_id,
            "start": self.start.astimezone(UTC).isoformat(),
            "end": self.end.astimezone(UTC).isoformat(),
            "kind": self.kind.value,
        }
        if self.group_id is not None:
            out["group_id"] = self.group_id
        if self.session_date is not None:
            out["session_date"] = self.session_date.isoformat()
        out["participant_present"] = self.participant_present
        return out


class Skipped(NamedTuple):
    """Something the planner left out on purpose, so the UI can say why."""

    task_id: str
    contact_id: str
    reason: SkipReason
    group_id: str | None = None
    session_date: date | None = None

    def to_json(self) -> dict[str, Any]:
        """Answer a JSON-ready dict."""
        return {
            "task_id": self.task_id,
            "contact_id": self.contact_id,
            "reason": self.reason.value,
            "group_id": self.group_id,
            "session_date": self.session_date.isoformat() if self.session_date else None,
        }


@dataclass(frozen=True, slots=True)
class Plan:
    """Ranked call windows, and what was left out and why."""

    windows: tuple[CallWindow, ...]
    skipped: tuple[Skipped, ...]
    # Each planned task's participant status at the planning instant, where it is known.
    statuses: Mapping[str, StatusAt] = field(default_factory=dict)
