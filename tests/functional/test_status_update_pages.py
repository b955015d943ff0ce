"""Status updates she asked for (issue 20 item 8), set through the API and on the task page
after a conversation with her; refused, naming the field, where her program offers none.

seeds/001 Caminar Latino: "general updates on the abusive partner's attendance and progress";
PRODUCT.md table, Georgia: "where she wants them".
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.vocabulary import Role
from outreach.models import AuditEvent, OutreachTask, User
from outreach.runtime import runtime
from outreach.security.vault import Vault
from outreach.services.contact_persons import her_word, preferences
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import tokens
from tests.conftest import NOW
from tests.factories import Case, build_case, make_user, report_case_event
from tests.functional.web import log_in, post


def _case(db: Session, vault: Vault, protocol: str) -> tuple[Case, User]:
    case = build_case(db, vault, now=NOW, protocol=protocol)
    liaison = db.get(User, case.liaison.user_id)
    assert liaison is not None
    return case, liaison


def _patch(client: FlaskClient, db: Session, user: User, case: Case, body: Any) -> Any:
    token = tokens.issue_token(db, username=user.username, days=90, now=NOW, actor=SYSTEM).token
    return client.patch(
        f"/api/v1/contacts/{case.contact.id}/preferences",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )


def test_a_program_system_records_her_wish_for_updates(
    client: FlaskClient, db: Session, vault: Vault
) -> None:
    case, liaison = _case(db, vault, "georgia_fvip")
    answer = _patch(client, db, liaison, case, {"updates": True})
    assert answer.status_code == 200
    assert answer.get_json()["updates"] is True
    assert preferences.current_preferences(db, case.contact.id).updates is True
    [audit] = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "contact.preferences_changed",
            AuditEvent.object_id == str(case.contact.id),
        )
    )
    assert audit.detail["updates"] is True


def test_a_program_that_offers_no_updates_answers_422_naming_the_field(
    client: FlaskClient, db: Session, vault: Vault
) -> None:
    """Colorado's standard offers no status updates; nothing is written."""
    case, liaison = _case(db, vault, "colorado_dvomb")
    refused = _patch(client, db, liaison, case, {"updates": True})
    assert refused.status_code == 422
    assert refused.get_json()["fields"] == {"updates": "not offered by her program"}
    assert preferences.current_preferences(db, case.contact.id).version == 1


def test_updates_must_be_true_or_false(client: FlaskClient, db: Session, vault: Vault) -> None:
    case, liaison = _case(db, vault, "georgia_fvip")
    refused = _patch(client, db, liaison, case, {"updates": "please"})
    assert refused.status_code == 422
    assert "updates" in refused.get_json()["fields"]


def test_the_liaison_records_on_the_task_page_that_she_wants_updates(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    """She asks on the intake call; his next absence opens an update call for her."""
    case, liaison = _case(db, vault, "georgia_fvip")
    profiles = runtime(app).profiles
    [intake] = report_case_event(db, profiles, case, "enrolled", at=NOW, now=NOW)
    log_in(client, liaison)
    before = client.get(f"/tasks/{intake.id}").get_data(as_text=True)
    assert "Status updates on his attendance and progress: no" in before
    assert 'name="updates"' not in before  # only the claim holder records her word
    post(client, f"/tasks/{intake.id}/claim")
    assert 'name="updates"' in client.get(f"/tasks/{intake.id}").get_data(as_text=True)
    answer = post(client, f"/tasks/{intake.id}/updates", {"updates": "yes"})
    assert answer.status_code == 302  # type: ignore[attr-defined]
    assert preferences.current_preferences(db, case.contact.id).updates is True
    after = client.get(f"/tasks/{intake.id}").get_data(as_text=True)
    assert "Status updates on his attendance and progress: yes, she asked for them" in after

    [update] = report_case_event(db, profiles, case, "absent", at=NOW, now=NOW)
    assert update.reason == "status_update"

    # Later she says she no longer wants them: the open update is cancelled.
    post(client, f"/tasks/{intake.id}/updates", {})
    assert preferences.current_preferences(db, case.contact.id).updates is False
    db.expire_all()
    cancelled = db.scalar(select(OutreachTask).where(OutreachTask.id == update.id))
    assert cancelled is not None
    assert cancelled.status == "cancelled"


def test_a_program_without_updates_shows_no_such_choice(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    case, liaison = _case(db, vault, "colorado_dvomb")
    [intake] = report_case_event(db, runtime(app).profiles, case, "enrolled", at=NOW, now=NOW)
    log_in(client, liaison)
    post(client, f"/tasks/{intake.id}/claim")
    page = client.get(f"/tasks/{intake.id}").get_data(as_text=True)
    assert "Status updates" not in page
    assert 'name="updates"' not in page


def test_the_update_page_tells_the_liaison_his_news_and_status_in_the_approved_script(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    """S13: what she is told is his real current status; two absences recorded on one update
    are both on its page, so one call tells her the latest (issue 20 item 8)."""
    case, _ = _case(db, vault, "georgia_fvip")
    # A liaison whose first name the script may say ("liaison" itself is a word it refuses).
    liaison = make_user(db, Role.LIAISON, [case.program], now=NOW, username="casey.rivera")
    profiles = runtime(app).profiles
    report_case_event(db, profiles, case, "enrolled", at=NOW, now=NOW)
    her_word.change_preferences(
        db, actor=case.liaison, contact_id=case.contact.id, changes={"updates": True}, now=NOW,
        profiles=profiles,
    )  # fmt: skip
    [update] = report_case_event(db, profiles, case, "absent", at=NOW, now=NOW)
    later = NOW + timedelta(days=2)
    assert report_case_event(db, profiles, case, "absent", at=later, now=later) == []
    log_in(client, liaison)
    post(client, f"/tasks/{update.id}/claim")
    page = client.get(f"/tasks/{update.id}").get_data(as_text=True)
    assert "The update she asked for: what happened since it opened" in page
    assert page.count("<li>Absent:") == 2
    assert "update you asked us for" in page  # the approved script, not improvised
    assert "Current status: enrolled in the program since" in page


def _event(client: FlaskClient, db: Session, user: User, case: Case, kind: str) -> Any:
    token = tokens.issue_token(db, username=user.username, days=90, now=NOW, actor=SYSTEM).token
    return client.post(
        f"/api/v1/participants/{case.participant.id}/events",
        json={"type": kind, "at": NOW.isoformat()},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_a_program_system_reports_an_absence_and_a_progress_summary_through_the_api(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    """The new events come through the same intake and schema as every event of his; the
    facilitator's answer says nothing of contacts (S7)."""
    case, _ = _case(db, vault, "georgia_fvip")
    her_word.change_preferences(
        db, actor=case.liaison, contact_id=case.contact.id, changes={"updates": True}, now=NOW,
        profiles=runtime(app).profiles,
    )  # fmt: skip
    facilitator = db.get(User, case.facilitator.user_id)
    assert facilitator is not None
    for kind in ("absent", "progress_summary"):
        answer = _event(client, db, facilitator, case, kind)
        assert answer.status_code == 201
        assert "tasks" not in answer.get_json()
    # One update, the summary recorded on the one the absence opened.
    updates = db.scalars(select(OutreachTask).where(OutreachTask.reason == "status_update"))
    assert len(list(updates)) == 1
    unknown = _event(client, db, facilitator, case, "absence")
    assert unknown.status_code == 422
    assert "type" in unknown.get_json()["fields"]
