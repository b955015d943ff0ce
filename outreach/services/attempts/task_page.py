"""Everything the liaison's task page shows, gathered in one audited read (S6, S10): the task,
its attempts and what they add up to, and her choices (her rhythm, status updates, opting back
in); what it shows for the call itself (the panel, her week, the script) comes from call_panel.

The contact's name and phone are opened only for the liaison who holds the task's claim,
and only through `contacts.reveal_contact`, which commits its audit row first.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain import attempt_rules, plan_words
from outreach.domain.participation import StatusAt
from outreach.domain.protocols.engine import offers_updates
from outreach.domain.protocols.profile import Profile
from outreach.domain.vocabulary import (
    STAFF_OUTCOMES,
    UPDATE_EVENTS,
    Outcome,
    TaskReason,
    TaskStatus,
)
from outreach.models import (
    Attempt,
    ContactPerson,
    ContactPreferences,
    Delivery,
    OptBackIn,
    OutreachTask,
    Participant,
    Program,
    ProgramEvent,
)
from outreach.security.permissions import Permission
from outreach.security.vault import Vault, place
from outreach.services.attempts import attempt_log, call_panel, tasks
from outreach.services.contact_persons import contacts, her_word, opt_back_in
from outreach.services.errors import NotFound
from outreach.services.intake import check_ins, participant_status, referrals
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.scheduling import claims, queue, queue_details
from outreach.services.staff.access import allowed, require_on_task
from outreach.services.supervision import holds


@dataclass(frozen=True)
class TaskPage:
    task: OutreachTask
    program: Program
    reference: str
    claimed: bool
    contact: contacts.ContactDetails | None
    script: list[tuple[str, str]]
    script_problem: str | None
    preferences: ContactPreferences
    history: list[ContactPreferences]
    # S2: she texted STOP; only her own START turns texts back on, not a liaison.
    sms_stopped: bool
    attempts: list[Attempt]
    # The attempts' notes, opened for the claim holder only, after their audit row commits.
    notes: dict[uuid.UUID, str]
    windows_made: int
    # S6: the time she asked to be called back at, while no call has kept it.
    callback_at: datetime | None
    week: call_panel.Week
    tonight: str
    # S14: calls a person answered whose outcome is still to be recorded: asked until it is.
    calls_awaiting_outcome: list[Delivery] = field(default_factory=list)
    # S4: why group time is refused and what is left, in words (issue 19).
    why: list[str] = field(default_factory=list)
    # His real current status, from the events (S13).
    participant_status: StatusAt | None = None
    # S1/S8: a duty to warn for a declined contact, until a supervisor confirms it.
    held: bool = False
    panel: call_panel.CallPanel | None = None
    # Issue 22 item 3: why each way of closing is refused now (None: allowed), so the page
    # never offers a Close that ends in an error.
    close_refusals: dict[str, str | None] = field(default_factory=dict)
    # S13: the rhythms her program offers ("none" first) and the one used until she chooses.
    rhythms: tuple[str, ...] = ()
    rhythm_default: str | None = None
    # S13: when her rhythm opens her next check-in; None while one is open or none can open.
    next_check_in: datetime | None = None
    # The outcomes the liaison may record here: a referral to the victim services program only
    # where the protocol records one on this task (NY OPDV, ADA: services/referrals).
    outcomes: tuple[Outcome, ...] = STAFF_OUTCOMES
    # Issue 20 item 8: whether her program offers status updates (she may ask for them), and
    # for an update, what of his happened since it opened (type, when), for the liaison to tell.
    updates_offered: bool = False
    update_news: list[tuple[str, datetime]] = field(default_factory=list)
    # S1: her request to opt back in, held until a supervisor confirms it; her words are
    # opened (audited) only for a supervisor who may confirm them.
    opt_back_in: OptBackIn | None = None
    opt_back_in_words: str | None = None
    may_confirm_opt_back_in: bool = False
    # seeds/001 "Massachusetts": whether she named a safe mailing address for letters (read
    # without opening it; only the letter page opens it, audited).
    mailing_address_on_file: bool = False


def task_page(
    session: Session,
    vault: Vault,
    profiles: Mapping[str, Profile],
    *,
    actor: Actor,
    task_id: uuid.UUID,
    now: datetime,
    calling_hours: tuple[time, time],
    week_offset: int = 0,
) -> TaskPage:
    """Gather the task page; reveal the contact (audited) only to the claim holder."""
    task = tasks.find_task(session, task_id)
    require_on_task(session, actor, Permission.CONTACT_READ, task, now)
    held = holds.is_held(session, task)
    if held and not queue.sees_held(actor):
        raise NotFound("no task with that id", {"task_id": "unknown"})  # S1/S8: not yet theirs
    claimed = task.status == TaskStatus.OPEN and claims.holds_claim(task, actor, now)
    program = session.get(Program, task.program_id)
    assert program is not None
    history = _history(session, task.contact_id)
    attempts = _attempts(session, task.id)
    standing = attempt_rules.standing(attempts)
    contact = _reveal(session, vault, actor, task, now) if claimed else None
    notes = _notes(session, vault, actor, task, attempts, now) if claimed else {}
    participant = _participant(session, task.contact_id)
    # S13: what she is told is his real current status, from the events.
    status = participant_status.timeline_of(session, participant).status_at(now)
    profile = profiles.get(program.protocol)
    script, problem = call_panel.script(
        task, history[0], contact, program, actor, session, status, profile
    )
    plan = call_panel.plan(session, profiles, task, now, calling_hours)
    week = call_panel.week_of(
        session, participant, history[0], program, now, calling_hours, week_offset
    )
    windows = sorted(plan.windows, key=lambda w: w.start)
    panel = call_panel.panel(session, task, history[0], program, windows, now, calling_hours)
    awaiting = attempt_log.calls_awaiting_outcome(session, task.id)
    return TaskPage(
        task=task,
        program=program,
        reference=queue.reference(task.contact_id),
        claimed=claimed,
        contact=contact,
        script=script,
        script_problem=problem,
        preferences=history[0],
        history=history,
        sms_stopped=her_word.stop_stands(history),
        attempts=attempts,
        notes=notes,
        windows_made=attempt_rules.distinct_windows(standing),
        callback_at=attempt_rules.pending_callback(standing),
        week=call_panel.with_plan(week, sorted(plan.windows, key=lambda w: w.start), attempts),
        tonight=queue_details.tonight(session, {participant.id}, now).get(
            participant.id, "no group"
        ),
        calls_awaiting_outcome=awaiting,
        why=plan_words.why(
            plan.skipped,
            status,
            named_safe_times=bool(history[0].safe_times),
            zone=week.zone,
        ),
        participant_status=status,
        held=held,
        panel=panel,
        mailing_address_on_file=_address_on_file(session, task.contact_id),
        close_refusals=close_refusals(task, standing, bool(awaiting)),
        rhythms=_rhythms(profiles, program),
        rhythm_default=_rhythm_default(profiles, program),
        next_check_in=_next_check_in(session, profile, task.contact_id, now),
        outcomes=_outcomes(task, program),
        updates_offered=_updates_offered(profiles, program),
        update_news=_update_news(session, task, participant),
        **_opt_back_in(session, vault, actor, task.contact_id, now),
    )


def _outcomes(task: OutreachTask, program: Program) -> tuple[Outcome, ...]:
    referral = referrals.referral_on(program, task.reason)
    return tuple(
        o for o in STAFF_OUTCOMES if referral or o is not Outcome.REFERRED_TO_VICTIM_SERVICES
    )


def _address_on_file(session: Session, contact_id: uuid.UUID) -> bool:
    person = session.get(ContactPerson, contact_id)
    return person is not None and person.address_sealed is not None


def close_refusals(
    task: OutreachTask, standing: list[Attempt], awaiting_outcome: bool
) -> dict[str, str | None]:
    """The refusals `closing.close_task` would give, read without closing (S5, S6, S14)."""
    if awaiting_outcome:
        said = "A person answered a call: record how it went first."
        return {TaskStatus.COMPLETED.value: said, TaskStatus.UNREACHABLE.value: said}
    refusals = {  # the very rules close_task applies
        TaskStatus.COMPLETED.value: attempt_rules.why_not_completed(task.reason, standing),
        TaskStatus.UNREACHABLE.value: attempt_rules.why_not_unreachable(
            task.min_attempts, standing
        ),
    }
    found: dict[str, str | None] = {}
    for resolution, refused in refusals.items():
        found[resolution] = None
        if refused is not None:
            found[resolution] = refused.message[:1].upper() + refused.message[1:] + "."
    return found


# --- her choices: opting back in, her rhythm, status updates --------------------------------


def _opt_back_in(
    session: Session, vault: Vault, actor: Actor, contact_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    held = opt_back_in.pending(session, contact_id)
    may = (
        held is not None
        and allowed(actor, Permission.OPT_BACK_IN_CONFIRM, _program_of(session, contact_id))
        and held.requested_by != actor.user_id
    )
    words = None
    if held is not None and may:
        words = opt_back_in.her_words(session, vault, actor=actor, held=held, now=now)
    return {"opt_back_in": held, "opt_back_in_words": words, "may_confirm_opt_back_in": may}


def _program_of(session: Session, contact_id: uuid.UUID) -> uuid.UUID:
    contact = session.get(ContactPerson, contact_id)
    assert contact is not None
    return contact.program_id


def _rhythms(profiles: Mapping[str, Profile], program: Program) -> tuple[str, ...]:
    profile = profiles.get(program.protocol)
    return () if profile is None or profile.cadence is None else profile.cadence_choices


def _next_check_in(
    session: Session, profile: Profile | None, contact_id: uuid.UUID, now: datetime
) -> datetime | None:
    contact = session.get(ContactPerson, contact_id)
    if profile is None or profile.cadence is None or contact is None:
        return None
    return check_ins.next_check_in(session, profile, contact, now)


def _rhythm_default(profiles: Mapping[str, Profile], program: Program) -> str | None:
    profile = profiles.get(program.protocol)
    return None if profile is None or profile.cadence is None else profile.cadence.default


def _updates_offered(profiles: Mapping[str, Profile], program: Program) -> bool:
    profile = profiles.get(program.protocol)
    return profile is not None and offers_updates(profile)


def _update_news(
    session: Session, task: OutreachTask, participant: Participant
) -> list[tuple[str, datetime]]:
    """Issue 20 item 8: the attendance and progress events of his recorded from when her
    update opened until it closed (the one that opened it, and any recorded on it since), so
    the call tells her the latest, not only the first."""
    if task.reason != TaskReason.STATUS_UPDATE:
        return []
    recorded = ProgramEvent.created_at >= task.created_at
    if task.closed_at is not None:
        recorded = recorded & (ProgramEvent.created_at <= task.closed_at)
    rows = session.execute(
        select(ProgramEvent.type, ProgramEvent.at)
        .where(
            ProgramEvent.participant_id == participant.id,
            ProgramEvent.type.in_([e.value for e in UPDATE_EVENTS]),
            recorded,
        )
        .order_by(ProgramEvent.at, ProgramEvent.created_at)
    )
    return [(kind, at) for kind, at in rows]


# --- for the claim holder: her contact and the attempts' notes (S10) -------------------------


def _reveal(
    session: Session, vault: Vault, actor: Actor, task: OutreachTask, now: datetime
) -> contacts.ContactDetails:
    return contacts.reveal_contact(
        session, vault, actor=actor, contact_id=task.contact_id, now=now, purpose="call"
    )


def _notes(
    session: Session,
    vault: Vault,
    actor: Actor,
    task: OutreachTask,
    attempts: list[Attempt],
    now: datetime,
) -> dict[uuid.UUID, str]:
    """What earlier calls noted, so the next call starts where the last one ended (S10: the
    read is audited, and committed, before any note is opened)."""
    sealed = [(a.id, a.notes_sealed) for a in attempts if a.notes_sealed is not None]
    if not sealed:
        return {}
    record(
        session,
        now=now,
        actor=actor,
        action=AuditAction.CONTACT_REVEALED,
        object_type="task",
        object_id=task.id,
        program_id=task.program_id,
        purpose="attempt notes",
        notes=len(sealed),
    )
    session.commit()
    cipher = vault.cipher_for(session, task.contact_id)
    return {i: cipher.open(place("attempt", "notes", i), value) for i, value in sealed}


# --- readers ---------------------------------------------------------------------------------


def _history(session: Session, contact_id: uuid.UUID) -> list[ContactPreferences]:
    return list(
        session.scalars(
            select(ContactPreferences)
            .where(ContactPreferences.contact_id == contact_id)
            .order_by(ContactPreferences.version.desc())
        )
    )


def _attempts(session: Session, task_id: uuid.UUID) -> list[Attempt]:
    query = select(Attempt).where(Attempt.task_id == task_id).order_by(Attempt.recorded_at)
    return list(session.scalars(query))


def _participant(session: Session, contact_id: uuid.UUID) -> Participant:
    contact = session.get(ContactPerson, contact_id)
    participant = session.get(Participant, contact.participant_id) if contact else None
    assert participant is not None
    return participant
