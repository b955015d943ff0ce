"""Factories per domain, built through the services so test data obeys the same rules.

Personas: `liaison` and `supervisor` work the home program, `facilitator` runs its groups,
`outsider` is a liaison of another program, `admin` administers both.
"""

from __future__ import annotations

import base64
import itertools
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker

from outreach.domain.protocols.profile import Profile
from outreach.domain.vocabulary import DATED_EVENTS, EventType, Role
from outreach.models import (
    ContactPerson,
    ContactRelease,
    Delivery,
    Group,
    InboundMessage,
    OutreachTask,
    Participant,
    Program,
    TextTrace,
    User,
    WebhookEvent,
)
from outreach.security import totp
from outreach.security.passwords import hash_password
from outreach.security.vault import Vault, place
from outreach.services.attempts import attempt_log, closing
from outreach.services.contact_persons import contacts, releases
from outreach.services.contact_persons.preferences import Preferences
from outreach.services.intake import events, programs
from outreach.services.records.audit import SYSTEM, Actor
from outreach.services.staff import second_factor

PASSWORD = "correct horse battery staple"
_PASSWORD_HASH = hash_password(PASSWORD)  # argon2 is slow on purpose: hash once per run
_serial = itertools.count(1)


@dataclass
class World:
    home: Program
    other: Program
    group: Group
    participant: Participant
    contact: ContactPerson
    users: dict[str, User]

    def actor(self, persona: str) -> Actor:
        return Actor.of(self.users[persona])


def make_program(
    session: Session,
    *,
    now: datetime,
    protocol: str = "georgia_fvip",
    timezone: str = "America/New_York",
) -> Program:
    n = next(_serial)
    return programs.create_program(
        session,
        key=f"prog-{n}",
        name=f"Program {n}",
        protocol=protocol,
        timezone=timezone,
        now=now,
        actor=SYSTEM,
    )


def make_group(session: Session, program: Program, *, now: datetime, **overrides: Any) -> Group:
    fields: dict[str, Any] = {
        "name": "Tuesday evening",
        "timezone": "America/New_York",
        "rrule": "FREQ=WEEKLY;BYDAY=TU",
        "start_time": "18:30",
        "duration_minutes": 120,
        "starts_on": date(2026, 9, 1),
        "ends_on": date(2027, 3, 30),
    }
    fields.update(overrides)
    return programs.create_group(session, program_id=program.id, now=now, actor=SYSTEM, **fields)


def make_participant(session: Session, group: Group, *, now: datetime) -> Participant:
    return programs.add_participant(
        session,
        program_id=group.program_id,
        group_id=group.id,
        reference=f"REF-{next(_serial)}",
        now=now,
        actor=SYSTEM,
    )


def make_contact(
    session: Session,
    vault: Vault,
    participant: Participant,
    *,
    now: datetime,
    name: str = "Avery Sample",
    phone: str = "+1 (404) 555-0123",
    **preferences: Any,
) -> ContactPerson:
    return contacts.add_contact(
        session,
        vault,
        actor=SYSTEM,
        participant_id=participant.id,
        name=name,
        phone=phone,
        relationship="ex_partner",
        preferences=Preferences(**preferences),
        now=now,
    )


def make_user(
    session: Session,
    role: Role,
    programs_: list[Program],
    *,
    now: datetime,
    username: str | None = None,
) -> User:
    user = User(
        username=username or f"{role.value}-{next(_serial)}",
        role=role.value,
        password_hash=_PASSWORD_HASH,
        programs=programs_,
        created_at=now,
    )
    session.add(user)
    session.commit()
    return user


def enrol_second_factor(session: Session, vault: Vault, user: User, *, now: datetime) -> bytes:
    """The user sets up an authenticator app, as the account page does; answer its seed."""
    pending, uri = second_factor.start_enrolment(vault.keyring, user)
    raw = parse_qs(urlparse(uri).query)["secret"][0]
    secret = base64.b32decode(raw + "=" * (-len(raw) % 8))
    code = totp.code_at(secret, totp.step_of(now))
    second_factor.confirm_enrolment(
        session, vault.keyring, user_id=user.id, pending=pending, code=code, now=now
    )
    return secret


def build_world(session: Session, vault: Vault, *, now: datetime) -> World:
    home, other = make_program(session, now=now), make_program(session, now=now)
    group = make_group(session, home, now=now)
    participant = make_participant(session, group, now=now)
    # In the program a year already: tests report events of the weeks before `now`, and no
    # event may predate his record (S4, issue 19).
    participant.created_at = now - timedelta(days=365)
    session.commit()
    contact = make_contact(session, vault, participant, now=now, consent="consented", sms=True)
    users = {
        "liaison": make_user(session, Role.LIAISON, [home], now=now),
        "supervisor": make_user(session, Role.SUPERVISOR, [home], now=now),
        "facilitator": make_user(session, Role.FACILITATOR, [home], now=now),
        "outsider": make_user(session, Role.LIAISON, [other], now=now),
        "admin": make_user(session, Role.ADMIN, [home, other], now=now),
    }
    return World(home, other, group, participant, contact, users)


@dataclass
class Case:
    """One participant of a program of its own, with a consenting contact and the staff."""

    program: Program
    participant: Participant
    contact: ContactPerson
    facilitator: Actor
    liaison: Actor


def build_case(session: Session, vault: Vault, *, now: datetime, protocol: str) -> Case:
    program = make_program(session, now=now, protocol=protocol)
    participant = make_participant(session, make_group(session, program, now=now), now=now)
    contact = make_contact(
        session, vault, participant, now=now, phone="404-555-0190", consent="consented"
    )
    facilitator = make_user(session, Role.FACILITATOR, [program], now=now)
    liaison = make_user(session, Role.LIAISON, [program], now=now)
    return Case(program, participant, contact, Actor.of(facilitator), Actor.of(liaison))


def report_case_event(
    session: Session,
    profiles: Mapping[str, Profile],
    case: Case,
    event: str,
    *,
    at: datetime,
    now: datetime,
) -> list[OutreachTask]:
    """The case's facilitator reports an event that happened `at`; answer the tasks opened.
    An event about a day to come (a court report, a planned discharge) is ten days ahead."""
    field = DATED_EVENTS.get(EventType(event))
    _, opened = events.report_event(
        session,
        profiles,
        actor=case.facilitator,
        participant_id=case.participant.id,
        event_type=event,
        at=at,
        severity="routine",
        now=now,
        days={} if field is None else {field: (at + timedelta(days=10)).date()},
    )
    return opened


def report_event(
    session: Session,
    profiles: Mapping[str, Profile],
    world: World,
    event: str,
    *,
    now: datetime,
    severity: str = "routine",
) -> list[OutreachTask]:
    """The world's facilitator reports an event about its participant; answer the tasks."""
    _, opened = events.report_event(
        session,
        profiles,
        actor=world.actor("facilitator"),
        participant_id=world.participant.id,
        event_type=event,
        at=now,
        severity=severity,
        now=now,
    )
    return opened


def make_release(
    session: Session,
    vault: Vault,
    world: World,
    *,
    now: datetime,
    days: int = 30,
    **terms: Any,
) -> ContactRelease:
    """The world's supervisor records a written release from the world's contact."""
    fields: dict[str, Any] = {
        "recipient_kind": "court",
        "recipient": "Judge Rivera, Fulton County",
        "purpose": "progress_report",
        "scope": ("contact_made", "statement"),
        "given_as": "signed_form",
        "expires": now + timedelta(days=days),
        "statement": "He has kept away since the order.",
    }
    fields.update(terms)
    return releases.grant_release(
        session,
        vault,
        actor=world.actor("supervisor"),
        contact_id=world.contact.id,
        terms=releases.ReleaseTerms(**fields),
        now=now,
    )


def make_safe_check_delivery(session: Session, task: OutreachTask, *, now: datetime) -> Delivery:
    """A safe-check call already placed for the task, as the provider's callbacks find it."""
    delivery = Delivery(
        task_id=task.id,
        contact_id=task.contact_id,
        kind="safe_check_call",
        script="safe_check_prompt",
        language="en",
        status="sent",
        code=f"code-{uuid.uuid4().hex}",
        provider_sid=f"CA{uuid.uuid4().hex}",
        due_at=now,
        sent_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.commit()
    return delivery


def leave_provider_trail(
    session: Session,
    vault: Vault,
    profiles: Mapping[str, Profile],
    world: World,
    *,
    now: datetime,
) -> set[str]:
    """Give the world's contact a closed task with a bridged call, a reminder text and her
    reply, her STOP and our reply to a message of hers, as the provider carried them; answer
    the SIDs of the provider's own records."""
    contact = world.contact
    [task] = report_event(session, profiles, world, "class_cancelled", now=now)
    liaison_leg, contact_leg = f"CA{uuid.uuid4().hex}", f"CA{uuid.uuid4().hex}"
    text, reply = f"SM{uuid.uuid4().hex}", f"SM{uuid.uuid4().hex}"
    for kind, sid in (("bridged_call", liaison_leg), ("sms", text)):
        session.add(
            Delivery(
                task_id=task.id, contact_id=contact.id, kind=kind, script="reminder",
                language="en", status="settled", code=f"code-{uuid.uuid4().hex}",
                provider_sid=sid, due_at=now, sent_at=now, created_at=now,
            )
        )  # fmt: skip
    # Only the dial result names the leg that rang her.
    dialled = {"CallSid": liaison_leg, "DialCallSid": contact_leg, "DialCallStatus": "completed"}
    session.add(
        WebhookEvent(
            natural_key=f"dial:{liaison_leg}:completed", route="dial-done", fields=dialled,
            received_at=now, applied_at=now,
        )
    )  # fmt: skip
    reply_id = uuid.uuid4()
    sealed = vault.cipher_for(session, contact.id).seal(
        place("inbound_message", "body", reply_id), "after 6 please"
    )
    session.add(
        InboundMessage(
            id=reply_id, contact_id=contact.id, provider_sid=reply, received_at=now,
            body_sealed=sealed,
        )
    )  # fmt: skip
    stop, answer = f"SM{uuid.uuid4().hex}", f"SM{uuid.uuid4().hex}"
    session.add(TextTrace(contact_id=contact.id, sid=stop, kind="inbound", at=now))
    session.add(TextTrace(contact_id=contact.id, sid=answer, code="c1", kind="reply", at=now))
    session.commit()
    liaison = world.actor("liaison")
    attempt_log.record_attempt(
        session, vault, actor=liaison, task_id=task.id, channel="voice", at=now,
        outcome="reached_safe", now=now,
    )  # fmt: skip
    closing.close_task(session, actor=liaison, task_id=task.id, resolution="completed", now=now)
    return {liaison_leg, contact_leg, text, reply, stop, answer}


@contextmanager
def rolled_back(connection: Connection, sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is undone afterwards: each generated example starts afresh."""
    savepoint = connection.begin_nested()
    try:
        with sessions() as session:
            yield session
    finally:
        savepoint.rollback()


def open_check_ins(db: Session, case: Case) -> list[OutreachTask]:
    """The case's contact's periodic check-ins still open."""
    return list(
        db.scalars(
            select(OutreachTask).where(
                OutreachTask.contact_id == case.contact.id,
                OutreachTask.reason == "periodic_check_in",
                OutreachTask.status == "open",
            )
        )
    )
