"""A week of an NY OPDV case as the liaison lives it (seeds/000; issue 20 item 10): he enrols,
she is reached for the intake; two days later she says she would rather speak Spanish; then the
program reports a safety concern, which the liaison hands to the local victim services program,
named from the program's referral list in her language, and records as the referral."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.clock import FixedClock
from outreach.domain.vocabulary import Role
from outreach.models import AuditEvent, OutreachTask
from outreach.runtime import runtime
from outreach.security.vault import Vault
from outreach.services.contact_persons import her_word
from outreach.services.records.audit import AuditAction
from tests.conftest import NOW
from tests.factories import build_case, make_user, report_case_event
from tests.functional.web import log_in, post


def _work(client: FlaskClient, task: OutreachTask, outcome: str) -> str:
    post(client, f"/tasks/{task.id}/claim")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    recorded = post(client, f"/tasks/{task.id}/attempts", {"outcome": outcome, "channel": "voice"})
    assert recorded.status_code == 302, recorded.get_data(as_text=True)  # type: ignore[attr-defined]
    closed = post(client, f"/tasks/{task.id}/close", {"resolution": "completed", "confirm": "yes"})
    assert closed.status_code == 302  # type: ignore[attr-defined]
    return page


def test_a_week_in_which_her_safety_concern_goes_to_victim_services_in_her_language(
    app: Flask, client: FlaskClient, db: Session, vault: Vault, clock: FixedClock
) -> None:
    profiles = runtime(app).profiles
    case = build_case(db, vault, now=NOW, protocol="ny_opdv")
    liaison = make_user(db, Role.LIAISON, [case.program], now=NOW, username="sam.rivera")
    log_in(client, liaison)

    # Tuesday: he enrols; seeds/000 "victims be made aware of the resources available".
    [intake] = report_case_event(db, profiles, case, "enrolled", at=NOW, now=NOW)
    intake_page = _work(client, intake, "reached_safe")
    assert "Example Hudson County Domestic Violence Program (example)" in intake_page
    assert 'id="script-rights"' not in intake_page  # PCADV's statement, not NY OPDV's

    # Thursday: she told the liaison she would rather speak Spanish (S12).
    clock.advance(days=2)
    her_word.change_preferences(
        db, actor=case.liaison, contact_id=case.contact.id, changes={"language": "es"},
        now=clock.now(),
    )  # fmt: skip
    # The program reports a safety concern: "handled ... in conjunction with a victim services
    # program" (seeds/000).
    [concern] = report_case_event(
        db, profiles, case, "safety_concern", at=clock.now(), now=clock.now()
    )
    log_in(client, liaison)  # a new working day, a new sign-in
    concern_page = _work(client, concern, "referred_to_victim_services")

    assert 'lang="es"' in concern_page
    assert "Programa local contra la violencia doméstica: Example Hudson County" in concern_page
    assert "ponerla en contacto con Example Hudson County Domestic Violence Program" in concern_page
    db.expire_all()
    statuses = {t.reason: t.status for t in db.scalars(select(OutreachTask))}
    # Nothing else: NY OPDV asks for no check-ins on his progress (seeds/000).
    assert statuses == {"intake": "completed", "safety_concern": "completed"}
    referral = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == AuditAction.ATTEMPT_RECORDED,
            AuditEvent.object_id == str(concern.id),
        )
    ).all()
    assert [e.detail["outcome"] for e in referral] == ["referred_to_victim_services"]
