"""A facilitator's program system learns nothing of contacts from any answer (S7).

PRODUCT.md's roles table: a facilitator must not learn whether a contact exists, consented or
was reached, from any page or API answer. Each facilitator action is done twice, for a
participant whose partner consented to contact and for one with no contact on file, and the
two answers must be the same once the ids each record was given are set aside.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from outreach.models import Participant
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import tokens
from tests.conftest import NOW
from tests.factories import World, make_group, make_participant
from tests.functional.web import csrf, log_in

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def alone(db: Session, world: World) -> Participant:
    """A participant in a group like the world's, of the same program, with no contact."""
    return make_participant(db, make_group(db, world.home, now=NOW), now=NOW)


def _api(client: FlaskClient, token: str, path: str, body: dict[str, Any]) -> tuple[int, str]:
    response = client.post(
        f"/api/v1{path}", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code, UUID.sub("<id>", response.get_data(as_text=True))


@pytest.mark.parametrize(
    "event", ["enrolled", "completed", "terminated", "duty_to_warn", "participant_may_be_victim"]
)
def test_a_facilitators_event_answer_is_the_same_with_or_without_a_consenting_contact(
    client: FlaskClient, db: Session, world: World, alone: Participant, event: str
) -> None:
    """Issue 21 finding 6: the answer listed the tasks opened, which open only for a contact
    who exists and agreed to contact."""
    token = tokens.issue_token(
        db,
        username=world.users["facilitator"].username,
        days=90,
        now=NOW,
        actor=SYSTEM,
    ).token
    body = {"type": event, "at": NOW.isoformat(), "severity": "high"}
    with_contact = _api(client, token, f"/participants/{world.participant.id}/events", body)
    without = _api(client, token, f"/participants/{alone.id}/events", body)
    assert with_contact[0] == 201
    assert with_contact == without
    assert "tasks" not in with_contact[1]


def test_a_facilitators_attendance_and_cancellation_answers_say_nothing_of_contacts(
    client: FlaskClient, db: Session, world: World, alone: Participant
) -> None:
    token = tokens.issue_token(
        db,
        username=world.users["facilitator"].username,
        days=90,
        now=NOW,
        actor=SYSTEM,
    ).token
    answers = [
        _api(
            client,
            token,
            "/attendance",
            {"participant_id": str(who.id), "date": "2026-11-17", "status": "absent"},
        )
        for who in (world.participant, alone)
    ]
    assert answers[0] == answers[1]
    assert answers[0][0] == 201
    status, answer = _api(
        client,
        token,
        f"/groups/{world.group.id}/cancellations",
        {"date": "2026-11-24", "reason": "Holiday"},
    )
    assert (status, answer.strip()) == (201, '{"id":"<id>"}')


def test_a_facilitators_pages_read_the_same_with_or_without_a_consenting_contact(
    client: FlaskClient, world: World, alone: Participant
) -> None:
    """The page each form returns to, for each participant in turn: it differs only by the
    participant's own reference and ids (S7: not even how many tasks opened)."""
    log_in(client, world.users["facilitator"])
    pages: dict[str, list[str]] = {"with": [], "without": []}
    for who, key in ((world.participant, "with"), (alone, "without")):
        assert who.group_id is not None
        for path, data in (
            (f"/participants/{who.id}/events", {"type": "enrolled", "severity": "routine"}),
            (f"/participants/{who.id}/events", {"type": "duty_to_warn", "severity": "high"}),
            (f"/participants/{who.id}/attendance", {"status": "present", "date": "2026-11-17"}),
            (f"/groups/{who.group_id}/cancellations", {"date": "2026-11-24", "reason": "Holiday"}),
        ):
            token = csrf(client, "/groups")
            sent = client.post(
                path,
                data={**data, "group": str(who.group_id), "csrf_token": token},
                follow_redirects=True,
            )
            assert sent.status_code == 200
            page = sent.get_data(as_text=True).replace(who.reference, "<reference>")
            page = re.sub(r'name="csrf_token" value="[^"]+"', "<csrf>", page)
            pages[key].append(UUID.sub("<id>", page))
    assert "The event is recorded." in pages["with"][0]
    assert pages["with"] == pages["without"]
