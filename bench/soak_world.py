"""bench/soak: the world the run works on, seeded before any process starts.

One program whose open tasks six liaisons work through the forms and whose participants a
program system reports events for; a second program whose safe-check calls the signed Twilio
callbacks report on (kept apart so the liaisons' queue is not the webhooks' bookkeeping); SMS
reminders falling due all through the run, which the leading scheduler sends. Every person is
fictional (555-01xx numbers); the staff's second factor is enrolled here, as a liaison would in
her authenticator app, and its seed is handed to the load so it can type the codes.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlparse

from sqlalchemy.orm import Session

from outreach.domain.vocabulary import DeliveryKind, DeliveryStatus, Role
from outreach.models import Delivery, OutreachTask
from outreach.runtime import Runtime
from outreach.security import totp
from outreach.services.contact_persons import contacts, preferences
from outreach.services.demo_data import demo_callable
from outreach.services.intake import events, programs
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import second_factor, tokens, users

PASSWORD = "soak-run correct horse battery"  # noqa: S105 - a throwaway database's staff
AREA_CODES = ("404", "678", "770", "470", "762", "706")
CALL_TASKS = 20


@dataclass
class Staff:
    username: str
    totp_secret: bytes = field(repr=False)


@dataclass
class World:
    webhook_token: str
    liaisons: list[Staff]
    supervisors: list[Staff]
    api_token: str
    participants: list[str]
    call_codes: list[str]
    reminders: int


def seed(
    rt: Runtime,
    *,
    now: datetime,
    seconds: float,
    tasks_open: int,
    calls: int,
    reminders: int,
    liaisons: int,
    supervisors: int,
) -> World:
    with rt.session() as session:
        worked = _program(session, "soak", now)
        called = _program(session, "soak-calls", now)
        participants, sms_tasks = _open_tasks(rt, session, worked, tasks_open, now, "S")
        _, call_tasks = _open_tasks(rt, session, called, CALL_TASKS, now, "C", sms=False)
        codes = _sent_calls(session, call_tasks, calls, now)
        _reminders_due(session, sms_tasks, reminders, now, seconds)
        staff = {
            "liaison": [
                _staff(rt, session, f"soak-liaison-{n}", Role.LIAISON, now) for n in range(liaisons)
            ],
            "supervisor": [
                _staff(rt, session, f"soak-supervisor-{n}", Role.SUPERVISOR, now)
                for n in range(supervisors)
            ],
        }
        users.add_user(
            session,
            username="soak-system",
            role=Role.FACILITATOR.value,
            password=None,
            program_keys=["soak"],
            now=now,
            actor=SYSTEM,
        )
        issued = tokens.issue_token(session, username="soak-system", days=7, now=now, actor=SYSTEM)
        session.commit()
    return World(
        webhook_token=rt.settings.webhook_token,
        liaisons=staff["liaison"],
        supervisors=staff["supervisor"],
        api_token=issued.token,
        participants=participants,
        call_codes=codes,
        reminders=reminders,
    )


def _program(session: Session, key: str, now: datetime) -> uuid.UUID:
    program = programs.create_program(
        session,
        key=key,
        name=f"Soak {key}",
        now=now,
        protocol="georgia_fvip",
        timezone="America/New_York",
        actor=SYSTEM,
    )
    return program.id


def _open_tasks(
    rt: Runtime,
    session: Session,
    program_id: uuid.UUID,
    count: int,
    now: datetime,
    prefix: str,
    *,
    sms: bool = True,
) -> tuple[list[str], list[OutreachTask]]:
    participants, opened = [], []
    for n in range(count):
        participant = programs.add_participant(
            session,
            program_id=program_id,
            group_id=None,
            reference=f"{prefix}-{n}",
            now=now,
            actor=SYSTEM,
        )
        area = AREA_CODES[(n // 100) % len(AREA_CODES)]
        contacts.add_contact(
            session,
            rt.vault,
            actor=SYSTEM,
            participant_id=participant.id,
            name=f"Sample Person {prefix}{n}",
            phone=f"+1{area}55501{n % 100:02d}",
            relationship="partner",
            preferences=_preferences(rt, sms and n % 2 == 0, now),
            now=now,
        )
        _, found = events.report_event(
            session,
            rt.profiles,
            actor=SYSTEM,
            participant_id=participant.id,
            event_type="enrolled",
            at=now,
            severity="routine",
            now=now,
        )
        participants.append(str(participant.id))
        opened += [task for task in found if (sms and n % 2 == 0) or not sms]
    session.flush()
    return participants, opened


def _preferences(rt: Runtime, texts: bool, now: datetime) -> preferences.Preferences:
    """A contact who allows texts named a safe time covering the run, in a zone where the run
    is inside calling hours: the scheduler sends her heads-up only inside a window she has
    (S4), so the reminders the run sends must fall in one. When no zone fits the hour the run
    starts at, her reminders are missed, and the report says none were sent."""
    hours = (rt.settings.calling_start, rt.settings.calling_end)
    found = demo_callable.callable_safe_time(now - timedelta(minutes=5), hours, hours=2)
    if not texts or found is None:
        return preferences.Preferences(consent="consented", sms=texts)
    zone, safe = found
    return preferences.Preferences(consent="consented", sms=True, safe_times=(safe,), timezone=zone)


def _sent_calls(
    session: Session, call_tasks: list[OutreachTask], count: int, now: datetime
) -> list[str]:
    """Safe-check calls already placed, whose progress the signed callbacks will report."""
    codes = [uuid.uuid4().hex for _ in range(count)]
    session.add_all(
        Delivery(
            task_id=call_tasks[n % len(call_tasks)].id,
            contact_id=call_tasks[n % len(call_tasks)].contact_id,
            kind=DeliveryKind.SAFE_CHECK_CALL,
            script="safe_check_prompt",
            language="en",
            status=DeliveryStatus.SENT,
            code=code,
            provider_sid=f"CA{code}",
            due_at=now,
            sent_at=now,
            created_at=now,
        )
        for n, code in enumerate(codes)
    )
    return codes


def _reminders_due(
    session: Session, sms_tasks: list[OutreachTask], count: int, now: datetime, seconds: float
) -> None:
    """SMS reminders falling due evenly through the run: every tick has some to send."""
    for n in range(count):
        task = sms_tasks[n % len(sms_tasks)]
        due = now + timedelta(seconds=seconds * n / max(count, 1))
        session.add(
            Delivery(
                task_id=task.id,
                contact_id=task.contact_id,
                kind=DeliveryKind.SMS,
                script="reminder",
                language="en",
                code=f"soak-{uuid.uuid4().hex}",
                due_at=due,
                expires_at=due + timedelta(hours=1),
                created_at=now,
            )
        )


def _staff(rt: Runtime, session: Session, username: str, role: Role, now: datetime) -> Staff:
    user = users.add_user(
        session,
        username=username,
        role=role.value,
        password=PASSWORD,
        program_keys=["soak"],
        now=now,
        actor=SYSTEM,
    )
    session.flush()
    pending, uri = second_factor.start_enrolment(rt.vault.keyring, user)
    secret = _seed_of(uri)
    second_factor.confirm_enrolment(
        session,
        rt.vault.keyring,
        user_id=user.id,
        pending=pending,
        code=totp.code_at(secret, totp.step_of(now)),
        now=now,
    )
    return Staff(username, secret)


def _seed_of(uri: str) -> bytes:
    encoded = parse_qs(urlparse(uri).query)["secret"][0]
    return base64.b32decode(encoded + "=" * (-len(encoded) % 8))
