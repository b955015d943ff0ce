"""The schema: migrations match the models, times are UTC-aware, logs are append-only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session

from outreach.models import Attempt, AuditEvent, Base, OutreachTask
from outreach.services.records.audit import SYSTEM, AuditAction, record
from tests.conftest import NOW
from tests.factories import World


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
