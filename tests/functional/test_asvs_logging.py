"""Security events reach the log, by name and never by value; errors are logged, not shown.

Each test names the ASVS 5.0 requirements it proves; docs/security/asvs.md cites them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.logs import MaskingFilter
from outreach.models import AuditEvent
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import tokens
from tests.conftest import NOW
from tests.factories import World
from tests.functional.web import csrf, log_in


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.addFilter(MaskingFilter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}")

    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def kept(app: Flask) -> Iterator[Kept]:
    """What the application logs, seen through the same masking filter as production's."""
    handler, logger = Kept(), logging.getLogger("outreach")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def test_refused_credentials_signatures_and_csrf_tokens_are_logged(
    client: FlaskClient, kept: Kept
) -> None:
    """ASVS 16.3.1, 16.3.3: attempts around the controls are logged as security events."""
    client.get("/api/v1/tasks", headers={"Authorization": "Bearer otk_guessed"})
    client.post("/webhooks/twilio/sms/inbound", data={"Body": "STOP"})
    client.post("/login", data={"username": "someone", "password": "whatever"})
    assert "WARNING outreach.security: api.token_refused bearer=True path=/api/v1/tasks" in (
        kept.text()
    )
    assert "webhook.signature_refused path=/webhooks/twilio/sms/inbound" in kept.text()
    assert "web.csrf_refused path=/login token_sent=False" in kept.text()
    assert "otk_guessed" not in kept.text()
    assert "whatever" not in kept.text()


def test_refused_input_is_logged_by_field_name_never_by_value(
    client: FlaskClient, db: Session, world: World, kept: Kept
) -> None:
    """ASVS 16.3.3, 16.2.5: a validation refusal names the field, not what was sent."""
    token = tokens.issue_token(
        db, username=world.users["liaison"].username, days=90, now=NOW, actor=SYSTEM
    ).token
    body = {
        "participant_id": str(world.participant.id),
        "name": "Robin Doe",
        "phone": "+1 404 555 0177 x",
    }
    response = client.post(
        "/api/v1/contacts", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code in (400, 422)
    line = next(line for line in kept.lines if "request.refused" in line)
    assert "path=/api/v1/contacts" in line
    assert "kind=Invalid" in line
    assert "Robin" not in kept.text()
    assert "0177" not in kept.text()


def test_sign_in_and_sign_out_are_audited(client: FlaskClient, db: Session, world: World) -> None:
    """ASVS 16.3.1: successful sign-in and sign-out are recorded, like failures are."""
    log_in(client, world.users["liaison"])
    client.post("/logout", data={"csrf_token": csrf(client, "/home")})
    actions = set(db.scalars(select(AuditEvent.action)))
    assert {"auth.login_succeeded", "auth.logged_out"} <= actions


@pytest.mark.parametrize("path", ["/boom", "/api/v1/boom"])
def test_an_unexpected_error_is_logged_and_answered_with_a_generic_message(
    app: Flask, client: FlaskClient, kept: Kept, path: str
) -> None:
    """ASVS 16.3.4, 16.5.1: the log names the error; the answer says nothing about it."""

    def boom() -> str:
        raise RuntimeError("detail for 404-555-0123 and SELECT * FROM contact_person")

    app.add_url_rule(path, "boom", boom)
    response = client.get(path)
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    for leak in ("RuntimeError", "Traceback", "SELECT", "0123", "detail"):
        assert leak not in body
    assert f"ERROR outreach.web: unhandled RuntimeError on {path}" in kept.text()
    assert "0123" not in kept.text()
