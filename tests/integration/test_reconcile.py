"""Deliveries whose callbacks were lost are settled from the provider's records (issue 24
item 6): the liaison's log never keeps an open call forever, and what the records cannot tell
never becomes a reached contact (S6)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.channels.base import ProviderRecord
from outreach.models import Attempt, Delivery, OutreachTask
from outreach.runtime import runtime
from outreach.services.delivery import inbox, reconcile
from tests.conftest import NOW
from tests.factories import World, make_safe_check_delivery, report_event
from tests.fakes import RecordingChannel

LATER = NOW + timedelta(minutes=20)


def _outcomes(db: Session, task: OutreachTask) -> list[str]:
    db.expire_all()
    return list(db.scalars(select(Attempt.outcome).where(Attempt.task_id == task.id)))


def _status(db: Session, delivery: Delivery) -> str:
    db.expire_all()
    found = db.get(Delivery, delivery.id)
    assert found is not None
    return found.status


@pytest.fixture
def task(db: Session, world: World, app: Flask) -> OutreachTask:
    [opened] = report_event(db, runtime(app).profiles, world, "enrolled", now=NOW)
    return opened


@pytest.mark.parametrize(
    ("record", "outcome"),
    [
        (ProviderRecord("no-answer"), "no_answer"),
        (ProviderRecord("busy"), "busy"),
        (ProviderRecord("completed", "machine_end_beep"), "machine_hung_up"),
        (ProviderRecord("completed", "fax"), "machine_hung_up"),
        # A person answered, but her key never reached us: logged, never "reached" (S6).
        (ProviderRecord("completed", "human"), "no_answer"),
    ],
)
def test_a_safe_check_whose_callbacks_were_lost_is_settled_from_twilios_record(
    db: Session, task: OutreachTask, record: ProviderRecord, outcome: str
) -> None:
    delivery = make_safe_check_delivery(db, task, now=NOW)
    channel = RecordingChannel(records={delivery.provider_sid or "": record})
    assert reconcile.reconcile_quiet(db, channel, NOW + timedelta(minutes=10)) == 0
    assert channel.fetched == []  # not yet quiet long enough to ask
    assert reconcile.reconcile_quiet(db, channel, LATER) == 1
    assert _outcomes(db, task) == [outcome]
    assert _status(db, delivery) == "settled"


def test_a_call_still_going_on_at_twilio_is_asked_again_later(
    db: Session, task: OutreachTask
) -> None:
    delivery = make_safe_check_delivery(db, task, now=NOW)
    channel = RecordingChannel(records={delivery.provider_sid or "": ProviderRecord("in-progress")})
    reconcile.reconcile_quiet(db, channel, LATER)
    assert _status(db, delivery) == "sent"
    assert _outcomes(db, task) == []


def test_a_call_twilio_has_no_record_of_is_left_for_a_person(
    db: Session, task: OutreachTask
) -> None:
    delivery = make_safe_check_delivery(db, task, now=NOW)
    reconcile.reconcile_quiet(db, RecordingChannel(), LATER)
    assert _status(db, delivery) == "unknown"
    assert _outcomes(db, task) == []


def _bridged(db: Session, task: OutreachTask) -> Delivery:
    delivery = make_safe_check_delivery(db, task, now=NOW)
    delivery.kind = "bridged_call"
    db.commit()
    return delivery


def test_a_bridge_whose_liaison_never_pressed_1_ends_refused_with_nothing_about_her(
    db: Session, task: OutreachTask
) -> None:
    delivery = _bridged(db, task)
    sid = delivery.provider_sid or ""
    channel = RecordingChannel(records={sid: ProviderRecord("completed")})
    reconcile.reconcile_quiet(db, channel, LATER)
    assert channel.fetched == [sid, f"leg:{sid}"]
    assert _status(db, delivery) == "refused"
    assert _outcomes(db, task) == []


def test_a_bridge_whose_leg_to_her_rang_out_is_logged_no_answer(
    db: Session, task: OutreachTask
) -> None:
    delivery = _bridged(db, task)
    sid = delivery.provider_sid or ""
    records = {sid: ProviderRecord("completed"), f"leg:{sid}": ProviderRecord("no-answer")}
    reconcile.reconcile_quiet(db, RecordingChannel(records=records), LATER)
    assert _outcomes(db, task) == ["no_answer"]


def test_a_bridge_she_answered_without_her_screen_answer_reaching_us_goes_to_a_person(
    db: Session, task: OutreachTask
) -> None:
    delivery = _bridged(db, task)
    sid = delivery.provider_sid or ""
    records = {sid: ProviderRecord("completed"), f"leg:{sid}": ProviderRecord("completed")}
    reconcile.reconcile_quiet(db, RecordingChannel(records=records), LATER)
    assert _status(db, delivery) == "unknown"
    assert _outcomes(db, task) == []  # the liaison, who was on the call, says how it went


def test_a_text_stuck_at_sent_is_settled_once_its_validity_is_over(
    db: Session, task: OutreachTask
) -> None:
    delivery = make_safe_check_delivery(db, task, now=NOW)
    delivery.kind, delivery.provider_sid = "sms", "SM" + "a" * 32
    db.commit()
    channel = RecordingChannel(records={"SM" + "a" * 32: ProviderRecord("sent")})
    reconcile.reconcile_quiet(db, channel, NOW + timedelta(minutes=30))
    assert channel.fetched == []  # the carrier may still be trying
    reconcile.reconcile_quiet(db, channel, NOW + timedelta(minutes=80))
    assert _status(db, delivery) == "settled"


def test_no_transaction_is_open_while_twilio_is_asked(db: Session, task: OutreachTask) -> None:
    """No lock is held across a network call (issue 21 finding 14)."""
    delivery = make_safe_check_delivery(db, task, now=NOW)
    seen: list[bool] = []

    class Watching(RecordingChannel):
        def fetch_record(self, sid: str, *, leg_dialled: bool = False) -> ProviderRecord | None:
            seen.append(db.in_transaction())
            return ProviderRecord("no-answer")

    reconcile.reconcile_quiet(db, Watching(), LATER)
    assert seen == [False]
    assert _status(db, delivery) == "settled"


def test_a_status_callback_carrying_the_verdict_settles_a_call_whose_twiml_request_was_lost(
    db: Session, task: OutreachTask
) -> None:
    """Twilio's status callbacks of a call with machine detection carry AnsweredBy too."""
    delivery = make_safe_check_delivery(db, task, now=NOW)
    inbox.store(
        db.connection(),
        code=delivery.code,
        route="status",
        key=f"status:contact:{delivery.provider_sid}:completed",
        fields={"CallStatus": "completed", "AnsweredBy": "machine_start", "leg": "contact"},
        now=NOW,
    )
    inbox.drain(db, NOW)
    assert _outcomes(db, task) == ["machine_hung_up"]
