"""The schema: migrations match the models, times are UTC-aware, logs are append-only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session

from outreach.domain.protocols.loading import load_profiles
from outreach.domain.vocabulary import TaskReason, TaskStatus
from outreach.models import Attempt, AuditEvent, Base, OutreachTask
from outreach.services.intake.programs import PROTOCOLS_DIR
from outreach.services.records.audit import SYSTEM, AuditAction, record
from tests.conftest import NOW
from tests.factories import World, report_event

PROFILES = load_profiles(PROTOCOLS_DIR)


def test_the_migrations_build_exactly_the_models(connection: Connection) -> None:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    assert compare_metadata(context, Base.metadata) == []


def test_a_naive_datetime_is_refused(db: Session) -> None:
    # The audit chain refuses it before the column type would (it MACs the UTC instant).
    with pytest.raises(ValueError, match="naive datetime refused"):
        record(db, now=datetime(2026, 11, 17, 12, 0), actor=SYSTEM, action=AuditAction.DEMO_SEEDED)


def test_the_column_type_refuses_a_naive_datetime_too(db: Session, world: World) -> None:
    world.home.created_at = datetime(2026, 11, 17, 12, 0)
    with pytest.raises(StatementError, match="naive datetime refused"):
        db.flush()


def test_times_come_back_in_utc_whatever_zone_they_went_in(db: Session) -> None:
    eastern = timezone(timedelta(hours=-5))
    event = record(
        db,
        now=datetime(2026, 11, 17, 7, 0, tzinfo=eastern),
        actor=SYSTEM,
        action=AuditAction.DEMO_SEEDED,
    )
    db.commit()
    db.expire_all()
    stored = db.scalar(select(AuditEvent.at).where(AuditEvent.seq == event.seq))
    assert stored == datetime(2026, 11, 17, 12, 0, tzinfo=UTC)
    assert stored is not None
    assert stored.tzinfo is not None


def _attempt(db: Session, world: World) -> Attempt:
    task = OutreachTask(
        program_id=world.home.id,
        contact_id=world.contact.id,
        reason="intake",
        channels=["voice"],
        opens_at=NOW,
        script="intake",
        due_by=NOW + timedelta(days=5),
        severity="routine",
        min_attempts=2,
        created_at=NOW,
    )
    db.add(task)
    db.flush()
    attempt = Attempt(
        task_id=task.id,
        channel="voice",
        at=NOW,
        outcome="no_answer",
        made_by=world.users["liaison"].id,
        recorded_at=NOW,
    )
    db.add(attempt)
    db.commit()
    return attempt


@pytest.mark.parametrize("change", ["update", "delete"])
def test_the_database_refuses_to_rewrite_an_attempt(db: Session, world: World, change: str) -> None:
    attempt = _attempt(db, world)
    statement = (
        update(Attempt).where(Attempt.id == attempt.id).values(outcome="reached_safe")
        if change == "update"
        else delete(Attempt).where(Attempt.id == attempt.id)
    )
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(statement)
    db.rollback()


def test_a_correction_is_a_new_attempt_pointing_to_the_old_one(db: Session, world: World) -> None:
    original = _attempt(db, world)
    correction = Attempt(
        task_id=original.task_id,
        channel="voice",
        at=original.at,
        outcome="busy",
        made_by=original.made_by,
        corrects_id=original.id,
        recorded_at=NOW + timedelta(minutes=5),
    )
    db.add(correction)
    db.commit()
    rows = db.scalars(select(Attempt).where(Attempt.task_id == original.task_id)).all()
    assert {(a.outcome, a.corrects_id) for a in rows} == {
        ("no_answer", None),
        ("busy", original.id),
    }


def test_the_database_refuses_to_rewrite_the_audit_log(db: Session) -> None:
    event = record(db, now=NOW, actor=SYSTEM, action=AuditAction.DEMO_SEEDED)
    db.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(update(AuditEvent).where(AuditEvent.seq == event.seq).values(action="x"))
    db.rollback()


def test_a_word_the_vocabulary_lacks_is_refused_before_it_is_written(
    db: Session, world: World
) -> None:
    # Issue 23 item 4: a task "closed" (a status the product does not have) would drop out of
    # every count that asks for open, completed or unreachable tasks without anyone noticing.
    [task] = report_event(db, PROFILES, world, "enrolled", now=NOW)
    task.status = "closed"  # type: ignore[assignment]
    with pytest.raises(StatementError, match="'closed' is not a valid TaskStatus"):
        db.flush()
    db.rollback()
    assert db.scalar(select(OutreachTask.status).where(OutreachTask.id == task.id)) == "open"


def test_a_stored_word_comes_back_as_its_vocabulary_member(db: Session, world: World) -> None:
    [task] = report_event(db, PROFILES, world, "enrolled", now=NOW)
    db.commit()
    db.expire_all()
    status = db.scalar(select(OutreachTask.status).where(OutreachTask.id == task.id))
    assert status is TaskStatus.OPEN
    assert isinstance(db.get_one(OutreachTask, task.id).reason, TaskReason)
