"""Whoever texts from her phone learns nothing from the answer (S2; issue 21 finding 12).

He has her phone and texts HELP, STOP or START to the number: the answer must read the same
whether her number is on file or not, and in the same language, so it cannot tell him she is
in contact with the program. The unknown number is still audited and changes nothing.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.models import AuditEvent, InboundMessage
from outreach.security.vault import Vault
from outreach.services.contact_persons import preferences
from outreach.services.delivery import inbound
from tests.conftest import NOW
from tests.factories import World, make_contact, make_participant
from tests.functional.test_webhooks import _inbound

ON_FILE = "+14045550177"
UNKNOWN = "+14045550199"
_sids = itertools.count(1)


@pytest.fixture
def spanish_contact(db: Session, vault: Vault, world: World) -> None:
    """She asked for Spanish: her preference must not colour what a stranger sees."""
    make_contact(
        db,
        vault,
        make_participant(db, world.group, now=NOW),
        now=NOW,
        phone=ON_FILE,
        consent="consented",
        sms=True,
        language="es",
    )


@pytest.mark.parametrize(
    "body", ["HELP", "help", "AYUDA", "INFO", "STOP", "PARAR", "START", "Please stop texting"]
)
@pytest.mark.usefixtures("spanish_contact")
def test_the_answer_is_the_same_for_a_number_on_file_and_an_unknown_one(
    app: Flask, client: FlaskClient, body: str
) -> None:
    on_file = [_inbound(app, client, body, f"SMa{n}", sender=ON_FILE) for n in range(2)]
    unknown = [_inbound(app, client, body, f"SMb{n}", sender=UNKNOWN) for n in range(2)]
    assert on_file == unknown  # the first time and when sent again


@pytest.mark.usefixtures("spanish_contact")
def test_help_from_an_unknown_number_gets_the_neutral_help_text_and_is_audited(
    app: Flask, client: FlaskClient, db: Session
) -> None:
    answer = _inbound(app, client, "HELP", "SM1", sender=UNKNOWN)
    assert "<Message" in answer
    assert "STOP" in answer
    assert db.scalar(select(func.count()).select_from(InboundMessage)) == 0
    audited = db.scalars(select(AuditEvent.action)).all()
    assert "webhook.inbound_from_unknown_number" in audited


def test_stop_from_a_number_on_file_still_stops_texts_at_once(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    _inbound(app, client, "STOP", "SM1", sender="+14045550123")
    assert preferences.current_preferences(db, world.contact.id).sms is False


MESSAGES = st.one_of(
    st.sampled_from(
        sorted(inbound.STOP_WORDS | inbound.START_WORDS | inbound.HELP_WORDS)
        + sorted(inbound.TALK_NOW | inbound.LATER)
        + ["please stop", "call me after 6", "¿Parar?", "Ayuda por favor", "stop all"]
    ),
    st.text(max_size=40),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=MESSAGES)
def test_no_message_is_answered_differently_for_a_number_on_file(
    db: Session, vault: Vault, world: World, body: str
) -> None:
    """S2 as a property: the reply and its language follow from the message alone."""
    on_file = inbound.handle(
        db, vault, sender="+14045550123", body=body, sid=f"SMp{next(_sids)}", now=NOW
    )
    unknown = inbound.handle(db, vault, sender=UNKNOWN, body=body, sid=f"SMq{next(_sids)}", now=NOW)
    # The reply's opaque code differs every time, whoever sent the message; only Twilio reads it.
    assert bool(on_file.reply_code) == bool(unknown.reply_code)
    same = [replace(answer, reply_code="") for answer in (on_file, unknown)]
    assert same[0] == same[1] == inbound.reply_to(body)
