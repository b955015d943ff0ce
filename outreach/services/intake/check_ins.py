"""Check-ins: her rhythm opens them (S13), and where she chose texts over calls, her check-in is
one discreet text.

S13: a check-in opens when her rhythm makes it due, counted from the last time she was reached
safely or from when she consented, and only while he is in the program; when she changes her
rhythm, her open check-in follows it.

PRODUCT.md "Consented reminders": "a consented, check-in-style text where she chose texts
over calls"; issue 20 item 4: "her check-in is a discreet text inviting her to reply or ask
for a call. Replies reach the liaison sealed, as today." A profile's `[cadence]
fallback_channels = ["sms"]` makes her check-in a text-only task when she allows texts but not
calls (Cadence.channels_for).

The text is planned like a reminder, at the start of the check-in's next window (S4: his
group time or the times she named as safe, inside calling hours), and sent by the tick's
`send_due`, which checks every rule again as it sends (S1, S2: consent, SMS allowed, no
STOP). Once it has gone out, the service records it as the check-in made (`text_sent`) and
closes the task: her next check-in counts from it. Her reply, if any, reaches the liaison's
messages sealed, as every reply does (services/delivery/inbound.py).
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Iterable
from datetime import datetime, time, timedelta

from sqlalchemy import Select, String, and_, cast, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from outreach.domain.planning.windows import CallWindow
from outreach.domain.protocols.engine import cadence_due, wants_check_ins
from outreach.domain.protocols.profile import Profile, TaskSpec
from outreach.domain.vocabulary import (
    INVITED_BY_TEXT,
    PARTICIPATION_ENDS,
    PARTICIPATION_STARTS,
    TEXTED_REASONS,
    DeliveryKind,
    DeliveryStatus,
    EntryPoint,
    Outcome,
    Severity,
    TaskReason,
    TaskStatus,
    WindowKind,
)
from outreach.models import (
    Attempt,
    ContactPerson,
    Delivery,
    OutreachTask,
    Participant,
    Program,
    ProgramEvent,
)
from outreach.services.attempts import attempt_log, closing, tasks
from outreach.services.contact_persons import her_word, preferences
from outreach.services.errors import ServiceError
from outreach.services.records.audit import SYSTEM, Actor, AuditAction, record
from outreach.services.scheduling import planning

SCRIPT = "check_in"
LOOKAHEAD = timedelta(hours=24)
# A text that may still go out, or has: no second one is planned for the same check-in.
_LIVE = (
    DeliveryStatus.PENDING,
    DeliveryStatus.SENDING,
    DeliveryStatus.SENT,
    DeliveryStatus.SETTLED,
    DeliveryStatus.UNKNOWN,
)
log = logging.getLogger("outreach.check_ins")
# Further than any rhythm a profile offers (quarterly is 91 days): how far next_check_in looks.
CHECK_IN_HORIZON = timedelta(days=400)


# --- opened by her rhythm (S13) ----------------------------------------------------------


def open_periodic_check_ins(session: Session, profiles: tasks.Profiles, *, now: datetime) -> int:
    """Open the periodic check-ins the protocols' cadences make due (victim-driven, S1).

    Check-ins belong to the participant's time in the program: none opens once the
    participant has left it, until a later event brings the participant back. The exit
    event's own task is the final contact. A check-in already open when the participant
    leaves stays open: the liaison who works it closes it, as any other task.
    """
    opened = 0
    for contact, profile in _cadence_contacts(session, profiles, now):
        if _has_open(session, contact.id, TaskReason.PERIODIC_CHECK_IN):
            continue
        spec = check_in_due(session, profile, contact, now)
        if spec is not None:
            tasks.open_task(session, spec, contact, None, Severity.ROUTINE, now)
            opened += 1
    session.commit()
    return opened


def check_in_due(
    session: Session, profile: Profile, contact: ContactPerson, now: datetime
) -> TaskSpec | None:
    """S13: the check-in her rhythm makes due now, counted from the last time she was
    reached safely or from when she consented, whichever is later."""
    prefs = preferences.current_preferences(session, contact.id)
    marks = [_last_safe_contact(session, contact.id), her_word.consented_since(session, contact.id)]
    known = [mark for mark in marks if mark is not None]
    return cadence_due(
        profile,
        permissions=tasks.permissions(session, contact),
        cadence_choice=prefs.cadence,
        last_contact_at=max(known) if known else None,
        now=now,
        participant_may_be_victim=tasks.may_be_victim(session, contact.participant_id),
    )


def next_check_in(
    session: Session, profile: Profile, contact: ContactPerson, now: datetime
) -> datetime | None:
    """S13: when her rhythm opens her next check-in (`now` if it opens at the next run), for
    the liaison who talks with her about it; None while one is open, and when none can open
    (no rhythm, not consenting, no channel she allows, he has left the program)."""
    if _has_open(session, contact.id, TaskReason.PERIODIC_CHECK_IN) or _out_of(
        session, contact, now
    ):
        return None
    horizon = now + CHECK_IN_HORIZON
    spec = check_in_due(session, profile, contact, horizon)
    if spec is None:
        return None
    return now if spec.opens_at >= horizon else max(spec.opens_at, now)


def follow_rhythm(
    session: Session,
    profile: Profile,
    contact: ContactPerson,
    actor: Actor,
    now: datetime,
) -> None:
    """S13: after she changed her rhythm, her open check-ins follow it, in the caller's
    transaction: one her new rhythm makes due keeps (or gets) its new deadline; one it does
    not make due now (a slower rhythm, or none) is cancelled. Both are audited. Once he has
    left the program nothing new opens, and a check-in still open stays for the liaison to
    close (open_periodic_check_ins), unless she now wants none."""
    open_now = tasks.open_of(session, contact.id, TaskReason.PERIODIC_CHECK_IN)
    due = None
    if _out_of(session, contact, now):
        rhythm = preferences.current_preferences(session, contact.id).cadence
        if wants_check_ins(profile, rhythm):
            return
    else:
        due = check_in_due(session, profile, contact, now)
    for task in open_now:
        if due is None:
            closing.close(
                session, actor, task, TaskStatus.CANCELLED.value, now, because="rhythm_changed"
            )
        elif task.due_by != due.due_by:
            _reschedule(session, actor, task, due.due_by, now)
    if due is not None and not open_now:
        tasks.open_task(session, due, contact, None, Severity.ROUTINE, now)


def _out_of(session: Session, contact: ContactPerson, now: datetime) -> bool:
    """Check-ins belong to his time in the program (open_periodic_check_ins)."""
    out = session.scalar(
        select(Participant.id).where(
            Participant.id == contact.participant_id, Participant.id.in_(_out_of_program(now))
        )
    )
    return out is not None


def _reschedule(
    session: Session, actor: Actor, task: OutreachTask, due_by: datetime, now: datetime
) -> None:
    before, task.due_by = task.due_by, due_by
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.TASK_RESCHEDULED,
        object_type="task",
        object_id=task.id,
        program_id=task.program_id,
        because="rhythm_changed",
        due_before=before.isoformat(),
        due_by=due_by.isoformat(),
    )


def _cadence_contacts(
    session: Session, profiles: tasks.Profiles, now: datetime
) -> list[tuple[ContactPerson, Profile]]:
    with_cadence = {key for key, profile in profiles.items() if profile.cadence is not None}
    rows = session.execute(
        select(ContactPerson, Program.protocol)
        .join(Program, Program.id == ContactPerson.program_id)
        .where(
            Program.protocol.in_(with_cadence),
            ContactPerson.participant_id.not_in(_out_of_program(now)),
        )
    )
    return [(contact, profiles[protocol]) for contact, protocol in rows]


def _out_of_program(now: datetime) -> Select[tuple[uuid.UUID]]:
    """Select the participants whose latest start or end of participation by `now` is an end.

    Latest by when it happened, then by when it was recorded, so a late report of an earlier
    exit does not undo a re-entry after it. On a full tie the end wins: calls beyond the
    program need a clear re-entry. An event dated after `now` has not happened yet. A
    participant with neither kind of event (an imported roster records none) counts as in.
    """
    ended, started = aliased(ProgramEvent), aliased(ProgramEvent)
    after_the_end = or_(
        started.at > ended.at,
        and_(started.at == ended.at, started.created_at > ended.created_at),
    )
    back_since = exists().where(
        started.participant_id == ended.participant_id,
        started.type.in_([e.value for e in PARTICIPATION_STARTS]),
        started.at <= now,
        after_the_end,
    )
    return select(ended.participant_id).where(
        ended.type.in_([e.value for e in PARTICIPATION_ENDS]), ended.at <= now, ~back_since
    )


def _has_open(session: Session, contact_id: uuid.UUID, reason: TaskReason) -> bool:
    return bool(tasks.open_of(session, contact_id, reason))  # at most one check-in is ever open


def _last_safe_contact(session: Session, contact_id: uuid.UUID) -> datetime | None:
    # S13: a safe conversation, or the check-in text she chose over calls (below); a text
    # that only invited her to reply (INVITED_BY_TEXT) did not reach her.
    texted = and_(
        Attempt.outcome == Outcome.TEXT_SENT.value,
        OutreachTask.reason.in_([r.value for r in TEXTED_REASONS]),
    )
    return session.scalar(
        select(func.max(Attempt.at))
        .join(OutreachTask, OutreachTask.id == Attempt.task_id)
        .where(
            OutreachTask.contact_id == contact_id,
            or_(Attempt.outcome == Outcome.REACHED_SAFE.value, texted),
        )
    )


# --- a text where she chose texts over calls ----------------------------------------------


def schedule_texts(
    session: Session, profiles: tasks.Profiles, calling_hours: tuple[time, time], now: datetime
) -> int:
    """Plan one check-in text for each texted check-in without one, at the start of its
    next window in the coming day (or now, if a window is open); answer how many."""
    task_ids = texted_check_ins(session)
    if not task_ids:
        session.commit()  # end the read, as every step of a tick does
        return 0
    plan = planning.plan_open_tasks(
        session, profiles, now=now, days=2, calling_hours=calling_hours, task_ids=task_ids,
        texting=True,
    )  # fmt: skip
    planned = 0
    for window in _first_windows(plan.windows, now).values():
        planned += _plan_one(session, window, now)
    session.commit()
    return planned


def texted_check_ins(session: Session) -> list[uuid.UUID]:
    """The open check-ins that only text (she turned calls off) and have no live text."""
    live = select(Delivery.task_id).where(Delivery.script == SCRIPT, Delivery.status.in_(_LIVE))
    rows = session.execute(
        select(OutreachTask.id, OutreachTask.channels).where(
            OutreachTask.status == TaskStatus.OPEN.value,
            # Issue 20 item 8: a status update where she chose texts over calls is the same
            # discreet text inviting her to reply or ask for a call; never a word about him.
            OutreachTask.reason.in_([r.value for r in TEXTED_REASONS | INVITED_BY_TEXT]),
            cast(OutreachTask.channels, String).like('%"sms"%'),
            OutreachTask.id.not_in(live),
        )
    )
    return [task_id for task_id, channels in rows if channels == ["sms"]]


def _first_windows(windows: Iterable[CallWindow], now: datetime) -> dict[str, CallWindow]:
    first: dict[str, CallWindow] = {}
    for window in windows:
        if window.kind is WindowKind.DUTY_TO_WARN or not (
            window.end > now and window.start < now + LOOKAHEAD
        ):
            continue
        if window.task_id not in first or window.start < first[window.task_id].start:
            first[window.task_id] = window
    return first


def _plan_one(session: Session, window: CallWindow, now: datetime) -> int:
    task = session.get(OutreachTask, uuid.UUID(window.task_id))
    if task is None:
        return 0
    prefs = preferences.current_preferences(session, task.contact_id)
    if preferences.permission_of(prefs).refusal(DeliveryKind.SMS) is not None:
        return 0  # S1, S2: checked again as it is sent; this only spares a useless row
    session.add(
        Delivery(
            task_id=task.id,
            contact_id=task.contact_id,
            kind=DeliveryKind.SMS,
            script=SCRIPT,
            language=prefs.language,
            status=DeliveryStatus.PENDING,
            code=secrets.token_urlsafe(32),
            due_at=max(window.start, now),
            expires_at=window.end,  # S4: never sent once the window has closed
            created_at=now,
        )
    )
    return 1


def made(session: Session, delivery: Delivery, now: datetime) -> None:
    """Record a check-in text that went out as the check-in made, and close its task; for a
    task the text only invites her on (INVITED_BY_TEXT: a safety concern), record it and leave
    the task open for the liaison, who must still reach her.

    Left to the liaison, with the text's record kept, if the task changed meanwhile (she
    turned texts off, a liaison closed it): the text itself has already gone."""
    if delivery.script != SCRIPT or delivery.status != DeliveryStatus.SENT:
        return
    try:
        attempt = attempt_log.append_attempt(
            session, None, actor=SYSTEM, task_id=delivery.task_id, channel="sms",
            at=delivery.sent_at or now, outcome=Outcome.TEXT_SENT.value, now=now,
            entry=attempt_log.Entry(EntryPoint.SCHEDULER),
        )  # fmt: skip
        delivery.attempt_id = attempt.id
        task = session.get(OutreachTask, delivery.task_id)
        if task is not None and task.reason in TEXTED_REASONS:
            closing.close_task(
                session, actor=SYSTEM, task_id=delivery.task_id, resolution="completed", now=now
            )
    except ServiceError as exc:
        session.rollback()
        log.info("check-in text %s sent, task left open: %s", delivery.id, exc.message)
