"""Migration 0024 goes down and up again on the real schema: whether she asked for status
updates (issue 20 item 8) on each preferences version, "no" for every version before it."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection, Engine, inspect

from outreach.db import alembic_config, migrate, schema_change


def _columns(connection: Connection) -> dict[str, dict[str, object]]:
    return {c["name"]: dict(c) for c in inspect(connection).get_columns("contact_preferences")}


def test_her_wish_for_updates_comes_and_goes_with_its_migration(own_engine: Engine) -> None:
    with schema_change(own_engine) as connection:
        assert "updates" in _columns(connection)
        command.downgrade(alembic_config(connection), "0022")
        assert "updates" not in _columns(connection)

    migrate(own_engine)

    with own_engine.begin() as connection:
        column = _columns(connection)["updates"]
        assert column["nullable"] is False
        assert column["default"] is not None  # versions recorded before say no
