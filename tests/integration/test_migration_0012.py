"""Migration 0012 flags the attempts logged before it as S14 would have (issue 21 finding 2).

It runs on a database of the test's own: the test downgrades and upgrades the real schema.
"""

from __future__ import annotations

import os
import uuid
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from outreach.db import alembic_config, migrate, schema_change
from outreach.domain.protocols.loading import load_profiles
from outreach.security.crypto import IndexKeyring, Keyring
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log
from outreach.services.intake.programs import PROTOCOLS_DIR
from outreach.services.supervision import corrections
from outreach.settings_secrets import DataKey
from tests.conftest import NOW
from tests.factories import build_world, make_safe_check_delivery, report_event
from tests.sessions import app_sessions


def _seed(engine: Engine) -> dict[str, uuid.UUID]:
    """A task opened two days ago: a call logged as it happened, one entered days after and
    before the task opened, its correction, and a call the service settled."""
    vault = Vault(
        Keyring((DataKey("t1", os.urandom(32)),)), IndexKeyring((DataKey("i1", os.urandom(32)),))
    )
    with app_sessions(engine, audit_key=os.urandom(32))() as db:
        world = build_world(db, vault, now=NOW - timedelta(days=2))
        [task] = report_event(
            db, load_profiles(PROTOCOLS_DIR), world, "enrolled", now=NOW - timedelta(days=2)
        )
        liaison = world.actor("liaison")

        def attempt(at_days: float, **extra: object) -> uuid.UUID:
            at = NOW - timedelta(days=at_days)
            return attempt_log.record_attempt(
                db, None, actor=liaison, task_id=task.id, channel="voice", at=at,
                outcome="no_answer", now=NOW, **extra,  # type: ignore[arg-type]
            ).id  # fmt: skip

        timely = attempt(0.5)
        late = attempt(3, entry=attempt_log.Entry(reason="from the paper log"))
        fixed = corrections.correct_attempt(
            db, actor=world.actor("supervisor"), attempt_id=late, outcome="busy", now=NOW
        ).id
        settled = attempt(0.25)
        delivery = make_safe_check_delivery(db, task, now=NOW)
        delivery.attempt_id = settled
        db.commit()
        return {"timely": timely, "late": late, "fixed": fixed, "settled": settled}


def _columns(connection: Connection) -> dict[uuid.UUID, tuple[str, str]]:
    rows = connection.execute(text("SELECT id, flags, entered_via FROM attempt"))
    return {uuid.UUID(str(i)): (flags, via) for i, flags, via in rows}


def _refuses_rewrites(connection: Connection) -> None:
    savepoint = connection.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        connection.execute(text("UPDATE attempt SET outcome = 'busy'"))
    savepoint.rollback()


def test_attempts_logged_before_the_migration_are_flagged_as_they_would_be_now(
    own_engine: Engine,
) -> None:
    made = _seed(own_engine)
    with schema_change(own_engine) as connection:
        command.downgrade(alembic_config(connection), "0011")
        assert "flags" not in {c["name"] for c in inspect(connection).get_columns("attempt")}
        names = {c["name"] for c in inspect(connection).get_columns("outreach_task")}
        assert "reopened_at" not in names
        _refuses_rewrites(connection)  # the log stays append-only on the way down
    migrate(own_engine)
    with own_engine.begin() as connection:
        found = _columns(connection)
        _refuses_rewrites(connection)  # and on the way up
    assert found[made["timely"]] == ("", "unknown")
    assert found[made["late"]] == ("before_task_opened entered_late", "unknown")
    # A correction's lateness is the call's: it was entered as late as the entry it corrects.
    assert found[made["fixed"]] == ("before_task_opened entered_late", "unknown")
    assert found[made["settled"]] == ("", "webhook")
