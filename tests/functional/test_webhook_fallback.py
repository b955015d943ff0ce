"""Fallback URLs (issue 24 item 7, S3): when Twilio cannot fetch or run our TwiML it asks the
fallback with `ErrorCode` and `ErrorUrl` (twilio.com/docs/usage/security/availability-
reliability); the answer ends the call in silence, whatever failed, database included."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from outreach.models import AuditEvent
from outreach.services.delivery import provider_failures
from tests.functional.test_webhooks import signed_post

FAILED = {
    "CallSid": "CA" + "f" * 32,
    "ErrorCode": "11200",
    "ErrorUrl": "https://outreach.example.org/webhooks/twilio/voice/safe-check?c=secret-code",
}


def _fallbacks(db: Session) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == "system.provider_fallback")
    return list(db.scalars(query))


def test_a_failed_call_is_hung_up_in_silence_and_kept_for_the_operator(
    app: Flask, client: FlaskClient, db: Session, caplog: pytest.LogCaptureFixture
) -> None:
    response = signed_post(app, client, "/webhooks/twilio/voice/fallback", FAILED)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<Hangup" in body
    assert "<Say" not in body
    [event] = _fallbacks(db)
    assert event.detail["error_code"] == "11200"
    assert event.detail["failed_path"] == "/webhooks/twilio/voice/safe-check"
    assert "secret-code" not in caplog.text  # the delivery's code stays out of the log


def test_a_fallback_that_fails_its_signature_still_hangs_up_and_changes_nothing(
    client: FlaskClient, db: Session
) -> None:
    """A wrong OUTREACH_PUBLIC_URL makes every signature fail: the call must still go quiet."""
    response = client.post(
        "/webhooks/twilio/voice/fallback", data=FAILED, headers={"X-Twilio-Signature": "bad"}
    )
    assert response.status_code == 200
    assert "<Hangup" in response.get_data(as_text=True)
    assert _fallbacks(db) == []


def test_a_failed_text_gets_no_answer_at_all(app: Flask, client: FlaskClient) -> None:
    fields = {"MessageSid": "SM" + "e" * 32, "ErrorCode": "11200", "ErrorUrl": ""}
    response = signed_post(app, client, "/webhooks/twilio/sms/fallback", fields)
    assert response.status_code == 200
    assert "<Message" not in response.get_data(as_text=True)


def test_with_the_database_down_the_call_still_hangs_up(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_: object, **__: object) -> None:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(provider_failures, "record_fallback", down)
    response = signed_post(app, client, "/webhooks/twilio/voice/fallback", FAILED)
    assert response.status_code == 200
    assert "<Hangup" in response.get_data(as_text=True)
