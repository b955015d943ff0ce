"""Issue 22 item 5 (part): the supervisor picks a liaison by name, reads charts labelled in
words, and sees what a correction corrected; never an internal id or name."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.models import Attempt
from outreach.runtime import runtime
from outreach.services.attempts import attempt_log, closing
from tests.conftest import NOW
from tests.factories import World
from tests.functional.web import log_in, open_tasks, post


def _attempt(app: Flask, db: Session, world: World) -> Attempt:
    task = open_tasks(app, db, world, NOW - timedelta(days=3))[0]
    return attempt_log.record_attempt(
        db,
        runtime(app).vault,
        actor=world.actor("liaison"),
        task_id=task.id,
        channel="voice",
        at=NOW - timedelta(days=1),
        outcome="no_answer",
        now=NOW,
    )


def test_the_supervisor_filters_the_log_by_the_liaisons_name(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    _attempt(app, db, world)
    liaison = world.users["liaison"]
    log_in(client, world.users["supervisor"])
    page = client.get("/review/attempts").get_data(as_text=True)
    assert f'<option value="{liaison.id}" >{liaison.username}</option>' in page
    assert 'name="liaison" value=' not in page, "no box asking for an internal id"
    chosen = client.get(f"/review/attempts?liaison={liaison.id}").get_data(as_text=True)
    assert chosen.count('class="attempt-row"') == 1


def test_charts_are_labelled_in_words(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    open_tasks(app, db, world, NOW - timedelta(days=30), "duty_to_warn")
    log_in(client, world.users["supervisor"])
    page = client.get("/review/compliance").get_data(as_text=True)
    labels = re.findall(r"<text[^>]*>([^<]*)</text>", page)
    assert "duty to warn" in labels
    assert not [label for label in labels if "_" in label]


def test_the_task_page_names_the_attempt_a_correction_corrects(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    old = _attempt(app, db, world)
    log_in(client, world.users["supervisor"])
    post(client, f"/review/attempts/{old.id}/correction", {"outcome": "busy"})
    fixed = db.scalar(select(Attempt).where(Attempt.corrects_id == old.id))
    assert fixed is not None
    page = client.get(f"/tasks/{old.task_id}").get_data(as_text=True)
    assert "<td>no answer of Mon 16 Nov 15:00</td>" in page
    assert old.id.hex[:8] not in page


def test_a_sign_off_links_to_the_attempts_it_rests_on(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    first = _attempt(app, db, world)
    attempt_log.record_attempt(
        db,
        runtime(app).vault,
        actor=world.actor("liaison"),
        task_id=first.task_id,
        channel="voice",
        at=NOW - timedelta(hours=2),
        outcome="no_answer",
        now=NOW,
    )
    actor = world.actor("liaison")
    closing.close_task(db, actor=actor, task_id=first.task_id, resolution="unreachable", now=NOW)
    log_in(client, world.users["supervisor"])
    page = client.get("/review/sign-offs").get_data(as_text=True)
    assert f'href="/tasks/{first.task_id}#attempts-heading"' in page
    task = client.get(f"/tasks/{first.task_id}").get_data(as_text=True)
    assert 'id="attempts-heading"' in task


def test_the_attempt_log_shows_each_attempt_in_its_programs_time(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    # Issue 22 item 5: 2026-11-16 20:00 UTC is 15:00 in New York, as on the task page.
    _attempt(app, db, world)
    log_in(client, world.users["supervisor"])
    page = client.get("/review/attempts").get_data(as_text=True)
    assert '<td>2026-11-16 15:00 <span class="zone">New York time</span></td>' in page
    assert "UTC" not in page.split("<tbody>")[1].split("</tbody>")[0]
