"""Issue 22 item 5: a supervisor signs off an unreachable closure with a comment, kept with the
sign-off and withdrawn with it; the compliance and sign-off pages show every time in the
task's program zone, named beside it (as the attempt log does), never a bare UTC time."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from outreach.models import OutreachTask
from outreach.runtime import runtime
from outreach.services.attempts import attempt_log, closing
from outreach.services.scheduling import queue
from outreach.services.supervision import corrections, sign_offs
from tests.conftest import NOW
from tests.factories import World
from tests.functional.web import log_in, open_tasks, post

COMMENT = "Two evenings a week apart, both in group time; fine to close."


def _closed_unreachable(app: Flask, db: Session, world: World) -> OutreachTask:
    task = open_tasks(app, db, world, NOW - timedelta(days=3))[0]
    for hours in (48, 2):  # two days apart: two different windows (S5)
        attempt_log.record_attempt(
            db,
            runtime(app).vault,
            actor=world.actor("liaison"),
            task_id=task.id,
            channel="voice",
            at=NOW - timedelta(hours=hours),
            outcome="no_answer",
            now=NOW,
            entry=attempt_log.Entry(reason="entered from the paper log"),  # S14: two days late
        )
    return closing.close_task(
        db, actor=world.actor("liaison"), task_id=task.id, resolution="unreachable", now=NOW
    )


def _body(page: str, heading: str) -> str:
    return page.split(f'id="{heading}"')[1].split("</table>")[0]


def test_a_sign_off_keeps_its_comment_and_shows_it_in_program_time(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = _closed_unreachable(app, db, world)
    log_in(client, world.users["supervisor"])
    waiting = client.get("/review/sign-offs").get_data(as_text=True)
    assert 'name="comment"' in waiting
    assert "Comment (optional; no names or numbers)" in waiting
    # NOW is 2026-11-17 20:00 UTC: 15:00 in New York, the program's zone.
    assert '2026-11-17 15:00 <span class="zone">New York time</span>' in waiting
    assert "UTC" not in waiting.split("<main")[1]

    done = post(client, f"/review/tasks/{task.id}/sign-off", {"comment": f"  {COMMENT} "})
    assert done.status_code == 302  # type: ignore[attr-defined]
    db.expire_all()
    signed = db.get(OutreachTask, task.id)
    assert signed is not None
    assert signed.sign_off_comment == COMMENT
    page = client.get("/review/sign-offs").get_data(as_text=True)
    assert "Signed off." in page
    assert 'role="status"' in page
    lately = _body(page, "signed-off")
    assert COMMENT in lately
    assert world.users["supervisor"].username in lately
    assert queue.reference(task.contact_id) in lately
    assert f'href="/tasks/{task.id}#attempts-heading"' in lately
    assert '2026-11-17 15:00 <span class="zone">New York time</span>' in lately


def test_a_comment_too_long_is_refused_and_nothing_is_signed_off(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = _closed_unreachable(app, db, world)
    log_in(client, world.users["supervisor"])
    refused = post(client, f"/review/tasks/{task.id}/sign-off", {"comment": "x" * 301})
    assert refused.status_code == 422  # type: ignore[attr-defined]
    db.expire_all()
    assert db.get(OutreachTask, task.id).signed_off_by is None  # type: ignore[union-attr]


def test_a_correction_that_reopens_the_task_withdraws_the_sign_off_and_its_comment(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = _closed_unreachable(app, db, world)
    sign_offs.sign_off(
        db, actor=world.actor("supervisor"), task_id=task.id, now=NOW, comment=COMMENT
    )
    [first, _second] = attempt_log.standing_attempts(db, task.id)
    # S14: one of the two attempts was in fact a safe conversation: the closure loses its basis.
    corrections.correct_attempt(
        db, actor=world.actor("supervisor"), attempt_id=first.id, outcome="reached_safe", now=NOW
    )
    db.expire_all()
    reopened = db.get(OutreachTask, task.id)
    assert reopened is not None
    assert (reopened.status, reopened.signed_off_by, reopened.sign_off_comment) == (
        "open",
        None,
        None,
    )
    log_in(client, world.users["supervisor"])
    page = client.get("/review/sign-offs").get_data(as_text=True)
    assert COMMENT not in page
    assert (
        '<span class="zone">New York time</span></td><td data-label="Status now">open</td>' in page
    )


def test_the_compliance_page_shows_times_in_the_programs_zone(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = open_tasks(app, db, world, NOW)[0]
    attempt_log.record_attempt(  # S14: before the task opened, so flagged with its reason
        db,
        runtime(app).vault,
        actor=world.actor("liaison"),
        task_id=task.id,
        channel="voice",
        at=NOW - timedelta(days=1),
        outcome="no_answer",
        now=NOW,
        entry=attempt_log.Entry(reason="entered from the paper log"),
    )
    log_in(client, world.users["supervisor"])
    page = client.get("/review/compliance").get_data(as_text=True)
    flagged = _body(page, "flagged-attempts")
    # 2026-11-16 20:00 UTC happened, entered at NOW: 15:00 both days in New York.
    happened = '<td data-label="Happened">2026-11-16 15:00 <span class="zone">New York time'
    entered = '<td data-label="Entered">2026-11-17 15:00 <span class="zone">New York time'
    assert happened in flagged
    assert entered in flagged
    assert "UTC" not in page.split("<main")[1]
