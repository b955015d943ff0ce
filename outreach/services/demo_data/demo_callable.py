"""The demo's contact who is callable now: her named safe time starts at the hour the demo
starts, in a zone where that time is inside calling hours, so a newcomer can place a simulated
call at any hour (issue 22 item 7).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.protocols.profile import Profile
from outreach.domain.vocabulary import Consent
from outreach.models import ContactPerson, Group, Participant, Program
from outreach.security.vault import Vault
from outreach.services.contact_persons import contacts, her_word, preferences
from outreach.services.intake import events, programs
from outreach.services.records.audit import SYSTEM
from outreach.services.scheduling import queue

Profiles = Mapping[str, Profile]


@dataclass(frozen=True)
class Callable:
    """A demo contact whose named safe time is now, wherever now is inside calling hours."""

    program: str = "north-metro"
    group: str = "Tuesday evening"
    reference: str = "P-1011"
    name: str = "Nora Example"
    phone: str = "+14045550199"
    hours: int = 3


CALLABLE = Callable()
# Where she may live (she moved away): one of these is inside calling hours at any hour of the
# day, so a newcomer can place a simulated call whenever the demo starts (issue 22 item 7).
# Calling hours are never relaxed: the zone is chosen to fit them, not the other way round.
CALLABLE_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Pacific/Honolulu",
    "Europe/Madrid",
    "Asia/Manila",
)
DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def callable_safe_time(
    now: datetime, calling_hours: tuple[time, time], hours: int = CALLABLE.hours
) -> tuple[str, preferences.SafeTime] | None:
    """The first zone where a safe time from this hour for `hours` hours fits calling hours
    (S4), and that safe time; None if no zone fits."""
    first, last = (t.hour * 60 + t.minute for t in calling_hours)
    for zone in CALLABLE_ZONES:
        local = now.astimezone(ZoneInfo(zone))
        start = local.hour * 60
        if first <= start and start + hours * 60 <= last:
            end = start + hours * 60
            day = DAY_CODES[local.weekday()]
            return zone, preferences.SafeTime(day, f"{local.hour:02d}:00", f"{end // 60:02d}:00")
    return None


def add_callable_now(
    session: Session,
    vault: Vault,
    profiles: Profiles,
    program: Program,
    now: datetime,
    calling_hours: tuple[time, time],
) -> None:
    """Add her, with a participant just enrolled, unless calling hours fit no zone."""
    found = callable_safe_time(now, calling_hours)
    if found is None:
        return  # calling hours too narrow for any zone: no contact is made callable
    zone, safe = found
    group = session.scalar(
        select(Group).where(Group.program_id == program.id, Group.name == CALLABLE.group)
    )
    participant = programs.add_participant(
        session,
        program_id=program.id,
        group_id=group.id if group else None,
        reference=CALLABLE.reference,
        now=now - timedelta(days=1),  # recorded before his enrolment: no event predates him
        actor=SYSTEM,
    )
    contacts.add_contact(
        session,
        vault,
        actor=SYSTEM,
        participant_id=participant.id,
        name=CALLABLE.name,
        phone=CALLABLE.phone,
        relationship="ex_partner",
        preferences=preferences.Preferences(
            consent=Consent.CONSENTED.value, safe_times=(safe,), timezone=zone
        ),
        now=now,
    )
    events.report_event(
        session,
        profiles,
        actor=SYSTEM,
        participant_id=participant.id,
        event_type="enrolled",
        at=now - timedelta(hours=1),
        severity="routine",
        now=now,
    )


def callable_reference(
    session: Session, now: datetime, calling_hours: tuple[time, time]
) -> str | None:
    """The queue reference of the demo contact who is callable now, for the demo's banner.

    On a demo seeded on another day or hour her safe time is moved to now, as a new
    preferences version from the source "demo" (the history shows it), within calling hours.
    """
    contact = session.scalar(
        select(ContactPerson)
        .join(Participant, ContactPerson.participant_id == Participant.id)
        .where(Participant.reference == CALLABLE.reference)
    )
    found = callable_safe_time(now, calling_hours)
    if contact is None or found is None:
        return None
    zone, safe = found
    current = preferences.current_preferences(session, contact.id)
    if current.timezone != zone or current.safe_times != [safe.__dict__]:
        her_word.change_preferences(
            session,
            actor=SYSTEM,
            contact_id=contact.id,
            changes={"safe_times": [safe.__dict__], "timezone": zone},
            now=now,
            source="demo",
        )
    return queue.reference(contact.id)
