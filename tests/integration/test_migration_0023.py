"""Migration 0023 goes down and up again on the real schema: a program's own language (S12)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection, Engine, inspect

from outreach.db import alembic_config, migrate, schema_change


def _columns(connection: Connection) -> set[str]:
    return {c["name"] for c in inspect(connection).get_columns("program")}


def test_a_programs_language_comes_and_goes_with_its_migration(own_engine: Engine) -> None:
    with schema_change(own_engine) as connection:
        assert "language" in _columns(connection)
        command.downgrade(alembic_config(connection), "0024")
        assert "language" not in _columns(connection)

    migrate(own_engine)

    with own_engine.begin() as connection:
        assert "language" in _columns(connection)
