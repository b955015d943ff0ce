"""A facilitator records a cancelled class and sees only that it was recorded (S7), from the
group page or the API, whether or not any partner was then due a call."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.models import OutreachTask
from outreach.security.vault import Vault
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import tokens
from tests.conftest import NOW
from tests.factories import World, make_group, make_participant
from tests.functional.web import log_in, post


def _tasks(db: Session) -> list[str]:
    return list(db.scalars(select(OutreachTask.reason)))


def test_the_facilitators_page_says_only_that_the_class_is_cancelled(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    # world: a Georgia program whose group has a participant with a consenting contact.
    log_in(client, world.users["facilitator"])
    answer = post(client, f"/groups/{world.group.id}/cancellations", {"date": "2026-11-24"})
    page = client.get(answer.headers["Location"]).get_data(as_text=True)  # type: ignore[attr-defined]
    assert "The session is cancelled; it will not be used as a call window." in page
    for word in ("contact", "task", "partner", "call her", "Avery"):
        assert word not in page.split("<main", 1)[1].split("</form>", 1)[0]
    assert _tasks(db) == ["class_cancelled"]  # seeds/001, Georgia: opened by itself


def test_the_api_answers_a_cancellation_the_same_whether_or_not_anyone_is_due_a_call(
    client: FlaskClient, db: Session, vault: Vault, world: World
) -> None:
    token = tokens.issue_token(
        db,
        username=world.users["facilitator"].username,
        days=90,
        now=NOW,
        actor=SYSTEM,
    ).token
    empty = make_group(db, world.home, now=NOW, name="Thursday")
    make_participant(db, empty, now=NOW)  # a participant with no contact on file
    answers = []
    for group in (world.group, empty):
        response = client.post(
            f"/api/v1/groups/{group.id}/cancellations",
            json={"date": "2026-11-24", "reason": "Holiday"},
            headers={"Authorization": f"Bearer {token}"},
        )
        answers.append((response.status_code, sorted(response.get_json())))
    assert answers == [(201, ["id"]), (201, ["id"])]
    assert _tasks(db) == ["class_cancelled"]
    # The same cancellation again: the same answer, nothing new opened.
    again = client.post(
        f"/api/v1/groups/{world.group.id}/cancellations",
        json={"date": "2026-11-24", "reason": "Holiday"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert again.status_code == 201
    assert _tasks(db) == ["class_cancelled"]
