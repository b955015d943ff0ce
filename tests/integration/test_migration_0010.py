"""Migrations 0010 and 0011 go down and up again on the real schema: 0010 widens an inbound
text's SID for shared numbers, 0011 adds the queue of provider records to erase."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection, Engine, inspect, text

from outreach.db import alembic_config, migrate, schema_change


def _sid_length(connection: Connection) -> int | None:
    [column] = [
        c for c in inspect(connection).get_columns("inbound_message") if c["name"] == "provider_sid"
    ]
    return getattr(column["type"], "length", None)


def test_the_wider_inbound_sid_and_the_erasure_queue_come_and_go_with_their_migrations(
    own_engine: Engine,
) -> None:
    with schema_change(own_engine) as connection:
        assert _sid_length(connection) == 80
        command.downgrade(alembic_config(connection), "0009")
        assert _sid_length(connection) == 64
        assert "provider_erasure" not in inspect(connection).get_table_names()

    migrate(own_engine)

    with own_engine.begin() as connection:
        assert _sid_length(connection) == 80
        assert connection.execute(text("SELECT count(*) FROM provider_erasure")).scalar() == 0
