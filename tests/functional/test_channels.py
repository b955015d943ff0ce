"""The channel layer end to end: services, the simulator playing Twilio, the real webhooks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.channels.base import ChannelError
from outreach.channels.simulator import SimulatorChannel
from outreach.channels.simulator_scenarios import ScriptedScenario
from outreach.clock import FixedClock
from outreach.domain import scripts
from outreach.models import Attempt, Delivery, OutboxMessage, OutreachTask
from outreach.runtime import runtime
from outreach.security.vault import Vault, place
from outreach.services.attempts import attempt_log, closing
from outreach.services.contact_persons import her_word, preferences
from outreach.services.delivery import calls, inbox, mailing, sending, texts
from outreach.services.delivery.outward import Outward
from outreach.services.errors import Conflict
from outreach.services.records.audit import SYSTEM
from tests.conftest import NOW
from tests.factories import World, make_contact, report_event
from tests.fakes import FailingChannel


def _attempts(db: Session, task: OutreachTask) -> list[str]:
    db.expire_all()
    rows = db.scalars(
        select(Attempt).where(Attempt.task_id == task.id).order_by(Attempt.recorded_at)
    )
    return [a.outcome for a in rows]


def _deliveries(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Delivery)) or 0


def _play(simulator: SimulatorChannel, db: Session) -> None:
    """Twilio's side plays out, then the scheduler's applier applies its status callbacks."""
    simulator.run_pending()
    inbox.drain(db, NOW)


def test_a_whole_contact_machine_then_a_person_who_presses_one(
    db: Session,
    world: World,
    out: Outward,
    simulator: SimulatorChannel,
    scenario: ScriptedScenario,
    intake: OutreachTask,
    clock: FixedClock,
) -> None:
    scenario.calls += ["machine", "human"]
    scenario.digits += ["1"]
    first = calls.place_safe_check_call(
        db, out, task_id=intake.id, now=clock.now(), actor=world.actor("liaison")
    )
    _play(simulator, db)
    assert _attempts(db, intake) == ["machine_hung_up"]
    clock.advance(days=7)
    second = calls.place_safe_check_call(
        db, out, task_id=intake.id, now=clock.now(), actor=world.actor("liaison")
    )
    _play(simulator, db)
    assert _attempts(db, intake) == ["machine_hung_up", "reached_safe"]
    db.expire_all()
    assert {db.get(Delivery, first.id).status, db.get(Delivery, second.id).status} == {  # type: ignore[union-attr]
        "settled"
    }
    closed = closing.close_task(
        db, actor=world.actor("liaison"), task_id=intake.id, resolution="completed", now=clock.now()
    )
    assert closed.status == "completed"


def test_a_machine_on_a_bridged_call_is_hung_up_on_in_silence(
    db: Session,
    world: World,
    out: Outward,
    simulator: SimulatorChannel,
    scenario: ScriptedScenario,
    intake: OutreachTask,
    app: Flask,
) -> None:
    scenario.calls.append("machine")
    calls.request_bridged_call(db, out, actor=world.actor("liaison"), task_id=intake.id, now=NOW)
    _play(simulator, db)
    assert _attempts(db, intake) == ["machine_hung_up"]
    # S5 "who": the webhooks settle it, yet the liaison who pressed Call made the attempt.
    attempt = db.scalars(select(Attempt).where(Attempt.task_id == intake.id)).one()
    assert attempt.made_by == world.users["liaison"].id


def test_a_neutral_voicemail_is_left_only_where_the_contact_allowed_it(
    db: Session,
    world: World,
    out: Outward,
    simulator: SimulatorChannel,
    scenario: ScriptedScenario,
    intake: OutreachTask,
    app: Flask,
) -> None:
    her_word.change_preferences(
        db,
        actor=world.actor("liaison"),
        contact_id=world.contact.id,
        changes={"voicemail": True},
        now=NOW,
    )
    scenario.calls.append("machine")
    spoken: list[str] = []
    _capture_twiml(app, spoken)
    calls.request_bridged_call(db, out, actor=world.actor("liaison"), task_id=intake.id, now=NOW)
    _play(simulator, db)
    assert _attempts(db, intake) == ["voicemail_neutral"]
    # The liaison's own prompt to press 1 is said too, on their leg; this is the contact's.
    [message] = [t for t in spoken if "<Say" in t and "<Gather" not in t]
    assert "Avery" in message
    assert world.home.name not in message
    assert scripts.check_neutral_text(message.split(">")[2].split("<")[0], kind="voicemail") == []


def test_a_person_answering_a_bridged_call_is_connected_and_the_liaison_records_it(
    db: Session,
    world: World,
    out: Outward,
    simulator: SimulatorChannel,
    scenario: ScriptedScenario,
    intake: OutreachTask,
    app: Flask,
) -> None:
    scenario.calls.append("human")
    answers: list[str] = []
    _capture_twiml(app, answers)
    calls.request_bridged_call(db, out, actor=world.actor("liaison"), task_id=intake.id, now=NOW)
    _play(simulator, db)
    asked = next(t for t in answers if "<Gather" in t)
    bridge = next(t for t in answers if "<Dial" in t)
    # The liaison's leg is first asked for a 1, with no number in sight; the dial comes after.
    assert "4045550123" not in asked
    assert answers.index(asked) < answers.index(bridge)
    assert 'callerId="+15550100100"' in bridge  # S9
    assert 'record="do-not-record"' in bridge
    assert "+14045550123</Number>" in bridge
    assert _attempts(db, intake) == []  # no outcome is guessed for a conversation


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [("no-answer", "no_answer"), ("busy", "busy"), ("machine", "machine_hung_up")],
)
def test_a_bridged_call_the_liaison_confirmed_logs_the_contacts_side(
    db: Session,
    world: World,
    out: Outward,
    simulator: SimulatorChannel,
    scenario: ScriptedScenario,
    intake: OutreachTask,
    answer: str,
    outcome: str,
) -> None:
    scenario.calls.append(answer)
    scenario.liaison_keys.append("1")
    delivery = calls.request_bridged_call(
        db, out, actor=world.actor("liaison"), task_id=intake.id, now=NOW
    )
    _play(simulator, db)
    assert _attempts(db, intake) == [outcome]  # S5: every attempt is logged
    db.expire_all()
    assert db.get(Delivery, delivery.id).status == "settled"  # type: ignore[union-attr]


def test_the_liaisons_own_voicemail_is_never_connected_to_the_contact(
    db: Session,
    world: World,
    out: Outward,
    simulator: SimulatorChannel,
    scenario: ScriptedScenario,
    intake: OutreachTask,
    app: Flask,
) -> None:
    scenario.calls.append("human")
    scenario.liaison_keys.append("")  # their voicemail picked up: no key is pressed
    answers: list[str] = []
    _capture_twiml(app, answers)
    delivery = calls.request_bridged_call(
        db, out, actor=world.actor("liaison"), task_id=intake.id, now=NOW
    )
    _play(simulator, db)
    assert any("<Gather" in t for t in answers)
    assert not any("<Dial" in t or "4045550123" in t for t in answers)  # S3, S9
    db.expire_all()
    assert db.get(Delivery, delivery.id).status == "refused"  # type: ignore[union-attr]
    assert _attempts(db, intake) == []  # the contact was never dialled


def _decline(db: Session, world: World, intake: OutreachTask) -> None:
    her_word.change_preferences(
        db,
        actor=world.actor("supervisor"),
        contact_id=world.contact.id,
        changes={"consent": "declined"},
        now=NOW,
    )


def _task_cancelled(db: Session, world: World, intake: OutreachTask) -> None:
    # A decline heard on another call: every task of the contact is cancelled (S1).
    attempt_log.record_attempt(
        db,
        None,
        actor=world.actor("liaison"),
        task_id=intake.id,
        channel="voice",
        at=NOW,
        outcome="declined",
        now=NOW,
    )


@pytest.mark.parametrize("meanwhile", [_decline, _task_cancelled])
def test_a_decline_recorded_while_the_liaisons_phone_rings_stops_the_bridge(
    db: Session,
    world: World,
    out: Outward,
    simulator: SimulatorChannel,
    scenario: ScriptedScenario,
    intake: OutreachTask,
    app: Flask,
    meanwhile: Callable[[Session, World, OutreachTask], None],
) -> None:
    scenario.calls.append("human")
    answers: list[str] = []
    _capture_twiml(app, answers)
    delivery = calls.request_bridged_call(
        db, out, actor=world.actor("liaison"), task_id=intake.id, now=NOW
    )
    meanwhile(db, world, intake)  # after the click, before the liaison picks up
    _play(simulator, db)
    assert not any("<Dial" in t or "+14045550123" in t for t in answers)
    assert not any("<Gather" in t for t in answers)  # not even asked for a 1
    assert any("<Hangup" in t for t in answers)  # the liaison's leg is hung up
    db.expire_all()
    assert db.get(Delivery, delivery.id).status == "refused"  # type: ignore[union-attr]
    assert "no_answer" not in _attempts(db, intake)  # the contact was never dialled


def test_a_declined_contact_is_never_called_or_texted(
    db: Session,
    world: World,
    out: Outward,
    simulator: SimulatorChannel,
    intake: OutreachTask,
) -> None:
    her_word.change_preferences(
        db,
        actor=world.actor("liaison"),
        contact_id=world.contact.id,
        changes={"consent": "declined"},
        now=NOW,
    )
    for send in _every_action(db, out, world, intake):
        with pytest.raises(Conflict, match="declined"):
            send()
    assert simulator.run_pending() == 0
    assert _deliveries(db) == 0


def test_a_contact_not_yet_asked_gets_only_the_liaisons_own_call(
    db: Session,
    world: World,
    out: Outward,
    simulator: SimulatorChannel,
    intake: OutreachTask,
) -> None:
    her_word.change_preferences(
        db,
        actor=world.actor("liaison"),
        contact_id=world.contact.id,
        changes={"consent": "not_asked"},
        now=NOW,
    )
    bridged, safe_check, sms = _every_action(db, out, world, intake)[:3]
    for refused in (safe_check, sms):
        with pytest.raises(Conflict, match="not asked"):
            refused()
    assert bridged().kind == "bridged_call"


def test_nothing_goes_out_outside_calling_hours(
    db: Session,
    world: World,
    out: Outward,
    simulator: SimulatorChannel,
    intake: OutreachTask,
) -> None:
    late = datetime(2026, 11, 18, 3, 30, tzinfo=UTC)  # 22:30 in New York
    with pytest.raises(Conflict, match="calling hours"):
        texts.send_sms(db, out, task_id=intake.id, script="reminder", now=late, actor=SYSTEM)
    assert _deliveries(db) == 0


def test_a_text_that_would_fail_the_lint_is_refused_and_nothing_is_sent(
    db: Session,
    world: World,
    vault: Vault,
    out: Outward,
    simulator: SimulatorChannel,
    app: Flask,
) -> None:
    # "Refugio" is a Spanish first name and the Spanish word for shelter.
    contact = make_contact(
        db,
        vault,
        world.participant,
        now=NOW,
        name="Refugio Sample",
        phone="404-555-0160",
        consent="consented",
        sms=True,
    )
    opened = report_event(db, runtime(app).profiles, world, "class_cancelled", now=NOW)
    [task] = [t for t in opened if t.contact_id == contact.id]
    with pytest.raises(Conflict, match="safety check"):
        texts.send_sms(db, out, task_id=task.id, script="reminder", now=NOW, actor=SYSTEM)
    assert simulator.run_pending() == 0


def test_an_sms_is_kept_sealed_in_the_outbox_and_settles_on_delivery(
    db: Session,
    world: World,
    vault: Vault,
    out: Outward,
    simulator: SimulatorChannel,
    app: Flask,
) -> None:
    [task] = report_event(db, runtime(app).profiles, world, "class_cancelled", now=NOW)
    delivery = texts.send_sms(db, out, task_id=task.id, script="reminder", now=NOW, actor=SYSTEM)
    _play(simulator, db)
    db.expire_all()
    assert db.get(Delivery, delivery.id).provider_status == "delivered"  # type: ignore[union-attr]
    outbox = db.scalar(select(OutboxMessage).where(OutboxMessage.delivery_id == delivery.id))
    assert outbox is not None
    assert b"Avery" not in outbox.text_sealed
    text = vault.cipher_for(db, world.contact.id).open(
        place("outbox_message", "text", delivery.id), outbox.text_sealed
    )
    assert text.startswith("Hi Avery")
    assert scripts.check_neutral_text(text) == []


def test_a_carrier_opt_out_revokes_sms_consent_and_is_never_retried(
    db: Session,
    world: World,
    app: Flask,
    intake: OutreachTask,
) -> None:
    failing = FailingChannel(
        ChannelError("opted out", permanent=True, code="21610", opted_out=True)
    )
    rt = runtime(app)
    out = Outward(failing, rt.vault, rt.library, rt.settings)
    [task] = report_event(db, rt.profiles, world, "class_cancelled", now=NOW)
    with pytest.raises(Conflict):
        texts.send_sms(db, out, task_id=task.id, script="reminder", now=NOW, actor=SYSTEM)
    assert preferences.current_preferences(db, world.contact.id).sms is False
    with pytest.raises(Conflict, match="not allowed"):
        texts.send_sms(db, out, task_id=task.id, script="reminder", now=NOW, actor=SYSTEM)
    assert failing.attempts == ["sms"]
    failed = db.scalar(select(Delivery).where(Delivery.status == "failed"))
    assert failed is not None
    assert failed.permanent_failure


def test_a_delivery_is_claimed_once_however_often_it_is_tried(
    db: Session,
    world: World,
    out: Outward,
    intake: OutreachTask,
) -> None:
    delivery = Delivery(
        task_id=intake.id,
        contact_id=intake.contact_id,
        kind="sms",
        script="reminder",
        language="en",
        code="claim-test",
        due_at=NOW,
        created_at=NOW,
    )
    db.add(delivery)
    db.commit()
    assert [sending.claim(db, delivery.id, NOW) for _ in range(3)] == [True, False, False]


def _every_action(
    db: Session, out: Outward, world: World, task: OutreachTask
) -> list[Callable[[], Delivery]]:
    actor = world.actor("liaison")
    return [
        lambda: calls.request_bridged_call(db, out, actor=actor, task_id=task.id, now=NOW),
        lambda: calls.place_safe_check_call(db, out, task_id=task.id, now=NOW, actor=actor),
        lambda: texts.send_sms(db, out, task_id=task.id, script="reminder", now=NOW, actor=SYSTEM),
        lambda: mailing.produce_letter(db, out, task_id=task.id, now=NOW, actor=actor),
    ]


def _capture_twiml(app: Flask, into: list[str]) -> None:
    @app.after_request
    def keep(response):  # type: ignore[no-untyped-def]
        if response.mimetype == "text/xml":
            into.append(response.get_data(as_text=True))
        return response


def test_the_outbox_lists_what_was_sent_oldest_first(
    db: Session,
    world: World,
    vault: Vault,
    out: Outward,
    simulator: SimulatorChannel,
    intake: OutreachTask,
    clock: FixedClock,
) -> None:
    from outreach.services.delivery.outbox import read_outbox

    calls.place_safe_check_call(
        db, out, task_id=intake.id, now=clock.now(), actor=world.actor("liaison")
    )
    clock.advance(minutes=5)
    calls.request_bridged_call(
        db, out, actor=world.actor("liaison"), task_id=intake.id, now=clock.now()
    )
    entries = read_outbox(db, vault, now=clock.now())
    assert [(e["channel"], e["kind"]) for e in entries] == [
        ("voice", "safe_check_call"),
        ("voice", "bridged_call"),
    ]
    assert entries[0]["text"].startswith("Hello, this is a call for Avery")
    assert entries[0]["task_id"] == str(intake.id)
    assert set(entries[0]) == {"at", "channel", "kind", "contact_id", "task_id", "script", "text"}
