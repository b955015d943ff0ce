"""Retention reaches every text Twilio keeps of her (issue 24 item 5, S10): her keywords and
safe-check answers, and our replies to her, leave their SIDs with her record, so the purge
has the provider erase them with the rest."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.models import InboundMessage, TextTrace
from tests.factories import World
from tests.functional.test_webhooks import CONTACT, signed_post


def _inbound(app: Flask, client: FlaskClient, body: str, sid: str, **extra: str) -> str:
    fields = {"From": CONTACT, "Body": body, "MessageSid": sid, **extra}
    return str(signed_post(app, client, "/webhooks/twilio/sms/inbound", fields).get_data(True))


def _traced(db: Session, world: World) -> set[str | None]:
    db.expire_all()
    query = select(TextTrace.sid).where(TextTrace.contact_id == world.contact.id)
    return set(db.scalars(query))


def test_her_keywords_and_answers_leave_their_sids_with_her_record(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    _inbound(app, client, "STOP", "SMstop", OptOutType="STOP")
    _inbound(app, client, "START", "SMstart", OptOutType="START")
    _inbound(app, client, "HELP", "SMhelp", OptOutType="HELP")
    _inbound(app, client, "1", "SManswer")
    assert _traced(db, world) == {"SMstop", "SMstart", "SMhelp", "SManswer"}


def test_her_own_words_keep_their_sid_once_with_the_message(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    _inbound(app, client, "call me after 6", "SMwords")
    assert _traced(db, world) == set()
    assert db.scalars(select(InboundMessage.provider_sid)).all() == ["SMwords"]


def test_our_reply_to_her_is_traced_once_its_status_names_it(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    answer = _inbound(app, client, "please stop texting me", "SMplease")
    match = re.search(r'action="[^"]*/webhooks/twilio/sms/reply-status\?c=([^"&]+)"', answer)
    assert match, answer
    assert _traced(db, world) == {None}  # the reply's SID is not known yet
    status = {"MessageSid": "SMreply", "MessageStatus": "sent"}
    path = f"/webhooks/twilio/sms/reply-status?c={match.group(1)}"
    assert signed_post(app, client, path, status).status_code == 200
    signed_post(app, client, path, {**status, "MessageStatus": "delivered"})  # a later one
    assert _traced(db, world) == {"SMreply"}


def test_a_stranger_texting_leaves_no_trace_and_the_same_reply_shape(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    signed_post(
        app,
        client,
        "/webhooks/twilio/sms/inbound",
        {"From": "+14045550999", "Body": "please stop texting me", "MessageSid": "SMx"},
    )
    assert db.scalars(select(TextTrace)).all() == []
