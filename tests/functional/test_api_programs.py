"""A program system drives the program side through /api/v1 with a token acting as a role."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.models import AuditEvent, ContactPerson
from outreach.services.contact_persons import her_word, preferences
from outreach.services.records.audit import SYSTEM
from outreach.services.staff.tokens import issue_token
from tests.conftest import NOW
from tests.factories import World


@pytest.fixture
def tokens(db: Session, world: World) -> dict[str, str]:
    return {
        persona: issue_token(db, username=user.username, days=90, now=NOW, actor=SYSTEM).token
        for persona, user in world.users.items()
    }


def call(
    client: FlaskClient, token: str, method: str, path: str, body: Any = None
) -> tuple[int, Any]:
    response = client.open(
        f"/api/v1{path}", method=method, json=body, headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code, response.get_json()


GROUP = {
    "name": "Thursday",
    "timezone": "America/New_York",
    "rrule": "FREQ=WEEKLY;BYDAY=TH",
    "start_time": "19:00",
    "duration_minutes": 90,
    "starts_on": "2026-09-03",
    "ends_on": "2027-03-25",
}


def test_a_program_system_sets_up_groups_participants_and_attendance(
    client: FlaskClient, world: World, tokens: dict[str, str]
) -> None:
    token = tokens["facilitator"]
    status, group = call(client, token, "POST", "/groups", {"program": world.home.key, **GROUP})
    assert status == 201
    status, participant = call(
        client,
        token,
        "POST",
        "/participants",
        {"program": world.home.key, "group_id": group["id"], "reference": "GA-2001"},
    )
    assert status == 201
    status, _ = call(
        client,
        token,
        "POST",
        "/attendance",
        {
            "participant_id": participant["id"],
            "date": "2026-11-19",
            "status": "present",
            "checked_in_at": "2026-11-19T19:02:00-05:00",
        },
    )
    assert status == 201
    status, _ = call(
        client,
        token,
        "POST",
        f"/groups/{group['id']}/cancellations",
        {"date": "2026-11-26", "reason": "Holiday"},
    )
    assert status == 201


def test_an_admin_creates_a_program_and_may_work_in_it(
    client: FlaskClient, tokens: dict[str, str]
) -> None:
    status, _ = call(
        client,
        tokens["admin"],
        "POST",
        "/programs",
        {
            "key": "river",
            "name": "River Program",
            "protocol": "georgia_fvip",
            "timezone": "America/New_York",
        },
    )
    assert status == 201
    status, _ = call(client, tokens["admin"], "POST", "/groups", {"program": "river", **GROUP})
    assert status == 201


def test_a_facilitator_token_never_creates_or_changes_contact_data(
    client: FlaskClient, world: World, tokens: dict[str, str], db: Session
) -> None:
    status, answer = call(
        client,
        tokens["facilitator"],
        "POST",
        "/contacts",
        {
            "participant_id": str(world.participant.id),
            "name": "Casey Demo",
            "phone": "404-555-0155",
            "relationship": "partner",
        },
    )
    assert status == 403
    assert "Casey" not in str(answer)
    status, _ = call(
        client,
        tokens["facilitator"],
        "PATCH",
        f"/contacts/{world.contact.id}/preferences",
        {"consent": "declined"},
    )
    assert status == 403
    denied = db.scalars(select(AuditEvent).where(AuditEvent.action == "auth.access_denied"))
    assert len(list(denied)) == 2


def test_a_liaison_adds_a_contact_and_the_answer_holds_only_its_id(
    client: FlaskClient, world: World, tokens: dict[str, str], db: Session
) -> None:
    status, answer = call(
        client,
        tokens["liaison"],
        "POST",
        "/contacts",
        {
            "participant_id": str(world.participant.id),
            "name": "Casey Demo",
            "phone": "(404) 555-0155",
            "language": "es",
            "relationship": "partner",
            "preferences": {
                "consent": "consented",
                "sms": True,
                "safe_times": [{"days": "MO,WE", "start": "10:00", "end": "12:00"}],
            },
        },
    )
    assert status == 201
    assert set(answer) == {"id"}
    assert db.scalar(select(ContactPerson).where(ContactPerson.id == world.contact.id))


def test_another_programs_token_cannot_reach_this_program(
    client: FlaskClient, world: World, tokens: dict[str, str]
) -> None:
    status, _ = call(
        client,
        tokens["outsider"],
        "PATCH",
        f"/contacts/{world.contact.id}/preferences",
        {"sms": False},
    )
    assert status == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**GROUP, "rrule": "every tuesday"}, "rrule"),
        ({**GROUP, "timezone": "Eastern"}, "timezone"),
        ({**GROUP, "start_time": "7pm"}, "start_time"),
        ({**GROUP, "duration_minutes": "ninety"}, "duration_minutes"),
        ({**GROUP, "starts_on": "03/09/2026"}, "starts_on"),
        ({**GROUP, "ends_on": "2026-01-01"}, "ends_on"),
    ],
)
def test_bad_group_input_is_answered_with_the_field_at_fault(
    client: FlaskClient, world: World, tokens: dict[str, str], body: dict[str, Any], field: str
) -> None:
    status, answer = call(
        client, tokens["facilitator"], "POST", "/groups", {"program": world.home.key, **body}
    )
    assert status in (400, 422)
    assert field in answer["fields"]


@pytest.mark.parametrize("body", [None, [], "text", 7])
def test_a_body_that_is_not_an_object_is_refused_without_a_crash(
    client: FlaskClient, tokens: dict[str, str], body: Any
) -> None:
    status, answer = call(client, tokens["facilitator"], "POST", "/participants", body)
    assert status in (400, 422)
    assert "error" in answer


def test_a_request_without_a_valid_token_is_refused(client: FlaskClient) -> None:
    assert client.post("/api/v1/groups", json=GROUP).status_code == 401
    response = client.post(
        "/api/v1/groups", json=GROUP, headers={"Authorization": "Bearer otk_not-a-real-token"}
    )
    assert response.status_code == 401


def test_the_openapi_document_lists_every_route(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert {"/programs", "/groups", "/participants", "/attendance", "/contacts"} <= set(
        document["paths"]
    )


def test_an_unknown_api_path_answers_json(client: FlaskClient, tokens: dict[str, str]) -> None:
    status, answer = call(client, tokens["admin"], "GET", "/nothing-here")
    assert status == 404
    assert answer["error"]


def test_a_program_system_cannot_lift_a_decline_or_turn_on_texts_she_stopped(
    client: FlaskClient, world: World, tokens: dict[str, str], db: Session
) -> None:
    """S2 "for good": only her own START undoes a STOP; S1: a decline is lifted only by her
    request in her own words, confirmed by a supervisor (tests/integration/test_opt_back_in.py)."""
    path = f"/contacts/{world.contact.id}/preferences"
    her_word.revoke_sms(db, actor=SYSTEM, contact_id=world.contact.id, now=NOW, source="sms_stop")
    db.commit()
    status, answer = call(client, tokens["liaison"], "PATCH", path, {"sms": True})
    assert (status, answer["fields"]) == (409, {"sms": "stopped by her STOP"})
    assert call(client, tokens["liaison"], "PATCH", path, {"consent": "declined"})[0] == 200
    status, answer = call(client, tokens["liaison"], "PATCH", path, {"consent": "consented"})
    assert (status, answer["fields"]) == (422, {"her_words": "required"})
    prefs = preferences.current_preferences(db, world.contact.id)
    assert (prefs.consent, prefs.sms) == ("declined", False)
