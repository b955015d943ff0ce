"""Synthetic demo data: fictional people (555-01xx numbers), real shapes of practice.

Deterministic for a given seed, so every demo machine shows the same picture. This module seeds
in order and makes the staff logins; what it seeds is in demo_programs (programs and groups),
demo_people (participants and contacts), demo_callable (the contact callable now), demo_events
(tasks from recent events) and demo_practice (the seed programs' practice).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.protocols.profile import Profile
from outreach.domain.vocabulary import Role
from outreach.models import Program
from outreach.security.vault import Vault
from outreach.services.demo_data import (
    demo_callable,
    demo_events,
    demo_people,
    demo_practice,
    demo_programs,
)
from outreach.services.demo_data.demo_programs import PROGRAMS, SPANISH_FIRST
from outreach.services.records.audit import SYSTEM, AuditAction, record
from outreach.services.staff import users
from outreach.services.supervision import on_call

Profiles = Mapping[str, Profile]
SEED = 2026


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str
    password: str
    programs: tuple[str, ...]


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
    keyed = demo_programs.create_programs(session, now)
    keyed[demo_practice.LETTERS.key] = demo_practice.letters_program(session, now)
    for number, spec in enumerate(demo_programs.GROUPS):
        group = demo_programs.add_group(session, profiles, keyed[spec[0]], spec, now)
        demo_people.seat_group(session, vault, profiles, rng, group, spec, number, now)
    _staff(session, vault, now)
    demo_events.report_events(session, profiles, rng, now)
    callable_program = keyed[demo_callable.CALLABLE.program]
    demo_callable.add_callable_now(session, vault, profiles, callable_program, now, calling_hours)
    # Its own generator: the other programs' picture stays as it was.
    spanish = random.Random(SEED + 1)  # noqa: S311  # reproducible fake data, not a secret
    demo_people.spanish_first(session, vault, profiles, keyed[SPANISH_FIRST.key], spanish, now)
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
