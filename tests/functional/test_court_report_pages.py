"""A court progress report reported from the program's system or the facilitator's group page
(issue 20 item 6; seeds/001, Caminar Latino: advocates "check in with victims before
submitting progress reports to the court"). Without its `report_date` it answers 422 naming
the field; the facilitator learns nothing of the check-in it opened (S7)."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.models import OutreachTask, ProgramEvent
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import tokens
from tests.conftest import NOW
from tests.factories import World
from tests.functional.web import log_in, post


def _post(client: FlaskClient, db: Session, world: World, body: dict[str, str]) -> object:
    token = tokens.issue_token(
        db,
        username=world.users["facilitator"].username,
        days=90,
        now=NOW,
        actor=SYSTEM,
    ).token
    return client.post(
        f"/api/v1/participants/{world.participant.id}/events",
        json={"type": "progress_report_due", "at": NOW.isoformat(), **body},
        headers={"Authorization": f"Bearer {token}"},
    )


def test_a_report_without_its_date_answers_422_naming_report_date(
    client: FlaskClient, db: Session, world: World
) -> None:
    answer = _post(client, db, world, {})

    assert answer.status_code == 422  # type: ignore[attr-defined]
    assert "report_date" in answer.get_json()["fields"]  # type: ignore[attr-defined]
    assert db.scalars(select(ProgramEvent)).all() == []


def test_a_report_with_its_date_opens_the_check_in_and_says_nothing_of_it(
    client: FlaskClient, db: Session, world: World
) -> None:
    answer = _post(client, db, world, {"report_date": "2026-12-10"})

    assert answer.status_code == 201  # type: ignore[attr-defined]
    assert sorted(answer.get_json()) == ["id"]  # type: ignore[attr-defined]
    assert db.scalars(select(OutreachTask.reason)).all() == ["progress_report_check_in"]


def test_the_group_page_takes_the_reports_day(
    client: FlaskClient, db: Session, world: World
) -> None:
    log_in(client, world.users["facilitator"])
    form = {"type": "progress_report_due", "severity": "routine", "group": str(world.group.id)}

    refused = post(client, f"/participants/{world.participant.id}/events", form)
    recorded = post(
        client, f"/participants/{world.participant.id}/events", {**form, "day": "2026-12-10"}
    )
    wrong = post(
        client, f"/participants/{world.participant.id}/events",
        {**form, "type": "level_change", "day": "2026-12-10"},
    )  # fmt: skip

    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert recorded.status_code == 302  # type: ignore[attr-defined]
    assert wrong.status_code == 422  # type: ignore[attr-defined]
    [event] = db.scalars(select(ProgramEvent)).all()
    assert str(event.planned_for) == "2026-12-10"
