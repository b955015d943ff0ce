"""Opt-out as Twilio does it (issue 24 item 4, S2): texts go through a Messaging Service whose
Advanced Opt-Out answers STOP, START and HELP with our own neutral texts; the product records
what Twilio did and never sends a second reply; safe-check answers are keys no Twilio list
takes as a keyword. The simulator plays Twilio's side as docs/operations.md sets it up."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.channels.base import Callbacks, Sms
from outreach.channels.pacing import Pacer
from outreach.channels.simulator import Poster, SimulatorChannel
from outreach.channels.simulator_scenarios import ScriptedScenario
from outreach.channels.twilio import TwilioChannel, make_client
from outreach.models import InboundMessage, OutreachTask
from outreach.runtime import runtime
from outreach.services.contact_persons import preferences
from outreach.settings import load_settings
from outreach.settings_error import SettingsError
from tests.conftest import NOW
from tests.factories import World, make_safe_check_delivery
from tests.fakes import RecordingHttpClient
from tests.functional.test_webhooks import CONTACT, signed_post

SERVICE = "MG" + "ab" * 16


def _inbound(app: Flask, client: FlaskClient, body: str, sid: str, **extra: str) -> str:
    fields = {"From": CONTACT, "Body": body, "MessageSid": sid, **extra}
    response = signed_post(app, client, "/webhooks/twilio/sms/inbound", fields)
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def _texts_on(db: Session, world: World) -> bool:
    return preferences.current_preferences(db, world.contact.id).sms


@pytest.mark.parametrize("body", ["Stop", "revocar"])
def test_a_stop_twilio_answered_is_recorded_and_gets_no_second_reply(
    app: Flask, client: FlaskClient, db: Session, world: World, body: str
) -> None:
    """ "revocar" is a word only the service's own list has: Twilio's word is the one that
    blocks the number, so ours must never disagree with it."""
    answer = _inbound(app, client, body, "SM1", OptOutType="STOP")
    assert "<Message" not in answer
    assert _texts_on(db, world) is False


def test_start_and_help_twilio_answered_get_no_second_reply(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    _inbound(app, client, "STOP", "SM1", OptOutType="STOP")
    assert "<Message" not in _inbound(app, client, "START", "SM2", OptOutType="START")
    assert _texts_on(db, world) is True  # S2: START re-enables what STOP turned off
    assert "<Message" not in _inbound(app, client, "HELP", "SM3", OptOutType="HELP")


def test_a_message_twilio_did_not_take_as_a_keyword_gets_our_one_reply(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    answer = _inbound(app, client, "please stop texting me", "SM1")
    assert answer.count("<Message") == 1
    assert _texts_on(db, world) is False


def test_yes_is_no_safe_check_answer_since_twilio_lists_take_it_as_an_opt_in(
    app: Flask, client: FlaskClient, db: Session, world: World, intake: OutreachTask
) -> None:
    delivery = make_safe_check_delivery(db, intake, now=NOW)
    delivery.kind, delivery.script = "sms", "safe_check"
    db.commit()
    _inbound(app, client, "YES", "SM1")
    db.expire_all()
    assert delivery.digits is None
    kept = db.scalar(select(func.count()).select_from(InboundMessage))
    assert kept == 1  # kept for the liaison, like any words of hers
    _inbound(app, client, "1", "SM2")
    db.expire_all()
    assert delivery.digits == "1"


@pytest.mark.parametrize("word", ["STOP", "stop", "PARAR", "Baja"])
def test_through_twilio_she_gets_exactly_one_confirmation_of_a_stop(
    app: Flask, db: Session, world: World, word: str
) -> None:
    rt = runtime(app)
    poster = Poster(app, rt.settings.webhook_token, rt.settings.public_url)
    channel = SimulatorChannel(
        poster, ScriptedScenario(), Pacer(1000, sleep=lambda _: None), background=False
    )
    inbound = rt.settings.public_url + "/webhooks/twilio/sms/inbound"
    answer = channel.text_from(CONTACT, word, inbound)
    replies = len(channel.keyword_replies) + answer.count("<Message")
    assert replies == 1
    assert _texts_on(db, world) is False


def test_texts_go_through_the_messaging_service_from_the_neutral_number() -> None:
    http = RecordingHttpClient()
    channel = TwilioChannel(
        make_client("AC" + "1" * 32, "token", http_client=http),
        Pacer(1000, sleep=lambda _: None),
        messaging_service_sid=SERVICE,
    )
    channel.send_sms(Sms(CONTACT, "+15550100100", "Hi", Callbacks("https://x.example", "c")))
    form = http.requests[0].data
    assert form["MessagingServiceSid"] == SERVICE
    assert form["From"] == "+15550100100"  # S9


def test_production_refuses_to_start_without_a_messaging_service(
    test_environ: dict[str, str],
) -> None:
    production = {
        **test_environ,
        "OUTREACH_ENV": "production",
        "OUTREACH_CHANNEL": "twilio",
        "OUTREACH_PUBLIC_URL": "https://outreach.example.org",
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_AUTH_TOKEN": "t" * 32,
    }
    with pytest.raises(SettingsError, match="OUTREACH_MESSAGING_SERVICE_SID"):
        load_settings(production)
    with pytest.raises(SettingsError, match="MG and 32 hex"):
        load_settings({**production, "OUTREACH_MESSAGING_SERVICE_SID": "MG123"})
    assert load_settings({**production, "OUTREACH_MESSAGING_SERVICE_SID": SERVICE})
