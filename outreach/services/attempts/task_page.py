"""Everything the liaison's task page shows, gathered in one audited read (S6, S10).

The contact's name and phone are opened only for the liaison who holds the task's claim,
and only through `contacts.reveal_contact`, which commits its audit row first.
"""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain import attempt_rules, plan_words, protocols, scripts
from outreach.domain.calling import calling_hours_apply, contact_zones, within_calling_hours
from outreach.domain.participation import StatusAt
from outreach.domain.planner import CallWindow, Plan, group_sessions
from outreach.domain.referrals import ReferralError
from outreach.domain.scripts import CALL_OPENING
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
    Group,
    OptBackIn,
    OutreachTask,
    Participant,
    Program,
    ProgramEvent,
    SessionCancellation,
    User,
)
from outreach.security.permissions import Permission
from outreach.security.vault import Vault, place
from outreach.services.attempts import tasks
from outreach.services.contact_persons import contacts, opt_back_in
from outreach.services.errors import NotFound
from outreach.services.intake import participant_status, referrals
from outreach.services.records.audit import Actor, AuditAction, record
from outreach.services.scheduling import claims, queue, queue_details
from outreach.services.scheduling.planning import plan_open_tasks
from outreach.services.staff.access import allowed, require
from outreach.services.supervision import holds
from outreach.settings import PROJECT_ROOT

CALL_VALUES = PROJECT_ROOT / "config" / "call_values.toml"
# seeds/004 (PCADV) item 2: her rights, read only where the profile asks (`rights_statement`).
RIGHTS_SECTION = "rights"


@dataclass(frozen=True)
class Week:
    """The inputs of the week picture, in the contact's zone (S4)."""

    start: datetime
    zone: ZoneInfo
    calling: tuple[time, time]
    sessions: list[tuple[datetime, datetime, bool]] = field(default_factory=list)
    safe_times: list[tuple[int, time, time]] = field(default_factory=list)
    windows: list[CallWindow] = field(default_factory=list)
    attempts: list[tuple[datetime, str]] = field(default_factory=list)


@dataclass(frozen=True)
class CallPanel:
    """Why, when and how to call, answered on the first screen (issue 22 item 1).

    `callable` mirrors the refusals the channel makes when Call is pressed, so a call the
    channel would refuse (calling hours, S4; her preferences, S1-S3) is never offered.
    """

    # S13: his real current status (his latest status event, with its time), never a guess
    # from the task's reason.
    status: str
    status_at: datetime | None
    her_zone: ZoneInfo
    # Every zone her number may be in: calling hours must hold in each (S4).
    zones: tuple[str, ...]
    your_zone: ZoneInfo
    her_now: datetime
    calling: tuple[time, time]
    within_hours: bool
    open_window: CallWindow | None
    next_window: CallWindow | None
    # Why her preferences refuse a call (declined, voice not allowed), in words.
    refusal: str | None
    voice: bool
    sms: bool
    voicemail: bool
    language: str

    @property
    def blocked(self) -> str | None:
        """Why Call cannot be pressed now, or None when the channel would place it."""
        if self.refusal:
            return self.refusal
        if not self.within_hours:
            start, end = self.calling
            return (
                f"It is {self.her_now:%H:%M} for her: calls go only between "
                f"{start:%H:%M} and {end:%H:%M} in her time zone, so the call would be refused."
            )
        return None


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
    week: Week
    tonight: str
    # S14: calls a person answered whose outcome is still to be recorded: asked until it is.
    calls_awaiting_outcome: list[Delivery] = field(default_factory=list)
    # S4: why group time is refused and what is left, in words (issue 19).
    why: list[str] = field(default_factory=list)
    # His real current status, from the events (S13).
    participant_status: StatusAt | None = None
    # S1/S8: a duty to warn for a declined contact, until a supervisor confirms it.
    held: bool = False
    panel: CallPanel | None = None
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
    profiles: Mapping[str, protocols.Profile],
    *,
    actor: Actor,
    task_id: uuid.UUID,
    now: datetime,
    calling_hours: tuple[time, time],
    week_offset: int = 0,
) -> TaskPage:
    """Gather the task page; reveal the contact (audited) only to the claim holder."""
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
    script, problem = _script(task, history[0], contact, program, actor, session, status, profile)
    plan = _plan(session, profiles, task, now, calling_hours)
    week = _week(session, participant, history[0], program, now, calling_hours, week_offset)
    windows = sorted(plan.windows, key=lambda w: w.start)
    panel = _panel(session, task, history[0], program, windows, now, calling_hours)
    awaiting = tasks.calls_awaiting_outcome(session, task.id)
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
        sms_stopped=contacts.stop_stands(history),
        attempts=attempts,
        notes=notes,
        windows_made=attempt_rules.distinct_windows(standing),
        callback_at=attempt_rules.pending_callback(standing),
        week=_with_plan(week, sorted(plan.windows, key=lambda w: w.start), attempts),
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
    """The refusals `tasks.close_task` would give, read without closing (S5, S6, S14)."""
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


# --- the call panel (issue 22 item 1) ----------------------------------------------------------

REFUSALS = {
    "declined": "She declined all contact: no call may be made.",  # S1
    "voice": "She has not allowed phone calls: no call may be made.",
}


def _panel(
    session: Session,
    task: OutreachTask,
    prefs: ContactPreferences,
    program: Program,
    windows: list[CallWindow],
    now: datetime,
    calling_hours: tuple[time, time],
) -> CallPanel:
    """The same checks `deliveries` makes before dialling, read without dialling."""
    person = session.get(ContactPerson, task.contact_id)
    assert person is not None
    zones = contact_zones(prefs.timezone, person.phone_zones, program.timezone)
    her_zone = contacts.contact_zone(prefs, program)
    permission = contacts.permission_of(prefs)
    refusal = permission.refusal("bridged_call", override=task.consent_override)
    status, status_at = _status(session, person.participant_id)
    return CallPanel(
        status=status,
        status_at=status_at,
        her_zone=her_zone,
        zones=zones,
        your_zone=ZoneInfo(program.timezone),
        her_now=now.astimezone(her_zone),
        calling=calling_hours,
        # S8: a duty to warn is callable at any hour; calling hours govern routine outreach.
        within_hours=not calling_hours_apply(task.reason)
        or within_calling_hours(now, zones, *calling_hours),
        open_window=next((w for w in windows if w.start <= now < w.end), None),
        next_window=next((w for w in windows if w.start > now), None),
        refusal=None if refusal is None else _refusal_words(permission.consent.value),
        voice=permission.voice,
        sms=permission.refusal("sms") is None,
        voicemail=permission.leave_voicemail,
        language=prefs.language,
    )


# The events that change where he stands in the program, in the words the panel uses.
STATUS_WORDS = {
    "enrolled": "enrolled",
    "accepted": "accepted into the program",
    "rejected": "not accepted into the program",
    "completed": "finished with the program",
    "terminated": "discharged without finishing the program",
    "leave_of_absence": "on a leave of absence",
    "returned_from_leave": "back in the program after a leave of absence",
    "level_change": "at a different level of the program",
}


def _status(session: Session, participant_id: uuid.UUID) -> tuple[str, datetime | None]:
    latest = session.execute(
        select(ProgramEvent.type, ProgramEvent.at)
        .where(
            ProgramEvent.participant_id == participant_id,
            ProgramEvent.type.in_(STATUS_WORDS),
        )
        .order_by(ProgramEvent.at.desc())
        .limit(1)
    ).first()
    if latest is None:
        return "not known: no enrolment or other status event is recorded", None
    return STATUS_WORDS[latest.type], latest.at


def _refusal_words(consent: str) -> str:
    return REFUSALS["declined" if consent == "declined" else "voice"]


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


def _rhythms(profiles: Mapping[str, protocols.Profile], program: Program) -> tuple[str, ...]:
    profile = profiles.get(program.protocol)
    return () if profile is None or profile.cadence is None else profile.cadence_choices


def _next_check_in(
    session: Session, profile: protocols.Profile | None, contact_id: uuid.UUID, now: datetime
) -> datetime | None:
    contact = session.get(ContactPerson, contact_id)
    if profile is None or profile.cadence is None or contact is None:
        return None
    return tasks.next_check_in(session, profile, contact, now)


def _rhythm_default(profiles: Mapping[str, protocols.Profile], program: Program) -> str | None:
    profile = profiles.get(program.protocol)
    return None if profile is None or profile.cadence is None else profile.cadence.default


def _updates_offered(profiles: Mapping[str, protocols.Profile], program: Program) -> bool:
    profile = profiles.get(program.protocol)
    return profile is not None and protocols.offers_updates(profile)


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


# --- the call script (S6, S12) ---------------------------------------------------------------


def _script(
    task: OutreachTask,
    prefs: ContactPreferences,
    contact: contacts.ContactDetails | None,
    program: Program,
    actor: Actor,
    session: Session,
    status: StatusAt,
    profile: protocols.Profile | None,
) -> tuple[list[tuple[str, str]], str | None]:
    if contact is None:
        return [], None
    liaison = _liaison_name(session, actor)
    try:
        values = _script_values(prefs.language, contact, program, liaison, status)
        text = scripts.render(_library(), "call", _call_script(task), prefs.language, values)
    except (scripts.RenderError, ReferralError):
        # Never improvise a call: an unapproved script, or no referral list to name places
        # from (PRODUCT.md "Referrals are data"), means no script on screen at all.
        return [], "The approved script could not be loaded. Do not call; ask a supervisor."
    found = [
        (name, body.strip())
        for name, _, body in scripts.sections(text)
        if name != RIGHTS_SECTION or (profile is not None and profile.rights_statement)
    ]
    # S6: the safe-to-talk check is read first, whatever order the file has.
    found.sort(
        key=lambda s: CALL_OPENING.index(s[0]) if s[0] in CALL_OPENING else len(CALL_OPENING)
    )
    return found, None


# The Emerge profile's fallback_channels: where no letter can go (no mail permission, no safe
# address), the liaison tells her by phone what the letter says (seeds/001 "Massachusetts"),
# from the approved call script for the same news.
LETTER_CALLS = {"completion_letter": "completed", "termination_letter": "terminated"}


def _call_script(task: OutreachTask) -> str:
    return LETTER_CALLS.get(task.script, task.script)


def _script_values(
    language: str,
    contact: contacts.ContactDetails,
    program: Program,
    liaison: str,
    status: StatusAt,
) -> dict[str, str]:
    return {
        "first_name": contact.name.split()[0],
        "liaison_first_name": liaison,
        "program_name": program.name,
        "participant_status": status_words(status, language, ZoneInfo(program.timezone)),
        # {resources}, {dv_program}, ...: the program's own list (config/referrals/).
        **referrals.script_values(program, language),
    }


def long_date(day: date, language: str) -> str:
    """A day written out in her language ("November 20, 2026", "20 de noviembre de 2026")."""
    words = _call_values()[language]
    return str(
        words["date"].format(day=day.day, month=words["months"][day.month - 1], year=day.year)
    )


def status_words(status: StatusAt, language: str, zone: ZoneInfo) -> str:
    """S13: his real current status and the date it took effect, in her language (the
    wording, the date and, in Spanish, his grammatical gender come from call_values.toml)."""
    words = _call_values()[language]
    if status.since is None:
        return str(words["participant_undated"].get(status.status.value, status.status.value))
    local = status.since.astimezone(zone)
    since = words["date"].format(
        day=local.day, month=words["months"][local.month - 1], year=local.year
    )
    return str(words["participant"][status.status.value].format(since=since))


def _liaison_name(session: Session, actor: Actor) -> str:
    user = session.get(User, actor.user_id) if actor.user_id else None
    name = user.username if user else "the liaison"
    return name.replace("_", ".").replace("-", ".").split(".")[0].capitalize()


@lru_cache(maxsize=1)
def _library() -> scripts.ScriptLibrary:
    return scripts.load_library(scripts.default_root())


@lru_cache(maxsize=1)
def _call_values() -> dict[str, Any]:
    with CALL_VALUES.open("rb") as handle:
        return tomllib.load(handle)


# --- readers ---------------------------------------------------------------------------------


def _task(session: Session, task_id: uuid.UUID) -> OutreachTask:
    task = session.get(OutreachTask, task_id)
    if task is None:
        raise NotFound("no task with that id", {"task_id": "unknown"})
    return task


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


def _plan(
    session: Session,
    profiles: Mapping[str, protocols.Profile],
    task: OutreachTask,
    now: datetime,
    calling_hours: tuple[time, time],
) -> Plan:
    if task.status != TaskStatus.OPEN:
        return Plan((), ())
    return plan_open_tasks(
        session, profiles, now=now, days=8, calling_hours=calling_hours, task_ids=[task.id]
    )


# --- the week picture ------------------------------------------------------------------------


def _week(
    session: Session,
    participant: Participant,
    prefs: ContactPreferences,
    program: Program,
    now: datetime,
    calling_hours: tuple[time, time],
    offset: int,
) -> Week:
    zone = contacts.contact_zone(prefs, program)
    local = now.astimezone(zone)
    monday = (local - timedelta(days=local.weekday())).date() + timedelta(weeks=offset)
    start = datetime.combine(monday, time(0), tzinfo=zone)
    week = Week(start=start, zone=zone, calling=calling_hours)
    week.safe_times.extend(_safe_times(prefs))
    group = session.get(Group, participant.group_id) if participant.group_id else None
    if group is not None:
        week.sessions.extend(_sessions(session, group, start))
    return week


def _sessions(
    session: Session, group: Group, start: datetime
) -> list[tuple[datetime, datetime, bool]]:
    cancelled = frozenset(
        session.scalars(
            select(SessionCancellation.session_date).where(SessionCancellation.group_id == group.id)
        )
    )
    found = group_sessions(
        tasks.schedule_of(group, cancelled), start=start, end=start + timedelta(days=7)
    )
    return [(s.start, s.end, s.cancelled) for s in found]


def _safe_times(prefs: ContactPreferences) -> list[tuple[int, time, time]]:
    codes = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
    return [
        (codes.index(day.strip()), time.fromisoformat(t["start"]), time.fromisoformat(t["end"]))
        for t in prefs.safe_times
        for day in t["days"].split(",")
        if day.strip() in codes
    ]


def _with_plan(week: Week, windows: list[CallWindow], attempts: list[Attempt]) -> Week:
    end = week.start + timedelta(days=7)
    week.windows.extend(w for w in windows if w.start < end and w.end > week.start)
    week.attempts.extend((a.at, a.outcome) for a in attempts if week.start <= a.at < end)
    return week
