"""The demo's programs and their groups: three seed programs, a Spanish-first one (S12), their
weekly groups, and the one session a program cancelled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from outreach.domain.protocols.profile import Profile
from outreach.models import Group, Program
from outreach.services.intake import programs
from outreach.services.records.audit import SYSTEM

Profiles = Mapping[str, Profile]
STARTS_ON = date(2026, 9, 1)
ENDS_ON = date(2027, 6, 30)


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


def create_programs(session: Session, now: datetime) -> dict[str, Program]:
    """Create the seed programs and the Spanish-first one, by key."""
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
    return keyed


def add_group(
    session: Session, profiles: Profiles, program: Program, spec: tuple[Any, ...], now: datetime
) -> Group:
    """Create a group from its spec; the cancelled session is cancelled as the program did."""
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
