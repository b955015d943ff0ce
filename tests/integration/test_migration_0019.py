"""Migration 0019 goes down and up again on the real schema: the day a program event is
about (a planned discharge's `discharge_on`)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection, Engine, inspect

from outreach.db import alembic_config, migrate, schema_change


def _columns(connection: Connection) -> set[str]:
    return {c["name"] for c in inspect(connection).get_columns("program_event")}


def test_the_planned_day_comes_and_goes_with_its_migration(own_engine: Engine) -> None:
    with schema_change(own_engine) as connection:
        assert "planned_for" in _columns(connection)
        command.downgrade(alembic_config(connection), "0018")
        assert "planned_for" not in _columns(connection)

    migrate(own_engine)

    with own_engine.begin() as connection:
        assert "planned_for" in _columns(connection)
