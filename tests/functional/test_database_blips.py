"""A database blip costs nothing (issue 21 finding 17, outreach/reconnect.py).

Every backend of the application's engine is ended by the server (what a database restart or
an operator's pg_terminate_backend does): the next page and the next webhook still answer,
and a texted STOP is still kept. Before, the pool handed out its dead connections and each
answered 500, and Twilio, which never retries a 500, lost the callback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, event, func, select, text

from outreach import create_app
from outreach.clock import FixedClock
from outreach.models import Delivery, InboundMessage, WebhookEvent
from outreach.runtime import Runtime, runtime
from outreach.services.intake import events
from outreach.services.records.audit import SYSTEM
from outreach.settings import load_settings
from tests.conftest import DATABASES, NOW, engine_url
from tests.factories import (
    make_contact,
    make_group,
    make_participant,
    make_program,
    make_safe_check_delivery,
)
from tests.functional.test_webhooks import CONTACT, signed_post

APP_NAME = f"outreach_blips_{os.getpid()}"
# Only PostgreSQL has backends to end; SQLite has no connection to lose.
pytestmark = pytest.mark.parametrize("own_engine", ["postgresql"], indirect=True)


@pytest.fixture
def blip_app(own_engine: Engine, test_environ: dict[str, str]) -> Iterator[Flask]:
    """The application on a PostgreSQL schema of its own, its backends named so that the test
    ends only them (other runs share the server)."""
    url = f"{engine_url(own_engine)}&application_name={APP_NAME}"
    settings = load_settings({**test_environ, "OUTREACH_DATABASE_URL": url})
    app = create_app({"TESTING": True}, settings=settings, clock=FixedClock(NOW))
    yield app
    runtime(app).engine.dispose()


def _end_every_backend_of_the_app(engine: Engine) -> int:
    with engine.connect() as conn:
        ended = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :name AND pid <> pg_backend_pid()"
            ),
            {"name": APP_NAME},
        ).scalar_one()
        conn.commit()
    return int(ended)


def _a_placed_call(rt: Runtime) -> Delivery:
    with rt.session() as db:
        program = make_program(db, now=NOW)
        participant = make_participant(db, make_group(db, program, now=NOW), now=NOW)
        make_contact(
            db, rt.vault, participant, now=NOW, consent="consented", sms=True, phone=CONTACT
        )
        _, [task] = events.report_event(
            db,
            rt.profiles,
            actor=SYSTEM,
            participant_id=participant.id,
            event_type="class_cancelled",
            at=NOW,
            severity="routine",
            now=NOW,
        )
        return make_safe_check_delivery(db, task, now=NOW)


def _stored(rt: Runtime, **where: Any) -> int:
    with rt.session() as db:
        query = select(func.count()).select_from(WebhookEvent).filter_by(**where)
        return int(db.scalar(query) or 0)


def _test_after_every_backend_is_ended_the_next_requests_and_webhooks_succeed(
    blip_app: Flask, own_engine: Engine
) -> None:
    rt, client = runtime(blip_app), blip_app.test_client()
    call = _a_placed_call(rt)
    assert client.get("/healthz").status_code == 200
    # Warm connections wait in the pool, then the server ends them all.
    assert _end_every_backend_of_the_app(own_engine) >= 1
    assert client.get("/healthz").status_code == 200
    status = signed_post(
        blip_app,
        client,
        f"/webhooks/twilio/voice/status?c={call.code}&leg=contact",
        {"CallSid": call.provider_sid or "", "CallStatus": "busy"},
    )
    assert status.status_code == 200
    assert _stored(rt, delivery_id=call.id) == 1
    assert _end_every_backend_of_the_app(own_engine) >= 1
    stop = signed_post(
        blip_app,
        client,
        "/webhooks/twilio/sms/inbound",
        {"From": CONTACT, "Body": "STOP", "MessageSid": "SM" + "5" * 32},
    )
    assert stop.status_code == 200
    assert _stored(rt, route="sms-inbound") == 1


def _test_a_webhook_whose_connection_dies_midway_is_run_once_more_and_kept(
    blip_app: Flask, own_engine: Engine
) -> None:
    """S2: her STOP arrives just as the database restarts; it is kept all the same."""
    rt, client = runtime(blip_app), blip_app.test_client()
    _a_placed_call(rt)
    ended: list[int] = []

    @event.listens_for(rt.engine, "before_cursor_execute")
    def die_once(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if not ended and statement.startswith("INSERT INTO webhook_event"):
            ended.append(_end_every_backend_of_the_app(own_engine))

    stop = signed_post(
        blip_app,
        client,
        "/webhooks/twilio/sms/inbound",
        {"From": CONTACT, "Body": "STOP", "MessageSid": "SM" + "6" * 32},
    )
    assert ended
    assert ended[0] >= 1
    assert stop.status_code == 200
    assert "<Message" in stop.get_data(as_text=True)  # the STOP was answered
    with rt.session() as db:
        assert _stored(rt, route="sms-inbound") == 1
        assert db.scalar(select(func.count()).select_from(InboundMessage)) is not None


def _test_a_form_whose_connection_dies_midway_answers_503_not_500(
    blip_app: Flask, own_engine: Engine
) -> None:
    """A write whose commit may have landed is not run twice; the user is told to try again."""
    client = blip_app.test_client()
    ended: list[int] = []

    @event.listens_for(runtime(blip_app).engine, "before_cursor_execute")
    def die_once(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if not ended and statement.startswith("SELECT"):
            ended.append(_end_every_backend_of_the_app(own_engine))

    answer = client.post(
        "/api/v1/participants/00000000-0000-4000-8000-000000000000/events",
        json={"event_type": "enrolled"},
        headers={"Authorization": "Bearer " + "t" * 40},
    )
    assert ended
    assert answer.status_code == 503


if "postgresql" in DATABASES:  # only a PostgreSQL server ends its clients' sessions
    test_after_every_backend_is_ended_the_next_requests_and_webhooks_succeed = (
        _test_after_every_backend_is_ended_the_next_requests_and_webhooks_succeed
    )
    test_a_webhook_whose_connection_dies_midway_is_run_once_more_and_kept = (
        _test_a_webhook_whose_connection_dies_midway_is_run_once_more_and_kept
    )
    test_a_form_whose_connection_dies_midway_answers_503_not_500 = (
        _test_a_form_whose_connection_dies_midway_answers_503_not_500
    )
