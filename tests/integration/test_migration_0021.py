"""Migration 0021 goes down and up again on the real schema: the sign-off's comment (issue 22
item 5) and the index of attempts that asked for a callback (the queue's speed)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection, Engine, inspect

from outreach.db import alembic_config, migrate, schema_change


def _columns(connection: Connection) -> set[str]:
    return {c["name"] for c in inspect(connection).get_columns("outreach_task")}


def _indexes(connection: Connection) -> set[str]:
    return {i["name"] for i in inspect(connection).get_indexes("attempt") if i["name"]}


def test_the_sign_off_comment_comes_and_goes_with_its_migration(own_engine: Engine) -> None:
    with schema_change(own_engine) as connection:
        assert "sign_off_comment" in _columns(connection)
        assert "ix_attempt_callback" in _indexes(connection)
        assert "ix_attempt_callback" in _indexes(connection)
        command.downgrade(alembic_config(connection), "0019")
        assert "sign_off_comment" not in _columns(connection)
        assert "ix_attempt_callback" not in _indexes(connection)

    migrate(own_engine)

    with own_engine.begin() as connection:
        assert "sign_off_comment" in _columns(connection)
        assert "ix_attempt_callback" in _indexes(connection)
