"""Her rhythm (S13) set through the API and on the task page, after a conversation with her."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from outreach.models import User
from outreach.runtime import runtime
from outreach.security.vault import Vault
from outreach.services import contacts, users
from tests.conftest import NOW
from tests.factories import Case, build_case, report_case_event
from tests.functional.web import log_in, post


def _case(app: Flask, db: Session, vault: Vault, protocol: str) -> tuple[Case, User]:
    case = build_case(db, vault, now=NOW, protocol=protocol)
    liaison = db.get(User, case.liaison.user_id)
    assert liaison is not None
    return case, liaison


def _patch(client: FlaskClient, db: Session, user: User, case: Case, body: Any) -> Any:
    token = users.issue_token(db, username=user.username, days=90, now=NOW).token
    return client.patch(
        f"/api/v1/contacts/{case.contact.id}/preferences",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )


def test_a_program_system_records_her_rhythm_and_a_rhythm_not_offered_is_refused(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    # seeds/001 "Colorado": "once a month, once every three months".
    case, liaison = _case(app, db, vault, "colorado_dvomb")
    refused = _patch(client, db, liaison, case, {"cadence": "weekly"})
    assert refused.status_code == 422
    assert refused.get_json()["fields"] == {"cadence": "must be one of none, monthly, quarterly"}
    answer = _patch(client, db, liaison, case, {"cadence": "quarterly"})
    assert answer.status_code == 200
    assert answer.get_json()["cadence"] == "quarterly"
    assert contacts.current_preferences(db, case.contact.id).cadence == "quarterly"


def test_a_program_without_rhythms_offers_only_none(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    case, liaison = _case(app, db, vault, "georgia_fvip")
    refused = _patch(client, db, liaison, case, {"cadence": "monthly"})
    assert refused.status_code == 422
    assert refused.get_json()["fields"] == {"cadence": "must be one of none"}


def test_the_liaison_records_a_mothers_slower_rhythm_on_the_task_page(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    # seeds/001 "Caring Dads": weekly for consenting mothers; S13: she may choose slower.
    case, liaison = _case(app, db, vault, "caring_dads")
    [intake] = report_case_event(db, runtime(app).profiles, case, "enrolled", at=NOW, now=NOW)
    log_in(client, liaison)
    before = client.get(f"/tasks/{intake.id}").get_data(as_text=True)
    assert "weekly (the program's default; she has not chosen)" in before
    assert 'name="cadence"' not in before  # only the claim holder records her word
    post(client, f"/tasks/{intake.id}/claim")
    page = client.get(f"/tasks/{intake.id}").get_data(as_text=True)
    assert '<option value="fortnightly">fortnightly</option>' in page
    answer = post(client, f"/tasks/{intake.id}/rhythm", {"cadence": "fortnightly"})
    assert answer.status_code == 302  # type: ignore[attr-defined]
    assert contacts.current_preferences(db, case.contact.id).cadence == "fortnightly"
    after = client.get(f"/tasks/{intake.id}").get_data(as_text=True)
    assert "Her rhythm (S13): fortnightly" in after


def test_recording_her_rhythm_needs_the_claim(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    case, liaison = _case(app, db, vault, "caring_dads")
    [intake] = report_case_event(db, runtime(app).profiles, case, "enrolled", at=NOW, now=NOW)
    log_in(client, liaison)
    answer = post(client, f"/tasks/{intake.id}/rhythm", {"cadence": "none"})
    assert answer.status_code == 409  # type: ignore[attr-defined]
    assert contacts.current_preferences(db, case.contact.id).cadence is None
