"""The demo's recent program events, so the queue and the plan have work in them: enrolments,
completions, a safety concern, a duty to warn raised at night (S8), and one held for a
supervisor because its contact declined (S1).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.protocols.profile import Profile
from outreach.domain.vocabulary import DATED_EVENTS, Consent, EventType
from outreach.models import ContactPerson, ContactPreferences, Participant, Program
from outreach.services.intake import events
from outreach.services.records.audit import SYSTEM

Profiles = Mapping[str, Profile]

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


def report_events(session: Session, profiles: Profiles, rng: random.Random, now: datetime) -> None:
    """Report the recent events on participants drawn by `rng`, then the held duty to warn."""
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
