"""Migration 0022 goes down and up again on the real schema: her sealed safe mailing address
(issue 20 item 5)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection, Engine, inspect

from outreach.db import alembic_config, migrate, schema_change


def _columns(connection: Connection) -> set[str]:
    return {c["name"] for c in inspect(connection).get_columns("contact_person")}


def test_her_mailing_address_comes_and_goes_with_its_migration(own_engine: Engine) -> None:
    with schema_change(own_engine) as connection:
        assert "address_sealed" in _columns(connection)
        command.downgrade(alembic_config(connection), "0021")
        assert "address_sealed" not in _columns(connection)

    migrate(own_engine)

    with own_engine.begin() as connection:
        assert "address_sealed" in _columns(connection)
