"""The task page follows the liaison's call as it happens (issue 22 item 2): her phone ringing,
her "press 1", the contact's phone, then a person (asked for the outcome, the form filled in
with what the call told us), a machine, no answer or busy. The simulator plays Twilio's side
realistically: callbacks shuffled and repeated (issue 24). S3: a machine is never taken for a
person; S14: a person's call asks for its outcome; S10: no number or name in the answer."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.channels.simulator import SimulatorChannel
from outreach.channels.simulator_scenarios import ScriptedScenario
from outreach.models import Attempt, Delivery, OutreachTask
from outreach.security.vault import Vault
from outreach.services.contact_persons import contacts
from outreach.services.delivery import inbox
from outreach.services.delivery.outward import Outward
from tests.conftest import NOW
from tests.factories import World, build_world
from tests.functional.conftest import LIAISON_PHONE
from tests.functional.web import log_in, post


@pytest.fixture
def world(db: Session, vault: Vault) -> World:
    # His record predates the task by a month: no event may be dated before it (S4).
    return build_world(db, vault, now=NOW - timedelta(days=30))


def _call(client: FlaskClient, world: World, intake: OutreachTask, db: Session) -> Delivery:
    log_in(client, world.users["liaison"])
    post(client, f"/tasks/{intake.id}/claim")
    placed = post(client, f"/tasks/{intake.id}/call", {"outside_window": "yes"})
    assert placed.status_code == 302  # type: ignore[attr-defined]
    call = db.scalar(select(Delivery).where(Delivery.task_id == intake.id))
    assert call is not None, "the call was placed"
    return call


def _progress(client: FlaskClient, intake: OutreachTask, call: Delivery) -> dict[str, object]:
    response = client.get(f"/tasks/{intake.id}/calls/{call.id}/progress")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    found: dict[str, object] = response.get_json()
    return found


def _section(page: str) -> str:
    return page.split('class="card call-progress"')[1].split("</section>")[0]


def test_a_call_a_person_answers_is_followed_and_asks_for_its_outcome_filled_in(
    client: FlaskClient,
    db: Session,
    vault: Vault,
    world: World,
    out: Outward,
    simulator: SimulatorChannel,
    scenario: ScriptedScenario,
    intake: OutreachTask,
) -> None:
    call = _call(client, world, intake, db)
    page = client.get(f"/tasks/{intake.id}").get_data(as_text=True)
    following = _section(page)
    assert "Your phone is ringing. Answer it." in following
    assert 'role="status"' in following
    assert re.search(r'<form[^>]*class="grid call-outcome" hidden>', following)
    assert "call_progress.js" in following  # a same-origin script: the CSP allows no inline code
    assert "<script>" not in page
    before = _progress(client, intake, call)
    assert (before["stage"], before["finished"], before["asks_outcome"]) == (
        "ringing_you",
        False,
        False,
    )

    simulator.run_pending()  # the scenario's default: a person answers and presses 1
    answered = _progress(client, intake, call)
    assert answered["stage"] == "person"
    assert answered["asks_outcome"] is True
    assert answered["finished"] is True  # nothing more to follow: the form takes over
    assert answered["answered_at"] == "2026-11-17T15:00"  # her wall clock (New York)
    details = contacts.reveal_contact(
        db,
        vault,
        actor=world.actor("liaison"),
        contact_id=world.contact.id,
        now=NOW,
        purpose="test",
    )
    body = client.get(f"/tasks/{intake.id}/calls/{call.id}/progress").get_data(as_text=True)
    for private in (details.phone, details.name, LIAISON_PHONE):  # S10
        assert private not in body

    page = client.get(f"/tasks/{intake.id}").get_data(as_text=True)
    following = _section(page)
    assert "A person answered and you are put through." in following
    assert re.search(r'<form[^>]*class="grid call-outcome">', following)  # shown at once
    assert 'name="at" type="datetime-local" value="2026-11-17T15:00"' in following
    assert f'name="call" value="{call.id}"' in following
    # S6: how it went is the liaison's deliberate choice, never a default "safe".
    assert '<option value="">Choose: was it safe to talk?</option>' in following
    assert "A person answered the call of" not in page  # asked once, in the followed call

    answer = {"call": str(call.id), "channel": "voice", "outcome": "reached_not_safe"}
    answer["at"] = "2026-11-17T15:00"
    assert post(client, f"/tasks/{intake.id}/attempts", answer).status_code == 302  # type: ignore[attr-defined]
    db.expire_all()
    attempt = db.scalar(select(Attempt).where(Attempt.task_id == intake.id))
    assert attempt is not None
    assert (attempt.outcome, attempt.at, attempt.channel) == ("reached_not_safe", NOW, "voice")
    assert db.get(Delivery, call.id).attempt_id == attempt.id  # type: ignore[union-attr]
    assert "call-progress" not in client.get(f"/tasks/{intake.id}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("answer", "stage", "words"),
    [
        ("machine", "machine", "ended in silence"),
        ("no-answer", "no_answer", "Her phone was not answered."),
        ("busy", "busy", "Her line was busy."),
    ],
)
def test_a_call_no_person_answers_is_followed_to_its_end_and_asks_nothing(
    client: FlaskClient,
    db: Session,
    world: World,
    out: Outward,
    simulator: SimulatorChannel,
    scenario: ScriptedScenario,
    intake: OutreachTask,
    answer: str,
    stage: str,
    words: str,
) -> None:
    scenario.calls.append(answer)  # the simulator draws the call's story as it is placed
    call = _call(client, world, intake, db)
    simulator.run_pending()
    for _applied in (False, True):  # before the inbox applier ran, and after (issue 24)
        found = _progress(client, intake, call)
        assert (found["stage"], found["finished"], found["asks_outcome"]) == (stage, True, False)
        assert words in str(found["words"])
        page = client.get(f"/tasks/{intake.id}").get_data(as_text=True)
        assert re.search(r'<form[^>]*class="grid call-outcome" hidden>', _section(page))
        inbox.drain(db, NOW)


def test_a_call_the_liaison_never_confirms_dials_no_one_and_says_so(
    client: FlaskClient,
    db: Session,
    world: World,
    out: Outward,
    simulator: SimulatorChannel,
    scenario: ScriptedScenario,
    intake: OutreachTask,
) -> None:
    scenario.liaison_keys.append("")  # the liaison's own voicemail answered: no 1 (S3, S9)
    call = _call(client, world, intake, db)
    simulator.run_pending()
    found = _progress(client, intake, call)
    assert found["stage"] == "not_placed"
    assert "her number was never dialled" in str(found["words"])


def test_only_staff_of_the_task_s_program_may_follow_its_call(
    app: Flask,
    client: FlaskClient,
    db: Session,
    world: World,
    out: Outward,
    intake: OutreachTask,
) -> None:
    call = _call(client, world, intake, db)
    outsider = app.test_client()
    log_in(outsider, world.users["outsider"])
    assert outsider.get(f"/tasks/{intake.id}/calls/{call.id}/progress").status_code == 403
    assert app.test_client().get(f"/tasks/{intake.id}/calls/{call.id}/progress").status_code == 302
    other_task = f"/tasks/{world.home.id}/calls/{call.id}/progress"  # not a task: no such call
    assert client.get(other_task).status_code == 404
