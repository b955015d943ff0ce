"""Outreach tasks: opened by program events through the protocol, worked by attempts, closed.

S1: a declined contact gets nothing but a supervisor-confirmed duty to warn.
S5: unreachable only after the minimum attempts, in different windows.
S6: a "not safe" answer is logged but never completes a contact.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Required, TypedDict, Unpack
from zoneinfo import ZoneInfo

from sqlalchemy import Select, String, and_, case, cast, distinct, exists, func, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import ColumnElement

from outreach.domain import attempt_rules, participation
from outreach.domain.planning.group_sessions import GroupSchedule, group_sessions
from outreach.domain.protocols.engine import (
    cadence_due,
    tasks_for_event,
    update_due,
    wants_check_ins,
)
from outreach.domain.protocols.profile import Permissions, Profile, TaskSpec
from outreach.domain.vocabulary import (
    PARTICIPATION_ENDS,
    PARTICIPATION_STARTS,
    SERVICE_OUTCOMES,
    TEXTED_REASONS,
    AttemptFlag,
    Channel,
    Consent,
    DeliveryKind,
    DeliveryStatus,
    EntryPoint,
    EventType,
    Outcome,
    Severity,
    TaskReason,
    TaskStatus,
)
from outreach.models import (
    Attempt,
    ContactPerson,
    Delivery,
    Group,
    OutreachTask,
    Participant,
    Program,
    ProgramEvent,
)
from outreach.security.permissions import Permission
from outreach.security.vault import Vault, place
from outreach.services.contact_persons import contacts
from outreach.services.errors import Conflict, Invalid, NotFound
from outreach.services.intake import event_dates, participant_status, referrals
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.staff.access import allowed, require
from outreach.services.supervision import holds, on_call_notice

Profiles = Mapping[str, Profile]
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
# Further than any rhythm a profile offers (quarterly is 91 days): how far next_check_in looks.
CHECK_IN_HORIZON = timedelta(days=400)
TAKEN = "another liaison is working this task; it returns to the queue when their claim ends"


# --- opening tasks from program events -------------------------------------------------


def report_event(
    session: Session,
    profiles: Profiles,
    *,
    actor: Actor,
    participant_id: uuid.UUID,
    event_type: str,
    at: datetime,
    severity: str,
    now: datetime,
    days: Mapping[str, date | None] | None = None,
) -> tuple[ProgramEvent, list[OutreachTask]]:
    """Record a program event and open the tasks the program's protocol requires; `days`
    carries the day a dated event is about (event_dates)."""
    participant = _participant(session, participant_id)
    require(
        session,
        actor,
        Permission.PROGRAM_EVENT_WRITE,
        participant.program_id,
        now=now,
        object_type="participant",
        object_id=participant_id,
    )
    found = record_event(
        session,
        profiles,
        actor=actor,
        participant=participant,
        event_type=event_type,
        at=at,
        severity=severity,
        now=now,
        days=days,
    )
    session.commit()
    return found


def record_event(
    session: Session,
    profiles: Profiles,
    *,
    actor: Actor,
    participant: Participant,
    event_type: str,
    at: datetime,
    severity: str,
    now: datetime,
    days: Mapping[str, date | None] | None = None,
) -> tuple[ProgramEvent, list[OutreachTask]]:
    """report_event's work in the caller's transaction, for a service that has checked the
    actor's right to write what brings the event (an absence marked on the attendance)."""
    participant_id = participant.id
    kind, level = _event_type(event_type), _severity(severity)
    recorded = participant_status.recording_time(session, participant.id, now)
    _check_history(session, participant, kind, at, recorded)
    planned = event_dates.planned_day(session, participant.program_id, kind, at, days or {})
    flagged = _may_be_victim(session, participant_id)  # S11: read before this event is added
    event = ProgramEvent(
        participant_id=participant_id,
        type=kind.value,
        at=at,
        severity=level.value,
        planned_for=planned.day,
        recorded_by=actor.user_id,
        created_at=recorded,
    )
    event.ensure_id()
    session.add(event)
    profile = _profile(session, profiles, participant.program_id)
    opened = [
        _open_task(session, spec, contact, event, level, now)
        for contact in _contacts_of(session, participant_id)
        for spec in tasks_for_event(
            profile,
            kind,
            at=at,
            severity=level,
            permissions=_permissions(session, contact),
            participant_may_be_victim=flagged,
            day_begins=planned.begins,
        )
    ]
    opened += _status_updates(session, profile, actor, event, kind, opened, flagged, now)
    on_call_notice.event_recorded(session, actor, event, participant.program_id, opened, now)
    if kind is EventType.PARTICIPANT_MAY_BE_VICTIM and not flagged:
        _stand_down(session, actor, participant_id, opened, now)
    return event, opened


# --- status updates she asked for (issue 20 item 8) ----------------------------------------


def _status_updates(
    session: Session,
    profile: Profile,
    actor: Actor,
    event: ProgramEvent,
    kind: EventType,
    opened: Sequence[OutreachTask],
    flagged: bool,
    now: datetime,
) -> list[OutreachTask]:
    """Open, in the caller's transaction, the status updates this event of his gives the
    contacts who asked for them (seeds/001 Caminar Latino: "general updates on the abusive
    partner's attendance and progress"; seeds/004 PCADV item 4: "attendance"; seeds/001
    Emerge: "monthly participant progress reports, which victims are entitled to receive").

    A contact the event already gives a task (a leave the protocol requires a call for) hears
    his status on that call: no second task. While an update of hers is open, a new event is
    recorded on it, not opened again: the script reads his status when she is called, so
    that one call tells her the latest."""
    told = {task.contact_id for task in opened}
    found: list[OutreachTask] = []
    for contact in _contacts_of(session, event.participant_id):
        if contact.id in told:
            continue
        spec = update_due(
            profile,
            kind,
            at=event.at,
            permissions=_permissions(session, contact),
            wants_updates=contacts.current_preferences(session, contact.id).updates,
            participant_may_be_victim=flagged,
        )
        if spec is None:
            continue
        waiting = _open_of(session, contact.id, TaskReason.STATUS_UPDATE)
        if waiting:
            _note_update(session, actor, waiting[0], event, now)
        else:
            found.append(
                _open_task(session, _from_now(spec, now), contact, event, Severity.ROUTINE, now)
            )
    return found


def _from_now(spec: TaskSpec, now: datetime) -> TaskSpec:
    """An update reported late is due from the news, as a cancelled class is: never already
    overdue the moment it opens."""
    if spec.opens_at >= now:
        return spec
    return replace(spec, opens_at=now, due_by=now + (spec.due_by - spec.opens_at))


def _note_update(
    session: Session, actor: Actor, task: OutreachTask, event: ProgramEvent, now: datetime
) -> None:
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.TASK_EVENT_NOTED,
        object_type="task",
        object_id=task.id,
        program_id=task.program_id,
        event=str(event.id),
        type=event.type,
    )


def withdraw_updates(session: Session, actor: Actor, contact_id: uuid.UUID, now: datetime) -> None:
    """She no longer wants status updates: the ones still open are cancelled, in the
    caller's transaction, each audited (issue 20 item 8; S1, her contact is hers to narrow)."""
    for task in _open_of(session, contact_id, TaskReason.STATUS_UPDATE):
        _close(session, actor, task, TaskStatus.CANCELLED.value, now, because="updates_off")


def tasks_visible_to(
    session: Session, actor: Actor, event: ProgramEvent, opened: Sequence[OutreachTask]
) -> list[uuid.UUID] | None:
    """The tasks an event opened, for a caller who may read contacts in its program; None for
    anyone else, not even an empty list: tasks open only for a contact who exists and agreed
    to contact, so a facilitator must not see them (S7; issue 21 finding 6)."""
    participant = _participant(session, event.participant_id)
    if not allowed(actor, Permission.CONTACT_READ, participant.program_id):
        return None
    return [task.id for task in opened]


def _check_history(
    session: Session, participant: Participant, kind: EventType, at: datetime, now: datetime
) -> None:
    """S4/S13: his status over time must stay a history that could have happened; an event
    that breaks it is refused before anything is written (issue 19)."""
    new = participation.Mark(kind, at, now)
    try:
        participation.check_new_event(
            participant_status.marks_of(session, participant.id), new, participant.created_at
        )
    except participation.HistoryError as exc:
        raise Invalid(str(exc), {exc.field: str(exc)}) from None


def _stand_down(
    session: Session,
    actor: Actor,
    participant_id: uuid.UUID,
    opened: Sequence[OutreachTask],
    now: datetime,
) -> None:
    """S11: once he may be the victim, the one resources-only contact is all that is made;
    the intake, check-ins and letters still open for his contacts are cancelled. A duty to
    warn stays: it is about someone's life, and it alone may still be raised (protocols)."""
    keep = {task.id for task in opened}
    for task in session.scalars(
        select(OutreachTask)
        .join(ContactPerson, ContactPerson.id == OutreachTask.contact_id)
        .where(
            ContactPerson.participant_id == participant_id,
            OutreachTask.status == TaskStatus.OPEN.value,
            OutreachTask.reason != TaskReason.DUTY_TO_WARN.value,
        )
    ):
        if task.id not in keep:
            _close(
                session,
                actor,
                task,
                TaskStatus.CANCELLED.value,
                now,
                because=EventType.PARTICIPANT_MAY_BE_VICTIM.value,
            )


def _open_task(
    session: Session,
    spec: TaskSpec,
    contact: ContactPerson,
    event: ProgramEvent | None,
    severity: Severity,
    now: datetime,
) -> OutreachTask:
    task = OutreachTask(
        program_id=contact.program_id,
        contact_id=contact.id,
        event_id=None if event is None else event.id,
        reason=spec.reason.value,
        script=spec.script,
        channels=[c.value for c in spec.channels],
        opens_at=spec.opens_at,
        due_by=spec.due_by,
        severity=severity.value,
        min_attempts=spec.min_attempts,
        priority=spec.priority,
        consent_override=spec.consent_override,
        status=TaskStatus.OPEN.value,
        created_at=now,
    )
    task.ensure_id()
    session.add(task)
    return task


def open_for_cancelled_class(
    session: Session,
    profile: Profile,
    *,
    actor: Actor,
    group: Group,
    session_date: date,
    now: datetime,
) -> list[OutreachTask]:
    """Open, in the caller's transaction, the contacts a cancelled class requires where the
    profile asks for them (seeds/001, Georgia: "the program cancels class for any reason").

    One `class_cancelled` event, dated now, is recorded for each participant active in the
    group for the whole session; each of his contacts consenting or not yet asked gets the
    profile's task, due within its deadline from now; a declined contact gets nothing (S1),
    nor one whose participant may be the victim (S11)."""
    if EventType.CLASS_CANCELLED not in profile.events:
        return []
    start = datetime.combine(session_date, group.start_time, tzinfo=ZoneInfo(group.timezone))
    end = start + timedelta(minutes=group.duration_minutes)
    opened: list[OutreachTask] = []
    for participant in _in_group_during(session, group, start, end):
        event = _cancelled_class_event(session, actor, participant, now)
        flagged = _may_be_victim(session, participant.id)
        mine = [
            _open_task(session, spec, contact, event, Severity.ROUTINE, now)
            for contact in _contacts_of(session, participant.id)
            for spec in tasks_for_event(
                profile,
                EventType.CLASS_CANCELLED,
                at=now,
                severity=Severity.ROUTINE,
                permissions=_permissions(session, contact),
                participant_may_be_victim=flagged,
            )
        ]
        on_call_notice.event_recorded(session, actor, event, participant.program_id, mine, now)
        opened += mine
    return opened


def _in_group_during(
    session: Session, group: Group, start: datetime, end: datetime
) -> list[Participant]:
    """The group's participants who were active in the program for the whole session (S4)."""
    members = list(session.scalars(select(Participant).where(Participant.group_id == group.id)))
    lines = participant_status.timelines(session, {p.id: p.created_at for p in members})
    return [p for p in members if lines[p.id].covers(start, end)]


def _cancelled_class_event(
    session: Session, actor: Actor, participant: Participant, now: datetime
) -> ProgramEvent:
    # Dated when the program recorded it: the session itself may be days ahead, and the
    # contact is due from the news, not from the session (retention counts from it too).
    event = ProgramEvent(
        participant_id=participant.id,
        type=EventType.CLASS_CANCELLED.value,
        at=now,
        severity=Severity.ROUTINE.value,
        recorded_by=actor.user_id,
        created_at=now,
    )
    event.ensure_id()
    session.add(event)
    return event


def open_periodic_check_ins(session: Session, profiles: Profiles, *, now: datetime) -> int:
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
            _open_task(session, spec, contact, None, Severity.ROUTINE, now)
            opened += 1
    session.commit()
    return opened


def check_in_due(
    session: Session, profile: Profile, contact: ContactPerson, now: datetime
) -> TaskSpec | None:
    """S13: the check-in her rhythm makes due now, counted from the last time she was
    reached safely or from when she consented, whichever is later."""
    prefs = contacts.current_preferences(session, contact.id)
    marks = [_last_safe_contact(session, contact.id), contacts.consented_since(session, contact.id)]
    known = [mark for mark in marks if mark is not None]
    return cadence_due(
        profile,
        permissions=_permissions(session, contact),
        cadence_choice=prefs.cadence,
        last_contact_at=max(known) if known else None,
        now=now,
        participant_may_be_victim=_may_be_victim(session, contact.participant_id),
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
    open_now = _open_of(session, contact.id, TaskReason.PERIODIC_CHECK_IN)
    due = None
    if _out_of(session, contact, now):
        rhythm = contacts.current_preferences(session, contact.id).cadence
        if wants_check_ins(profile, rhythm):
            return
    else:
        due = check_in_due(session, profile, contact, now)
    for task in open_now:
        if due is None:
            _close(session, actor, task, TaskStatus.CANCELLED.value, now, because="rhythm_changed")
        elif task.due_by != due.due_by:
            _reschedule(session, actor, task, due.due_by, now)
    if due is not None and not open_now:
        _open_task(session, due, contact, None, Severity.ROUTINE, now)


def _out_of(session: Session, contact: ContactPerson, now: datetime) -> bool:
    """Check-ins belong to his time in the program (open_periodic_check_ins)."""
    out = session.scalar(
        select(Participant.id).where(
            Participant.id == contact.participant_id, Participant.id.in_(_out_of_program(now))
        )
    )
    return out is not None


def _open_of(session: Session, contact_id: uuid.UUID, reason: TaskReason) -> list[OutreachTask]:
    return list(
        session.scalars(
            select(OutreachTask).where(
                OutreachTask.contact_id == contact_id,
                OutreachTask.reason == reason.value,
                OutreachTask.status == TaskStatus.OPEN.value,
            )
        )
    )


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
    session: Session, profiles: Profiles, now: datetime
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
    return bool(_open_of(session, contact_id, reason))  # at most one check-in is ever open


def _last_safe_contact(session: Session, contact_id: uuid.UUID) -> datetime | None:
    # S13: a safe conversation, or the check-in text she chose over calls (check_ins); a text
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


def _permissions(session: Session, contact: ContactPerson) -> Permissions:
    # S1: a task only uses channels both the protocol and her current permissions allow.
    prefs = contacts.current_preferences(session, contact.id)
    return contacts.channel_permissions(prefs, contact)


def _may_be_victim(session: Session, participant_id: uuid.UUID) -> bool:
    return (
        session.scalar(
            select(ProgramEvent.id)
            .where(
                ProgramEvent.participant_id == participant_id,
                ProgramEvent.type == EventType.PARTICIPANT_MAY_BE_VICTIM.value,
            )
            .limit(1)
        )
        is not None
    )


def _profile(session: Session, profiles: Profiles, program_id: uuid.UUID) -> Profile:
    program = session.get(Program, program_id)
    assert program is not None
    profile = profiles.get(program.protocol)
    if profile is None:
        raise Conflict(f"the program's protocol {program.protocol!r} is not loaded")
    return profile


def _contacts_of(session: Session, participant_id: uuid.UUID) -> list[ContactPerson]:
    return list(
        session.scalars(
            select(ContactPerson)
            .where(ContactPerson.participant_id == participant_id)
            .order_by(ContactPerson.created_at, ContactPerson.id)
        )
    )


# --- attempts ------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """S14: how an attempt reaches the log: through what, and why at an odd time if it is."""

    via: EntryPoint = EntryPoint.WEB
    reason: str | None = None
    late_after: timedelta = ENTERED_LATE_AFTER


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
    task = task_to_work(session, actor, task_id, now)
    refuse_if_taken(task, actor, now)
    _check_attempt(task, channel, at, outcome, callback_at, now, answers_our_text)
    if actor.user_id is not None and not answers_our_text:
        refuse_what_she_refused(session, task, channel, outcome)
        if outcome in SERVICE_OUTCOMES and not by_service:
            # Only the service says a text of its went out, or a letter was produced.
            raise Invalid(f"a {outcome} is recorded by the service", {"outcome": "invalid"})
    refuse_referral_outside_its_protocol(session, task, outcome)
    flags = attempt_flags(at, opened=task.opens_at, entered=now, late_after=entry.late_after)
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
    attempt.group_id, attempt.session_date = _session_of(session, task, at)
    if attempt.session_date is None:
        attempt.window_day = _local_day(session, task, at)
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


def _session_of(
    session: Session, task: OutreachTask, at: datetime
) -> tuple[uuid.UUID | None, date | None]:
    """Find the group session the attempt fell in, so S5 can tell windows apart."""
    contact = session.get(ContactPerson, task.contact_id)
    participant = session.get(Participant, contact.participant_id) if contact else None
    group = (
        session.get(Group, participant.group_id) if participant and participant.group_id else None
    )
    if group is None:
        return None, None
    found = group_sessions(schedule_of(group), start=at, end=at + timedelta(seconds=1))
    return (group.id, found[0].session_date) if found else (None, None)


def _local_day(session: Session, task: OutreachTask, at: datetime) -> date:
    """The day of `at` where the contact lives, the zone the task page shows (S5 windows)."""
    return at.astimezone(contact_zone_of(session, task)).date()


def contact_zone_of(session: Session, task: OutreachTask) -> ZoneInfo:
    """The zone of the task's contact (contacts.contact_zone), read from the database."""
    program = session.get(Program, task.program_id)
    assert program is not None  # a task's program is a foreign key
    return contacts.contact_zone(contacts.current_preferences(session, task.contact_id), program)


def schedule_of(group: Group, cancelled: frozenset[date] = frozenset()) -> GroupSchedule:
    return GroupSchedule(
        group_id=str(group.id),
        timezone=group.timezone,
        rrule=group.rrule,
        start_time=group.start_time,
        duration_minutes=group.duration_minutes,
        starts_on=group.starts_on,
        ends_on=group.ends_on,
        cancelled=cancelled,
    )


def stop_all_contact(session: Session, actor: Actor, contact_id: uuid.UUID, now: datetime) -> None:
    """S1: declined means no further contact of any kind, on every task."""
    contacts.record_decline(session, actor=actor, contact_id=contact_id, now=now)
    for task in session.scalars(
        select(OutreachTask).where(
            OutreachTask.contact_id == contact_id,
            OutreachTask.status == TaskStatus.OPEN.value,
        )
    ):
        if not task.consent_override:  # a supervisor-confirmed duty to warn stays (S8)
            task.status, task.closed_at, task.closed_by = (
                TaskStatus.CANCELLED.value,
                now,
                actor.user_id,
            )


# --- closing -------------------------------------------------------------------------


def close_task(
    session: Session, *, actor: Actor, task_id: uuid.UUID, resolution: str, now: datetime
) -> OutreachTask:
    """Close a task as completed (a safe conversation happened) or unreachable (S5)."""
    task = task_to_work(session, actor, task_id, now)
    refuse_if_taken(task, actor, now)
    if task.status != TaskStatus.OPEN:
        raise Conflict("the task is already closed")
    if calls_awaiting_outcome(session, task.id):  # S14: an answered call ends in an outcome
        raise Conflict(
            "a person answered a call on this task: record how it went before closing",
            {"resolution": "call outcome not recorded"},
        )
    attempts = standing_attempts(session, task.id)
    if resolution == TaskStatus.COMPLETED:
        refused = attempt_rules.why_not_completed(task.reason, attempts)
    elif resolution == TaskStatus.UNREACHABLE:
        refused = attempt_rules.why_not_unreachable(task.min_attempts, attempts)
    else:
        raise Invalid("resolution must be completed or unreachable", {"resolution": "invalid"})
    if refused is not None:
        raise Conflict(refused.message, refused.fields or None)
    _close(session, actor, task, resolution, now, attempts=len(attempts))
    session.commit()
    return task


def _close(
    session: Session,
    actor: Actor,
    task: OutreachTask,
    resolution: str,
    now: datetime,
    **detail: str | int,
) -> None:
    task.status, task.closed_at, task.closed_by = resolution, now, actor.user_id
    _release_claim(task)
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.TASK_CLOSED,
        object_type="task",
        object_id=task.id,
        program_id=task.program_id,
        resolution=resolution,
        **detail,
    )


def closure_stands(task: OutreachTask, attempts: Sequence[Attempt]) -> bool:
    """Whether a closed task's standing attempts still bear its closure (S14)."""
    return attempt_rules.closure_stands(task.status, task.reason, task.min_attempts, attempts)


def reopen_if_unfounded(
    session: Session,
    actor: Actor,
    task: OutreachTask,
    now: datetime,
    *,
    stood: bool,
    **detail: str,
) -> bool:
    """S14: a correction that takes away the basis of a closure reopens the task (audited).

    `stood` says whether the closure rested on its basis before the correction: only a
    correction that takes the basis away reopens, not any correction on a task closed on
    grounds a supervisor already accepted. The closure's sign-off, if any, went with its
    basis: a new closure needs a new one. A task whose contact has since declined stays closed
    (S1): only a duty to warn a supervisor confirmed may reach her (S8). The supervisor's
    dashboard lists the reopened tasks.
    """
    if task.status not in (TaskStatus.COMPLETED, TaskStatus.UNREACHABLE) or not stood:
        return False
    if closure_stands(task, standing_attempts(session, task.id)):
        return False
    declined = contacts.current_preferences(session, task.contact_id).consent == Consent.DECLINED
    if declined and not task.consent_override:
        return False
    closed = task.status
    task.status, task.closed_at, task.closed_by = TaskStatus.OPEN.value, None, None
    task.signed_off_by, task.signed_off_at, task.reopened_at = None, None, now
    task.sign_off_comment = None
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.TASK_REOPENED,
        object_type="task",
        object_id=task.id,
        program_id=task.program_id,
        was=closed,
        **detail,
    )
    return True


def refuse_if_taken(task: OutreachTask, actor: Actor, now: datetime) -> None:
    """Two liaisons never work one task at once: while another person's claim lasts, nobody
    else records on the task, from the pages or the API. The service's own writes (a call's
    outcome arriving by webhook) belong to the claim holder's call and pass."""
    expires = task.claim_expires_at
    held = task.claimed_by is not None and expires is not None and expires > now
    if held and actor.user_id is not None and task.claimed_by != actor.user_id:
        raise Conflict(TAKEN)


def _release_claim(task: OutreachTask) -> None:
    """A closed task leaves the queue; its lease ends, and the version fences late writes."""
    if task.claimed_by is not None:
        task.claimed_by, task.claim_expires_at = None, None
        task.claim_version += 1


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
    task = _task(session, task_id)
    require(
        session,
        actor,
        Permission.CONTACT_READ,
        task.program_id,
        now=now,
        object_type="task",
        object_id=task_id,
    )
    query = select(Attempt).where(Attempt.task_id == task_id).order_by(Attempt.recorded_at)
    return list(session.scalars(query))


def windows_counted(session: Session, task_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    """distinct_windows of many tasks' standing attempts, counted by the database.

    The queue shows "1 of 2" for a page of tasks with hundreds of attempts each; this reads
    one number a task instead of every attempt. It must agree with distinct_windows: the
    same window is the same group session, else the same day in the contact's own time zone
    (`window_day`; the UTC day only for a row without one). A test holds them equal.
    """
    corrected = select(Attempt.corrects_id).where(
        Attempt.task_id.in_(task_ids), Attempt.corrects_id.is_not(None)
    )
    window = case(
        (
            Attempt.session_date.is_not(None),
            "s:"
            + func.coalesce(cast(Attempt.group_id, String), "-")
            + ":"
            + cast(Attempt.session_date, String),
        ),
        else_="d:" + cast(func.coalesce(Attempt.window_day, _utc_day(session, Attempt.at)), String),
    )
    rows = session.execute(
        select(Attempt.task_id, func.count(distinct(window)))
        .where(Attempt.task_id.in_(task_ids), Attempt.id.not_in(corrected))
        .group_by(Attempt.task_id)
    )
    return {task_id: int(count) for task_id, count in rows}


def _utc_day(session: Session, at: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("UTC", at))
    return func.date(at)  # SQLite keeps UTC as naive text (models/base.py)


# --- small readers -------------------------------------------------------------------


def _task(session: Session, task_id: uuid.UUID) -> OutreachTask:
    task = session.get(OutreachTask, task_id)
    if task is None:
        raise NotFound("no task with that id", {"task_id": "unknown"})
    return task


def task_to_work(session: Session, actor: Actor, task_id: uuid.UUID, now: datetime) -> OutreachTask:
    """Load a task the actor may work on: contact work within the task's program (audited)."""
    task = _task(session, task_id)
    require(
        session,
        actor,
        Permission.ATTEMPT_RECORD,
        task.program_id,
        now=now,
        object_type="task",
        object_id=task_id,
    )
    if holds.is_held(session, task):
        raise Conflict(HELD, {"task": "held"})
    return task


# --- her permissions at every attempt (S1, S3) -------------------------------------------


def refuse_what_she_refused(
    session: Session, task: OutreachTask, channel: str, outcome: str
) -> None:
    """S1/S3: staff cannot log an attempt on a channel, or a voicemail, she refused: 422 naming
    the preference. What the provider reports about a call already placed (webhooks) is still
    logged: it happened, and the log must say so (S5)."""
    prefs = contacts.current_preferences(session, task.contact_id)
    # S1/S8: a duty to warn a supervisor confirmed over her refusal is a person's call.
    voice = prefs.voice or holds.override_confirmed(session, task)
    allowed = {Channel.VOICE: voice, Channel.SMS: prefs.sms, Channel.MAIL: prefs.mail}
    if not allowed.get(Channel(channel), False):
        raise Invalid(
            f"she has not allowed {channel}: the attempt is refused",
            {"channel": f"preference {channel} is off"},
        )
    if outcome == Outcome.VOICEMAIL_NEUTRAL and not contacts.permission_of(prefs).leave_voicemail:
        raise Invalid(
            "she has not allowed voicemail: none may be left",
            {"outcome": "preference voicemail is off"},
        )


# --- a duty to warn held for a supervisor (S1, S8) ----------------------------------------

HELD = "this duty to warn reaches a contact who declined: it waits for a supervisor to confirm it"


def _participant(session: Session, participant_id: uuid.UUID) -> Participant:
    participant = session.get(Participant, participant_id)
    if participant is None:
        raise NotFound("no participant with that id", {"participant_id": "unknown"})
    return participant


def _event_type(value: str) -> EventType:
    try:
        return EventType(value)
    except ValueError:
        raise Invalid("type is not a known program event", {"type": "invalid"}) from None


def _severity(value: str) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        raise Invalid(
            "severity must be routine, elevated or high", {"severity": "invalid"}
        ) from None


def _note(text: str) -> str:
    if len(text) > MAX_NOTE:
        raise Invalid(f"a note has at most {MAX_NOTE} characters", {"notes": "too long"})
    return text
