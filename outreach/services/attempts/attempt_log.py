"""The attempt log: recording an attempt on an open task, and reading the log as it stands.

S1: a declined contact gets nothing but a supervisor-confirmed duty to warn, so a decline
recorded stops all contact. S5: the log is append-only; a correction is a new entry by a
supervisor (services/supervision/review). S14: each attempt keeps who entered it, when, through
what and why at an odd time, and an answered call ends in the outcome recorded for it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Required, TypedDict, Unpack

from sqlalchemy import and_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from outreach.domain import attempt_rules
from outreach.domain.vocabulary import (
    SERVICE_OUTCOMES,
    AttemptFlag,
    Channel,
    DeliveryKind,
    DeliveryStatus,
    EntryPoint,
    Outcome,
    TaskReason,
    TaskStatus,
)
from outreach.models import Attempt, Delivery, OutreachTask, Program
from outreach.security.permissions import Permission
from outreach.security.vault import Vault, place
from outreach.services.attempts import tasks
from outreach.services.contact_persons import her_word, preferences
from outreach.services.errors import Conflict, Invalid
from outreach.services.intake import referrals
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.staff.access import require_on_task
from outreach.services.supervision import holds

# An attempt recorded ahead of the clock by more than this is a typing mistake, not a call.
CLOCK_SKEW = timedelta(minutes=5)
MAX_NOTE = 4000
# S14: an attempt entered longer than this after it happened is flagged and needs a reason
# (the default of settings.late_entry_hours).
ENTERED_LATE_AFTER = timedelta(hours=24)
MAX_REASON = 200
# S14: through these a person types the attempt's time, so an odd time needs their reason. The
# service's own entries (a call's outcome from the provider's callbacks) carry the provider's
# times: flagged if odd, never refused, or the outcome of a real call would be lost.
TYPED = frozenset({EntryPoint.WEB, EntryPoint.API, EntryPoint.IMPORT})


# --- recording an attempt -------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """S14: how an attempt reaches the log: through what, and why at an odd time if it is."""

    via: EntryPoint = EntryPoint.WEB
    reason: str | None = None
    late_after: timedelta = ENTERED_LATE_AFTER


class AttemptAsEntered(TypedDict, total=False):
    """What `append_attempt` takes besides the session and the vault: the one list of them,
    so `record_attempt` cannot fall out of step with it."""

    actor: Required[Actor]
    task_id: Required[uuid.UUID]
    channel: Required[str]
    at: Required[datetime]
    outcome: Required[str]
    now: Required[datetime]
    callback_at: datetime | None
    notes: str | None
    made_by: uuid.UUID | None
    answers_our_text: bool
    entry: Entry
    answered_call: uuid.UUID | None
    by_service: bool


def record_attempt(
    session: Session, vault: Vault | None, **attempt: Unpack[AttemptAsEntered]
) -> Attempt:
    """Log one attempt on an open task (append-only, S5); a decline stops all contact (S1)."""
    made = append_attempt(session, vault, **attempt)
    session.commit()
    return made


def append_attempt(
    session: Session,
    vault: Vault | None,
    *,
    actor: Actor,
    task_id: uuid.UUID,
    channel: str,
    at: datetime,
    outcome: str,
    now: datetime,
    callback_at: datetime | None = None,
    notes: str | None = None,
    made_by: uuid.UUID | None = None,
    answers_our_text: bool = False,
    entry: Entry = Entry(),
    answered_call: uuid.UUID | None = None,
    by_service: bool = False,
) -> Attempt:
    """The body of record_attempt, inside the caller's transaction (webhooks settle with it).

    `made_by` names who made the call when the actor only records it: a call a liaison
    placed is settled by the webhooks (the system acts) yet was made by her (S5: who).
    `answers_our_text` logs her reply to a text the service sent, on a task whose protocol
    lists only calls: consent let the text go (S2), and her "not now" must reach the log.
    `entry` says through what it was entered and, for an odd time, why (S14).
    `answered_call` names the call a person answered whose outcome this is (S14).
    `by_service` is the service recording an outcome of its own for the person who acted (the
    letter a liaison printed and confirmed mailing: services/letters).
    """
    task = tasks.task_to_work(session, actor, task_id, now)
    tasks.refuse_if_taken(task, actor, now)
    _check_attempt(task, channel, at, outcome, callback_at, now, answers_our_text)
    if actor.user_id is not None and not answers_our_text:
        refuse_what_she_refused(session, task, channel, outcome)
        if outcome in SERVICE_OUTCOMES and not by_service:
            # Only the service says a text of its went out, or a letter was produced.
            raise Invalid(f"a {outcome} is recorded by the service", {"outcome": "invalid"})
    refuse_referral_outside_its_protocol(session, task, outcome)
    flags = attempt_rules.attempt_flags(
        at, opened=task.opens_at, entered=now, late_after=entry.late_after
    )
    reason = _reason(entry, flags, typed=entry.via in TYPED and actor.user_id is not None)
    attempt = Attempt(
        task_id=task.id,
        channel=channel,
        at=at,
        outcome=outcome,
        made_by=made_by or actor.user_id,
        callback_at=callback_at,
        recorded_at=now,
        entered_by=actor.user_id,
        entered_via=entry.via.value,
        flags=" ".join(flags),
        reason=reason,
    )
    attempt.group_id, attempt.session_date = tasks.session_of(session, task, at)
    if attempt.session_date is None:
        attempt.window_day = tasks.local_day(session, task, at)
    attempt_id = attempt.ensure_id()
    if notes:
        if vault is None:
            raise ValueError("sealing notes needs the vault")
        cipher = vault.cipher_for(session, task.contact_id)
        attempt.notes_sealed = cipher.seal(place("attempt", "notes", attempt_id), _note(notes))
    session.add(attempt)
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.ATTEMPT_RECORDED,
        object_type="task",
        object_id=task.id,
        program_id=task.program_id,
        attempt=str(attempt_id),
        outcome=outcome,
        channel=channel,
        via=entry.via.value,
        flags=attempt.flags,
    )
    _settle_answered_call(session, actor, task, answered_call, attempt)
    if outcome == Outcome.DECLINED:
        stop_all_contact(session, actor, task.contact_id, now)
    return attempt


def _reason(entry: Entry, flags: Sequence[AttemptFlag], *, typed: bool) -> str | None:
    """S14: an attempt at an odd time that a person typed needs their reason; it is kept."""
    reason = (entry.reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON:
        raise Invalid(f"a reason has at most {MAX_REASON} characters", {"reason": "too long"})
    if flags and reason is None and typed:
        raise Invalid(
            "an attempt before the task opened, or entered more than "
            f"{_hours(entry.late_after)} after it happened, needs a reason",
            {"reason": "required"},
        )
    return reason


def _hours(span: timedelta) -> str:
    hours = round(span.total_seconds() / 3600)
    return "1 hour" if hours == 1 else f"{hours} hours"


# --- calls a person answered (S14) -----------------------------------------------------------


def awaiting_outcome() -> ColumnElement[bool]:
    """The condition of a bridged call a person answered whose outcome nobody recorded yet.

    The liaison who was on it is asked for the outcome until it is recorded (S14); the service
    cannot tell how a conversation went, so it logs nothing itself (callbacks._outcome).
    """
    return and_(
        Delivery.kind == DeliveryKind.BRIDGED_CALL,
        Delivery.answered_by == "human",
        Delivery.attempt_id.is_(None),
        Delivery.status.in_(
            (DeliveryStatus.SENT, DeliveryStatus.IN_PROGRESS, DeliveryStatus.SETTLED)
        ),
    )


def calls_awaiting_outcome(session: Session, task_id: uuid.UUID) -> list[Delivery]:
    """The task's answered calls whose outcome is still to be recorded, oldest first."""
    return list(
        session.scalars(
            select(Delivery)
            .where(Delivery.task_id == task_id, awaiting_outcome())
            .order_by(Delivery.created_at)
        )
    )


def _settle_answered_call(
    session: Session,
    actor: Actor,
    task: OutreachTask,
    call_id: uuid.UUID | None,
    attempt: Attempt,
) -> None:
    """Tie the attempt to the answered call it records the outcome of (S14).

    Named, it must be one of the task's calls still waiting. Unnamed, a voice attempt the
    caller enters for a time at or after their answered call was placed is taken as its
    outcome: the liaison who logs "reached safe" after the call has answered the question.
    """
    waiting = calls_awaiting_outcome(session, task.id)
    if call_id is not None:
        call = next((c for c in waiting if c.id == call_id), None)
        if call is None:
            raise Invalid("that call has no outcome to record", {"call": "invalid"})
    else:
        call = next(
            (
                c
                for c in waiting
                if attempt.channel == Channel.VOICE
                and actor.user_id is not None
                and c.requested_by == actor.user_id
                and c.created_at <= attempt.at + CLOCK_SKEW
            ),
            None,
        )
    if call is not None:
        call.attempt_id = attempt.id


def refuse_referral_outside_its_protocol(
    session: Session, task: OutreachTask, outcome: str
) -> None:
    """A referral to the victim services program is recorded only where the program's
    protocol says so (services/referrals.referral_on): elsewhere it would close a contact
    nobody made. On an ADA duty to warn it is offered in the warning call, so only once she
    was reached safely: it never stands in for the warning (S8) nor counts toward giving up."""
    if outcome != Outcome.REFERRED_TO_VICTIM_SERVICES:
        return
    program = session.get(Program, task.program_id)
    if program is None or not referrals.referral_on(program, task.reason):
        raise Invalid(
            "this program's protocol records no referral to victim services on this task",
            {"outcome": "not for this task in this program's protocol"},
        )
    if task.reason == TaskReason.DUTY_TO_WARN and not any(
        a.outcome == Outcome.REACHED_SAFE for a in standing_attempts(session, task.id)
    ):
        raise Invalid(
            "the referral is offered in the warning call: record reaching her first",
            {"outcome": "she was not reached yet"},
        )


def _check_attempt(
    task: OutreachTask,
    channel: str,
    at: datetime,
    outcome: str,
    callback_at: datetime | None,
    now: datetime,
    answers_our_text: bool = False,
) -> None:
    if task.status != TaskStatus.OPEN:
        raise Conflict("the task is closed; a correction goes on a new entry by a supervisor")
    if channel not in {c.value for c in Channel}:
        raise Invalid("channel must be voice, sms or mail", {"channel": "invalid"})
    if channel not in task.channels and not (answers_our_text and channel == Channel.SMS):
        raise Invalid("this task does not allow that channel", {"channel": "not allowed"})
    if outcome not in {o.value for o in Outcome}:
        raise Invalid("outcome is not one of the recorded outcomes", {"outcome": "invalid"})
    if at > now + CLOCK_SKEW:
        raise Invalid("an attempt cannot be recorded in the future", {"at": "in the future"})
    if callback_at is not None and callback_at <= at:
        raise Invalid("a callback time must come after the attempt", {"callback_at": "too early"})


def stop_all_contact(session: Session, actor: Actor, contact_id: uuid.UUID, now: datetime) -> None:
    """S1: declined means no further contact of any kind, on every task."""
    her_word.record_decline(session, actor=actor, contact_id=contact_id, now=now)
    for task in session.scalars(
        select(OutreachTask).where(
            OutreachTask.contact_id == contact_id,
            OutreachTask.status == TaskStatus.OPEN.value,
        )
    ):
        if not task.consent_override:  # a supervisor-confirmed duty to warn stays (S8)
            task.status, task.closed_at, task.closed_by = (
                TaskStatus.CANCELLED,
                now,
                actor.user_id,
            )


# --- her permissions at every attempt (S1, S3) -------------------------------------------


def refuse_what_she_refused(
    session: Session, task: OutreachTask, channel: str, outcome: str
) -> None:
    """S1/S3: staff cannot log an attempt on a channel, or a voicemail, she refused: 422 naming
    the preference. What the provider reports about a call already placed (webhooks) is still
    logged: it happened, and the log must say so (S5)."""
    prefs = preferences.current_preferences(session, task.contact_id)
    # S1/S8: a duty to warn a supervisor confirmed over her refusal is a person's call.
    voice = prefs.voice or holds.override_confirmed(session, task)
    allowed = {Channel.VOICE: voice, Channel.SMS: prefs.sms, Channel.MAIL: prefs.mail}
    if not allowed.get(Channel(channel), False):
        raise Invalid(
            f"she has not allowed {channel}: the attempt is refused",
            {"channel": f"preference {channel} is off"},
        )
    if (
        outcome == Outcome.VOICEMAIL_NEUTRAL
        and not preferences.permission_of(prefs).leave_voicemail
    ):
        raise Invalid(
            "she has not allowed voicemail: none may be left",
            {"outcome": "preference voicemail is off"},
        )


# --- the log as it stands ----------------------------------------------------------------


def standing_attempts(session: Session, task_id: uuid.UUID) -> list[Attempt]:
    """The task's attempts as they now stand: a corrected entry gives way to its correction."""
    return attempt_rules.standing(
        session.scalars(
            select(Attempt).where(Attempt.task_id == task_id).order_by(Attempt.recorded_at)
        )
    )


def attempt_log_of(
    session: Session, *, actor: Actor, task_id: uuid.UUID, now: datetime
) -> list[Attempt]:
    """Every attempt on a task as entered, corrected ones too, with who entered each, when,
    through what and its flags (S14): what a program system reads to trust the record."""
    task = tasks.find_task(session, task_id)
    require_on_task(session, actor, Permission.CONTACT_READ, task, now)
    query = select(Attempt).where(Attempt.task_id == task_id).order_by(Attempt.recorded_at)
    return list(session.scalars(query))


def _note(text: str) -> str:
    if len(text) > MAX_NOTE:
        raise Invalid(f"a note has at most {MAX_NOTE} characters", {"notes": "too long"})
    return text
