"""Migration 0008 gives attempts logged before it their day in the contact's own zone (S5).

It runs on a database of the test's own: the test downgrades and upgrades the real schema.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, date, datetime

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError

from outreach.db import alembic_config, migrate, schema_change
from outreach.domain.protocols.loading import load_profiles
from outreach.security.crypto import IndexKeyring, Keyring
from outreach.security.vault import Vault
from outreach.services.attempts import attempt_log
from outreach.services.contact_persons import her_word
from outreach.services.intake.programs import PROTOCOLS_DIR
from outreach.settings_secrets import DataKey
from tests.conftest import NOW
from tests.factories import build_world, make_contact, report_event
from tests.sessions import app_sessions

# Tuesday's group session (19:00 New York), then Wednesday 19:05 New York (00:05 UTC
# Thursday), then Wednesday 22:30 Los Angeles (06:30 UTC Thursday, 01:30 in New York).
IN_SESSION = datetime(2026, 11, 18, 0, 0, tzinfo=UTC)
NEW_YORK_EVENING = datetime(2026, 11, 19, 0, 5, tzinfo=UTC)
LOS_ANGELES_NIGHT = datetime(2026, 11, 19, 6, 30, tzinfo=UTC)


def _seed(engine: Engine) -> dict[str, uuid.UUID]:
    """Log three attempts: one in group time, one each for a New York and a moved contact."""
    vault = Vault(
        Keyring((DataKey("t1", os.urandom(32)),)), IndexKeyring((DataKey("i1", os.urandom(32)),))
    )
    with app_sessions(engine, audit_key=os.urandom(32))() as db:
        world = build_world(db, vault, now=NOW)
        liaison = world.actor("liaison")
        moved = make_contact(
            db, vault, world.participant, now=NOW, phone="404-555-0178", timezone="America/Chicago"
        )
        her_word.change_preferences(  # the newest version's zone is the one that counts
            db,
            actor=liaison,
            contact_id=moved.id,
            changes={"timezone": "America/Los_Angeles"},
            now=NOW,
        )
        opened = report_event(db, load_profiles(PROTOCOLS_DIR), world, "enrolled", now=NOW)
        task_of = {t.contact_id: t.id for t in opened}

        def attempt(contact_id: uuid.UUID, at: datetime) -> uuid.UUID:
            return attempt_log.record_attempt(
                db, None, actor=liaison, task_id=task_of[contact_id], channel="voice", at=at,
                outcome="no_answer", now=at,
            ).id  # fmt: skip

        return {
            "in_session": attempt(world.contact.id, IN_SESSION),
            "new_york": attempt(world.contact.id, NEW_YORK_EVENING),
            "los_angeles": attempt(moved.id, LOS_ANGELES_NIGHT),
        }


def _window_days(connection: Connection) -> dict[uuid.UUID, date | None]:
    rows = connection.execute(text("SELECT id, window_day FROM attempt"))
    return {uuid.UUID(str(i)): _as_date(day) for i, day in rows}


def _as_date(value: object) -> date | None:
    if isinstance(value, str):  # SQLite hands back the ISO text
        return date.fromisoformat(value)
    assert value is None or isinstance(value, date)
    return value


def _refuses_rewrites(connection: Connection) -> None:
    savepoint = connection.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        connection.execute(text("UPDATE attempt SET outcome = 'busy'"))
    savepoint.rollback()


def test_the_backfill_gives_each_attempt_outside_group_time_its_local_day(
    own_engine: Engine,
) -> None:
    made = _seed(own_engine)
    with schema_change(own_engine) as connection:
        command.downgrade(alembic_config(connection), "0007")
        assert "window_day" not in {c["name"] for c in inspect(connection).get_columns("attempt")}
        _refuses_rewrites(connection)  # the log stays append-only without the column too
    migrate(own_engine)
    with own_engine.begin() as connection:
        days = _window_days(connection)
        _refuses_rewrites(connection)
    assert days[made["in_session"]] is None  # counted by its session
    assert days[made["new_york"]] == date(2026, 11, 18)  # the program's zone, not UTC's 19th
    assert days[made["los_angeles"]] == date(2026, 11, 18)  # the newest preferences' zone
