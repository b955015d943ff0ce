"""Synthetic demo data: fictional people (555-01xx numbers), real shapes of practice.

Deterministic for a given seed, so every demo machine shows the same picture.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.protocols.profile import Profile
from outreach.domain.vocabulary import DATED_EVENTS, Consent, EventType, Role
from outreach.models import ContactPerson, ContactPreferences, Group, Participant, Program
from outreach.security.vault import Vault
from outreach.services.contact_persons import contacts, her_word, preferences
from outreach.services.demo_data import demo_practice
from outreach.services.intake import events, programs
from outreach.services.records.audit import SYSTEM, AuditAction, record
from outreach.services.scheduling import queue
from outreach.services.staff import users
from outreach.services.supervision import on_call

Profiles = Mapping[str, Profile]
SEED = 2026
STARTS_ON = date(2026, 9, 1)
ENDS_ON = date(2027, 6, 30)


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    password: str
    programs: tuple[str, ...]


PROGRAMS = (
    ("north-metro", "North Metro Family Violence Intervention", "georgia_fvip", "America/New_York"),
    ("front-range", "Front Range Accountability Program", "colorado_dvomb", "America/Denver"),
    ("lakeside-dads", "Lakeside Fathers Program", "caring_dads", "America/Chicago"),
)

# (program, name, zone, rule, start, minutes, area code for its contacts)
GROUPS = (
    (
        "north-metro",
        "Tuesday evening",
        "America/New_York",
        "FREQ=WEEKLY;BYDAY=TU",
        "18:30",
        120,
        "404",
    ),
    (
        "north-metro",
        "Monday and Thursday",
        "America/New_York",
        "FREQ=WEEKLY;BYDAY=MO,TH",
        "19:00",
        90,
        "678",
    ),
    (
        "north-metro",
        "Grupo del sábado",
        "America/New_York",
        "FREQ=WEEKLY;BYDAY=SA",
        "10:00",
        120,
        "770",
    ),
    (
        "front-range",
        "Wednesday evening",
        "America/Denver",
        "FREQ=WEEKLY;BYDAY=WE",
        "18:00",
        120,
        "303",
    ),
    (
        "front-range",
        "Saturday morning",
        "America/Denver",
        "FREQ=WEEKLY;BYDAY=SA",
        "09:00",
        120,
        "720",
    ),
    (
        "lakeside-dads",
        "Thursday fathers",
        "America/Chicago",
        "FREQ=WEEKLY;BYDAY=TH",
        "18:00",
        120,
        "312",
    ),
)
# Thanksgiving: the program cancelled this session, so it must never be proposed.
CANCELLED = ("Thursday fathers", date(2026, 11, 26), "Holiday closure")


@dataclass(frozen=True)
class SpanishFirst:
    """S12: a Spanish-first program on the Georgia profile, as Caminar Latino is (seeds/001):
    its contacts, added without a language, start in Spanish."""

    key: str = "camino-nuevo"
    name: str = "Camino Nuevo (example)"
    protocol: str = "georgia_fvip"
    zone: str = "America/New_York"
    group: tuple[Any, ...] = (
        "camino-nuevo",
        "Grupo del miércoles",
        "America/New_York",
        "FREQ=WEEKLY;BYDAY=WE",
        "19:00",
        120,
        "470",
    )
    contacts: int = 4


SPANISH_FIRST = SpanishFirst()

# Usernames are "first.last": the call script greets the contact with the liaison's first
# name, and a role word such as "liaison" would fail the script lint.
ALL_PROGRAMS = (*(p[0] for p in PROGRAMS), SPANISH_FIRST.key, demo_practice.LETTERS.key)
LOGINS = (
    DemoLogin("morgan.admin", Role.ADMIN, "admin-demo-password", ALL_PROGRAMS),
    DemoLogin("robin.diaz", Role.SUPERVISOR, "supervisor-demo-password", ALL_PROGRAMS),
    DemoLogin(
        "sam.rivera",
        Role.LIAISON,
        "liaison-demo-password",
        ("north-metro", "front-range", SPANISH_FIRST.key, demo_practice.LETTERS.key),
    ),
    DemoLogin("alex.moreno", Role.LIAISON, "liaison2-demo-password", ("lakeside-dads",)),
    DemoLogin("jordan.lee", Role.FACILITATOR, "facilitator-demo-password", ("north-metro",)),
)

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
ON_CALL = "robin.diaz"  # the demo's on-call supervisor (S8)


def already_seeded(session: Session) -> bool:
    return session.scalar(select(Program.id).where(Program.key == PROGRAMS[0][0])) is not None


def seed(
    session: Session,
    vault: Vault,
    profiles: Profiles,
    *,
    now: datetime,
    seed_value: int = SEED,
    calling_hours: tuple[time, time] = (time(8), time(21)),
) -> None:
    """Create the demo programs, groups, participants, attendance, contacts, events and users."""
    # Reproducible fake data, not secrets: a seeded generator is what we want here.
    rng = random.Random(seed_value)  # noqa: S311
    keyed = {
        key: programs.create_program(
            session,
            key=key,
            name=name,
            protocol=protocol,
            timezone=tz,
            now=now,
            actor=SYSTEM,
        )
        for key, name, protocol, tz in PROGRAMS
    }
    keyed[SPANISH_FIRST.key] = programs.create_program(
        session, key=SPANISH_FIRST.key, name=SPANISH_FIRST.name, protocol=SPANISH_FIRST.protocol,
        timezone=SPANISH_FIRST.zone, now=now, actor=SYSTEM, language="es",
    )  # fmt: skip
    keyed[demo_practice.LETTERS.key] = demo_practice.letters_program(session, now)
    for number, spec in enumerate(GROUPS):
        group = _group(session, profiles, keyed[spec[0]], spec, now)
        for seat in range(PARTICIPANTS_PER_GROUP):
            _participant_with_contact(session, vault, profiles, rng, group, spec, number, seat, now)
    _staff(session, vault, now)
    _events(session, profiles, rng, now)
    _callable_now(session, vault, profiles, keyed[CALLABLE.program], now, calling_hours)
    _spanish_first(session, vault, profiles, keyed[SPANISH_FIRST.key], now)
    demo_practice.show(session, vault, profiles, now=now, calling_hours=calling_hours)
    record(session, now=now, actor=SYSTEM, action=AuditAction.DEMO_SEEDED)
    session.commit()


def _staff(session: Session, vault: Vault, now: datetime) -> None:
    """The demo logins, each with a phone of their own; the supervisor is on call everywhere,
    so the demo's duties to warn text them in the simulator (S8)."""
    for seat, login in enumerate(LOGINS):
        user = users.add_user(
            session,
            username=login.username,
            role=login.role,
            password=login.password,
            program_keys=login.programs,
            now=now,
            actor=SYSTEM,
        )
        # A bridged call rings the liaison's own phone first: fictional 555-01xx numbers.
        users.set_phone(
            session, vault, user_id=user.id, phone=f"+1470555019{seat}", now=now, actor=SYSTEM
        )
    for key in ALL_PROGRAMS:
        on_call.set_on_call(session, program_key=key, username=ON_CALL, now=now, actor=SYSTEM)


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


def _callable_now(
    session: Session,
    vault: Vault,
    profiles: Profiles,
    program: Program,
    now: datetime,
    calling_hours: tuple[time, time],
) -> None:
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


def _spanish_first(
    session: Session, vault: Vault, profiles: Profiles, program: Program, now: datetime
) -> None:
    """S12: the Spanish-first program's contacts are added with no language stated, so they
    start in its Spanish; one was just enrolled, so its Spanish intake is in the queue. Its own
    generator: the other programs' picture stays as it was."""
    rng = random.Random(SEED + 1)  # noqa: S311  # reproducible fake data, not a secret
    group = _group(session, profiles, program, SPANISH_FIRST.group, now)
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


# Recent program events, so the queue and the plan have work in them: (event, how many).
EVENTS = (
    ("enrolled", 14),
    ("completed", 3),
    ("terminated", 2),
    ("leave_of_absence", 1),
    ("progress_report_due", 3),
    ("safety_concern", 1),
    ("duty_to_warn", 1),
    ("participant_may_be_victim", 1),
)


def _events(session: Session, profiles: Profiles, rng: random.Random, now: datetime) -> None:
    # Events land on participants whose contacts did not decline, so the demo shows the work;
    # the declined contacts show the other half of S1: no task at all, but one duty to warn
    # held for a supervisor.
    participants = list(
        session.scalars(
            select(Participant)
            .join(ContactPerson, ContactPerson.participant_id == Participant.id)
            .join(ContactPreferences, ContactPreferences.contact_id == ContactPerson.id)
            .where(ContactPreferences.consent != Consent.DECLINED.value)
            .order_by(Participant.reference)
        )
    )
    chosen = rng.sample(participants, sum(count for _, count in EVENTS))
    for kind, count in EVENTS:
        for participant in chosen[:count]:
            at = now - timedelta(hours=rng.randint(2, 72))
            if kind == "duty_to_warn":  # S8: raised at night, and callable all the same
                at = _last_night(session, participant, now)
            severity = "high" if kind in ("duty_to_warn", "safety_concern") else "routine"
            events.report_event(
                session,
                profiles,
                actor=SYSTEM,
                participant_id=participant.id,
                event_type=kind,
                at=at,
                severity=severity,
                now=now,
                # A dated event carries its day (a court report, a planned discharge): in 10 days.
                days={field: (now + timedelta(days=10)).date() for field in _day_field(kind)},
            )
        chosen = chosen[count:]
    _held_duty_to_warn(session, profiles, now)


def _last_night(session: Session, participant: Participant, now: datetime) -> datetime:
    """The latest 23:30 before now in his program's zone: long after calling hours."""
    program = session.get(Program, participant.program_id)
    assert program is not None
    local = now.astimezone(ZoneInfo(program.timezone))
    night = local.replace(hour=23, minute=30, second=0, microsecond=0)
    return (night if night <= local else night - timedelta(days=1)).astimezone(UTC)


def _day_field(kind: str) -> tuple[str, ...]:
    field = DATED_EVENTS.get(EventType(kind))
    return () if field is None else (field,)


def _held_duty_to_warn(session: Session, profiles: Profiles, now: datetime) -> None:
    """S1/S8: a duty to warn raised for a contact who declined: the supervisor's queue shows it
    held until they confirm it (issue 19)."""
    declined = session.scalar(
        select(Participant)
        .join(ContactPerson, ContactPerson.participant_id == Participant.id)
        .join(ContactPreferences, ContactPreferences.contact_id == ContactPerson.id)
        .where(ContactPreferences.consent == Consent.DECLINED.value)
        .order_by(Participant.reference)
        .limit(1)
    )
    if declined is not None:
        events.report_event(
            session,
            profiles,
            actor=SYSTEM,
            participant_id=declined.id,
            event_type="duty_to_warn",
            at=now - timedelta(hours=1),
            severity="high",
            now=now,
        )


def _group(
    session: Session, profiles: Profiles, program: Program, spec: tuple[Any, ...], now: datetime
) -> Group:
    _, name, zone, rule, start, minutes, _ = spec
    group = programs.create_group(
        session,
        program_id=program.id,
        name=name,
        timezone=zone,
        rrule=rule,
        start_time=start,
        duration_minutes=minutes,
        starts_on=STARTS_ON,
        ends_on=ENDS_ON,
        now=now,
        actor=SYSTEM,
    )
    if name == CANCELLED[0]:
        programs.cancel_session(
            session,
            profiles,
            group_id=group.id,
            session_date=CANCELLED[1],
            reason=CANCELLED[2],
            now=now,
            actor=SYSTEM,
        )
    return group


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
