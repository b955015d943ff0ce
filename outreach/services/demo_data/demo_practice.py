"""The victim-driven practice of the seed programs, shown in the demo (issue 20, its Proof).

Each piece is one case a liaison of that program lives: a Colorado contact on the monthly
rhythm she chose, a Caring Dads mother who slowed her calls to fortnightly (S13), a Georgia
class the program cancelled with the calls it opens (seeds/001 "the program cancels class for
any reason"), an Emerge completion letter to print in English and one in Spanish (seeds/001
"Massachusetts": "Within 10 days of program termination or completion, the victim advocate
sends a letter"), and a consented heads-up text the scheduler sends minutes after the demo
starts (PRODUCT.md "Consented reminders"). Fictional people and 555-01xx numbers only.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.protocols.profile import Profile
from outreach.domain.vocabulary import Consent, TaskReason, TaskStatus
from outreach.models import ContactPerson, Group, OutreachTask, Participant, Program
from outreach.security.vault import Vault
from outreach.services.attempts import letters
from outreach.services.contact_persons import contacts, preference_changes, preferences
from outreach.services.intake import events, programs
from outreach.services.records.audit import SYSTEM
from outreach.services.scheduling import queue

Profiles = Mapping[str, Profile]
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Letters:
    """An Emerge program whose two participants completed two days ago: each contact allowed
    letters and named a safe address, so each completion letter waits to be printed."""

    key: str = "harbor-line"
    name: str = "Harbor Line Program (example)"
    protocol: str = "emerge"
    zone: str = "America/New_York"
    group: tuple[str, str, str, str, int] = (
        "Wednesday evening",
        "FREQ=WEEKLY;BYDAY=WE",
        "18:00",
        "2026-09-02",
        120,
    )
    # (reference, her name, language, her safe address: fictional, as everything here)
    people: tuple[tuple[str, str, str, str], ...] = (
        ("EM-001", "Robin Example", "en", "100 Example Street, Apt 4\nSpringfield, MA 01101"),
        ("EM-002", "Inés Muestra", "es", "22 Calle Ficticia\nSpringfield, MA 01103"),
    )


LETTERS = Letters()
# S13: the rhythms the demo shows, each on the first consenting contact with an open task.
RHYTHMS = (("front-range", "monthly"), ("lakeside-dads", "fortnightly"))
# The Georgia group whose last session the program cancelled (seeds/001).
CANCELLED_GROUP = ("north-metro", "Tuesday evening")
# A contact who allows texts and named a safe time starting minutes after the demo starts:
# the running scheduler sends her one discreet heads-up at its start (`outreach outbox`).
REMINDED = ("north-metro", "Monday and Thursday")
REMINDER_LEAD = timedelta(minutes=10)
REMINDER_ZONES = ("America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles")


def letters_program(session: Session, now: datetime) -> Program:
    return programs.create_program(
        session, key=LETTERS.key, name=LETTERS.name, protocol=LETTERS.protocol,
        timezone=LETTERS.zone, now=now, actor=SYSTEM,
    )  # fmt: skip


def show(
    session: Session,
    vault: Vault,
    profiles: Profiles,
    *,
    now: datetime,
    calling_hours: tuple[time, time],
) -> None:
    """Add each case to a seeded demo (demo.seed)."""
    for program_key, rhythm in RHYTHMS:
        _her_rhythm(session, vault, profiles, program_key, rhythm, now)
    _cancelled_class(session, profiles, now)
    _letters(session, vault, profiles, now)
    _heads_up_soon(session, vault, profiles, now, calling_hours)


# --- her rhythm (S13) ----------------------------------------------------------------------


def _her_rhythm(
    session: Session, vault: Vault, profiles: Profiles, program_key: str, rhythm: str, now: datetime
) -> None:
    contact_id = _consenting_with_open_task(session, program_key)
    if contact_id is not None:
        preference_changes.change_preferences(
            session, vault, profiles, actor=SYSTEM, contact_id=contact_id,
            changes={"cadence": rhythm}, now=now, source="demo",
        )  # fmt: skip


def _consenting_with_open_task(session: Session, program_key: str) -> uuid.UUID | None:
    program = programs.program_by_key(session, program_key)
    found = session.scalars(
        select(OutreachTask.contact_id)
        .where(OutreachTask.program_id == program.id, OutreachTask.status == TaskStatus.OPEN)
        .order_by(OutreachTask.contact_id)
    )
    for contact_id in found:
        if preferences.current_preferences(session, contact_id).consent == Consent.CONSENTED:
            return contact_id
    return None


# --- a cancelled Georgia class (seeds/001) -------------------------------------------------


def _cancelled_class(session: Session, profiles: Profiles, now: datetime) -> None:
    """The group's last session before today, cancelled yesterday: the partners of its
    participants, consenting or not yet asked, each get a call (never a declined one, S1)."""
    group = _group(session, *CANCELLED_GROUP)
    last = max((day for day in _session_days(group, now) if day < now.date()), default=None)
    if last is not None:
        programs.cancel_session(
            session, profiles, group_id=group.id, session_date=last,
            reason="Facilitator unavailable", now=now - DAY / 2, actor=SYSTEM,
        )  # fmt: skip


def _session_days(group: Group, now: datetime) -> list[date]:
    start = datetime.combine(group.starts_on, group.start_time)
    until = datetime.combine(now.date(), time(0))
    return [d.date() for d in rrulestr(group.rrule, dtstart=start).between(start, until, inc=True)]


def _group(session: Session, program_key: str, name: str) -> Group:
    program = programs.program_by_key(session, program_key)
    group = session.scalar(select(Group).where(Group.program_id == program.id, Group.name == name))
    assert group is not None, f"the demo has no group {name!r}"
    return group


# --- Emerge's completion letters (seeds/001 "Massachusetts") -------------------------------


def _letters(session: Session, vault: Vault, profiles: Profiles, now: datetime) -> None:
    program = programs.program_by_key(session, LETTERS.key)
    name, rule, start, starts_on, minutes = LETTERS.group
    group = programs.create_group(
        session, program_id=program.id, name=name, timezone=LETTERS.zone, rrule=rule,
        start_time=start, duration_minutes=minutes, starts_on=date.fromisoformat(starts_on),
        ends_on=date.fromisoformat(starts_on) + 300 * DAY, now=now, actor=SYSTEM,
    )  # fmt: skip
    for seat, (reference, her_name, language, address) in enumerate(LETTERS.people):
        participant = programs.add_participant(
            session, program_id=program.id, group_id=group.id, reference=reference,
            now=now - 90 * DAY, actor=SYSTEM,
        )  # fmt: skip
        contact = contacts.add_contact(
            session, vault, actor=SYSTEM, participant_id=participant.id, name=her_name,
            phone=f"+1617555012{seat}", relationship="ex_partner",
            preferences=preferences.Preferences(
                consent=Consent.CONSENTED.value, mail=True, language=language
            ),
            now=now - 80 * DAY,
        )  # fmt: skip
        letters.set_mailing_address(
            session, vault, profiles, actor=SYSTEM, contact_id=contact.id, address=address,
            now=now - 80 * DAY,
        )  # fmt: skip
        _completed(session, profiles, participant, now)


def _completed(
    session: Session, profiles: Profiles, participant: Participant, now: datetime
) -> None:
    """He has been on the roster since his record was made (his intake long done, so none
    waits in the queue); he completed two days ago."""
    events.report_event(
        session, profiles, actor=SYSTEM, participant_id=participant.id, event_type="completed",
        at=now - 2 * DAY, severity="routine", now=now,
    )  # fmt: skip


# --- a consented heads-up text, minutes from now -------------------------------------------


def _heads_up_soon(
    session: Session,
    vault: Vault,
    profiles: Profiles,
    now: datetime,
    calling_hours: tuple[time, time],
) -> None:
    """One consenting contact with an open call who allows texts names a safe time that starts
    a few minutes from now, in a zone where that is inside calling hours (S4): the scheduler
    plans one heads-up for its start and sends it then (never for a duty to warn)."""
    found = _safe_time_soon(now, calling_hours)
    contact_id = _texting_contact(session, *REMINDED)
    if found is None or contact_id is None:
        return  # calling hours too narrow: no zone fits, and none is forced
    zone, safe = found
    preference_changes.change_preferences(
        session, vault, profiles, actor=SYSTEM, contact_id=contact_id,
        changes={"safe_times": [safe.__dict__], "timezone": zone, "only_during_group": False},
        now=now, source="demo",
    )  # fmt: skip


def banner(session: Session) -> list[str]:
    """Where a newcomer finds each case, for the lines `outreach demo` prints."""
    lines = []
    for program_key, rhythm in RHYTHMS:
        contact_id = _consenting_with_open_task(session, program_key)
        if contact_id is not None:
            lines.append(
                f"{program_key}: {queue.reference(contact_id)} chose a {rhythm} rhythm; her task"
                " page says when her next check-in opens."
            )
    lines.append(
        f"{CANCELLED_GROUP[0]}: the last '{CANCELLED_GROUP[1]}' class was cancelled; its calls"
        " are in the queue as 'class cancelled'."
    )
    lines.append(
        f"{LETTERS.key}: two completion letters to print (English and Spanish): claim a"
        " 'completion letter' task and press Print letter."
    )
    reminded = _texting_contact(session, *REMINDED)
    if reminded is not None:
        lines.append(
            f"{REMINDED[0]}: {queue.reference(reminded)} allows texts and named a safe time"
            " starting in about ten minutes: the scheduler sends her one discreet heads-up then"
            " (`outreach outbox` shows it)."
        )
    return lines


def _safe_time_soon(
    now: datetime, calling_hours: tuple[time, time]
) -> tuple[str, preferences.SafeTime] | None:
    first, last = (t.hour * 60 + t.minute for t in calling_hours)
    for zone in REMINDER_ZONES:
        local = (now + REMINDER_LEAD).astimezone(ZoneInfo(zone))
        start = local.hour * 60 + local.minute // 5 * 5
        if first <= start and start + 120 <= last:
            day = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[local.weekday()]
            end = start + 120
            return zone, preferences.SafeTime(
                day, f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}"
            )
    return None


def _texting_contact(session: Session, program_key: str, group_name: str) -> uuid.UUID | None:
    """The first consenting contact of the group who allows texts and calls, with an open
    call that is not a duty to warn."""
    group = _group(session, program_key, group_name)
    rows = session.scalars(
        select(ContactPerson.id)
        .join(Participant, Participant.id == ContactPerson.participant_id)
        .join(OutreachTask, OutreachTask.contact_id == ContactPerson.id)
        .where(
            Participant.group_id == group.id,
            OutreachTask.status == TaskStatus.OPEN,
            OutreachTask.reason != TaskReason.DUTY_TO_WARN,
        )
        .order_by(Participant.reference)
    )
    for contact_id in rows:
        prefs = preferences.current_preferences(session, contact_id)
        if prefs.consent == Consent.CONSENTED and prefs.sms and prefs.voice:
            return contact_id
    return None
