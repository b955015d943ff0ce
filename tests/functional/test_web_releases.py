"""The release pages (S7): a supervisor records, shares and records compelled disclosures;
a liaison revokes at once; the share is refused without a live release; nothing is cached."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from outreach.clock import FixedClock
from outreach.domain.vocabulary import Role
from outreach.models import AuditEvent, CompelledDisclosure, ContactRelease
from outreach.runtime import runtime
from outreach.services.contact_persons import disclosures
from outreach.services.scheduling.queue import reference
from tests.conftest import NOW
from tests.factories import World, make_release, make_user
from tests.functional.web import csrf, log_in, open_tasks

GRANT = {
    "recipient_kind": "court",
    "recipient": "Judge Rivera, Fulton County",
    "purpose": "progress_report",
    "scope": ["contact_made", "statement"],
    "given_as": "signed_form",
    "expires_on": "2027-01-31",
    "statement": "He has kept away since the order.",
}


def _post(client: FlaskClient, path: str, data: dict[str, object] | None = None) -> TestResponse:
    return client.post(path, data={**(data or {}), "csrf_token": csrf(client, "/home")})


def _page(world: World) -> str:
    return f"/contacts/{world.contact.id}/releases"


def _actions(db: Session) -> list[str]:
    return [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.seq))]


def test_a_supervisor_records_a_release_and_sees_it_on_the_contacts_page(
    client: FlaskClient, db: Session, world: World
) -> None:
    log_in(client, world.users["supervisor"])
    response = _post(client, _page(world), GRANT)
    assert response.status_code == 302
    page = client.get(_page(world))
    body = page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    assert "Judge Rivera, Fulton County" in body
    assert body.count('class="release-row"') == 1
    assert "<script" not in body
    stored = db.scalar(select(ContactRelease))
    assert stored is not None
    assert stored.granted_at == NOW
    # Valid through 31 January where the program is (New York): ends 1 February 05:00 UTC.
    assert stored.expires_at.isoformat() == "2027-02-01T05:00:00+00:00"


def test_a_release_without_an_expiry_is_refused_with_a_way_back(
    client: FlaskClient, db: Session, world: World
) -> None:
    log_in(client, world.users["supervisor"])
    response = _post(client, _page(world), {**GRANT, "expires_on": ""})
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'href="{_page(world)}"' in body
    assert db.scalar(select(ContactRelease)) is None


def test_sharing_under_a_live_release_shows_only_what_it_covers_and_is_audited(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    release = make_release(db, runtime(app).vault, world, now=NOW)
    log_in(client, world.users["supervisor"])
    path = f"{_page(world)}/{release.id}/share"
    response = _post(client, path, {"items": ["statement"]})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "He has kept away since the order." in body
    assert "Contact made" not in body  # covered, but not asked for
    for secret in ("Avery", "Sample", "555-0123"):
        assert secret not in body
    assert _actions(db)[-1] == "release.information_shared"


def test_a_liaison_revokes_at_once_and_the_next_share_is_refused(
    app: Flask, client: FlaskClient, db: Session, world: World, clock: FixedClock
) -> None:
    release = make_release(db, runtime(app).vault, world, now=NOW)
    log_in(client, world.users["liaison"])
    page = client.get(_page(world)).get_data(as_text=True)
    assert "Judge Rivera" not in page  # a liaison sees what exists, not whom it names
    assert "Revoke now" in page
    assert "Prepare what may be shared" not in page
    clock.advance(minutes=3)
    revoked = _post(client, f"{_page(world)}/{release.id}/revoke", {"how": "oral"})
    assert revoked.status_code == 302
    client.post("/logout", data={})
    log_in(client, world.users["supervisor"])
    refused = _post(client, f"{_page(world)}/{release.id}/share", {"items": ["statement"]})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "no live release" in body
    assert "kept away" not in body
    assert _actions(db)[-1] == "release.share_refused"


def test_a_share_after_expiry_is_refused(
    app: Flask, client: FlaskClient, db: Session, world: World, clock: FixedClock
) -> None:
    release = make_release(db, runtime(app).vault, world, now=NOW, days=1)
    clock.at = release.expires_at
    log_in(client, world.users["supervisor"])
    refused = _post(client, f"{_page(world)}/{release.id}/share", {"items": ["contact_made"]})
    assert refused.status_code == 409


def test_a_compelled_disclosure_with_a_reason_not_to_tell_waits_for_a_second_supervisor(
    client: FlaskClient, db: Session, world: World
) -> None:
    report = {
        "authority": "court_order",
        "authority_detail": "Order 2026-DR-7",
        "items": ["attempt_log"],
        "description": "Attempt log to the court",
        "disclosed_at": "2026-11-17 09:00",
    }
    log_in(client, world.users["supervisor"])
    neither = _post(client, f"/contacts/{world.contact.id}/disclosures", report)
    assert neither.status_code == 422
    reason = {**report, "danger_reason": "He reads the mail at her address"}
    assert _post(client, f"/contacts/{world.contact.id}/disclosures", reason).status_code == 302
    row = db.scalar(select(CompelledDisclosure))
    assert row is not None
    overview = client.get("/releases").get_data(as_text=True)
    assert _actions(db)[-1] == "release.read"  # the overview is a read, audited
    assert reference(world.contact.id) in overview
    assert overview.count('class="awaiting-row"') == 1
    confirm = f"/contacts/{world.contact.id}/disclosures/{row.id}/confirm"
    assert _post(client, confirm).status_code == 409
    client.post("/logout", data={})
    log_in(client, make_user(db, Role.SUPERVISOR, [world.home], now=NOW))
    assert _post(client, confirm).status_code == 302
    assert 'class="awaiting-row"' not in client.get("/releases").get_data(as_text=True)


def test_a_compelled_disclosure_can_name_the_task_on_which_the_contact_is_told(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = open_tasks(app, db, world, NOW)[0]
    log_in(client, world.users["supervisor"])
    response = _post(
        client,
        f"/contacts/{world.contact.id}/disclosures",
        {
            "authority": "subpoena",
            "authority_detail": "Case 2026-CV-0099",
            "items": ["notes"],
            "description": "Notes of two calls",
            "notice_task_id": str(task.id),
        },
    )
    assert response.status_code == 302
    page = client.get(_page(world)).get_data(as_text=True)
    assert "0 attempt(s) so far" in page


@pytest.mark.parametrize("persona", ["facilitator", "outsider", "admin"])
def test_no_one_but_liaisons_and_supervisors_of_the_program_reaches_a_release_page(
    app: Flask, client: FlaskClient, db: Session, world: World, persona: str
) -> None:
    release = make_release(db, runtime(app).vault, world, now=NOW)
    disclosure = disclosures.record_disclosure(
        db,
        runtime(app).vault,
        actor=world.actor("supervisor"),
        contact_id=world.contact.id,
        report=disclosures.DisclosureReport(
            "subpoena", "Case 2026-CV-0099", ("notes",), "Notes", danger_reason="Avery at risk"
        ),
        now=NOW,
    )
    confirm = f"/contacts/{world.contact.id}/disclosures/{disclosure.id}/confirm"
    log_in(client, world.users[persona])
    answers = [
        client.get("/releases"),
        client.get(_page(world)),
        _post(client, _page(world), GRANT),
        _post(client, f"{_page(world)}/{release.id}/revoke", {"how": "oral"}),
        _post(client, f"{_page(world)}/{release.id}/share", {"items": ["statement"]}),
        _post(client, f"/contacts/{world.contact.id}/disclosures", {"danger_reason": "x"}),
        _post(client, confirm),
    ]
    for answer in answers:
        body = answer.get_data(as_text=True)
        assert answer.status_code == 403
        for secret in ("Rivera", "kept away", "Avery", "2026-CV-0099"):
            assert secret not in body
    db.expire_all()
    assert db.get(ContactRelease, release.id).revoked_at is None  # type: ignore[union-attr]
    assert db.get(CompelledDisclosure, disclosure.id).danger_confirmed_by is None  # type: ignore[union-attr]


def test_the_task_page_links_a_liaison_to_the_contacts_releases(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = open_tasks(app, db, world, NOW)[0]
    log_in(client, world.users["liaison"])
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert f'href="{_page(world)}"' in page
