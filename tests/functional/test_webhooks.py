"""Twilio webhooks: signed, idempotent, order-proof, and S2's keywords."""

from __future__ import annotations

import itertools
import re
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator

from outreach.channels.base import Callbacks
from outreach.domain.script_library import default_root, load_library
from outreach.models import (
    Attempt,
    AuditEvent,
    Delivery,
    InboundMessage,
    OutreachTask,
    WebhookEvent,
)
from outreach.runtime import runtime
from outreach.security.vault import Vault, place
from outreach.services.contact_persons import her_word, preferences
from outreach.services.delivery import calls, inbox, outward, texts
from outreach.services.errors import Conflict
from outreach.services.records.audit import SYSTEM
from tests.conftest import NOW
from tests.factories import World, make_contact, make_participant, make_safe_check_delivery
from tests.fakes import RecordingChannel

CONTACT = "+14045550123"


def signed_post(
    app: Flask,
    client: FlaskClient,
    path: str,
    fields: dict[str, str],
    *,
    url_base: str | None = None,
) -> Any:
    settings_ = runtime(app).settings
    url = (url_base or settings_.public_url) + path
    signature = RequestValidator(settings_.webhook_token).compute_signature(url, fields)
    return client.post(path, data=fields, headers={"X-Twilio-Signature": signature})


def _events(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(WebhookEvent)) or 0


# --- signatures ----------------------------------------------------------------------


def test_the_sdk_validator_matches_twilios_published_example() -> None:
    fields = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675310",
        "Digits": "1234",
        "From": "+14158675310",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    validator = RequestValidator("12345")
    assert validator.compute_signature(url, fields) == "GvWf1cFY/Q7PnoempGyD5oXAezc="
    assert validator.validate(url, fields, "GvWf1cFY/Q7PnoempGyD5oXAezc=")


@pytest.mark.parametrize(
    "route",
    [
        "/webhooks/twilio/sms/inbound",
        "/webhooks/twilio/sms/status",
        "/webhooks/twilio/voice/status",
        "/webhooks/twilio/voice/amd",
    ],
)
def test_an_unsigned_request_is_refused_and_changes_nothing(
    client: FlaskClient, db: Session, route: str
) -> None:
    response = client.post(route, data={"From": CONTACT, "Body": "STOP", "MessageSid": "SM1"})
    assert response.status_code == 403
    assert _events(db) == 0


def test_a_tampered_parameter_is_refused(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    fields = {"From": CONTACT, "Body": "HELP", "MessageSid": "SM1"}
    settings_ = runtime(app).settings
    url = settings_.public_url + "/webhooks/twilio/sms/inbound"
    signature = RequestValidator(settings_.webhook_token).compute_signature(url, fields)
    response = client.post(
        "/webhooks/twilio/sms/inbound",
        data={**fields, "Body": "STOP"},
        headers={"X-Twilio-Signature": signature},
    )
    assert response.status_code == 403
    assert preferences.current_preferences(db, world.contact.id).sms is True


@pytest.mark.parametrize("base", ["https://evil.example.org", "https://127.0.0.1:5000"])
def test_a_signature_for_another_host_or_scheme_is_refused(
    app: Flask, client: FlaskClient, db: Session, base: str
) -> None:
    response = signed_post(
        app,
        client,
        "/webhooks/twilio/sms/inbound",
        {"From": CONTACT, "Body": "STOP", "MessageSid": "SM1"},
        url_base=base,
    )
    assert response.status_code == 403
    assert _events(db) == 0


# --- inbound SMS (S2) ----------------------------------------------------------------


def _inbound(app: Flask, client: FlaskClient, body: str, sid: str, sender: str = CONTACT) -> str:
    response = signed_post(
        app,
        client,
        "/webhooks/twilio/sms/inbound",
        {"From": sender, "Body": body, "MessageSid": sid},
    )
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    # As she would see it: a reply's `action` carries a fresh opaque code that only Twilio
    # reads (it brings back our reply's SID for retention, issue 24 item 5).
    return re.sub(r' action="[^"]*"', "", str(response.get_data(as_text=True)))


@pytest.mark.parametrize(
    "word",
    [
        "STOP",
        "stop",
        " Stop. ",
        "UNSUBSCRIBE",
        "PARAR",
        "Alto",
        "Stop,",
        "STOP?",
        '"Stop"',
        "Stop\t.",
        "¿Parar?",
        "Para",
        "Opt out",
        "OPT-OUT",
        "Stop all",
    ],
)
def test_a_stop_word_ends_sms_at_once_with_a_neutral_confirmation(
    app: Flask, client: FlaskClient, db: Session, world: World, word: str
) -> None:
    first = _inbound(app, client, word, "SM1")
    second = _inbound(app, client, word, "SM2")
    assert "<Message" in first
    # The same confirmation again: silence would tell a number on file from an unknown one.
    assert second == first
    assert preferences.current_preferences(db, world.contact.id).sms is False
    assert preferences.current_preferences(db, world.contact.id).voice is True


def test_after_stop_no_reminder_reaches_the_contact_through_the_channel_layer(
    app: Flask,
    client: FlaskClient,
    db: Session,
    world: World,
    out: outward.Outward,
    simulator: Any,
    intake: OutreachTask,
) -> None:
    _inbound(app, client, "STOP", "SM1")
    for _ in range(3):
        with pytest.raises(Conflict):
            texts.send_sms(db, out, task_id=intake.id, script="reminder", now=NOW, actor=SYSTEM)
    assert simulator.run_pending() == 0
    assert db.scalar(select(func.count()).select_from(Delivery)) == 0


def test_start_re_enables_sms_only(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    _inbound(app, client, "STOP", "SM1")
    # No confirmation: it could only be true for a number on file (issue 21 finding 12).
    assert "<Message" not in _inbound(app, client, "START", "SM2")
    prefs = preferences.current_preferences(db, world.contact.id)
    assert (prefs.sms, prefs.voicemail, prefs.consent) == (True, False, "consented")


def _liaison_sets_texts(db: Session, world: World, allowed: bool) -> None:
    her_word.change_preferences(
        db,
        actor=world.actor("liaison"),
        contact_id=world.contact.id,
        changes={"sms": allowed},
        now=NOW,
    )


def _no_texts_on_her_word(db: Session, world: World) -> None:
    """She told the liaison "no texts": anyone holding her phone can still send START."""
    _liaison_sets_texts(db, world, False)


def test_start_never_turns_on_texts_the_contact_did_not_allow(
    app: Flask,
    client: FlaskClient,
    db: Session,
    world: World,
    out: outward.Outward,
    intake: OutreachTask,
) -> None:
    _no_texts_on_her_word(db, world)
    answer = _inbound(app, client, "START", "SM1")
    assert "<Message" not in answer
    assert preferences.current_preferences(db, world.contact.id).sms is False
    with pytest.raises(Conflict):
        texts.send_sms(db, out, task_id=intake.id, script="reminder", now=NOW, actor=SYSTEM)


def test_start_after_stop_then_no_texts_on_her_word_stays_off(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    _inbound(app, client, "STOP", "SM1")
    _inbound(app, client, "START", "SM2")
    _no_texts_on_her_word(db, world)
    _inbound(app, client, "START", "SM3")
    assert preferences.current_preferences(db, world.contact.id).sms is False


def test_a_message_that_says_stop_ends_sms_and_still_reaches_the_liaison(
    app: Flask, client: FlaskClient, db: Session, world: World, vault: Vault
) -> None:
    answer = _inbound(app, client, "Please stop texting me, call Thursday after 6", "SM1")
    assert "<Message" in answer  # the one neutral confirmation
    assert preferences.current_preferences(db, world.contact.id).sms is False
    stored = db.scalar(select(InboundMessage))
    assert stored is not None
    body = vault.cipher_for(db, world.contact.id).open(
        place("inbound_message", "body", stored.id), stored.body_sealed
    )
    assert "Thursday" in body


def test_an_everyday_word_inside_a_message_is_not_a_stop(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    _inbound(app, client, "The end of the week is better, para mi", "SM1")
    assert preferences.current_preferences(db, world.contact.id).sms is True
    assert db.scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_help_gets_the_neutral_help_text(app: Flask, client: FlaskClient, world: World) -> None:
    answer = _inbound(app, client, "HELP", "SM1")
    assert "STOP" in answer
    assert world.home.name not in answer


def test_a_message_from_an_unknown_number_reveals_nothing_and_is_audited(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    answer = _inbound(app, client, "who is this?", "SM1", sender="+14045550199")
    assert "<Message" not in answer
    audited = db.scalars(select(AuditEvent.action)).all()
    assert "webhook.inbound_from_unknown_number" in audited


def test_free_text_is_kept_sealed_for_the_liaison_with_no_automatic_answer(
    app: Flask, client: FlaskClient, db: Session, world: World, vault: Vault
) -> None:
    answer = _inbound(app, client, "Please call after 6 on Thursday", "SM1")
    assert "<Message" not in answer
    stored = db.scalar(select(InboundMessage))
    assert stored is not None
    assert b"Thursday" not in stored.body_sealed
    opened = vault.cipher_for(db, world.contact.id).open(
        place("inbound_message", "body", stored.id), stored.body_sealed
    )
    assert opened == "Please call after 6 on Thursday"
    assert [e.fields for e in db.scalars(select(WebhookEvent))] == [{"MessageSid": "SM1"}]


def test_free_text_from_a_number_two_contacts_share_is_kept_for_each_of_them(
    app: Flask, client: FlaskClient, db: Session, world: World, vault: Vault
) -> None:
    # She is the partner of one participant and the ex-partner of another: two records.
    other = make_contact(db, vault, make_participant(db, world.group, now=NOW), now=NOW)
    sid = "SM" + uuid.uuid4().hex  # a real SID's length: 34 characters

    answer = _inbound(app, client, "Please call after 6", sid)

    assert "<Message" not in answer
    kept = {m.contact_id: m for m in db.scalars(select(InboundMessage))}
    assert set(kept) == {world.contact.id, other.id}
    for contact_id, message in kept.items():
        opened = vault.cipher_for(db, contact_id).open(
            place("inbound_message", "body", message.id), message.body_sealed
        )
        assert opened == "Please call after 6"


def test_a_retried_inbound_message_is_applied_once(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    _inbound(app, client, "Call me later", "SM1")
    _inbound(app, client, "Call me later", "SM1")
    assert db.scalar(select(func.count()).select_from(InboundMessage)) == 1


# --- replies to a safe-check text (S6) ----------------------------------------------------


def _safe_check_text(db: Session, out: outward.Outward, world: World, task: OutreachTask) -> None:
    texts.send_sms(
        db, out, task_id=task.id, script="safe_check", now=NOW, actor=world.actor("liaison")
    )


def _attempts_of(db: Session, task: OutreachTask) -> list[Attempt]:
    db.expire_all()
    return list(db.scalars(select(Attempt).where(Attempt.task_id == task.id)))


@pytest.mark.parametrize("reply", ["2", "no", "No."])
def test_not_now_to_a_safe_check_text_is_logged_not_safe_and_made_by_its_sender(
    app: Flask,
    client: FlaskClient,
    db: Session,
    world: World,
    out: outward.Outward,
    intake: OutreachTask,
    reply: str,
) -> None:
    _safe_check_text(db, out, world, intake)
    answer = _inbound(app, client, reply, "SMnotnow")
    assert "<Message" not in answer  # no automatic content
    [attempt] = _attempts_of(db, intake)
    assert (attempt.outcome, attempt.channel) == ("reached_not_safe", "sms")
    assert attempt.made_by == world.users["liaison"].id  # S5 "who"
    _inbound(app, client, reply, "SMnotnow-again")
    assert len(_attempts_of(db, intake)) == 1  # one answer per safe-check text


def test_yes_to_a_safe_check_text_logs_no_attempt_and_marks_her_callable(
    app: Flask,
    client: FlaskClient,
    db: Session,
    world: World,
    out: outward.Outward,
    intake: OutreachTask,
) -> None:
    _safe_check_text(db, out, world, intake)
    _inbound(app, client, "Si", "SMyes")
    assert _attempts_of(db, intake) == []  # the call that follows is the attempt
    delivery = db.scalars(select(Delivery).where(Delivery.task_id == intake.id)).one()
    assert delivery.digits == "1"


# --- calls: duplicates and any order end the same --------------------------------------


def _safe_check_delivery(db: Session, app: Flask, world: World, task: OutreachTask) -> Delivery:
    delivery = make_safe_check_delivery(db, task, now=NOW)
    return delivery


def _callbacks(
    delivery: Delivery, answered_by: str, digits: str
) -> list[tuple[str, dict[str, str]]]:
    links = Callbacks("", delivery.code)
    sid = f"CA{uuid.uuid4().hex}"
    status = links.url("voice/status", leg="contact")
    return [
        (status, {"CallSid": sid, "CallStatus": "ringing"}),
        (status, {"CallSid": sid, "CallStatus": "in-progress"}),
        (links.url("voice/amd"), {"CallSid": sid, "AnsweredBy": answered_by}),
        (links.url("voice/safe-check/answer"), {"CallSid": sid, "Digits": digits}),
        (status, {"CallSid": sid, "CallStatus": "completed"}),
    ]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    data=st.data(),
    answered_by=st.sampled_from(["human", "machine_start"]),
    digits=st.sampled_from(["1", "2", ""]),
)
def test_any_order_of_a_calls_callbacks_with_duplicates_ends_the_same(
    app: Flask,
    client: FlaskClient,
    db: Session,
    world: World,
    intake: OutreachTask,
    data: st.DataObject,
    answered_by: str,
    digits: str,
) -> None:
    delivery = _safe_check_delivery(db, app, world, intake)
    posts = _callbacks(delivery, answered_by, digits)
    order = data.draw(st.permutations(posts))
    repeats = data.draw(st.lists(st.sampled_from(posts), max_size=4))
    sent = list(itertools.chain(order, repeats))
    # The applier runs whenever it likes: between any two callbacks, or only at the end.
    applier_runs = data.draw(st.sets(st.integers(0, len(sent) - 1)))
    for n, (path, fields) in enumerate(sent):
        assert signed_post(app, client, path, fields).status_code == 200
        if n in applier_runs:
            inbox.drain(db, NOW)
    inbox.drain(db, NOW)
    assert inbox.unapplied_count(db) == 0
    db.expire_all()
    settled = db.get(Delivery, delivery.id)
    assert settled is not None
    assert settled.status == "settled"
    assert settled.provider_status == "completed"
    outcome = db.scalar(select(Attempt.outcome).where(Attempt.id == settled.attempt_id))
    expected = (
        "machine_hung_up"
        if answered_by != "human"
        else {"1": "reached_safe", "2": "reached_not_safe"}.get(digits, "no_answer")
    )
    assert outcome == expected


@pytest.mark.parametrize("answered_by", ["machine_start", "fax", "unknown", None])
def test_a_safe_check_call_not_answered_by_a_person_hears_not_a_word(
    app: Flask,
    client: FlaskClient,
    db: Session,
    world: World,
    intake: OutreachTask,
    answered_by: str | None,
) -> None:
    delivery = _safe_check_delivery(db, app, world, intake)
    links, sid = Callbacks("", delivery.code), f"CA{uuid.uuid4().hex}"
    fields = {"CallSid": sid, "CallStatus": "in-progress"}
    if answered_by is not None:
        fields["AnsweredBy"] = answered_by  # synchronous detection sends its verdict here
    answer = signed_post(app, client, links.url("voice/safe-check"), fields).get_data(as_text=True)
    assert "<Hangup" in answer
    assert not any(tag in answer for tag in ("<Say", "<Gather", "<Pause", "<Play"))  # S3
    status = links.url("voice/status", leg="contact")
    signed_post(app, client, status, {"CallSid": sid, "CallStatus": "completed"})
    inbox.drain(db, NOW)
    db.expire_all()
    settled = db.get(Delivery, delivery.id)
    assert settled is not None
    outcome = db.scalar(select(Attempt.outcome).where(Attempt.id == settled.attempt_id))
    assert outcome == "machine_hung_up"


def test_a_person_answering_a_safe_check_call_is_asked_at_once(
    app: Flask, client: FlaskClient, db: Session, world: World, intake: OutreachTask
) -> None:
    delivery = _safe_check_delivery(db, app, world, intake)
    links = Callbacks("", delivery.code)
    fields = {"CallSid": "CA1", "CallStatus": "in-progress", "AnsweredBy": "human"}
    answer = signed_post(app, client, links.url("voice/safe-check"), fields).get_data(as_text=True)
    assert "<Gather" in answer
    assert "<Say" in answer
    assert "<Pause" not in answer  # detection has already decided: no silence to wait out


def test_a_late_ringing_never_overwrites_completed(
    app: Flask, client: FlaskClient, db: Session, world: World, intake: OutreachTask
) -> None:
    delivery = _safe_check_delivery(db, app, world, intake)
    status = Callbacks("", delivery.code).url("voice/status", leg="contact")
    for state in ("completed", "ringing", "in-progress"):
        signed_post(app, client, status, {"CallSid": "CA1", "CallStatus": state})
        inbox.drain(db, NOW)
    db.expire_all()
    assert db.get(Delivery, delivery.id).provider_status == "completed"  # type: ignore[union-attr]


def test_an_unknown_code_answers_200_and_does_nothing(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    response = signed_post(
        app,
        client,
        "/webhooks/twilio/voice/status?c=nothing-here",
        {"CallSid": "CA1", "CallStatus": "completed"},
    )
    assert response.status_code == 200
    assert _events(db) == 0
    assert inbox.drain(db, NOW) == 0
    assert db.scalar(select(func.count()).select_from(Attempt)) == 0


# --- status callbacks: stored at once, applied by the inbox applier ---------------------


def _machine_call(delivery: Delivery) -> list[tuple[str, dict[str, str]]]:
    links = Callbacks("", delivery.code)
    sid = delivery.provider_sid or ""
    status = links.url("voice/status", leg="contact")
    return [
        (status, {"CallSid": sid, "CallStatus": "ringing"}),
        (links.url("voice/amd"), {"CallSid": sid, "AnsweredBy": "machine_start"}),
        (status, {"CallSid": sid, "CallStatus": "completed"}),
    ]


def test_a_status_callback_answers_200_at_once_and_the_attempt_appears_after_the_applier(
    app: Flask,
    client: FlaskClient,
    db: Session,
    world: World,
    intake: OutreachTask,
    simulator: Any,
) -> None:
    delivery = _safe_check_delivery(db, app, world, intake)
    for path, fields in _machine_call(delivery):
        response = signed_post(app, client, path, fields)
        assert response.status_code == 200
        assert response.get_data(as_text=True).endswith("<Response />")
    assert db.scalar(select(func.count()).select_from(Attempt)) == 0
    assert inbox.unapplied_count(db) == 3
    assert inbox.drain(db, NOW) == 3
    db.expire_all()
    settled = db.get(Delivery, delivery.id)
    assert settled is not None
    assert (settled.status, settled.provider_status, settled.answered_by) == (
        "settled",
        "completed",
        "machine_start",
    )
    assert db.scalars(select(Attempt.outcome)).all() == ["machine_hung_up"]
    assert inbox.drain(db, NOW) == 0  # a second run finds nothing to apply


@contextmanager
def _statements_seen(db: Session) -> Iterator[list[str]]:
    """Every statement the database driver runs on the test's connection, by its first and
    third words ("INSERT webhook_event"): seen below SQLAlchemy, where the inbox's own
    statement runs, and savepoints left out."""
    driver = db.connection().connection.driver_connection
    statements: list[str] = []

    def seen(statement: str) -> None:
        words = statement.split()
        if words[0] not in ("SAVEPOINT", "RELEASE", "ROLLBACK"):
            statements.append(f"{words[0]} {words[2]}")

    if isinstance(driver, sqlite3.Connection):
        driver.set_trace_callback(seen)
        try:
            yield statements
        finally:
            driver.set_trace_callback(None)
        return

    class Watched(psycopg.Cursor[Any]):
        def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
            seen(query if isinstance(query, str) else query.as_string(self))
            return super().execute(query, *args, **kwargs)

    plain, driver.cursor_factory = driver.cursor_factory, Watched
    try:
        yield statements
    finally:
        driver.cursor_factory = plain


def test_a_status_handler_only_inserts_into_the_inbox(
    app: Flask, client: FlaskClient, db: Session, world: World, intake: OutreachTask
) -> None:
    channel = RecordingChannel()
    runtime(app).channel = channel
    delivery = _safe_check_delivery(db, app, world, intake)
    with _statements_seen(db) as statements:
        for path, fields in _machine_call(delivery):
            assert signed_post(app, client, path, fields).status_code == 200
    # One statement per callback: no delivery read, no ORM flush, no audit row, no settling.
    assert statements == ["INSERT webhook_event"] * 3
    assert channel.sent == [("hang_up", delivery.provider_sid)]  # S3: at once, and once
    db.expire_all()
    untouched = db.get(Delivery, delivery.id)
    assert untouched is not None
    assert (untouched.status, untouched.provider_status, untouched.answered_by) == (
        "sent",
        None,
        None,
    )
    assert {e.delivery_id for e in db.scalars(select(WebhookEvent))} == {delivery.id}


@pytest.mark.parametrize(("answered_by", "connected"), [("machine_start", False), ("human", True)])
def test_the_keypad_decides_on_callbacks_the_applier_has_not_reached_yet(
    app: Flask,
    client: FlaskClient,
    db: Session,
    world: World,
    intake: OutreachTask,
    answered_by: str,
    connected: bool,
) -> None:
    delivery = _safe_check_delivery(db, app, world, intake)
    delivery.requested_by = world.users["liaison"].id  # "press 1" would ring this liaison
    db.commit()
    links = Callbacks("", delivery.code)
    sid = delivery.provider_sid or ""
    signed_post(app, client, links.url("voice/amd"), {"CallSid": sid, "AnsweredBy": answered_by})
    answer = signed_post(
        app, client, links.url("voice/safe-check/answer"), {"CallSid": sid, "Digits": "1"}
    )
    # A machine that "pressed 1" is never connected (S3), even before the applier ran.
    assert ("<Dial" in answer.get_data(as_text=True)) is connected
    assert inbox.unapplied_count(db) == 0  # the answer applied what was stored for its call


def test_a_carrier_opt_out_ends_sms_at_once_without_waiting_for_the_applier(
    app: Flask, client: FlaskClient, db: Session, world: World, intake: OutreachTask
) -> None:
    delivery = _safe_check_delivery(db, app, world, intake)
    delivery.kind, delivery.provider_sid = "sms", f"SM{uuid.uuid4().hex}"
    db.commit()
    signed_post(
        app,
        client,
        Callbacks("", delivery.code).url("sms/status"),
        {"MessageSid": delivery.provider_sid, "MessageStatus": "undelivered", "ErrorCode": "21610"},
    )
    assert preferences.current_preferences(db, world.contact.id).sms is False  # S2
    assert inbox.unapplied_count(db) == 0


def test_outreach_tick_applies_the_callbacks_the_simulator_just_played(
    app: Flask,
    runner: FlaskCliRunner,
    db: Session,
    world: World,
    out: outward.Outward,
    simulator: Any,
    scenario: Any,
    intake: OutreachTask,
) -> None:
    scenario.calls.append("machine")
    calls.place_safe_check_call(db, out, task_id=intake.id, now=NOW, actor=world.actor("liaison"))
    with app.app_context():
        result = runner.invoke(args=["tick", "--now", NOW.isoformat()])
    assert result.exit_code == 0, result.output
    assert "simulated provider callbacks played: 1" in result.output
    # initiated, ringing, in-progress, the machine verdict and completed wait in the inbox
    assert "callbacks applied: 5" in result.output
    assert inbox.unapplied_count(db) == 0
    db.expire_all()
    assert db.scalars(select(Attempt.outcome)).all() == ["machine_hung_up"]


# --- the bridge: nobody is dialled until the liaison presses 1 (S3, S9) ---------------------


@pytest.fixture
def bridged(app: Flask, db: Session, world: World, intake: OutreachTask) -> Delivery:
    """The liaison clicked Call: their own phone rings first."""
    rt = runtime(app)
    rt.channel = RecordingChannel()
    return calls.request_bridged_call(
        db, rt.outward(), actor=world.actor("liaison"), task_id=intake.id, now=NOW
    )


def _liaison_leg(
    app: Flask, client: FlaskClient, delivery: Delivery, route: str, **fields: str
) -> str:
    """Post what Twilio posts for the liaison's own leg; answer the TwiML."""
    url = Callbacks("", delivery.code).url(route)
    response = signed_post(app, client, url, {"CallSid": delivery.provider_sid or "", **fields})
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    return str(response.get_data(as_text=True))


def _reveals_for_the_bridge(db: Session) -> int:
    revealed = db.scalars(select(AuditEvent).where(AuditEvent.action == "contact.revealed"))
    return sum(1 for event in revealed if event.detail.get("purpose") == "bridge")


def _ended_refused_with_no_attempt(
    app: Flask, client: FlaskClient, db: Session, delivery: Delivery
) -> None:
    """The liaison's leg then ends; nothing about the contact is logged as if she was called."""
    status = Callbacks("", delivery.code).url("voice/status", leg="liaison")
    signed_post(
        app, client, status, {"CallSid": delivery.provider_sid or "", "CallStatus": "completed"}
    )
    inbox.drain(db, NOW)
    db.expire_all()
    ended = db.get(Delivery, delivery.id)
    assert ended is not None
    assert (ended.status, ended.attempt_id, ended.answered_by) == ("refused", None, None)
    assert db.scalar(select(func.count()).select_from(Attempt)) == 0


def test_no_phone_rings_when_the_prompt_to_press_1_cannot_be_said(
    app: Flask, db: Session, world: World, intake: OutreachTask, tmp_path: Path
) -> None:
    root = tmp_path / "scripts_text"
    shutil.copytree(default_root(), root)
    for language in ("en", "es"):
        (root / language / "voice" / "bridge_confirm_prompt.txt").unlink()
    rt, channel = runtime(app), RecordingChannel()
    out = outward.Outward(channel, rt.vault, load_library(root), rt.settings)
    with pytest.raises(Conflict, match="safety check"):
        calls.request_bridged_call(
            db, out, actor=world.actor("liaison"), task_id=intake.id, now=NOW
        )
    assert channel.sent == []
    assert db.scalar(select(func.count()).select_from(Delivery)) == 0


def test_the_liaisons_answer_asks_for_a_1_and_dials_no_one(
    app: Flask, client: FlaskClient, db: Session, bridged: Delivery
) -> None:
    answer = _liaison_leg(app, client, bridged, "voice/bridge", CallStatus="in-progress")
    assert "<Gather" in answer
    assert 'input="dtmf"' in answer
    assert 'numDigits="1"' in answer
    assert 'actionOnEmptyResult="true"' in answer
    assert f"/webhooks/twilio/voice/bridge/confirm?c={bridged.code}" in answer
    assert "Press 1 to place the call." in answer
    assert answer.index("</Gather>") < answer.index("<Hangup")  # no key, no call
    # Their own voicemail may be listening: no number, no dial, nothing opened yet.
    assert "<Dial" not in answer
    assert "4045550123" not in answer
    assert _reveals_for_the_bridge(db) == 0


def test_the_liaisons_prompt_is_in_the_language_of_the_call(
    app: Flask, client: FlaskClient, db: Session, world: World, bridged: Delivery
) -> None:
    bridged.language = "es"  # the liaison is about to speak Spanish with her (S12)
    db.commit()
    answer = _liaison_leg(app, client, bridged, "voice/bridge", CallStatus="in-progress")
    assert "Marque 1 para hacer la llamada." in answer
    assert 'language="es-US"' in answer


def test_the_liaison_pressing_1_dials_the_contact_from_the_neutral_number(
    app: Flask, client: FlaskClient, db: Session, bridged: Delivery
) -> None:
    _liaison_leg(app, client, bridged, "voice/bridge", CallStatus="in-progress")
    answer = _liaison_leg(app, client, bridged, "voice/bridge/confirm", Digits="1")
    assert "<Dial" in answer
    assert f"{CONTACT}</Number>" in answer
    assert 'callerId="+15550100100"' in answer  # S9
    assert 'record="do-not-record"' in answer
    assert f"/webhooks/twilio/voice/screen?c={bridged.code}" in answer
    assert _reveals_for_the_bridge(db) == 1


@pytest.mark.parametrize("digits", [None, "", "2", "0", "*", "#"])
def test_anything_but_a_1_hangs_up_and_the_contact_is_never_dialled(
    app: Flask, client: FlaskClient, db: Session, bridged: Delivery, digits: str | None
) -> None:
    _liaison_leg(app, client, bridged, "voice/bridge", CallStatus="in-progress")
    keys = {} if digits is None else {"Digits": digits}  # None: the Gather timed out
    answer = _liaison_leg(app, client, bridged, "voice/bridge/confirm", **keys)
    assert "<Hangup" in answer
    assert "<Dial" not in answer
    assert "4045550123" not in answer
    assert _reveals_for_the_bridge(db) == 0
    _ended_refused_with_no_attempt(app, client, db, bridged)


def test_a_1_after_the_call_was_refused_dials_no_one(
    app: Flask, client: FlaskClient, db: Session, bridged: Delivery
) -> None:
    _liaison_leg(app, client, bridged, "voice/bridge/confirm", Digits="")
    answer = _liaison_leg(app, client, bridged, "voice/bridge/confirm", Digits="1")
    assert "<Dial" not in answer
    assert "4045550123" not in answer
    _ended_refused_with_no_attempt(app, client, db, bridged)


def test_a_repeated_1_dials_once_and_opens_the_number_once(
    app: Flask, client: FlaskClient, db: Session, bridged: Delivery
) -> None:
    first = _liaison_leg(app, client, bridged, "voice/bridge/confirm", Digits="1")
    again = _liaison_leg(app, client, bridged, "voice/bridge/confirm", Digits="1")
    assert "<Dial" in first
    assert "<Dial" not in again
    assert "4045550123" not in again  # a replayed request learns nothing
    assert _reveals_for_the_bridge(db) == 1
    keys = db.scalars(
        select(WebhookEvent.natural_key).where(WebhookEvent.route == "bridge-confirm")
    ).all()
    assert keys == [f"bridge-confirm:{bridged.provider_sid}:1"]
    db.expire_all()
    assert db.get(Delivery, bridged.id).status == "sent"  # type: ignore[union-attr]


def test_a_repeated_refusal_has_no_second_effect(
    app: Flask, client: FlaskClient, db: Session, bridged: Delivery
) -> None:
    _liaison_leg(app, client, bridged, "voice/bridge/confirm", Digits="")
    db.expire_all()
    refused_at = db.get(Delivery, bridged.id).settled_at  # type: ignore[union-attr]
    events = _events(db)
    answer = _liaison_leg(app, client, bridged, "voice/bridge/confirm", Digits="")
    assert "<Dial" not in answer
    assert _events(db) == events
    db.expire_all()
    assert db.get(Delivery, bridged.id).settled_at == refused_at  # type: ignore[union-attr]
    _ended_refused_with_no_attempt(app, client, db, bridged)


def test_a_call_put_through_is_still_logged_whatever_comes_after_the_1(
    app: Flask, client: FlaskClient, db: Session, bridged: Delivery
) -> None:
    dialled = _liaison_leg(app, client, bridged, "voice/bridge/confirm", Digits="1")
    assert "<Dial" in dialled
    _liaison_leg(app, client, bridged, "voice/bridge/confirm", Digits="")
    contact = Callbacks("", bridged.code).url("voice/status", leg="contact")
    for status in ("ringing", "no-answer"):
        signed_post(app, client, contact, {"CallSid": "CA-contact-leg", "CallStatus": status})
    inbox.drain(db, NOW)
    db.expire_all()
    settled = db.get(Delivery, bridged.id)
    assert settled is not None
    assert settled.status == "settled"
    assert db.scalars(select(Attempt.outcome)).all() == ["no_answer"]  # S5


def test_after_stop_a_liaison_cannot_turn_texts_back_on_and_her_start_still_can(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    _inbound(app, client, "STOP", "SM1")
    with pytest.raises(Conflict, match="STOP"):
        _liaison_sets_texts(db, world, True)
    db.rollback()
    assert preferences.current_preferences(db, world.contact.id).sms is False
    assert "<Message" not in _inbound(app, client, "START", "SM2")  # START gets no answer
    assert preferences.current_preferences(db, world.contact.id).sms is True


def test_a_stop_while_texts_are_off_is_kept_so_no_one_turns_them_on_later(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    _no_texts_on_her_word(db, world)
    answer = _inbound(app, client, "STOP", "SM1")
    # The one neutral confirmation any number gets for STOP: silence here would tell whoever
    # holds her phone that she is on file (issue 21 finding 12). It answers the phone's own
    # STOP, as the carrier's opt-out confirmation does, and says nothing of the program.
    assert answer == _inbound(app, client, "STOP", "SM2", sender="+14045550199")
    assert her_word.sms_stopped(db, world.contact.id)
    with pytest.raises(Conflict):
        _liaison_sets_texts(db, world, True)
