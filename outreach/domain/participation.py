"""A participant's status over time, derived from his program events (S4, S13).

Pure: no clock, no database. The events that begin and end his time in the program (and a
leave of absence and his return from it) are replayed in the order they happened; the
status at any instant is the state that replay reached by then. The planner proposes group
time only inside a period in which he was active in the program (S4: "never before he
enrolled, never after he completed, was terminated, left or went on leave"), and what a
contact person is told about him is this status, never a guess from a task's reason (S13).

A participant with no entry event at the start of his history was put on the roster (an
import, or a program system that reports only changes): he counts as enrolled from the
moment his record was created. One whose history starts with an entry was not in the program
before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from outreach.domain.intervals import Interval
from outreach.domain.vocabulary import EventType

# The end of an open period: still active, as far as anyone has told us.
FOREVER = datetime(9999, 1, 1, tzinfo=UTC)


class Status(StrEnum):
    """Where a participant stands in the program at an instant."""

    NOT_ENROLLED = "not_enrolled"  # before his entry (an applicant, or not yet started)
    ENROLLED = "enrolled"
    ACCEPTED = "accepted"
    ON_LEAVE = "on_leave"
    COMPLETED = "completed"
    TERMINATED = "terminated"
    REJECTED = "rejected"


ACTIVE = frozenset({Status.ENROLLED, Status.ACCEPTED})
# He is no longer in group: group time is not a safe time (S4).
EXITED = frozenset({Status.COMPLETED, Status.TERMINATED, Status.ON_LEAVE, Status.REJECTED})

STATUS_EVENTS = frozenset(
    {
        EventType.ENROLLED,
        EventType.ACCEPTED,
        EventType.REJECTED,
        EventType.COMPLETED,
        EventType.TERMINATED,
        EventType.LEAVE_OF_ABSENCE,
        EventType.RETURNED_FROM_LEAVE,
    }
)
_ENTRIES = frozenset({EventType.ENROLLED, EventType.ACCEPTED})


@dataclass(frozen=True, slots=True)
class Mark:
    """One recorded event: what, when it happened, and when it was recorded (the tie-break)."""

    type: EventType
    at: datetime
    recorded_at: datetime

    def key(self) -> tuple[datetime, datetime, str]:
        # The service records no two events of his at one instant (recording_time); the
        # name is a last tie-break, so that any reading of a record says the same.
        return (self.at.astimezone(UTC), self.recorded_at.astimezone(UTC), self.type.value)


@dataclass(frozen=True, slots=True)
class StatusAt:
    """His status at an instant and since when (None: since his record was created)."""

    status: Status
    since: datetime | None


class HistoryError(ValueError):
    """A new event that would make his history impossible; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Timeline:
    """His statuses over time, replayed once; answers the status at any instant."""

    __slots__ = ("_active", "_changes", "exists_since")

    def __init__(self, marks: Iterable[Mark], exists_since: datetime) -> None:
        self.exists_since = exists_since.astimezone(UTC)
        ordered = sorted((m for m in marks if m.type in STATUS_EVENTS), key=Mark.key)
        state = _initial(ordered)
        changes: list[tuple[datetime | None, Status]] = [(None, state)]
        for mark in ordered:
            after = _step(state, mark.type)
            # An impossible step in old data changes nothing (a new one is refused).
            if after is not None and after != state:
                state = after
                changes.append((mark.at.astimezone(UTC), state))
        self._changes = tuple(changes)
        self._active = self._periods()

    def status_at(self, instant: datetime) -> StatusAt:
        """His status at `instant`: the last change at or before it."""
        at = instant.astimezone(UTC)
        found = self._changes[0]
        for change in self._changes[1:]:
            if change[0] is not None and change[0] <= at:
                found = change
            else:
                break
        return StatusAt(found[1], found[0])

    def active(self) -> tuple[Interval, ...]:
        """The periods in which he was active in the program, as half-open UTC intervals."""
        return self._active

    def _periods(self) -> tuple[Interval, ...]:
        periods: list[Interval] = []
        start: datetime | None = None
        for at, status in self._changes:
            begin = self.exists_since if at is None else max(at, self.exists_since)
            if status in ACTIVE and start is None:
                start = begin
            elif status not in ACTIVE and start is not None:
                if start < begin:
                    periods.append(Interval(start, begin))
                start = None
        if start is not None:
            periods.append(Interval(start, FOREVER))
        return tuple(periods)

    def covers(self, start: datetime, end: datetime) -> bool:
        """True only if [start, end) lies wholly inside one period in which he was active."""
        return any(p.start <= start and end <= p.end for p in self._active)


def check_new_event(marks: Sequence[Mark], new: Mark, exists_since: datetime) -> None:
    """Refuse a new event that would make his history impossible; HistoryError names why.

    An event dated before his record existed, a return from a leave he was not on, a leave
    or a discharge while he was not in the program, or an event that would make a later
    recorded event impossible (out of order) is refused, before anything is written.
    """
    if new.at.astimezone(UTC) < exists_since.astimezone(UTC):
        raise HistoryError("at", "an event cannot be dated before the participant was recorded")
    if new.type not in STATUS_EVENTS:
        return
    ordered = sorted((m for m in (*marks, new) if m.type in STATUS_EVENTS), key=Mark.key)
    state = _initial(ordered)
    for mark in ordered:
        after = _step(state, mark.type)
        if after is None:
            raise _refusal(mark is new, mark, state)
        state = after


def _refusal(is_new: bool, mark: Mark, state: Status) -> HistoryError:
    if not is_new:
        return HistoryError(
            "at",
            "events out of order: with this date, a later recorded "
            f"{mark.type.value} would no longer follow from his status",
        )
    if mark.type is EventType.RETURNED_FROM_LEAVE:
        return HistoryError("type", "returned_from_leave needs a leave_of_absence before it")
    return HistoryError("type", f"{mark.type.value} cannot follow his status then ({state.value})")


def _initial(ordered: Sequence[Mark]) -> Status:
    # A history that starts with an entry: not in the program before it. Otherwise he was
    # on the roster when his record was created.
    if ordered and ordered[0].type in _ENTRIES:
        return Status.NOT_ENROLLED
    return Status.ENROLLED


def _step(state: Status, event: EventType) -> Status | None:
    """The status after `event`, or None when the event cannot follow `state`."""
    if event is EventType.ENROLLED:
        return Status.ENROLLED
    if event is EventType.ACCEPTED:
        return Status.ACCEPTED
    if event is EventType.RETURNED_FROM_LEAVE:
        return Status.ENROLLED if state is Status.ON_LEAVE else None
    if event is EventType.LEAVE_OF_ABSENCE:
        return Status.ON_LEAVE if state in ACTIVE else None
    if event in (EventType.COMPLETED, EventType.TERMINATED):
        allowed = state in ACTIVE or state is Status.ON_LEAVE
        return Status(event.value) if allowed else None
    if event is EventType.REJECTED:
        return Status.REJECTED if state in ACTIVE or state is Status.NOT_ENROLLED else None
    return state
