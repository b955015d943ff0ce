"""The supervisor's review: the attempt log and its CSV export, sign-offs, corrections (S5, S7).

Contacts appear here only by their opaque reference: never a name, a number or a note.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from outreach.domain import attempt_rules
from outreach.domain.vocabulary import (
    STAFF_OUTCOMES,
    EntryPoint,
    Outcome,
    Role,
    TaskReason,
    TaskStatus,
)
from outreach.models import Attempt, OutreachTask, Program, User, user_program
from outreach.security.permissions import Permission
from outreach.services.attempts import closing
from outreach.services.attempts.attempt_log import (
    refuse_referral_outside_its_protocol,
    standing_attempts,
    stop_all_contact,
)
from outreach.services.errors import Conflict, Invalid, NotFound
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.scheduling import queue
from outreach.services.staff.access import require

PER_PAGE = 50
CSV_COLUMNS = (
    "attempt",
    "at_utc",
    "program",
    "contact_reference",
    "task",
    "reason",
    "channel",
    "outcome",
    "liaison",
    "session_date",
    "corrects",
    "entered_at_utc",
    "entered_by",
    "entered_via",
    "flags",
    "flag_reason",
)


@dataclass(frozen=True)
class LogFilter:
    program_id: uuid.UUID | None = None
    liaison_id: uuid.UUID | None = None
    reason: str | None = None
    outcome: str | None = None
    date_from: date | None = None  # UTC calendar days, inclusive
    date_to: date | None = None

    def describe(self) -> dict[str, str | None]:
        return {f"filter_{k}": None if v is None else str(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class LogRow:
    attempt_id: uuid.UUID
    at: datetime
    program: str
    reference: str
    task_id: uuid.UUID
    reason: str
    channel: str
    outcome: str
    liaison: str
    session_date: date | None
    corrects_id: uuid.UUID | None
    # S14: when and by whom it was entered, through what, and what about its time needs a look.
    entered_at: datetime
    entered_by: str
    entered_via: str
    flags: tuple[str, ...]
    flag_reason: str | None  # why it was entered at an odd time, as the person entering said


@dataclass(frozen=True)
class LogPage:
    rows: list[LogRow]
    page: int
    has_next: bool


def attempt_log(
    session: Session, *, actor: Actor, filters: LogFilter, now: datetime, page: int = 1
) -> LogPage:
    """One page of attempts, newest first, within the actor's programs."""
    _require_review(session, actor, filters, now)
    offset = (max(page, 1) - 1) * PER_PAGE
    query = log_query(filters, _scope(actor)).offset(offset).limit(PER_PAGE + 1)
    rows = [_log_row(row) for row in session.execute(query)]
    return LogPage(rows[:PER_PAGE], max(page, 1), len(rows) > PER_PAGE)


def export_csv(
    session: Session,
    sessions: sessionmaker[Session],
    *,
    actor: Actor,
    filters: LogFilter,
    now: datetime,
) -> Iterator[str]:
    """Check and audit the export at once; answer its CSV lines, read as they are sent.

    The lines are read `EXPORT_CHUNK` rows at a time, each chunk in a short transaction of its
    own that ends before the chunk is sent. A download of any length, or one the supervisor
    breaks off, so never holds a transaction open while the network is slow: on SQLite that
    transaction would hold the one write lock, and every webhook behind it, a texted STOP
    included, would wait and fail (S2; issue 21 finding 1).
    """
    _require_review(session, actor, filters, now)
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.ATTEMPTS_EXPORTED,
        object_type="attempt_log",
        program_id=filters.program_id,
        **filters.describe(),
    )
    session.commit()
    return _export_lines(sessions, log_query(filters, _scope(actor)))


EXPORT_CHUNK = 500


def _export_lines(sessions: sessionmaker[Session], query: Select[Any]) -> Iterator[str]:
    yield _csv_line(CSV_COLUMNS)
    after: tuple[datetime, uuid.UUID] | None = None
    while True:
        chunk = _export_chunk(sessions, query, after)
        for row in chunk:
            yield _csv_line(_csv_values(row))
        if len(chunk) < EXPORT_CHUNK:
            return
        after = (chunk[-1].at, chunk[-1].attempt_id)


def _export_chunk(
    sessions: sessionmaker[Session], query: Select[Any], after: tuple[datetime, uuid.UUID] | None
) -> list[LogRow]:
    """The next rows after `after` in the log's order (newest first), in a transaction that
    ends here: keyset paging, so rows are neither skipped nor repeated between chunks."""
    if after is not None:
        at, attempt_id = after
        query = query.where(or_(Attempt.at < at, and_(Attempt.at == at, Attempt.id > attempt_id)))
    with sessions() as reading:
        return [_log_row(row) for row in reading.execute(query.limit(EXPORT_CHUNK))]


def log_query(filters: LogFilter, scope: frozenset[uuid.UUID] | None) -> Select[Any]:
    """The log's query, shared by the page, the export and the benchmark's bare query."""
    liaison, enterer = aliased(User), aliased(User)
    # The program's key comes from a scalar subquery, not a join: a join lets SQLite start from
    # the program and sort every attempt; this way it walks the attempt.at index newest first.
    program_key = select(Program.key).where(Program.id == OutreachTask.program_id).scalar_subquery()
    query = (
        select(
            Attempt.id,
            Attempt.at,
            program_key,
            OutreachTask.contact_id,
            OutreachTask.id,
            OutreachTask.reason,
            Attempt.channel,
            Attempt.outcome,
            liaison.username,
            Attempt.session_date,
            Attempt.corrects_id,
            Attempt.recorded_at,
            enterer.username,
            Attempt.entered_via,
            Attempt.flags,
            Attempt.reason,
        )
        .join(OutreachTask, OutreachTask.id == Attempt.task_id)
        .outerjoin(liaison, liaison.id == Attempt.made_by)
        .outerjoin(enterer, enterer.id == Attempt.entered_by)
        .order_by(Attempt.at.desc(), Attempt.id)
    )
    return _filtered(query, filters, scope)


def _filtered(query: Select[Any], f: LogFilter, scope: frozenset[uuid.UUID] | None) -> Select[Any]:
    if scope is not None:
        query = query.where(OutreachTask.program_id.in_(list(scope)))
    if f.program_id is not None:
        query = query.where(OutreachTask.program_id == f.program_id)
    if f.liaison_id is not None:
        query = query.where(Attempt.made_by == f.liaison_id)
    if f.reason:
        query = query.where(OutreachTask.reason == f.reason)
    if f.outcome:
        query = query.where(Attempt.outcome == f.outcome)
    if f.date_from is not None:
        query = query.where(Attempt.at >= datetime.combine(f.date_from, time(0), UTC))
    if f.date_to is not None:
        end = datetime.combine(f.date_to + timedelta(days=1), time(0), UTC)
        query = query.where(Attempt.at < end)
    return query


def parse_filter(args: dict[str, str]) -> LogFilter:
    """Build a filter from query-string values; anything unknown is refused, not ignored."""
    reason, outcome = args.get("reason") or None, args.get("outcome") or None
    if reason is not None and reason not in {r.value for r in TaskReason}:
        raise Invalid("reason is not a known task reason", {"reason": "invalid"})
    if outcome is not None and outcome not in {o.value for o in Outcome}:
        raise Invalid("outcome is not a known outcome", {"outcome": "invalid"})
    return LogFilter(
        program_id=_uuid(args, "program"),
        liaison_id=_uuid(args, "liaison"),
        reason=reason,
        outcome=outcome,
        date_from=_date(args, "from"),
        date_to=_date(args, "to"),
    )


def _uuid(args: dict[str, str], name: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(args[name]) if args.get(name) else None
    except ValueError:
        raise Invalid(f"{name} is not a valid id", {name: "invalid"}) from None


def _date(args: dict[str, str], name: str) -> date | None:
    try:
        return date.fromisoformat(args[name]) if args.get(name) else None
    except ValueError:
        raise Invalid(f"{name} must be a date YYYY-MM-DD", {name: "invalid"}) from None


def _log_row(row: Any) -> LogRow:
    attempt_id, at, program, contact_id, task_id, reason, channel, outcome, who, day, fix = row[:11]
    entered_at, entered_by, via, flags, why = row[11:]
    return LogRow(
        attempt_id=attempt_id,
        at=at,
        program=program,
        reference=queue.reference(contact_id),
        task_id=task_id,
        reason=reason,
        channel=channel,
        outcome=outcome,
        liaison=who or "system",
        session_date=day,
        corrects_id=fix,
        entered_at=entered_at,
        entered_by=entered_by or ("system" if via == EntryPoint.WEBHOOK else "not kept"),
        entered_via=via,
        flags=tuple(flags.split()),
        flag_reason=why,
    )


def _csv_values(row: LogRow) -> tuple[str, ...]:
    return (
        str(row.attempt_id),
        row.at.astimezone(UTC).isoformat(),
        row.program,
        row.reference,
        str(row.task_id),
        row.reason,
        row.channel,
        row.outcome,
        row.liaison,
        row.session_date.isoformat() if row.session_date else "",
        str(row.corrects_id or ""),
        row.entered_at.astimezone(UTC).isoformat(),
        row.entered_by,
        row.entered_via,
        " ".join(row.flags),
        row.flag_reason or "",
    )


# A spreadsheet reads a cell starting with one of these as a formula (or, for tab and carriage
# return, strips them and reads what follows as one): OWASP's CSV injection list.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: str) -> str:
    """The value as a cell no spreadsheet runs: a quote before a formula start; "" stays empty."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _csv_line(values: tuple[str, ...]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow([spreadsheet_cell(v) for v in values])
    return out.getvalue()


def _require_review(session: Session, actor: Actor, filters: LogFilter, now: datetime) -> None:
    require(
        session,
        actor,
        Permission.ATTEMPT_REVIEW,
        filters.program_id,
        now=now,
        object_type="attempt_log",
        object_id=filters.program_id,
    )


def programs_in_scope(session: Session, actor: Actor) -> list[Program]:
    query = select(Program).order_by(Program.key)
    scope = _scope(actor)
    if scope is not None:
        query = query.where(Program.id.in_(list(scope)))
    return list(session.scalars(query))


def liaisons_in_scope(session: Session, actor: Actor) -> list[tuple[uuid.UUID, str]]:
    """The liaisons of the actor's programs, by name, for the log's filter (issue 22 item 5)."""
    query = (
        select(User.id, User.username)
        .where(User.role == Role.LIAISON.value)
        .order_by(User.username)
        .distinct()
    )
    scope = _scope(actor)
    if scope is not None:
        query = query.join(user_program, user_program.c.user_id == User.id).where(
            user_program.c.program_id.in_(list(scope))
        )
    return [(uid, name) for uid, name in session.execute(query)]


def _scope(actor: Actor) -> frozenset[uuid.UUID] | None:
    return None if actor.user_id is None else actor.program_ids


# --- sign-off and corrections ---------------------------------------------------------------


def awaiting_sign_off(session: Session, *, actor: Actor, now: datetime) -> list[OutreachTask]:
    """Tasks closed as unreachable that no supervisor has signed off yet."""
    require(session, actor, Permission.TASK_CLOSE_UNREACHABLE, None, now=now, object_type="task")
    query = select(OutreachTask).where(
        OutreachTask.status == TaskStatus.UNREACHABLE.value,
        OutreachTask.signed_off_by.is_(None),
    )
    scope = _scope(actor)
    if scope is not None:
        query = query.where(OutreachTask.program_id.in_(list(scope)))
    return list(session.scalars(query.order_by(OutreachTask.closed_at)))


MAX_SIGN_OFF_COMMENT = 300


def sign_off(
    session: Session, *, actor: Actor, task_id: uuid.UUID, now: datetime, comment: str = ""
) -> None:
    """A supervisor confirms an unreachable closure, which must meet the minimum (S5), with
    what they would say about it (issue 22 item 5), kept with the sign-off."""
    comment = comment.strip()
    if len(comment) > MAX_SIGN_OFF_COMMENT:
        raise Invalid(
            f"a comment has at most {MAX_SIGN_OFF_COMMENT} characters", {"comment": "too long"}
        )
    task = _task(session, task_id)
    require(
        session,
        actor,
        Permission.TASK_CLOSE_UNREACHABLE,
        task.program_id,
        now=now,
        object_type="task",
        object_id=task_id,
    )
    if task.status != TaskStatus.UNREACHABLE or task.signed_off_by is not None:
        raise Conflict("only an unreachable closure not yet signed off can be signed off")
    if attempt_rules.distinct_windows(standing_attempts(session, task.id)) < task.min_attempts:
        raise Conflict("this closure has too few attempts in different windows to sign off (S5)")
    task.signed_off_by, task.signed_off_at = actor.user_id, now
    task.sign_off_comment = comment or None
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.TASK_SIGNED_OFF,
        object_type="task",
        object_id=task.id,
        program_id=task.program_id,
    )
    session.commit()


def correct_attempt(
    session: Session, *, actor: Actor, attempt_id: uuid.UUID, outcome: str, now: datetime
) -> Attempt:
    """Correct an attempt's outcome with a new entry pointing to the old one (S5).

    The correction is the same call: its time, window, flags and their reason are the old
    entry's; who entered it and when are the correction's own (S14). A correction that takes
    away the basis of the task's closure reopens the task (S14); one that says she declined
    stops all contact (S1)."""
    old = session.get(Attempt, attempt_id)
    task = session.get(OutreachTask, old.task_id) if old else None
    if old is None or task is None:
        raise NotFound("no attempt with that id", {"attempt_id": "unknown"})
    require(
        session,
        actor,
        Permission.ATTEMPT_REVIEW,
        task.program_id,
        now=now,
        object_type="attempt",
        object_id=attempt_id,
    )
    if outcome not in {o.value for o in STAFF_OUTCOMES}:  # a text sent is the service's word
        raise Invalid("outcome is not one of the recorded outcomes", {"outcome": "invalid"})
    refuse_referral_outside_its_protocol(session, task, outcome)  # NY OPDV, seeds/000
    stood = closing.closure_stands(task, standing_attempts(session, task.id))
    fixed = Attempt(
        task_id=old.task_id,
        channel=old.channel,
        at=old.at,
        outcome=outcome,
        made_by=actor.user_id,
        group_id=old.group_id,
        session_date=old.session_date,
        window_day=old.window_day,  # the same call, so the same window (S5)
        corrects_id=old.id,
        recorded_at=now,
        entered_by=actor.user_id,
        entered_via=EntryPoint.WEB.value,
        flags=old.flags,
        reason=old.reason,
    )
    fixed.ensure_id()
    session.add(fixed)
    session.flush()
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.ATTEMPT_CORRECTED,
        object_type="attempt",
        object_id=fixed.id,
        program_id=task.program_id,
        corrects=str(old.id),
        outcome=outcome,
    )
    if outcome == Outcome.DECLINED:
        stop_all_contact(session, actor, task.contact_id, now)
    closing.reopen_if_unfounded(session, actor, task, now, stood=stood, correction=str(fixed.id))
    session.commit()
    return fixed


def _task(session: Session, task_id: uuid.UUID) -> OutreachTask:
    task = session.get(OutreachTask, task_id)
    if task is None:
        raise NotFound("no task with that id", {"task_id": "unknown"})
    return task
