"""A planned discharge reported from the program's system or the facilitator's group page
(issue 20 item 7): Colorado's advocate call opens before the day; the facilitator learns
nothing of it (S7); a missing or past day answers 422 naming `discharge_on`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.domain.vocabulary import Role
from outreach.models import OutreachTask, ProgramEvent
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import tokens
from tests.conftest import NOW
from tests.factories import World, make_user
from tests.functional.web import log_in, post


@pytest.fixture
def colorado(db: Session, world: World) -> World:
    """The world's program follows the Colorado DVOMB standards."""
    world.home.protocol = "colorado_dvomb"
    db.commit()
    return world


def _post_event(client: FlaskClient, token: str, world: World, body: dict[str, Any]) -> Any:
    return client.post(
        f"/api/v1/participants/{world.participant.id}/events",
        json={"at": NOW.isoformat(), **body},
        headers={"Authorization": f"Bearer {token}"},
    )


def _token(db: Session, world: World, persona: str) -> str:
    return tokens.issue_token(
        db, username=world.users[persona].username, days=90, now=NOW, actor=SYSTEM
    ).token


def test_the_programs_system_reports_a_planned_discharge_and_learns_nothing_of_contacts(
    client: FlaskClient, db: Session, colorado: World
) -> None:
    answer = _post_event(
        client, _token(db, colorado, "facilitator"), colorado,
        {"type": "discharge_planned", "discharge_on": "2026-12-08"},
    )  # fmt: skip

    assert answer.status_code == 201
    assert sorted(answer.get_json()) == ["id"]  # S7: no word of the call it opened
    task = db.scalars(select(OutreachTask)).one()
    assert task.reason == "before_discharge"
    assert task.due_by < NOW + timedelta(days=21)  # before the day, seeds/001


def test_the_liaison_sees_the_call_in_her_open_tasks(
    client: FlaskClient, db: Session, colorado: World
) -> None:
    _post_event(
        client, _token(db, colorado, "facilitator"), colorado,
        {"type": "discharge_planned", "discharge_on": "2026-12-08"},
    )  # fmt: skip
    listed = client.get(
        "/api/v1/tasks", headers={"Authorization": f"Bearer {_token(db, colorado, 'liaison')}"}
    ).get_json()

    assert [t["reason"] for t in listed] == ["before_discharge"]
    assert listed[0]["due_by"] == "2026-12-01T05:00:00+00:00"  # a week before, New York


@pytest.mark.parametrize(
    "body",
    [
        {"type": "discharge_planned"},
        {"type": "discharge_planned", "discharge_on": "2026-11-01"},
        {"type": "discharge_planned", "discharge_on": "next week"},
        {"type": "level_change", "discharge_on": "2026-12-08"},
    ],
)
def test_a_planned_discharge_without_its_day_answers_422_naming_it(
    client: FlaskClient, db: Session, colorado: World, body: dict[str, str]
) -> None:
    answer = _post_event(client, _token(db, colorado, "facilitator"), colorado, body)

    assert answer.status_code == 422
    assert "discharge_on" in answer.get_json()["fields"]
    assert db.scalars(select(ProgramEvent)).all() == []  # nothing half-written


def test_the_facilitators_group_page_reports_a_planned_discharge_with_its_day(
    client: FlaskClient, db: Session, colorado: World
) -> None:
    log_in(client, colorado.users["facilitator"])
    page = client.get(f"/groups/{colorado.group.id}").get_data(as_text=True)
    assert "Court report or planned discharge day" in page
    assert '<option value="discharge_planned">discharge planned</option>' in page

    answer = post(
        client,
        f"/participants/{colorado.participant.id}/events",
        {"type": "discharge_planned", "severity": "routine", "day": "2026-12-08",
         "group": str(colorado.group.id)},
    )  # fmt: skip
    shown = client.get(answer.headers["Location"]).get_data(as_text=True)  # type: ignore[attr-defined]

    assert "The event is recorded." in shown
    assert db.scalars(select(OutreachTask.reason)).all() == ["before_discharge"]
    event = db.scalars(select(ProgramEvent)).one()
    assert str(event.planned_for) == "2026-12-08"


def test_the_liaisons_task_page_reads_the_before_discharge_script(
    client: FlaskClient, db: Session, colorado: World
) -> None:
    _post_event(
        client, _token(db, colorado, "facilitator"), colorado,
        {"type": "discharge_planned", "discharge_on": "2026-12-08"},
    )  # fmt: skip
    task = db.scalars(select(OutreachTask)).one()
    # A first name the script may say ("liaison-4" would be refused as an identifying word).
    advocate = make_user(db, Role.LIAISON, [colorado.home], now=NOW, username="dana.advocate")
    log_in(client, advocate)
    post(client, f"/tasks/{task.id}/claim")

    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)

    assert "Before discharge" in page
    assert "the program is planning for your partner or former partner to leave it soon" in page
    assert "Current status: enrolled" in page  # S13: his real status, not the plan
