"""Consented reminders, alive (PRODUCT.md "Consented reminders"; issue 20 item 4).

"For a contact who consented to texts ... the scheduler sends one discreet, neutral heads-up
text before a window in which a liaison plans to call (never for duty to warn, never to a
contact not yet asked, never after STOP)." Every routine task of the shipped profiles is a
call, so the heads-up goes before calls, not only before tasks that text.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.channels.base import Sms
from outreach.models import ContactPerson, Delivery, OutreachTask
from outreach.runtime import Runtime, runtime
from outreach.scheduler import jobs
from outreach.security.vault import Vault
from outreach.services.contact_persons import her_word
from outreach.services.delivery import due_texts, inbound
from outreach.services.intake import events
from outreach.services.scheduling import reminders
from tests.conftest import NOW
from tests.factories import World, make_contact, make_participant, report_event
from tests.fakes import RecordingChannel

# The world's group meets Tuesdays 18:30-20:30 New York: tonight's window is 23:45-01:15 UTC.
WINDOW_START = datetime(2026, 11, 17, 23, 45, tzinfo=UTC)


@pytest.fixture
def channel(app: Flask) -> RecordingChannel:
    recording = RecordingChannel()
    runtime(app).channel = recording
    return recording


@pytest.fixture
def rt(app: Flask, channel: RecordingChannel) -> Runtime:
    return runtime(app)


def _intake(db: Session, rt: Runtime, world: World) -> OutreachTask:
    """Georgia: the liaison's first call, voice only, due within five days (seeds/001)."""
    [intake] = report_event(db, rt.profiles, world, "enrolled", now=NOW)
    assert intake.channels == ["voice"]
    return intake


def _reminders(db: Session) -> list[Delivery]:
    return list(db.scalars(select(Delivery).where(Delivery.script == "reminder")))


def test_a_consenting_contact_gets_one_heads_up_text_before_the_call_window(
    db: Session, rt: Runtime, world: World, channel: RecordingChannel
) -> None:
    intake = _intake(db, rt, world)  # world.contact consented to calls and texts
    assert jobs.schedule_reminders(db, rt, NOW) == 1
    assert jobs.schedule_reminders(db, rt, NOW + timedelta(hours=1)) == 0  # one, not two
    [reminder] = _reminders(db)
    assert (reminder.task_id, reminder.due_at) == (intake.id, WINDOW_START)
    assert due_texts.send_due(db, rt.outward(), WINDOW_START + timedelta(minutes=1)) == (1, 0, 0)
    [sms] = [item for item in channel.sent if isinstance(item, Sms)]
    for word in ("program", "group", "class", "partner"):  # neutral: never the reason
        assert word not in sms.body.lower()


def _someone(db: Session, vault: Vault, world: World, **prefs: object) -> ContactPerson:
    participant = make_participant(db, world.group, now=NOW)
    return make_contact(db, vault, participant, now=NOW, phone="404-555-0166", **prefs)


def test_never_to_a_contact_not_yet_asked(
    db: Session, rt: Runtime, world: World, vault: Vault
) -> None:
    contact = _someone(db, vault, world)  # not yet asked: only the liaison's first call (S1)
    _, opened = events.report_event(
        db, rt.profiles, actor=world.actor("facilitator"), participant_id=contact.participant_id,
        event_type="enrolled", at=NOW, severity="routine", now=NOW,
    )  # fmt: skip
    [call] = opened
    assert call.channels == ["voice"]
    assert call.id not in reminders.reminder_candidates(db, rt.profiles)


def test_never_after_stop(db: Session, rt: Runtime, world: World, vault: Vault) -> None:
    intake = _intake(db, rt, world)
    inbound.handle(db, vault, sender="+1 (404) 555-0123", body="STOP", sid="SMstop", now=NOW)
    db.commit()
    assert intake.id not in reminders.reminder_candidates(db, rt.profiles)
    assert jobs.schedule_reminders(db, rt, NOW) == 0


def test_never_for_a_duty_to_warn(db: Session, rt: Runtime, world: World) -> None:
    [warning] = report_event(db, rt.profiles, world, "duty_to_warn", now=NOW, severity="high")
    assert warning.id not in reminders.reminder_candidates(db, rt.profiles)


def test_never_once_she_turned_calls_off(db: Session, rt: Runtime, world: World) -> None:
    intake = _intake(db, rt, world)
    her_word.change_preferences(
        db, actor=world.actor("liaison"), contact_id=world.contact.id, changes={"voice": False},
        now=NOW,
    )  # fmt: skip
    assert intake.id not in reminders.reminder_candidates(db, rt.profiles)  # no call to announce


def test_a_program_that_turns_reminders_off_sends_none(
    db: Session, rt: Runtime, world: World
) -> None:
    intake = _intake(db, rt, world)
    quiet = {k: dataclasses.replace(p, reminders=False) for k, p in rt.profiles.items()}
    assert intake.id in reminders.reminder_candidates(db, rt.profiles)
    assert reminders.reminder_candidates(db, quiet) == []
