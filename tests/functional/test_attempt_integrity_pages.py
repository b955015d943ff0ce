"""S14 as supervisors and liaisons live it, through the pages and the API (issue 21, findings
2, 3, 4 and 10): odd times need a reason and reach the dashboard, a correction that takes away
a closure's basis reopens the task, an answered call is asked for its outcome until it has one,
and the API works a task only under the caller's claim."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.channels.simulator import SimulatorChannel
from outreach.channels.simulator_scenarios import ScriptedScenario
from outreach.clock import FixedClock
from outreach.models import Attempt, AuditEvent, Delivery, OutreachTask
from outreach.runtime import runtime
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log, closing
from outreach.services.delivery import calls, inbox
from outreach.services.delivery.outward import Outward
from outreach.services.errors import Conflict
from outreach.services.records.audit import SYSTEM, AuditAction
from outreach.services.scheduling import queue
from outreach.services.scheduling.claims import claim_task
from outreach.services.staff import tokens
from tests.conftest import NOW
from tests.factories import World, build_world
from tests.functional.web import log_in, open_tasks, post

PAPER = "entered from the paper log after the outage"


@pytest.fixture
def world(db: Session, vault: Vault) -> World:
    """The personas, with a participant recorded a month ago: his tasks here open days
    before NOW, and no event may be dated before his record (S4, issue 19)."""
    return build_world(db, vault, now=NOW - timedelta(days=30))


def _token(db: Session, world: World, persona: str = "liaison") -> dict[str, str]:
    issued = tokens.issue_token(
        db, username=world.users[persona].username, days=90, now=NOW, actor=SYSTEM
    )
    return {"Authorization": f"Bearer {issued.token}"}


def _api_attempt(
    client: FlaskClient, headers: dict[str, str], task: OutreachTask, at: object, **extra: str
) -> object:
    body = {"channel": "voice", "at": at.isoformat(), "outcome": "no_answer", **extra}  # type: ignore[attr-defined]
    return client.post(f"/api/v1/tasks/{task.id}/attempts", json=body, headers=headers)


def _status(db: Session, task: OutreachTask) -> str:
    db.expire_all()
    found = db.get(OutreachTask, task.id)
    assert found is not None
    return found.status


# --- finding 2: back-dated attempts ---------------------------------------------------------


def test_two_attempts_entered_days_later_one_before_the_task_opened_reach_the_dashboard(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    """The program system enters two calls as of days earlier, one before the task even
    opened. Each is refused until it says why; then both are flagged, listed by the API with
    when and by whom they were entered, and shown on the supervisor's dashboard and CSV."""
    task = open_tasks(app, db, world, NOW - timedelta(days=2))[0]
    headers = _token(db, world)
    before_opened, days_ago = NOW - timedelta(days=3), NOW - timedelta(days=1, hours=6)
    for at in (before_opened, days_ago):
        refused = _api_attempt(client, headers, task, at)
        assert refused.status_code == 422  # type: ignore[attr-defined]
        assert refused.get_json()["fields"] == {"reason": "required"}  # type: ignore[attr-defined]
        assert _api_attempt(client, headers, task, at, reason=PAPER).status_code == 201  # type: ignore[attr-defined]

    listed = client.get(f"/api/v1/tasks/{task.id}/attempts", headers=headers).get_json()
    assert [(a["flags"], a["reason"]) for a in listed] == [
        (["before_task_opened", "entered_late"], PAPER),
        (["entered_late"], PAPER),
    ]
    for entry in listed:
        assert entry["entered_at"] == NOW.isoformat()
        assert entry["entered_by"] == str(world.users["liaison"].id)
        assert entry["entered_via"] == "api"

    log_in(client, world.users["supervisor"])
    dashboard = client.get("/review/compliance").get_data(as_text=True)
    assert dashboard.count('class="flagged-attempt"') == 2
    assert PAPER in dashboard
    exported = client.get("/review/attempts.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert sorted(r["flags"] for r in rows) == ["before_task_opened entered_late", "entered_late"]
    assert {r["entered_by"] for r in rows} == {world.users["liaison"].username}
    assert {r["entered_at_utc"] for r in rows} == {NOW.isoformat()}


def test_the_api_refuses_a_time_in_the_future_whatever_the_reason(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = open_tasks(app, db, world, NOW - timedelta(days=1))[0]
    answer = _api_attempt(client, _token(db, world), task, NOW + timedelta(hours=2), reason=PAPER)
    assert answer.status_code == 422  # type: ignore[attr-defined]
    assert answer.get_json()["fields"] == {"at": "in the future"}  # type: ignore[attr-defined]


def test_the_liaison_is_asked_why_and_keeps_what_she_typed(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = open_tasks(app, db, world, NOW - timedelta(days=1))[0]
    log_in(client, world.users["liaison"])
    post(client, f"/tasks/{task.id}/claim")
    typed = {"outcome": "busy", "channel": "voice", "at": "2026-11-14T18:00"}
    asked = post(client, f"/tasks/{task.id}/attempts", typed)
    assert asked.status_code == 422  # type: ignore[attr-defined]
    page = asked.get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Why is this attempt entered now?" in page
    assert 'name="at" value="2026-11-14T18:00"' in page
    assert db.scalar(select(Attempt).where(Attempt.task_id == task.id)) is None
    kept = post(client, f"/tasks/{task.id}/attempts", {**typed, "reason": PAPER})
    assert kept.status_code == 302  # type: ignore[attr-defined]
    attempt = db.scalars(select(Attempt).where(Attempt.task_id == task.id)).one()
    assert (attempt.flags, attempt.reason, attempt.entered_via) == (
        "before_task_opened entered_late",
        PAPER,
        "web",
    )
    shown = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "before task opened" in shown


# --- finding 3: corrections reopen ----------------------------------------------------------


def test_correcting_the_only_safe_conversation_reopens_the_task_and_tells_the_supervisor(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = open_tasks(app, db, world, NOW - timedelta(hours=3))[0]
    liaison = world.actor("liaison")
    safe = attempt_log.record_attempt(
        db, runtime(app).vault, actor=liaison, task_id=task.id, channel="voice",
        at=NOW - timedelta(hours=1), outcome="reached_safe", now=NOW,
    )  # fmt: skip
    closing.close_task(db, actor=liaison, task_id=task.id, resolution="completed", now=NOW)
    log_in(client, world.users["supervisor"])
    post(client, f"/review/attempts/{safe.id}/correction", {"outcome": "no_answer"})
    assert _status(db, task) == "open"
    dashboard = client.get("/review/compliance").get_data(as_text=True)
    section = dashboard.split('id="reopened"')[1].split("</section>")[0]
    assert queue.reference(task.contact_id) in section
    sign_offs = client.get("/review/sign-offs").get_data(as_text=True)
    assert sign_offs.count('class="reopened-task"') == 1
    assert queue.reference(task.contact_id) in sign_offs.split('id="reopened"')[1]


# --- finding 10: the API works under the claim ----------------------------------------------


def test_an_api_attempt_on_a_task_nobody_holds_claims_it_for_the_caller(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = open_tasks(app, db, world, NOW - timedelta(hours=1))[0]
    answer = _api_attempt(client, _token(db, world), task, NOW - timedelta(minutes=5))
    assert answer.status_code == 201  # type: ignore[attr-defined]
    db.expire_all()
    held = db.get(OutreachTask, task.id)
    assert held is not None
    assert held.claimed_by == world.users["liaison"].id
    assert held.claim_expires_at is not None
    assert held.claim_expires_at > NOW
    # A second liaison in the pages now finds it taken, as after a claim in the pages.
    with pytest.raises(Conflict):
        claim_task(db, actor=world.actor("supervisor"), task_id=task.id, now=NOW)


def test_a_refused_api_attempt_leaves_the_task_free_for_the_next_liaison(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = open_tasks(app, db, world, NOW - timedelta(days=2))[0]
    refused = _api_attempt(client, _token(db, world), task, NOW - timedelta(days=3))
    assert refused.status_code == 422  # type: ignore[attr-defined]
    db.expire_all()
    free = db.get(OutreachTask, task.id)
    assert free is not None
    assert free.claimed_by is None
    claim_task(db, actor=world.actor("supervisor"), task_id=task.id, now=NOW)


def test_an_api_close_on_a_task_another_liaison_holds_is_refused_and_one_nobody_holds_closes(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    held, free = open_tasks(app, db, world, NOW - timedelta(days=1), "enrolled") + open_tasks(
        app, db, world, NOW - timedelta(days=1), "class_cancelled"
    )
    claim_task(db, actor=world.actor("supervisor"), task_id=held.id, now=NOW)
    headers = _token(db, world)
    for task in (held, free):
        attempt_log.record_attempt(
            db, runtime(app).vault, actor=world.actor("supervisor") if task is held else
            world.actor("liaison"), task_id=task.id, channel="voice",
            at=NOW - timedelta(hours=2), outcome="reached_safe", now=NOW,
        )  # fmt: skip
    db.expire_all()
    free_row = db.get(OutreachTask, free.id)
    assert free_row is not None
    assert free_row.claimed_by is None
    body = {"resolution": "completed"}
    refused = client.post(f"/api/v1/tasks/{held.id}/close", json=body, headers=headers)
    assert refused.status_code == 409
    closed = client.post(f"/api/v1/tasks/{free.id}/close", json=body, headers=headers)
    assert closed.status_code == 200
    assert (_status(db, held), _status(db, free)) == ("open", "completed")
    # The close was made under a claim taken on the caller's behalf, audited as any claim.
    claims = db.scalars(
        select(AuditEvent.actor_id).where(
            AuditEvent.action == AuditAction.TASK_CLAIMED, AuditEvent.object_id == str(free.id)
        )
    ).all()
    assert claims == [world.users["liaison"].id]


# --- finding 4: an answered call ends in an outcome -----------------------------------------


def _answered_call(
    client: FlaskClient,
    db: Session,
    world: World,
    out: Outward,
    simulator: SimulatorChannel,
    scenario: ScriptedScenario,
    intake: OutreachTask,
) -> Delivery:
    log_in(client, world.users["liaison"])
    post(client, f"/tasks/{intake.id}/claim")
    scenario.calls.append("human")
    call = calls.request_bridged_call(
        db, out, actor=world.actor("liaison"), task_id=intake.id, now=NOW
    )
    simulator.run_pending()
    inbox.drain(db, NOW)
    db.expire_all()
    return call


def test_a_call_a_person_answered_is_asked_for_its_outcome_until_it_is_recorded(
    client: FlaskClient,
    db: Session,
    world: World,
    out: Outward,
    simulator: SimulatorChannel,
    scenario: ScriptedScenario,
    intake: OutreachTask,
) -> None:
    call = _answered_call(client, db, world, out, simulator, scenario, intake)
    # The liaison who placed it is asked in the call the page follows (issue 22 item 2).
    asking = "A person answered and you are put through. Safe to talk first; then record"
    assert asking in client.get(f"/tasks/{intake.id}").get_data(as_text=True)
    assert "answered call: record the outcome" in client.get("/queue").get_data(as_text=True)
    page = client.get(f"/tasks/{intake.id}").get_data(as_text=True)
    assert "Not yet: A person answered a call: record how it went first." in page
    sure = {"resolution": "unreachable", "confirm": "yes"}
    early = post(client, f"/tasks/{intake.id}/close", sure)
    refused = client.get(early.location).get_data(as_text=True)  # type: ignore[attr-defined]
    assert "The task is still open: a person answered a call on this task" in refused

    answer = {"call": str(call.id), "outcome": "reached_safe", "notes": "talked; safe"}
    assert post(client, f"/tasks/{intake.id}/attempts", answer).status_code == 302  # type: ignore[attr-defined]
    db.expire_all()
    settled = db.get(Delivery, call.id)
    assert settled is not None
    assert settled.attempt_id is not None
    attempt = db.get(Attempt, settled.attempt_id)
    assert attempt is not None
    assert (attempt.outcome, attempt.channel, attempt.at) == ("reached_safe", "voice", NOW)
    assert asking not in client.get(f"/tasks/{intake.id}").get_data(as_text=True)
    assert "answered call" not in client.get("/queue").get_data(as_text=True)


def test_an_answered_call_left_without_an_outcome_when_the_claim_ends_reaches_the_dashboard(
    client: FlaskClient,
    db: Session,
    world: World,
    out: Outward,
    simulator: SimulatorChannel,
    scenario: ScriptedScenario,
    intake: OutreachTask,
    clock: FixedClock,
) -> None:
    _answered_call(client, db, world, out, simulator, scenario, intake)
    log_in(client, world.users["supervisor"])
    within = client.get("/review/compliance").get_data(as_text=True)
    section = within.split('id="unrecorded-calls"')[1].split("</section>")[0]
    assert queue.reference(intake.contact_id) not in section
    clock.advance(minutes=31)  # the liaison's claim runs out with the outcome unrecorded
    log_in(client, world.users["supervisor"])  # a new sign-in: the idle session has ended
    after = client.get("/review/compliance").get_data(as_text=True)
    section = after.split('id="unrecorded-calls"')[1].split("</section>")[0]
    assert queue.reference(intake.contact_id) in section
    assert world.users["liaison"].username in section
