"""Migration 0015 goes down and up again on the real schema: her rhythm (S13) on each
preferences version."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection, Engine, inspect

from outreach.db import alembic_config, migrate, schema_change


def _columns(connection: Connection) -> set[str]:
    return {c["name"] for c in inspect(connection).get_columns("contact_preferences")}


def test_her_rhythm_comes_and_goes_with_its_migration(own_engine: Engine) -> None:
    with schema_change(own_engine) as connection:
        assert "cadence" in _columns(connection)
        command.downgrade(alembic_config(connection), "0013")
        assert "cadence" not in _columns(connection)

    migrate(own_engine)

    with own_engine.begin() as connection:
        assert "cadence" in _columns(connection)
