"""The supervisor's review: log, CSV export (audited, no contact data), sign-off, corrections."""

from __future__ import annotations

import csv
import io
from datetime import UTC, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.models import Attempt, AuditEvent, OutreachTask, User
from outreach.runtime import runtime
from outreach.services.attempts import attempt_log, closing
from outreach.services.scheduling.queue import reference
from outreach.services.supervision import attempt_export
from tests.conftest import NOW
from tests.factories import World
from tests.functional.web import log_in, open_tasks, post


def _two_attempts_and_close(app: Flask, db: Session, world: World) -> OutreachTask:
    task = open_tasks(app, db, world, NOW)[0]
    actor = world.actor("liaison")
    for days in (7, 1):
        attempt_log.record_attempt(
            db,
            runtime(app).vault,
            actor=actor,
            task_id=task.id,
            channel="voice",
            at=NOW - timedelta(days=days),
            outcome="no_answer",
            now=NOW,
            notes="left no message",
            # S14: days ago, before the task opened: entered from the paper log, and flagged.
            entry=attempt_log.Entry(reason="entered from the paper log"),
        )
    return closing.close_task(db, actor=actor, task_id=task.id, resolution="unreachable", now=NOW)


def test_the_log_shows_attempts_by_reference_and_filters_by_outcome(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    _two_attempts_and_close(app, db, world)
    log_in(client, world.users["supervisor"])
    page = client.get("/review/attempts").get_data(as_text=True)
    assert page.count('class="attempt-row"') == 2
    assert reference(world.contact.id) in page
    assert "Avery" not in page
    none = client.get("/review/attempts?outcome=busy").get_data(as_text=True)
    assert 'class="attempt-row"' not in none


def test_a_liaison_cannot_read_the_log(client: FlaskClient, world: World) -> None:
    log_in(client, world.users["liaison"])
    assert client.get("/review/attempts").status_code == 403


def test_the_csv_export_is_audited_and_holds_no_name_number_or_note(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    _two_attempts_and_close(app, db, world)
    log_in(client, world.users["supervisor"])
    response = client.get("/review/attempts.csv")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert len(body.strip().splitlines()) == 3
    assert reference(world.contact.id) in body
    for secret in ("Avery", "4045550123", "555-0123", "left no message"):
        assert secret not in body
    exports = db.scalars(select(AuditEvent).where(AuditEvent.action == "review.attempts_exported"))
    assert len(list(exports)) == 1


def test_the_csv_export_reads_back_as_the_log_with_empty_cells_empty_and_formulas_quoted(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    # Issue 21 finding 11: a supervisor opens the export in a spreadsheet. A liaison whose
    # username starts with "-" must not become a formula; a missing session date or
    # correction stays an empty cell, not a lone quote.
    liaison = db.get(User, world.users["liaison"].id)
    assert liaison is not None
    liaison.username = "-lee.liaison"
    db.commit()
    task = _two_attempts_and_close(app, db, world)
    log_in(client, world.users["supervisor"])
    body = client.get("/review/attempts.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body, newline="")))
    attempts = db.scalars(
        select(Attempt).where(Attempt.task_id == task.id).order_by(Attempt.at.desc())
    ).all()
    assert [row["attempt"] for row in rows] == [str(a.id) for a in attempts]
    for row, attempt in zip(rows, attempts, strict=True):
        assert list(row) == list(attempt_export.CSV_COLUMNS)
        assert row["at_utc"] == attempt.at.astimezone(UTC).isoformat()
        assert row["liaison"] == "'-lee.liaison"
        assert row["outcome"] == "no_answer"
        assert row["contact_reference"] == reference(world.contact.id)
        assert row["session_date"] == ""
        assert row["corrects"] == ""


def test_a_supervisor_signs_off_an_unreachable_closure_once(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = _two_attempts_and_close(app, db, world)
    log_in(client, world.users["supervisor"])
    assert reference(world.contact.id) in client.get("/review/sign-offs").get_data(as_text=True)
    assert post(client, f"/review/tasks/{task.id}/sign-off").status_code == 302  # type: ignore[attr-defined]
    assert post(client, f"/review/tasks/{task.id}/sign-off").status_code == 409  # type: ignore[attr-defined]
    db.expire_all()
    signed = db.get(OutreachTask, task.id)
    assert signed is not None
    assert signed.signed_off_by == world.users["supervisor"].id


def test_a_correction_is_a_new_entry_pointing_to_the_old_one(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    task = _two_attempts_and_close(app, db, world)
    old = db.scalars(select(Attempt).where(Attempt.task_id == task.id)).first()
    assert old is not None
    log_in(client, world.users["supervisor"])
    post(client, f"/review/attempts/{old.id}/correction", {"outcome": "busy"})
    rows = list(db.scalars(select(Attempt).where(Attempt.task_id == task.id)))
    assert len(rows) == 3
    fixed = [a for a in rows if a.corrects_id == old.id]
    assert len(fixed) == 1
    assert fixed[0].outcome == "busy"
    assert db.get(Attempt, old.id).outcome == "no_answer"  # type: ignore[union-attr]


def test_the_compliance_page_draws_its_charts_and_counts_no_early_closure(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    _two_attempts_and_close(app, db, world)
    log_in(client, world.users["supervisor"])
    page = client.get("/review/compliance").get_data(as_text=True)
    assert '<p class="big">0</p>' in page
    assert page.count("<svg") == 4
