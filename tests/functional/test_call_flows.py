"""Call flows as Twilio documents them (issue 24, items 1-3; S3, S6, S9).

Each request here is what Twilio's documentation says it sends, not what our code hoped:
- `<Dial><Number url>`: the URL is asked for "after they answer, but before the parties are
  connected", with the call's usual parameters; machine detection on a `<Number>` reports only
  to an `amdStatusCallback` (twilio.com/docs/voice/twiml/number; warning 21262 when none is
  given). So the `url` request carries no `AnsweredBy`.
- An outbound call with synchronous machine detection asks for its TwiML with `AnsweredBy`,
  which leans toward "human" (twilio.com/docs/voice/answering-machine-detection).
- `<Gather actionOnEmptyResult="true">` posts its action with no `Digits` when no key was
  pressed (twilio.com/docs/voice/twiml/gather).
"""

from __future__ import annotations

import re
import uuid
from xml.etree import ElementTree

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.channels.base import Callbacks
from outreach.models import Attempt, Delivery, OutreachTask
from outreach.runtime import runtime
from outreach.services.contact_persons import her_word
from outreach.services.delivery import calls, inbox
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import users
from tests.conftest import NOW
from tests.factories import World, make_safe_check_delivery
from tests.fakes import RecordingChannel
from tests.functional.test_webhooks import signed_post

LIAISON = "+14045550111"
# What must never reach a recording before a key press: her name, the program, any number.
NAMED = ("Avery", "Sample", "4045550123", "program")


@pytest.fixture
def dialled(app: Flask, db: Session, world: World, intake: OutreachTask) -> tuple[Delivery, str]:
    """The liaison clicked Call, their phone rang, they pressed 1: the TwiML dialling her."""
    rt = runtime(app)
    rt.channel = RecordingChannel()
    delivery = calls.request_bridged_call(
        db, rt.outward(), actor=world.actor("liaison"), task_id=intake.id, now=NOW
    )
    client = app.test_client()
    _post(app, client, delivery, "voice/bridge", CallStatus="in-progress")
    twiml = _post(app, client, delivery, "voice/bridge/confirm", Digits="1")
    assert "<Dial" in twiml
    return delivery, twiml


@pytest.fixture
def bridged(dialled: tuple[Delivery, str]) -> Delivery:
    """Her phone is being dialled."""
    return dialled[0]


def _post(app: Flask, client: FlaskClient, delivery: Delivery, route: str, **fields: str) -> str:
    url = Callbacks("", delivery.code).url(route)
    sid = fields.pop("CallSid", delivery.provider_sid or "")
    response = signed_post(app, client, url, {"CallSid": sid, **fields})
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def _said(twiml: str) -> str:
    return " ".join(re.findall(r"<Say[^>]*>([^<]*)</Say>", twiml))


def _her_leg(app: Flask, client: FlaskClient, delivery: Delivery) -> str:
    """Twilio asks for the `<Number url>` once her phone answered: no AnsweredBy."""
    return _post(app, client, delivery, "voice/screen", CallSid="CAher", CallStatus="in-progress")


def _her_key(app: Flask, client: FlaskClient, delivery: Delivery, digits: str | None) -> str:
    keys = {} if digits is None else {"Digits": digits}
    return _post(app, client, delivery, "voice/screen/answer", CallSid="CAher", **keys)


def test_the_twiml_dialling_her_asks_for_no_verdict_twilio_would_not_deliver(
    dialled: tuple[Delivery, str],
) -> None:
    delivery, twiml = dialled
    number = ElementTree.fromstring(twiml).find(".//Number")  # noqa: S314
    assert number is not None
    # Warning 21262: machine detection without an amdStatusCallback reports to no one.
    if number.get("machineDetection"):
        assert number.get("amdStatusCallback")
    assert number.get("url", "").endswith(f"/webhooks/twilio/voice/screen?c={delivery.code}")


def test_a_contact_who_answers_a_bridged_call_and_presses_1_is_put_through(
    app: Flask, client: FlaskClient, db: Session, bridged: Delivery
) -> None:
    screen = _her_leg(app, client, bridged)
    assert "<Gather" in screen  # not hung up on: Twilio sends no AnsweredBy here
    assert "<Dial" not in screen
    connected = _her_key(app, client, bridged, "1")
    assert "<Hangup" not in connected
    assert "<Say" not in connected  # an empty document: the legs are connected
    db.expire_all()
    assert db.get(Delivery, bridged.id).answered_by == "human"  # type: ignore[union-attr]


def test_the_screen_she_hears_first_names_no_one(
    app: Flask, client: FlaskClient, db: Session, bridged: Delivery
) -> None:
    said = _said(_her_leg(app, client, bridged))
    assert said == "Hello. To take this call, press 1."
    for word in NAMED:
        assert word.lower() not in said.lower()  # S3: a voicemail may be recording


def test_the_screen_is_in_her_language(
    app: Flask, client: FlaskClient, db: Session, bridged: Delivery
) -> None:
    bridged.language = "es"
    db.commit()
    screen = _her_leg(app, client, bridged)
    assert _said(screen) == "Hola. Para atender esta llamada, marque 1."
    # A voice that speaks the locale, named: <Say>'s default voice may fail on es-US.
    assert 'language="es-US"' in screen
    assert 'voice="Polly.Lupe"' in screen


@pytest.mark.parametrize("digits", [None, "", "2", "*"])
def test_her_voicemail_pressing_nothing_hears_nothing_more_and_is_logged(
    app: Flask, client: FlaskClient, db: Session, bridged: Delivery, digits: str | None
) -> None:
    _her_leg(app, client, bridged)
    answer = _her_key(app, client, bridged, digits)
    assert "<Hangup" in answer
    assert "<Say" not in answer  # S3: no voicemail unless she allowed one
    status = Callbacks("", bridged.code).url("voice/status", leg="contact")
    signed_post(app, client, status, {"CallSid": "CAher", "CallStatus": "completed"})
    inbox.drain(db, NOW)
    db.expire_all()
    assert db.scalars(select(Attempt.outcome)).all() == ["machine_hung_up"]  # S5: logged


def test_where_she_allowed_messages_her_voicemail_gets_only_the_neutral_one(
    app: Flask, client: FlaskClient, db: Session, world: World, bridged: Delivery
) -> None:
    her_word.change_preferences(
        db,
        actor=world.actor("liaison"),
        contact_id=world.contact.id,
        changes={"voicemail": True},
        now=NOW,
    )
    _her_leg(app, client, bridged)
    answer = _her_key(app, client, bridged, None)
    assert "<Say" in answer
    assert "<Hangup" in answer
    for word in NAMED[1:]:
        assert word not in answer


# --- the automated safe-check call ---------------------------------------------------------


@pytest.fixture
def safe_check(db: Session, world: World, intake: OutreachTask, vault: object) -> Delivery:
    users.set_phone(
        db, vault, user_id=world.users["liaison"].id, phone=LIAISON, now=NOW, actor=SYSTEM
    )  # type: ignore[arg-type]
    delivery = make_safe_check_delivery(db, intake, now=NOW)
    delivery.requested_by = world.users["liaison"].id
    db.commit()
    return delivery


def test_a_greeting_taken_for_a_person_hears_only_the_screen_never_her_name(
    app: Flask, client: FlaskClient, db: Session, safe_check: Delivery
) -> None:
    sid = f"CA{uuid.uuid4().hex}"
    first = _post(app, client, safe_check, "voice/safe-check", CallSid=sid, AnsweredBy="human")
    assert _said(first) == "Hello. To take this call, press 1."
    # The greeting presses nothing: the call ends without a word about her.
    after = _post(app, client, safe_check, "voice/safe-check/screened", CallSid=sid)
    assert "<Hangup" in after
    assert "<Say" not in after


def test_only_her_1_at_the_screen_brings_the_prompt_that_names_her(
    app: Flask, client: FlaskClient, db: Session, safe_check: Delivery
) -> None:
    sid = f"CA{uuid.uuid4().hex}"
    _post(app, client, safe_check, "voice/safe-check", CallSid=sid, AnsweredBy="human")
    prompt = _post(app, client, safe_check, "voice/safe-check/screened", CallSid=sid, Digits="1")
    assert "Avery" in _said(prompt)  # S6: the safe-to-talk question, now that she is here
    assert "<Gather" in prompt


def test_her_1_to_talk_rings_the_liaison_behind_a_screen_of_their_own(
    app: Flask, client: FlaskClient, db: Session, safe_check: Delivery
) -> None:
    sid = f"CA{uuid.uuid4().hex}"
    _post(app, client, safe_check, "voice/safe-check", CallSid=sid, AnsweredBy="human")
    _post(app, client, safe_check, "voice/safe-check/screened", CallSid=sid, Digits="1")
    dial = _post(app, client, safe_check, "voice/safe-check/answer", CallSid=sid, Digits="1")
    number = ElementTree.fromstring(dial).find(".//Number")  # noqa: S314
    assert number is not None  # not a bare number: their voicemail may answer
    assert number.text == LIAISON
    assert number.get("url", "").endswith(f"voice/liaison-screen?c={safe_check.code}")
    screen = _post(app, client, safe_check, "voice/liaison-screen", CallSid="CAliaison")
    assert "<Gather" in screen
    assert "Avery" not in screen  # their greeting may be recording too
    assert "<Hangup" in _post(app, client, safe_check, "voice/liaison-screen/answer")
    put_through = _post(app, client, safe_check, "voice/liaison-screen/answer", Digits="1")
    assert "<Hangup" not in put_through


def test_no_key_at_the_screen_is_logged_and_never_reached(
    app: Flask, client: FlaskClient, db: Session, safe_check: Delivery
) -> None:
    sid = f"CA{uuid.uuid4().hex}"
    _post(app, client, safe_check, "voice/safe-check", CallSid=sid, AnsweredBy="human")
    _post(app, client, safe_check, "voice/safe-check/screened", CallSid=sid)
    status = Callbacks("", safe_check.code).url("voice/status", leg="contact")
    signed_post(app, client, status, {"CallSid": sid, "CallStatus": "completed"})
    inbox.drain(db, NOW)
    db.expire_all()
    outcomes = db.scalars(select(Attempt.outcome)).all()
    assert outcomes == ["no_answer"]  # S5: an attempt; S6: never a reached contact


def test_a_call_back_to_the_neutral_number_hears_one_neutral_sentence_and_nothing_more(
    app: Flask, client: FlaskClient
) -> None:
    """Whoever calls the number back, she or someone holding her phone, learns nothing (S9)."""
    response = signed_post(
        app,
        client,
        "/webhooks/twilio/voice/incoming",
        {"CallSid": "CAback", "From": "+14045550123", "To": "+15550100100"},
    )
    answer = response.get_data(as_text=True)
    assert _said(answer) == (
        "Sorry, this number does not take calls. Goodbye. "
        "Lo sentimos, este número no recibe llamadas. Adiós."
    )
    assert "<Dial" not in answer
    assert "<Hangup" in answer


def test_the_operators_key_on_a_test_call_is_heard_signed_and_nothing_else_is_kept(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    """`outreach twilio-check --call-me`: the key reaches the webhook, and the command can
    tell; no task, contact or attempt is touched (docs/operations.md section 6)."""
    fields = {"CallSid": "CApreflight", "Digits": "1"}
    answer = signed_post(app, client, "/webhooks/twilio/voice/preflight", fields)
    assert "<Hangup" in answer.get_data(as_text=True)
    assert inbox.preflight_key(db, "CApreflight") == "1"
    assert inbox.preflight_key(db, "CAother") is None
    assert db.scalars(select(Attempt)).all() == []
