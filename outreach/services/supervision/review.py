"""The supervisor's attempt log: its filters, its pages, and the programs and liaisons to filter
by (S5, S7).

Contacts appear here only by their opaque reference: never a name, a number or a note. The log's
CSV export is attempt_export.py's; sign-offs and corrections have modules of their own.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased

from outreach.domain.vocabulary import EntryPoint, Outcome, Role, TaskReason
from outreach.models import Attempt, OutreachTask, Program, User, user_program
from outreach.security.permissions import Permission
from outreach.services.errors import Invalid
from outreach.services.records.audit import Actor
from outreach.services.scheduling import queue
from outreach.services.staff.access import require

PER_PAGE = 50


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
    require_review(session, actor, filters, now)
    offset = (max(page, 1) - 1) * PER_PAGE
    query = log_query(filters, reviewed_programs(actor)).offset(offset).limit(PER_PAGE + 1)
    rows = [log_row(row) for row in session.execute(query)]
    return LogPage(rows[:PER_PAGE], max(page, 1), len(rows) > PER_PAGE)


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


def log_row(row: Any) -> LogRow:
    """One row of log_query as the page and the export show it."""
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


def require_review(session: Session, actor: Actor, filters: LogFilter, now: datetime) -> None:
    """Refuse anyone who may not review the attempts of the filtered program (or of all)."""
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
    scope = reviewed_programs(actor)
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
    scope = reviewed_programs(actor)
    if scope is not None:
        query = query.join(user_program, user_program.c.user_id == User.id).where(
            user_program.c.program_id.in_(list(scope))
        )
    return [(uid, name) for uid, name in session.execute(query)]


def reviewed_programs(actor: Actor) -> frozenset[uuid.UUID] | None:
    """The programs whose attempts the actor reviews; None for the system: every program."""
    return None if actor.user_id is None else actor.program_ids
