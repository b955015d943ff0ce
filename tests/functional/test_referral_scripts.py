"""What the liaison reads on a call names the program's own referrals, in her language
(PRODUCT.md "Referrals are data ... scripts name them, never invent them"; issue 20 item 10),
PCADV's intake reads her rights (seeds/004 item 2), NY OPDV's safety concern offers the referral
to victim services as its outcome (seeds/000), and a Spanish-first program's contacts start in
Spanish through the API (S12, issue 20 item 9)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from outreach.domain.vocabulary import Role
from outreach.models import OutreachTask
from outreach.runtime import runtime
from outreach.security.vault import Vault
from outreach.services.attempts import letters
from outreach.services.contact_persons import preference_changes, preferences
from outreach.services.delivery.outward import Outward
from outreach.services.intake import programs
from outreach.services.records.audit import SYSTEM
from outreach.services.scheduling import claims
from outreach.services.staff import tokens
from tests.conftest import NOW
from tests.factories import Case, World, build_case, make_contact, make_user, report_case_event
from tests.functional.web import log_in, post

# config/referrals/pcadv.toml, the demo's fictional list.
PCADV = {
    "en": {
        "dv_program": "Sample River County Domestic Violence Program (example), (412) 555-0141",
        "legal": "Legal services: Sample River County Legal Aid (example), (412) 555-0142",
        "victim_witness": "Sample River County Victim-Witness Assistance (example), (412) 555-0143",
        # seeds/004 item 2: "their right to be free of violence and to access legal protections".
        "rights": "You have the right to be free of violence and abuse",
        "protection": "You have the right to ask the courts and the police for protection",
    },
    "es": {
        "dv_program": "Sample River County Domestic Violence Program (example), (412) 555-0141",
        "legal": "Servicios legales: Sample River County Legal Aid (example), (412) 555-0142",
        "victim_witness": "Asistencia a Víctimas y Testigos de Sample River County (ejemplo)",
        "rights": "Usted tiene derecho a vivir libre de violencia y de abuso",
        "protection": "Tiene derecho a pedir protección a los tribunales y a la policía",
    },
}


def _page(app: Flask, client: FlaskClient, db: Session, case: Case, task: OutreachTask) -> str:
    # A liaison whose first name can be said on a call ("Sam", from "sam.rivera").
    log_in(client, make_user(db, Role.LIAISON, [case.program], now=NOW, username="sam.rivera"))
    post(client, f"/tasks/{task.id}/claim")
    return client.get(f"/tasks/{task.id}").get_data(as_text=True)


def _intakes(app: Flask, db: Session, vault: Vault, protocol: str) -> tuple[Case, dict[str, Any]]:
    case = build_case(db, vault, now=NOW, protocol=protocol)
    spanish = make_contact(
        db, vault, case.participant, now=NOW, name="Rosa Ejemplo", phone="404-555-0191",
        consent="consented", language="es",
    )  # fmt: skip
    opened = report_case_event(db, runtime(app).profiles, case, "enrolled", at=NOW, now=NOW)
    by_contact = {task.contact_id: task for task in opened}
    return case, {"en": by_contact[case.contact.id], "es": by_contact[spanish.id]}


@pytest.mark.parametrize("language", ["en", "es"])
def test_pcadv_intake_names_its_referrals_and_reads_her_rights_in_her_language(
    app: Flask, client: FlaskClient, db: Session, vault: Vault, language: str
) -> None:
    # seeds/004 item 3: "informed referrals to partners to domestic violence programs,
    # victim-witness assistance and legal services".
    case, intakes = _intakes(app, db, vault, "pcadv")
    page = _page(app, client, db, case, intakes[language])

    for words in PCADV[language].values():
        assert words in page, words
    assert "1-800-799-7233" in page  # the real national hotline
    assert 'id="script-rights"' in page
    # S6: the rights come only after she said it is safe to talk.
    assert page.index('id="script-safe-to-talk"') < page.index('id="script-rights"')


def test_a_georgia_intake_leaves_the_rights_section_off_but_names_its_own_referrals(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    case, intakes = _intakes(app, db, vault, "georgia_fvip")
    page = _page(app, client, db, case, intakes["en"])

    assert 'id="script-rights"' not in page
    assert PCADV["en"]["rights"] not in page
    assert "Example County Domestic Violence Program (example), (404) 555-0141" in page


def _concern_page(app: Flask, client: FlaskClient, db: Session, vault: Vault, protocol: str) -> str:
    case = build_case(db, vault, now=NOW, protocol=protocol)
    [task] = report_case_event(db, runtime(app).profiles, case, "safety_concern", at=NOW, now=NOW)
    return _page(app, client, db, case, task)


def test_ny_opdv_offers_the_referral_to_victim_services_on_a_safety_concern(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    # seeds/000: "in conjunction with a victim services program".
    page = _concern_page(app, client, db, vault, "ny_opdv")
    assert '<option value="referred_to_victim_services">' in page
    assert "Example Hudson County Domestic Violence Program (example)" in page


def test_georgia_offers_no_referral_outcome_on_a_safety_concern(
    app: Flask, client: FlaskClient, db: Session, vault: Vault
) -> None:
    page = _concern_page(app, client, db, vault, "georgia_fvip")
    assert "referred_to_victim_services" not in page


def _call(client: FlaskClient, token: str, path: str, body: Any) -> tuple[int, Any]:
    answer = client.post(f"/api/v1{path}", json=body, headers={"Authorization": f"Bearer {token}"})
    return answer.status_code, answer.get_json()


def test_a_spanish_first_program_made_through_the_api_starts_its_contacts_in_spanish(
    client: FlaskClient, db: Session, world: World
) -> None:
    # S12: "a Spanish-first program makes Spanish the default for its contacts".
    admin = tokens.issue_token(
        db, username=world.users["admin"].username, days=90, now=NOW, actor=SYSTEM
    ).token
    program = {"name": "Caminar", "protocol": "georgia_fvip", "timezone": "America/New_York"}
    refused, answer = _call(client, admin, "/programs", {"key": "x", **program, "language": "fr"})
    status, _ = _call(client, admin, "/programs", {"key": "caminar", **program, "language": "es"})
    assert (refused, status) == (422, 201)
    assert "language" in answer["fields"]

    group = {
        "program": "caminar", "name": "Jueves", "timezone": "America/New_York",
        "rrule": "FREQ=WEEKLY;BYDAY=TH", "start_time": "19:00", "duration_minutes": 90,
        "starts_on": "2026-09-03", "ends_on": "2027-03-25",
    }  # fmt: skip
    _, made = _call(client, admin, "/groups", group)
    _, him = _call(
        client, admin, "/participants",
        {"program": "caminar", "group_id": made["id"], "reference": "CL-1"},
    )  # fmt: skip
    # Admins never reach contact data: the program's liaison adds her.
    caminar = programs.program_by_key(db, "caminar")
    liaison = make_user(db, Role.LIAISON, [caminar], now=NOW)
    token = tokens.issue_token(db, username=liaison.username, days=90, now=NOW, actor=SYSTEM)
    body = {"participant_id": him["id"], "name": "Rosa Ejemplo", "relationship": "partner"}
    _, silent = _call(client, token.token, "/contacts", {**body, "phone": "404-555-0181"})
    _, stated = _call(
        client, token.token, "/contacts", {**body, "phone": "404-555-0182", "language": "en"}
    )

    assert preferences.current_preferences(db, uuid.UUID(silent["id"])).language == "es"
    assert (
        preferences.current_preferences(db, uuid.UUID(stated["id"])).language == "en"
    )  # her own word


def test_an_emerge_letter_in_spanish_names_the_programs_referrals(
    app: Flask, db: Session, vault: Vault, out: Outward
) -> None:
    # PRODUCT.md: referrals "scripts name them, never invent them"; Emerge's letter within
    # 10 days of completion (seeds/001 "Massachusetts"); S12: in her language.
    profiles = runtime(app).profiles
    case = build_case(db, vault, now=NOW, protocol="emerge")
    preference_changes.change_preferences(
        db, vault, profiles, actor=case.liaison, contact_id=case.contact.id,
        changes={"mail": True, "language": "es"}, now=NOW, source="liaison",
    )  # fmt: skip
    letters.set_mailing_address(
        db, vault, profiles, actor=case.liaison, contact_id=case.contact.id,
        address="12 Quiet Lane\nSomerville, MA 02143", now=NOW,
    )  # fmt: skip
    report_case_event(db, profiles, case, "enrolled", at=NOW, now=NOW)
    opened = report_case_event(db, profiles, case, "completed", at=NOW, now=NOW)
    [task] = [t for t in opened if t.reason == "completion_letter"]
    claims.claim_task(db, actor=case.liaison, task_id=task.id, now=NOW)

    letter = letters.letter_page(db, out, actor=case.liaison, task_id=task.id, now=NOW).letter

    assert letter is not None
    assert "Programa local contra la violencia doméstica: Example Harbor" in letter.body
    assert "Servicios legales: Example Harbor Legal Aid (example), (617) 555-0142" in letter.body
    assert "1-800-799-7233" in letter.body


def test_an_admin_makes_a_spanish_first_program_on_the_programs_page(
    client: FlaskClient, db: Session, world: World
) -> None:
    # S12: Caminar Latino (seeds/001) is Spanish-first on the Georgia profile.
    log_in(client, world.users["admin"])
    form = {"name": "Caminar", "protocol": "georgia_fvip", "timezone": "America/New_York"}
    made = post(client, "/admin/programs", {**form, "key": "caminar", "language": "es"})
    plain = post(client, "/admin/programs", {**form, "key": "north", "language": ""})

    assert (made.status_code, plain.status_code) == (302, 302)  # type: ignore[attr-defined]
    assert programs.program_by_key(db, "caminar").language == "es"
    assert programs.program_by_key(db, "north").language is None
    page = client.get("/admin/programs").get_data(as_text=True)
    row = page.split("<td>caminar</td>")[1].split("</tr>")[0]
    assert row.endswith("<td>Spanish</td>")
