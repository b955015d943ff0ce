"""What a task's attempts add up to, whether they bear its closure, and what about an attempt's
time a supervisor should look at: pure rules over attempts already read (S5, S6, S14), tested
without a database.

The services read the attempts and act on the answers (services/attempts/attempt_log.py and
closing.py); the queue's count done by the database (`tasks.windows_counted`) is held equal to
`distinct_windows` by a test.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Protocol, TypeVar

from outreach.domain.vocabulary import (
    TEXTED_REASONS,
    AttemptFlag,
    Channel,
    Outcome,
    TaskReason,
    TaskStatus,
)

REACHED = frozenset({Outcome.REACHED_SAFE.value, Outcome.REACHED_NOT_SAFE.value})
LETTER_REASONS = frozenset({TaskReason.COMPLETION_LETTER, TaskReason.TERMINATION_LETTER})


# --- which attempts stand ---------------------------------------------------------------


class Corrects(Protocol):
    """What telling standing attempts apart reads: a row of those columns does as well."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def corrects_id(self) -> uuid.UUID | None: ...


_Entry = TypeVar("_Entry", bound=Corrects)


def standing(attempts: Iterable[_Entry]) -> list[_Entry]:
    """Of attempts already read, those that stand: without the entries later corrected (S14)."""
    rows = list(attempts)
    corrected = {a.corrects_id for a in rows if a.corrects_id is not None}
    return [a for a in rows if a.id not in corrected]


# --- an attempt's time (S14) -----------------------------------------------------------------


def attempt_flags(
    at: datetime, *, opened: datetime, entered: datetime, late_after: timedelta
) -> list[AttemptFlag]:
    """What about an attempt's time a supervisor should look at (S14).

    Before the task opened: the call cannot have been made for this task. Entered late: the log
    was filled in after the fact, when memory and the claimed time are least reliable.
    """
    found = []
    if at < opened:
        found.append(AttemptFlag.BEFORE_TASK_OPENED)
    if entered - at > late_after:
        found.append(AttemptFlag.ENTERED_LATE)
    return found


# --- windows and callbacks ------------------------------------------------------------------


class InWindow(Protocol):
    """What counting windows reads of an attempt: a row of those columns does as well."""

    @property
    def group_id(self) -> uuid.UUID | None: ...
    @property
    def session_date(self) -> date | None: ...
    @property
    def window_day(self) -> date | None: ...
    @property
    def at(self) -> datetime: ...


def distinct_windows(attempts: Iterable[InWindow]) -> int:
    """Count the different windows attempts were made in (S5).

    One window per group session, else one per day in the contact's own time zone: two calls
    at 18:55 and 19:05 in New York are one evening even though UTC midnight falls between.
    """
    return len({_window_of(a) for a in attempts})


def _window_of(a: InWindow) -> tuple[object, ...]:
    if a.session_date:
        return (a.group_id, a.session_date)
    # Every attempt logged outside group time has its local day (append_attempt, migration
    # 0008); the UTC day is only a fallback for a row written some other way without one.
    return ("day", a.window_day or a.at.date())


class AskedBack(Protocol):
    """What finding a pending callback reads of an attempt: a row of those columns does too."""

    @property
    def at(self) -> datetime: ...
    @property
    def callback_at(self) -> datetime | None: ...


def pending_callback(attempts: Iterable[AskedBack]) -> datetime | None:
    """The time the contact person asked to be called back at that no call has kept yet (S6).

    Of the standing attempts, the newest that carries a callback time speaks for her; any
    attempt made at or after that time keeps it, whatever its outcome.
    """
    rows = list(attempts)
    asked = [a for a in rows if a.callback_at is not None]
    if not asked:
        return None
    callback_at = max(asked, key=lambda a: a.at).callback_at
    assert callback_at is not None
    return None if any(a.at >= callback_at for a in rows) else callback_at


# --- closing ---------------------------------------------------------------------------


class Made(InWindow, AskedBack, Protocol):
    """What the closure rules read of an attempt."""

    @property
    def outcome(self) -> str: ...
    @property
    def channel(self) -> str: ...


@dataclass(frozen=True)
class Refusal:
    """Why attempts do not bear a closure, in words for the liaison, with the field to show."""

    message: str
    fields: dict[str, str] = field(default_factory=dict)


def why_not_completed(reason: str, attempts: Iterable[Made]) -> Refusal | None:
    """None when the attempts bear "completed": a conversation that was safe to have (S6), or,
    for a letter task, the letter sent; for a check-in or a status update, the text she chose
    over calls sent (services/check_ins); for a safety concern, its referral to the victim
    services program."""
    letter = reason in LETTER_REASONS
    texted = reason in TEXTED_REASONS
    # NY OPDV (seeds/000): a safety concern referred to the victim services program is
    # handled; the outcome is only accepted where the profile says so (services/tasks).
    referred = reason == TaskReason.SAFETY_CONCERN
    done = any(
        a.outcome == Outcome.REACHED_SAFE
        or (letter and a.channel == Channel.MAIL)
        or (texted and a.outcome == Outcome.TEXT_SENT)
        or (referred and a.outcome == Outcome.REFERRED_TO_VICTIM_SERVICES)
        for a in attempts
    )
    if done:
        return None  # S6: "not safe" never completes a contact
    return Refusal("a task is completed only after a conversation that was safe to have")


def why_not_unreachable(min_attempts: int, attempts: Sequence[Made]) -> Refusal | None:
    """None when the attempts bear "unreachable": her callback time tried (S6) and the
    minimum attempts made in different windows (S5)."""
    if pending_callback(attempts) is not None:
        return Refusal(
            "the contact person asked to be called back and no call has been made at or after "
            "that time; call then before closing as unreachable",
            {"resolution": "callback not yet tried"},
        )
    windows = distinct_windows(attempts)
    if windows < min_attempts:
        return Refusal(
            f"unreachable needs {min_attempts} attempts in different windows; {windows} so far",
            {"resolution": "too few attempts"},
        )
    return None


def closure_stands(status: str, reason: str, min_attempts: int, attempts: Sequence[Made]) -> bool:
    """Whether a closed task's standing attempts still bear its closure (S14).

    Completed rests on a safe conversation (S6); unreachable on the minimum attempts in
    different windows, her callback time tried (S5, S6), and on nobody having reached her.
    """
    if status == TaskStatus.COMPLETED:
        return why_not_completed(reason, attempts) is None
    if status == TaskStatus.UNREACHABLE:
        reached = any(a.outcome in REACHED for a in attempts)
        return not reached and why_not_unreachable(min_attempts, attempts) is None
    return True
