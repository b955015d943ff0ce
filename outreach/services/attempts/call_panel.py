"""What the task page shows for the call itself: the panel that says why, when and how to call
(issue 22 item 1), her week with the windows planned in it (S4), and the approved script to read
(S6, S12), rendered in her language.
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

from outreach.domain import scripts
from outreach.domain.calling import calling_hours_apply, contact_zones, within_calling_hours
from outreach.domain.participation import StatusAt
from outreach.domain.planning.group_sessions import group_sessions
from outreach.domain.planning.windows import CallWindow, Plan
from outreach.domain.protocols.profile import Profile
from outreach.domain.referrals import ReferralError
from outreach.domain.scripts import CALL_OPENING
from outreach.domain.vocabulary import Consent, DeliveryKind, TaskStatus
from outreach.models import (
    Attempt,
    ContactPerson,
    ContactPreferences,
    Group,
    OutreachTask,
    Participant,
    Program,
    ProgramEvent,
    SessionCancellation,
    User,
)
from outreach.services.attempts import tasks
from outreach.services.contact_persons import contacts, preferences
from outreach.services.intake import referrals
from outreach.services.records.audit import Actor
from outreach.services.scheduling.planning import plan_open_tasks
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


# --- the call panel (issue 22 item 1) ----------------------------------------------------------

REFUSALS = {
    "declined": "She declined all contact: no call may be made.",  # S1
    "voice": "She has not allowed phone calls: no call may be made.",
}


def panel(
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
    her_zone = preferences.contact_zone(prefs, program)
    permission = preferences.permission_of(prefs)
    refusal = permission.refusal(DeliveryKind.BRIDGED_CALL, override=task.consent_override)
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
        sms=permission.refusal(DeliveryKind.SMS) is None,
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
    return REFUSALS["declined" if consent == Consent.DECLINED else "voice"]


# --- the call script (S6, S12) ---------------------------------------------------------------


def script(
    task: OutreachTask,
    prefs: ContactPreferences,
    contact: contacts.ContactDetails | None,
    program: Program,
    actor: Actor,
    session: Session,
    status: StatusAt,
    profile: Profile | None,
) -> tuple[list[tuple[str, str]], str | None]:
    """The approved call script's sections, safe-to-talk first, for the claim holder only;
    or why there is none to read (S6, S12)."""
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


# --- her week: his group, her safe times, the windows planned (S4) ---------------------------


def plan(
    session: Session,
    profiles: Mapping[str, Profile],
    task: OutreachTask,
    now: datetime,
    calling_hours: tuple[time, time],
) -> Plan:
    """The windows planned for an open task in the coming eight days, and what was skipped."""
    if task.status != TaskStatus.OPEN:
        return Plan((), ())
    return plan_open_tasks(
        session, profiles, now=now, days=8, calling_hours=calling_hours, task_ids=[task.id]
    )


def week_of(
    session: Session,
    participant: Participant,
    prefs: ContactPreferences,
    program: Program,
    now: datetime,
    calling_hours: tuple[time, time],
    offset: int,
) -> Week:
    """The week `offset` weeks from this one in her zone: her safe times and his group."""
    zone = preferences.contact_zone(prefs, program)
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


def with_plan(week: Week, windows: list[CallWindow], attempts: list[Attempt]) -> Week:
    """The week with the planned windows and the attempts that fall in it."""
    end = week.start + timedelta(days=7)
    week.windows.extend(w for w in windows if w.start < end and w.end > week.start)
    week.attempts.extend((a.at, a.outcome) for a in attempts if week.start <= a.at < end)
    return week
