"""Migration 0009 gives API tokens an expiry, and leaves the ones issued before it without one.

It runs on a database of the test's own: the test downgrades and upgrades the real schema.
"""

from __future__ import annotations

import os
from datetime import timedelta

from alembic import command
from sqlalchemy import Connection, Engine, inspect, text

from outreach.db import alembic_config, migrate, schema_change
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import tokens, users
from tests.conftest import NOW
from tests.sessions import app_sessions

OPERATOR = "prog.system"


def _columns(connection: Connection) -> set[str]:
    return {c["name"] for c in inspect(connection).get_columns("api_token")}


def test_tokens_issued_before_the_upgrade_keep_working_without_an_expiry(
    own_engine: Engine,
) -> None:
    sessions = app_sessions(own_engine, audit_key=os.urandom(32))
    with sessions() as db:
        users.add_user(
            db,
            username=OPERATOR,
            role="facilitator",
            password=None,
            program_keys=[],
            now=NOW,
            actor=SYSTEM,
        )
        token = tokens.issue_token(db, username=OPERATOR, days=1, now=NOW, actor=SYSTEM).token
    with schema_change(own_engine) as connection:
        command.downgrade(alembic_config(connection), "0008")
        assert "expires_at" not in _columns(connection)

    migrate(own_engine)

    with own_engine.begin() as connection:
        assert "expires_at" in _columns(connection)
        kept = connection.execute(text("SELECT expires_at FROM api_token")).scalars().all()
    assert kept == [None]
    with sessions() as db:
        user = tokens.token_user(db, token, now=NOW + timedelta(days=3 * 366))
        assert user is not None
        assert user.username == OPERATOR
