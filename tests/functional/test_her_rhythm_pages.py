"""Her rhythm (S13) set through the API and on the task page, after a conversation with her."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from outreach.domain.vocabulary import Role
from outreach.models import User
from outreach.runtime import runtime
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log
from outreach.services.contact_persons import her_word, opt_back_in, preferences
from outreach.services.intake import check_ins
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import tokens
from tests.conftest import NOW
from tests.factories import Case, build_case, make_user, report_case_event
from tests.functional.web import log_in, post


def _case(app: Flask, db: Session, vault: Vault, protocol: str) -> tuple[Case, User]:
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
    assert preferences.current_preferences(db, case.contact.id).cadence == "quarterly"


def test_a_program_without_rhythms_offers_only_none(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    case, liaison = _case(app, db, vault, "pcadv")
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
    assert preferences.current_preferences(db, case.contact.id).cadence == "fortnightly"
    after = client.get(f"/tasks/{intake.id}").get_data(as_text=True)
    assert "Her rhythm: fortnightly" in after  # no rule code on the screen (issue 22 item 8)


def test_recording_her_rhythm_needs_the_claim(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    case, liaison = _case(app, db, vault, "caring_dads")
    [intake] = report_case_event(db, runtime(app).profiles, case, "enrolled", at=NOW, now=NOW)
    log_in(client, liaison)
    answer = post(client, f"/tasks/{intake.id}/rhythm", {"cadence": "none"})
    assert answer.status_code == 409  # type: ignore[attr-defined]
    assert preferences.current_preferences(db, case.contact.id).cadence is None


# --- opting back in and narrowing by channel (S1) --------------------------------------


def _declined_case(db: Session, vault: Vault) -> tuple[Case, User, User]:
    case = build_case(db, vault, now=NOW, protocol="georgia_fvip")
    her_word.record_decline(db, actor=case.liaison, contact_id=case.contact.id, now=NOW)
    db.commit()
    liaison = db.get(User, case.liaison.user_id)
    supervisor = make_user(db, Role.SUPERVISOR, [case.program], now=NOW)
    assert liaison is not None
    return case, liaison, supervisor


def test_the_api_answers_202_while_her_opt_back_in_waits_for_a_supervisor(
    client: FlaskClient, db: Session, vault: Vault
) -> None:
    case, liaison, supervisor = _declined_case(db, vault)
    asks = {"consent": "consented", "her_words": "Please call me again.", "voice": True}
    held = _patch(client, db, liaison, case, asks)
    assert held.status_code == 202
    answer = held.get_json()
    assert answer["held"] is True
    assert preferences.current_preferences(db, case.contact.id).consent == "declined"
    token = tokens.issue_token(
        db, username=supervisor.username, days=90, now=NOW, actor=SYSTEM
    ).token
    confirmed = client.post(
        f"/api/v1/opt-back-in/{answer['request_id']}/confirm",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert confirmed.status_code == 200
    assert confirmed.get_json()["consent"] == "consented"


def test_a_supervisor_reads_her_words_and_confirms_on_the_task_page(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    case = build_case(db, vault, now=NOW, protocol="georgia_fvip")
    [task] = report_case_event(db, runtime(app).profiles, case, "enrolled", at=NOW, now=NOW)
    # She declined on the intake call; months later she calls the program back.
    attempt_log.record_attempt(
        db, vault, actor=case.liaison, task_id=task.id, channel="voice", at=NOW,
        outcome="declined", now=NOW,
    )  # fmt: skip
    liaison = db.get(User, case.liaison.user_id)
    assert liaison is not None
    supervisor = make_user(db, Role.SUPERVISOR, [case.program], now=NOW)
    log_in(client, liaison)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert 'name="her_words"' in page
    form = {"her_words": "I want the calls back, not texts.", "voice": "yes"}
    post(client, f"/tasks/{task.id}/opt-back-in", form)
    held = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "She asked to opt back in" in held
    assert "I want the calls back" not in held  # only a supervisor who may confirm reads it
    client.get("/logout")
    log_in(client, supervisor)
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "I want the calls back, not texts." in page
    request_id = opt_back_in.pending(db, case.contact.id).id  # type: ignore[union-attr]
    post(client, f"/tasks/{task.id}/opt-back-in/{request_id}/confirm")
    prefs = preferences.current_preferences(db, case.contact.id)
    assert (prefs.consent, prefs.voice, prefs.sms) == ("consented", True, False)


def test_the_liaison_records_no_calls_texts_are_fine_on_the_task_page(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    case, liaison = _case(app, db, vault, "georgia_fvip")
    [intake] = report_case_event(db, runtime(app).profiles, case, "enrolled", at=NOW, now=NOW)
    log_in(client, liaison)
    post(client, f"/tasks/{intake.id}/claim")
    post(client, f"/tasks/{intake.id}/channels", {"sms": "yes"})
    prefs = preferences.current_preferences(db, case.contact.id)
    assert (prefs.consent, prefs.voice, prefs.sms) == ("consented", False, True)


def test_a_program_system_adds_a_contact_to_a_spanish_first_program_in_spanish(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    # S12: a Spanish-first program makes Spanish the default for its new contacts.
    rt = runtime(app)
    rt.profiles["georgia_fvip"] = dataclasses.replace(rt.profiles["georgia_fvip"], language="es")
    case, liaison = _case(app, db, vault, "georgia_fvip")
    token = tokens.issue_token(db, username=liaison.username, days=90, now=NOW, actor=SYSTEM).token
    answer = client.post(
        "/api/v1/contacts",
        json={
            "participant_id": str(case.participant.id),
            "name": "Ana Ejemplo",
            "phone": "404-555-0163",
            "relationship": "partner",
        },
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 201
    prefs = preferences.current_preferences(db, uuid.UUID(answer.get_json()["id"]))
    assert prefs.language == "es"


def test_the_task_page_says_when_her_rhythm_opens_her_next_check_in(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    """S13, seeds/001 "Colorado": "frequency ... depends on the victim's comfort (e.g., once a
    month ...)". Reached on the intake call, she asks for a monthly call: the liaison sees
    when it will open (a month after she was reached), and that none opens once she says none."""
    case, liaison = _case(app, db, vault, "colorado_dvomb")
    profiles = runtime(app).profiles
    [intake] = report_case_event(db, profiles, case, "enrolled", at=NOW, now=NOW)
    log_in(client, liaison)
    post(client, f"/tasks/{intake.id}/claim")
    attempt_log.record_attempt(
        db, vault, actor=case.liaison, task_id=intake.id, channel="voice", at=NOW,
        outcome="reached_safe", now=NOW,
    )  # fmt: skip
    before = client.get(f"/tasks/{intake.id}").get_data(as_text=True)
    assert "her next check-in opens" not in before  # no rhythm chosen, none by default
    post(client, f"/tasks/{intake.id}/rhythm", {"cadence": "monthly"})
    assert check_ins.next_check_in(db, profiles["colorado_dvomb"], case.contact, NOW) == NOW + (
        timedelta(days=30)
    )
    page = client.get(f"/tasks/{intake.id}").get_data(as_text=True)
    assert "her next check-in opens" in page
    post(client, f"/tasks/{intake.id}/rhythm", {"cadence": "none"})
    assert check_ins.next_check_in(db, profiles["colorado_dvomb"], case.contact, NOW) is None
    assert "her next check-in opens" not in client.get(f"/tasks/{intake.id}").get_data(as_text=True)
