"""Emerge's letter on the liaison's pages and through the API (issue 20 item 5).

seeds/001 "Massachusetts": "Within 10 days of program termination or completion, the victim
advocate sends a letter to inform the victim." The liaison holding the letter task prints it
from the approved template to the address she named as safe, then confirms mailing it.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.vocabulary import Role
from outreach.models import Attempt, AuditEvent, ContactPerson, Delivery, OutreachTask, User
from outreach.runtime import runtime
from outreach.security.vault import Vault
from outreach.services.contact_persons import preference_changes
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import tokens
from tests.conftest import NOW
from tests.factories import Case, build_case, make_user, report_case_event
from tests.functional.web import log_in, post

ADDRESS = "12 Quiet Lane\r\nSomerville, MA 02143"


def _emerge(app: Flask, db: Session, vault: Vault, **prefs: Any) -> tuple[Case, User]:
    case = build_case(db, vault, now=NOW, protocol="emerge")
    if prefs:
        preference_changes.change_preferences(
            db, vault, runtime(app).profiles, actor=case.liaison, contact_id=case.contact.id,
            changes=prefs, now=NOW, source="liaison",
        )  # fmt: skip
    liaison = db.get(User, case.liaison.user_id)
    assert liaison is not None
    # The call script is signed with the liaison's first name, from the username: a real
    # one ("liaison" is a word no script may say to her before it is safe).
    liaison.username = f"sam.{uuid.uuid4().hex[:8]}"
    db.commit()
    return case, liaison


def _letter_task(app: Flask, db: Session, case: Case, event: str = "completed") -> OutreachTask:
    profiles = runtime(app).profiles
    report_case_event(db, profiles, case, "enrolled", at=NOW, now=NOW)
    [task] = report_case_event(db, profiles, case, event, at=NOW, now=NOW)
    return task


def _reveals(db: Session, purpose: str) -> list[AuditEvent]:
    rows = db.scalars(select(AuditEvent).where(AuditEvent.action == "contact.revealed"))
    return [r for r in rows if (r.detail or {}).get("purpose") == purpose]


def _text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def test_the_liaison_records_her_address_prints_the_letter_and_confirms_mailing_it(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    case, liaison = _emerge(app, db, vault, mail=True)
    task = _letter_task(app, db, case)
    log_in(client, liaison)
    post(client, f"/tasks/{task.id}/claim")
    page = _text(client.get(f"/tasks/{task.id}"))
    # No safe address yet: no letter offered, she is called instead (the profile's fallback).
    assert "She has named no safe mailing address" in page
    assert "Print letter" not in page
    assert f'action="/tasks/{task.id}/call"' in page  # the fallback: a call

    answer = post(client, f"/tasks/{task.id}/mailing-address", {"mailing_address": ADDRESS})
    assert answer.status_code == 302  # type: ignore[attr-defined]
    page = _text(client.get(f"/tasks/{task.id}"))
    assert "safe mailing address: on file" in page
    assert "Quiet Lane" not in page  # the task page never opens it
    assert "Print letter" in page
    # The contact is the letter now: no Call button is offered on its task (S1: a task uses
    # only the channels its protocol and her permissions both allow).
    assert f'action="/tasks/{task.id}/call"' not in page
    assert "This contact is a letter" in page

    letter = client.get(f"/tasks/{task.id}/letter")
    assert letter.status_code == 200
    body = _text(letter)
    assert "12 Quiet Lane<br>Somerville, MA 02143" in body
    assert "Avery Sample" in body
    assert "From: Sam<br>PO Box 4127<br>Springfield, IL 62701" in body
    assert "Dear Avery," in body
    assert "1-800-799-7233" in body
    assert "I printed and mailed it" in body
    assert letter.headers["Cache-Control"] == "no-store"
    assert len(_reveals(db, "letter")) == 1  # S10: opening it is audited

    mailed = post(client, f"/tasks/{task.id}/letter/mailed")
    assert mailed.status_code == 302  # type: ignore[attr-defined]
    [attempt] = db.scalars(select(Attempt).where(Attempt.task_id == task.id))
    assert (attempt.channel, attempt.outcome, attempt.entered_via) == ("mail", "letter_sent", "web")
    after = _text(client.get(f"/tasks/{task.id}"))
    assert "The letter is recorded as mailed" in after
    closing = post(client, f"/tasks/{task.id}/close", {"resolution": "completed", "confirm": "yes"})
    assert closing.status_code == 302  # type: ignore[attr-defined]
    db.refresh(task)
    assert task.status == "completed"


def test_without_a_safe_address_the_letter_page_says_why_and_nothing_is_written(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    case, liaison = _emerge(app, db, vault, mail=True)
    task = _letter_task(app, db, case, "terminated")
    log_in(client, liaison)
    post(client, f"/tasks/{task.id}/claim")
    refused = client.get(f"/tasks/{task.id}/letter")
    assert refused.status_code == 422
    assert "she has named no safe mailing address" in _text(refused)
    mailed = post(client, f"/tasks/{task.id}/letter/mailed")
    assert mailed.status_code == 302  # type: ignore[attr-defined]
    assert "The letter is not recorded" in _text(client.get(f"/tasks/{task.id}"))
    assert db.scalars(select(Delivery)).all() == []
    assert db.scalars(select(Attempt)).all() == []
    assert _reveals(db, "letter") == []


def test_without_her_mail_permission_the_task_says_call_her_instead(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    case, liaison = _emerge(app, db, vault)
    task = _letter_task(app, db, case)
    log_in(client, liaison)
    post(client, f"/tasks/{task.id}/claim")
    assert "She has not allowed letters" in _text(client.get(f"/tasks/{task.id}"))
    refused = client.get(f"/tasks/{task.id}/letter")
    assert refused.status_code == 422
    assert "she has not allowed letters" in _text(refused)


def test_she_can_have_her_address_removed(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    case, liaison = _emerge(app, db, vault, mail=True)
    task = _letter_task(app, db, case)
    log_in(client, liaison)
    post(client, f"/tasks/{task.id}/claim")
    post(client, f"/tasks/{task.id}/mailing-address", {"mailing_address": ADDRESS})
    post(client, f"/tasks/{task.id}/mailing-address", {"remove": "yes"})
    contact = db.get(ContactPerson, case.contact.id)
    assert contact is not None
    db.refresh(contact)
    assert contact.address_sealed is None
    assert client.get(f"/tasks/{task.id}/letter").status_code == 422


def test_facilitators_and_admins_never_reach_the_letter_or_her_address(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    """PRODUCT.md roles: facilitators never reach contact data; admins never read it."""
    case, _ = _emerge(app, db, vault, mail=True)
    task = _letter_task(app, db, case)
    facilitator = db.get(User, case.facilitator.user_id)
    admin = make_user(db, Role.ADMIN, [case.program], now=NOW)
    for user in (facilitator, admin):
        assert user is not None
        client.post("/logout")
        log_in(client, user)
        assert client.get(f"/tasks/{task.id}/letter").status_code == 403
        refused = post(client, f"/tasks/{task.id}/mailing-address", {"mailing_address": ADDRESS})
        assert refused.status_code == 403  # type: ignore[attr-defined]
        assert post(client, f"/tasks/{task.id}/letter/mailed").status_code == 403  # type: ignore[attr-defined]
    contact = db.get(ContactPerson, case.contact.id)
    assert contact is not None
    assert contact.address_sealed is None
    assert _reveals(db, "letter") == []


def _token(db: Session, user: User) -> dict[str, str]:
    token = tokens.issue_token(db, username=user.username, days=90, now=NOW, actor=SYSTEM).token
    return {"Authorization": f"Bearer {token}"}


def test_a_program_system_sets_her_address_and_records_the_letter_or_hears_why_not(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    case, liaison = _emerge(app, db, vault, mail=True)
    task = _letter_task(app, db, case)
    headers = _token(db, liaison)
    refused = client.post(f"/api/v1/tasks/{task.id}/letter", headers=headers)
    assert refused.status_code == 422
    assert refused.get_json()["fields"] == {"mailing_address": "none on file"}
    db.refresh(task)
    assert task.claimed_by is None  # the claim taken for the refused write is given back

    path = f"/api/v1/contacts/{case.contact.id}/mailing-address"
    bad = client.put(path, json={"mailing_address": "x" * 81}, headers=headers)
    assert bad.status_code == 422
    assert bad.get_json()["fields"] == {"mailing_address": "too long"}
    answer = client.put(
        path, json={"mailing_address": "12 Quiet Lane\nSomerville"}, headers=headers
    )
    assert answer.status_code == 200
    assert answer.get_json() == {"id": str(case.contact.id), "mailing_address_on_file": True}

    made = client.post(f"/api/v1/tasks/{task.id}/letter", headers=headers)
    assert made.status_code == 201
    [attempt] = db.scalars(select(Attempt).where(Attempt.task_id == task.id))
    assert (attempt.outcome, attempt.entered_via) == ("letter_sent", "api")

    removed = client.delete(path, headers=headers)
    assert removed.status_code == 200
    assert removed.get_json()["mailing_address_on_file"] is False


def test_a_facilitators_token_cannot_set_her_address(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    case, _ = _emerge(app, db, vault, mail=True)
    facilitator = db.get(User, case.facilitator.user_id)
    assert facilitator is not None
    answer = client.put(
        f"/api/v1/contacts/{case.contact.id}/mailing-address",
        json={"mailing_address": "12 Quiet Lane"},
        headers=_token(db, facilitator),
    )
    assert answer.status_code == 403


def test_where_no_letter_can_go_the_liaison_has_the_call_script_to_tell_her_instead(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    """The Emerge profile's fallback_channels: without her mail permission or a safe address
    she is called, and the call has its approved script (completed or terminated)."""
    case, liaison = _emerge(app, db, vault)
    task = _letter_task(app, db, case, "terminated")
    assert task.channels == ["voice"]
    log_in(client, liaison)
    post(client, f"/tasks/{task.id}/claim")
    page = _text(client.get(f"/tasks/{task.id}"))
    assert "The approved script could not be loaded" not in page
    assert 'id="script-safe-to-talk"' in page
