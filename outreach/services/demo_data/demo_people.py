"""The demo's people: each group's participants with their attendance so far and one contact
each, her preferences drawn from the shapes of practice, and the Spanish-first program's
contacts (S12). Fictional names and 555-01xx numbers only.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from dateutil.rrule import rrulestr
from sqlalchemy.orm import Session

from outreach.domain.protocols.profile import Profile
from outreach.domain.vocabulary import Consent
from outreach.models import Group, Program
from outreach.security.vault import Vault
from outreach.services.contact_persons import contacts, preferences
from outreach.services.demo_data.demo_programs import CANCELLED, SPANISH_FIRST, add_group
from outreach.services.intake import events, programs
from outreach.services.records.audit import SYSTEM

Profiles = Mapping[str, Profile]

FIRST_NAMES_EN = (
    "Avery",
    "Brooke",
    "Casey",
    "Dana",
    "Emery",
    "Frankie",
    "Gale",
    "Harper",
    "Indie",
    "Jordan",
    "Kendall",
    "Logan",
    "Morgan",
    "Noel",
    "Parker",
    "Quinn",
)
FIRST_NAMES_ES = (
    "Alma",
    "Beatriz",
    "Carmen",
    "Dolores",
    "Elena",
    "Flor",
    "Graciela",
    "Inés",
    "Julia",
    "Luz",
    "Marisol",
    "Nieves",
    "Paloma",
    "Rocío",
    "Sol",
    "Yolanda",
)
SURNAMES = ("Sample", "Example", "Placeholder", "Testwell", "Demo", "Fictional")
SURNAMES_ES = ("Ejemplo", "Muestra", "Ficticia", "Prueba")
PARTICIPANTS_PER_GROUP = 10


def seat_group(
    session: Session,
    vault: Vault,
    profiles: Profiles,
    rng: random.Random,
    group: Group,
    spec: tuple[Any, ...],
    number: int,
    now: datetime,
) -> None:
    """Fill the group's seats: a participant with his attendance, and his contact."""
    for seat in range(PARTICIPANTS_PER_GROUP):
        _participant_with_contact(session, vault, profiles, rng, group, spec, number, seat, now)


def spanish_first(
    session: Session,
    vault: Vault,
    profiles: Profiles,
    program: Program,
    rng: random.Random,
    now: datetime,
) -> None:
    """S12: the Spanish-first program's contacts are added with no language stated, so they
    start in its Spanish; one was just enrolled, so its Spanish intake is in the queue. `rng` is
    its own generator: the other programs' picture stays as it was."""
    group = add_group(session, profiles, program, SPANISH_FIRST.group, now)
    for seat in range(SPANISH_FIRST.contacts):
        participant = programs.add_participant(
            session, program_id=program.id, group_id=group.id, reference=f"CN-{seat + 1:03d}",
            now=now - timedelta(days=1), actor=SYSTEM,
        )  # fmt: skip
        contacts.add_contact(
            session, vault, actor=SYSTEM, participant_id=participant.id,
            name=_name(rng, spanish=True), phone=f"+1{SPANISH_FIRST.group[6]}55501{seat:02d}",
            relationship=rng.choice(("partner", "ex_partner", "spouse", "co_parent")),
            preferences=preferences.Preferences(), now=now, profiles=profiles,
            language_stated=False,
        )  # fmt: skip
        if seat == 0:
            events.report_event(
                session, profiles, actor=SYSTEM, participant_id=participant.id,
                event_type="enrolled", at=now - timedelta(hours=2), severity="routine", now=now,
            )  # fmt: skip


def _participant_with_contact(
    session: Session,
    vault: Vault,
    profiles: Profiles,
    rng: random.Random,
    group: Group,
    spec: tuple[Any, ...],
    number: int,
    seat: int,
    now: datetime,
) -> None:
    participant = programs.add_participant(
        session,
        program_id=group.program_id,
        group_id=group.id,
        reference=f"P-{number + 1}{seat + 1:03d}",
        now=now,
        actor=SYSTEM,
    )
    # He has been on the roster since his group began (his attendance below says so): the
    # events the demo reports in the last days must not predate him (issue 19).
    participant.created_at = datetime.combine(group.starts_on, time(0), tzinfo=UTC)
    for day in _past_sessions(group, now):
        status = "present" if rng.random() < 0.85 else "absent"
        programs.record_attendance(
            session,
            profiles,
            participant_id=participant.id,
            session_date=day,
            status=status,
            checked_in_at=None,
            now=now,
            actor=SYSTEM,
        )
    spanish = group.name.startswith("Grupo") or rng.random() < 0.2
    contacts.add_contact(
        session,
        vault,
        actor=SYSTEM,
        participant_id=participant.id,
        name=_name(rng, spanish),
        phone=f"+1{spec[6]}55501{seat + 10 * (number % 2):02d}",
        relationship=rng.choice(("partner", "ex_partner", "spouse", "co_parent")),
        preferences=_preferences(rng, spanish, group, seat),
        now=now,
    )


def _past_sessions(group: Group, now: datetime) -> Iterator[date]:
    start = datetime.combine(group.starts_on, group.start_time)
    for occurrence in rrulestr(group.rrule, dtstart=start):
        if occurrence.date() >= now.date():
            return
        if occurrence.date() != CANCELLED[1] or group.name != CANCELLED[0]:
            yield occurrence.date()


def _name(rng: random.Random, spanish: bool) -> str:
    first = rng.choice(FIRST_NAMES_ES if spanish else FIRST_NAMES_EN)
    return f"{first} {rng.choice(SURNAMES_ES if spanish else SURNAMES)}"


def _preferences(
    rng: random.Random, spanish: bool, group: Group, seat: int
) -> preferences.Preferences:
    consent = (
        Consent.CONSENTED,
        Consent.CONSENTED,
        Consent.CONSENTED,
        Consent.CONSENTED,
        Consent.NOT_ASKED,
        Consent.NOT_ASKED,
        Consent.NOT_ASKED,
        Consent.DECLINED,
        Consent.DECLINED,
        Consent.CONSENTED,
    )[seat]
    asked = consent == Consent.CONSENTED
    return preferences.Preferences(
        consent=consent.value,
        voice=consent != Consent.DECLINED,
        sms=asked and rng.random() < 0.6,
        voicemail=asked and rng.random() < 0.2,
        mail=asked and rng.random() < 0.4,
        safe_times=_safe_times(rng) if asked else (),
        only_during_group=asked and rng.random() < 0.3,
        language="es" if spanish else "en",
        # A few contacts live in another zone than their group (they moved away).
        timezone="America/Los_Angeles" if seat == 9 else None,
    )


def _safe_times(rng: random.Random) -> tuple[preferences.SafeTime, ...]:
    options = (
        preferences.SafeTime("MO,TU,WE,TH,FR", "09:00", "12:00"),
        preferences.SafeTime("TU,TH", "17:00", "20:30"),
        preferences.SafeTime("SA", "09:00", "13:00"),
        preferences.SafeTime("MO,WE,FR", "13:00", "16:00"),
    )
    return tuple(rng.sample(options, rng.randint(1, 2)))
