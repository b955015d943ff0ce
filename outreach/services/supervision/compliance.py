"""The compliance dashboard's figures (S5, S8): what a supervisor must see at a glance."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from outreach.domain import attempt_rules
from outreach.domain.vocabulary import Channel, DeliveryStatus, Outcome, TaskReason, TaskStatus
from outreach.models import Attempt, Delivery, OutreachTask, Program, User
from outreach.security.permissions import Permission
from outreach.services.attempts import attempt_log, tasks
from outreach.services.records.audit import Actor
from outreach.services.scheduling import queue
from outreach.services.staff.access import require
from outreach.services.supervision import on_call, on_call_notice

REACHED = attempt_rules.REACHED
NOTICE_KIND = on_call_notice.KIND
LOOK_BACK = timedelta(days=90)
# Tasks a query counts attempt windows for at once: a bound on the statement's parameters.
COUNT_BATCH = 500


@dataclass(frozen=True)
class Flagged:
    """An attempt whose time needs a look (S14), as the dashboard lists it."""

    reference: str
    task_id: uuid.UUID
    at: datetime
    entered_at: datetime
    entered_by: str
    entered_via: str
    flags: list[str]
    reason: str | None


@dataclass(frozen=True)
class Reopened:
    """A task a correction reopened (S14): its closure had lost its basis."""

    reference: str
    task_id: uuid.UUID
    reopened_at: datetime
    status: str


@dataclass(frozen=True)
class Unrecorded:
    """A call a person answered whose outcome was not recorded within the claim (S14)."""

    reference: str
    task_id: uuid.UUID
    placed_at: datetime
    liaison: str


@dataclass(frozen=True)
class Compliance:
    closed_too_early: list[str]  # references of tasks closed unreachable before the minimum
    overdue: dict[str, int]  # open, past the deadline, by reason
    duty_to_warn_minutes: list[tuple[str, float | None]]  # reference, minutes to first attempt
    reach_by_kind: dict[str, tuple[int, int]]  # "group"/"preferred": (reached, attempts)
    reach_by_hour: dict[int, tuple[int, int]]  # local hour: (reached, attempts)
    flagged: list[Flagged]  # S14, entered in the last 90 days, newest first
    reopened: list[Reopened]  # S14, reopened in the last 90 days, newest first
    unrecorded_calls: list[Unrecorded]  # S14, placed in the last 90 days
    # S8: raised -> first attempt -> reached for each duty to warn, against its program's target.
    warn_responses: list[WarnResponse] = field(default_factory=list)


def compliance(session: Session, *, actor: Actor, now: datetime) -> Compliance:
    """The figures for the actor's programs, attempts over the last 90 days."""
    require(session, actor, Permission.ATTEMPT_REVIEW, None, now=now, object_type="compliance")
    scope = None if actor.user_id is None else list(actor.program_ids)
    kinds, hours = _reach(session, scope, now - LOOK_BACK)
    return Compliance(
        closed_too_early=_closed_too_early(session, scope),
        overdue=_overdue(session, scope, now),
        duty_to_warn_minutes=_duty_to_warn(session, scope, now - LOOK_BACK),
        reach_by_kind=kinds,
        reach_by_hour=hours,
        flagged=_flagged(session, scope, now - LOOK_BACK),
        reopened=_reopened(session, scope, now - LOOK_BACK),
        unrecorded_calls=_unrecorded_calls(session, scope, now),
        warn_responses=warn_responses(session, scope, now),
    )


def _in_scope(query, scope: list[uuid.UUID] | None):  # type: ignore[no-untyped-def]
    return query if scope is None else query.where(OutreachTask.program_id.in_(scope))


def _closed_too_early(session: Session, scope: list[uuid.UUID] | None) -> list[str]:
    query = select(OutreachTask.id, OutreachTask.contact_id, OutreachTask.min_attempts).where(
        OutreachTask.status == TaskStatus.UNREACHABLE.value
    )
    closed = session.execute(_in_scope(query, scope)).all()
    made: dict[uuid.UUID, int] = {}
    for start in range(0, len(closed), COUNT_BATCH):  # S5, counted as closing counts them
        made |= tasks.windows_counted(session, [t.id for t in closed[start : start + COUNT_BATCH]])
    return [queue.reference(t.contact_id) for t in closed if made.get(t.id, 0) < t.min_attempts]


def _overdue(session: Session, scope: list[uuid.UUID] | None, now: datetime) -> dict[str, int]:
    query = (
        select(OutreachTask.reason, func.count())
        .where(OutreachTask.status == TaskStatus.OPEN.value, OutreachTask.due_by < now)
        .group_by(OutreachTask.reason)
    )
    return {reason: count for reason, count in session.execute(_in_scope(query, scope))}


def _duty_to_warn(
    session: Session, scope: list[uuid.UUID] | None, since: datetime
) -> list[tuple[str, float | None]]:
    query = (
        select(OutreachTask.contact_id, OutreachTask.created_at, func.min(Attempt.at))
        .outerjoin(Attempt, Attempt.task_id == OutreachTask.id)
        .where(
            OutreachTask.reason == TaskReason.DUTY_TO_WARN.value,
            OutreachTask.created_at >= since,
        )
        .group_by(OutreachTask.id, OutreachTask.contact_id, OutreachTask.created_at)
        .order_by(OutreachTask.created_at)
    )
    return [
        (queue.reference(contact), _minutes(first - opened) if first else None)
        for contact, opened, first in session.execute(_in_scope(query, scope))
    ]


def _minutes(delta: timedelta) -> float:
    return round(delta.total_seconds() / 60, 1)


def _reach(
    session: Session, scope: list[uuid.UUID] | None, since: datetime
) -> tuple[dict[str, tuple[int, int]], dict[int, tuple[int, int]]]:
    query = (
        select(Attempt.at, Attempt.group_id, Attempt.outcome, Program.timezone)
        .join(OutreachTask, OutreachTask.id == Attempt.task_id)
        .join(Program, Program.id == OutreachTask.program_id)
        .where(Attempt.at >= since, Attempt.channel == Channel.VOICE)
    )
    kinds: dict[str, Counter[bool]] = defaultdict(Counter)
    hours: dict[int, Counter[bool]] = defaultdict(Counter)
    for at, group_id, outcome, zone in session.execute(_in_scope(query, scope)):
        reached = outcome in REACHED
        kinds["group" if group_id else "preferred"][reached] += 1
        hours[at.astimezone(ZoneInfo(zone)).hour][reached] += 1
    return (
        {k: (c[True], c.total()) for k, c in kinds.items()},
        {h: (c[True], c.total()) for h, c in sorted(hours.items())},
    )


# --- S14: records a supervisor can trust ---------------------------------------------------


def _flagged(session: Session, scope: list[uuid.UUID] | None, since: datetime) -> list[Flagged]:
    """Attempts at an odd time: before the task opened, or entered long after (S14). A
    correction carries its original's flags; the original alone is listed."""
    query = (
        select(
            OutreachTask.contact_id,
            OutreachTask.id,
            Attempt.at,
            Attempt.recorded_at,
            User.username,
            Attempt.entered_via,
            Attempt.flags,
            Attempt.reason,
        )
        .join(OutreachTask, OutreachTask.id == Attempt.task_id)
        .outerjoin(User, User.id == Attempt.entered_by)
        .where(Attempt.flags != "", Attempt.corrects_id.is_(None), Attempt.recorded_at >= since)
        .order_by(Attempt.recorded_at.desc(), Attempt.id)
    )
    return [
        Flagged(
            queue.reference(contact), task, at, entered, who or "system", via, flags.split(), why
        )
        for contact, task, at, entered, who, via, flags, why in session.execute(
            _in_scope(query, scope)
        )
    ]


def reopened_tasks(session: Session, *, actor: Actor, now: datetime) -> list[Reopened]:
    """The tasks a correction reopened in the last 90 days, for the sign-offs page (S14): a
    signed-off closure a correction took away reappears here, with its task back in the queue."""
    require(session, actor, Permission.ATTEMPT_REVIEW, None, now=now, object_type="compliance")
    scope = None if actor.user_id is None else list(actor.program_ids)
    return _reopened(session, scope, now - LOOK_BACK)


def _reopened(session: Session, scope: list[uuid.UUID] | None, since: datetime) -> list[Reopened]:
    query = (
        select(
            OutreachTask.contact_id, OutreachTask.id, OutreachTask.reopened_at, OutreachTask.status
        )
        .where(OutreachTask.reopened_at >= since)
        .order_by(OutreachTask.reopened_at.desc(), OutreachTask.id)
    )
    return [
        Reopened(queue.reference(contact), task, at, status)
        for contact, task, at, status in session.execute(_in_scope(query, scope))
    ]


def _unrecorded_calls(
    session: Session, scope: list[uuid.UUID] | None, now: datetime
) -> list[Unrecorded]:
    """Answered calls whose outcome is still missing once the claim they were made under is
    over: the task closed, or the caller no longer holds it (S14)."""
    claim_over = or_(
        OutreachTask.status != TaskStatus.OPEN.value,
        OutreachTask.claimed_by.is_(None),
        OutreachTask.claimed_by != Delivery.requested_by,
        OutreachTask.claim_expires_at <= now,
    )
    query = (
        select(
            OutreachTask.contact_id,
            OutreachTask.id,
            Delivery.sent_at,
            Delivery.created_at,
            User.username,
        )
        .join(OutreachTask, OutreachTask.id == Delivery.task_id)
        .outerjoin(User, User.id == Delivery.requested_by)
        .where(attempt_log.awaiting_outcome(), claim_over, Delivery.due_at >= now - LOOK_BACK)
        .order_by(Delivery.created_at)
    )
    return [
        Unrecorded(queue.reference(contact), task, sent or created, who or "unknown")
        for contact, task, sent, created, who in session.execute(_in_scope(query, scope))
    ]


# --- duty-to-warn response time (S8) -------------------------------------------------------

# What each on-call notice became, in a word for the CSV (never contact data).
NOTICE_WORDS: dict[str | None, str] = {
    None: "not_queued",
    DeliveryStatus.PENDING: "queued",
    DeliveryStatus.SENDING: "sending",
    DeliveryStatus.SENT: "sent",
    DeliveryStatus.SETTLED: "sent",
}


@dataclass(frozen=True)
class WarnResponse:
    """One duty to warn's response time (S8): raised -> first attempt -> reached, against its
    program's own target, and whether the on-call supervisor's phone was told."""

    reference: str
    task_id: uuid.UUID
    raised_at: datetime
    to_first_attempt: float | None  # minutes; None: no attempt yet
    to_reached: float | None  # minutes to a safe conversation; None: not yet
    breached: bool  # the first attempt came later than the target, or has not come in time
    target_minutes: int = on_call.DEFAULT_TARGET_MINUTES
    notice: str = "sent"  # a word: sent, delivered, queued, or not_sent:<why>
    notice_unsent: str | None = None  # why the on-call supervisor could not be told, in words


def warn_responses(
    session: Session, scope: list[uuid.UUID] | None, now: datetime
) -> list[WarnResponse]:
    """S8: each duty to warn raised in the last 90 days, oldest first, with its response time,
    measured from when it was raised (its task opens then); only standing attempts count."""
    query = (
        select(
            OutreachTask.id,
            OutreachTask.contact_id,
            OutreachTask.opens_at,
            Program.duty_to_warn_target_minutes.label("target"),
            Delivery.status.label("notice_status"),
            Delivery.provider_status.label("notice_provider_status"),
            Delivery.error_code.label("notice_code"),
        )
        .join(Program, Program.id == OutreachTask.program_id)
        .outerjoin(
            Delivery, and_(Delivery.task_id == OutreachTask.id, Delivery.kind == NOTICE_KIND)
        )
        .where(
            OutreachTask.reason == TaskReason.DUTY_TO_WARN.value,
            OutreachTask.opens_at >= now - LOOK_BACK,
        )
    )
    rows = session.execute(_in_scope(query, scope).order_by(OutreachTask.opens_at)).all()
    made: dict[uuid.UUID, list[Attempt]] = defaultdict(list)
    for attempt in session.scalars(
        select(Attempt).where(Attempt.task_id.in_([r.id for r in rows]))
    ):
        made[attempt.task_id].append(attempt)
    return [_response(row, attempt_rules.standing(made[row.id]), now) for row in rows]


def _response(row: Any, standing: list[Attempt], now: datetime) -> WarnResponse:
    first = min((a.at for a in standing), default=None)
    reached = min((a.at for a in standing if a.outcome == Outcome.REACHED_SAFE), default=None)
    target = row.target or on_call.DEFAULT_TARGET_MINUTES  # each program's own (S8)
    word, unsent = _notice(row.notice_status, row.notice_provider_status, row.notice_code)
    return WarnResponse(
        reference=queue.reference(row.contact_id),
        task_id=row.id,
        raised_at=row.opens_at,
        to_first_attempt=_minutes(first - row.opens_at) if first else None,
        to_reached=_minutes(reached - row.opens_at) if reached else None,
        breached=(first or now) - row.opens_at > timedelta(minutes=target),
        target_minutes=target,
        notice=word,
        notice_unsent=unsent,
    )


def _notice(
    status: str | None, provider_status: str | None, code: str | None
) -> tuple[str, str | None]:
    """The on-call notice in a word, and why it failed in words (None: it went out)."""
    why = on_call_notice.unsent_words(status, provider_status, code)
    if why is not None:
        return f"not_sent:{code or provider_status or 'not_queued'}", why
    if provider_status == "delivered":
        return "delivered", None
    return NOTICE_WORDS.get(status, "sent"), None


def warn_responses_csv(session: Session, *, actor: Actor, now: datetime) -> list[str]:
    """The response times as CSV lines (references only, never contact data)."""
    require(session, actor, Permission.ATTEMPT_REVIEW, None, now=now, object_type="compliance")
    scope = None if actor.user_id is None else list(actor.program_ids)
    lines = [
        "contact,task,raised_at,minutes_to_first_attempt,minutes_to_reached,target,breached,"
        "supervisor_notified"
    ]
    for r in warn_responses(session, scope, now):
        first = "" if r.to_first_attempt is None else str(r.to_first_attempt)
        reached = "" if r.to_reached is None else str(r.to_reached)
        lines.append(
            f"{r.reference},{r.task_id},{r.raised_at.isoformat()},{first},{reached},"
            f"{float(r.target_minutes)},{'yes' if r.breached else 'no'},{r.notice}"
        )
    return lines
