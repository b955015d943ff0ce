"""A cancelled class (seeds/001, Georgia: contact is required when "the program cancels class
for any reason"): recording it opens the contact for the partners of the group's
participants by itself, once, and only where the profile requires it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.protocols.loading import load_profiles
from outreach.domain.protocols.profile import Profile
from outreach.domain.vocabulary import Role
from outreach.models import ContactPerson, Group, OutreachTask, ProgramEvent
from outreach.security.vault import Vault
from outreach.services.intake import events, programs
from outreach.services.intake.programs import PROTOCOLS_DIR
from outreach.services.records.audit import Actor
from tests.conftest import NOW
from tests.factories import make_contact, make_group, make_participant, make_program, make_user

NEXT_TUESDAY = date(2026, 11, 24)  # the group meets on Tuesdays at 18:30 (New York)
MONTH_AGO = NOW - timedelta(days=30)


@pytest.fixture
def profiles() -> dict[str, Profile]:
    return load_profiles(PROTOCOLS_DIR)


def _contact(db: Session, vault: Vault, group: Group, phone: str, **prefs: object) -> ContactPerson:
    participant = make_participant(db, group, now=MONTH_AGO)
    return make_contact(db, vault, participant, now=MONTH_AGO, phone=phone, **prefs)


def _cancel(db: Session, profiles: dict[str, Profile], group: Group, actor: Actor) -> str:
    cancellation = programs.cancel_session(
        db, profiles, group_id=group.id, session_date=NEXT_TUESDAY, reason="ill", now=NOW,
        actor=actor,
    )  # fmt: skip
    return str(cancellation.id)


def _class_cancelled(db: Session) -> dict[object, OutreachTask]:
    rows = db.scalars(select(OutreachTask).where(OutreachTask.reason == "class_cancelled"))
    return {task.contact_id: task for task in rows}


def _report(db: Session, profiles: dict[str, Profile], contact: ContactPerson, event: str) -> None:
    events.report_event(
        db, profiles, actor=Actor(None, "system"), participant_id=contact.participant_id,
        event_type=event, at=NOW - timedelta(days=2), severity="routine", now=NOW,
    )  # fmt: skip


def test_a_georgia_cancellation_opens_a_contact_for_each_partner_who_may_be_called(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    program = make_program(db, now=MONTH_AGO, protocol="georgia_fvip")
    group = make_group(db, program, now=MONTH_AGO)
    facilitator = Actor.of(make_user(db, Role.FACILITATOR, [program], now=NOW))
    consenting = _contact(db, vault, group, "404-555-0140", consent="consented", sms=True)
    not_asked = _contact(db, vault, group, "404-555-0141")
    declined = _contact(db, vault, group, "404-555-0142", consent="declined", voice=False)
    left = _contact(db, vault, group, "404-555-0143", consent="consented")
    _report(db, profiles, left, "terminated")  # he is no longer in the group
    on_leave = _contact(db, vault, group, "404-555-0144", consent="consented")
    _report(db, profiles, on_leave, "leave_of_absence")
    elsewhere = make_group(db, program, now=MONTH_AGO, name="Thursday")
    other = _contact(db, vault, elsewhere, "404-555-0145", consent="consented")

    _cancel(db, profiles, group, facilitator)

    opened = _class_cancelled(db)
    # seeds/001: consenting or not yet asked; S1: never declined; S4: only his group's
    # participants who were in it that day.
    assert set(opened) == {consenting.id, not_asked.id}
    for contact in (declined, left, on_leave, other):
        assert contact.id not in opened
    # A task uses what the protocol and her permissions both allow (S1): no text before asked.
    assert opened[consenting.id].channels == ["voice", "sms"]
    assert opened[not_asked.id].channels == ["voice"]
    # Within the profile's deadline (config/protocols/georgia_fvip.toml: 24 hours).
    assert {t.due_by for t in opened.values()} == {NOW + timedelta(hours=24)}
    # The class was cancelled for every participant in the group that day, whatever his
    # contacts said: the record is about him, and says nothing about them (S7).
    events = db.scalars(select(ProgramEvent).where(ProgramEvent.type == "class_cancelled"))
    in_group = {c.participant_id for c in (consenting, not_asked, declined)}
    assert {e.participant_id for e in events} == in_group


def test_recording_the_same_cancellation_again_opens_nothing_new(
    db: Session, vault: Vault, profiles: dict[str, Profile]
) -> None:
    program = make_program(db, now=MONTH_AGO, protocol="georgia_fvip")
    group = make_group(db, program, now=MONTH_AGO)
    facilitator = Actor.of(make_user(db, Role.FACILITATOR, [program], now=NOW))
    _contact(db, vault, group, "404-555-0140", consent="consented")
    first = _cancel(db, profiles, group, facilitator)
    assert len(_class_cancelled(db)) == 1
    assert _cancel(db, profiles, group, facilitator) == first
    assert len(list(db.scalars(select(OutreachTask)))) == 1


@pytest.mark.parametrize("protocol", ["colorado_dvomb", "emerge", "caring_dads", "no_contact"])
def test_a_program_whose_standard_does_not_ask_opens_nothing_for_a_cancellation(
    db: Session, vault: Vault, profiles: dict[str, Profile], protocol: str
) -> None:
    program = make_program(db, now=MONTH_AGO, protocol=protocol)
    group = make_group(db, program, now=MONTH_AGO)
    facilitator = Actor.of(make_user(db, Role.FACILITATOR, [program], now=NOW))
    _contact(db, vault, group, "404-555-0140", consent="consented", sms=True)
    _cancel(db, profiles, group, facilitator)
    assert _class_cancelled(db) == {}
