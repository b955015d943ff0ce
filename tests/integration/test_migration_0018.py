"""Migration 0018 goes down and up again on the real schema: each program's on-call supervisor
and duty-to-warn target (S8), and an on-call notice's recipient, one notice per duty to warn."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection, Engine, inspect

from outreach.db import alembic_config, migrate, schema_change


def _columns(connection: Connection, table: str) -> set[str]:
    return {c["name"] for c in inspect(connection).get_columns(table)}


def _indexes(connection: Connection) -> set[str]:
    return {i["name"] or "" for i in inspect(connection).get_indexes("delivery")}


def test_the_on_call_settings_come_and_go_with_their_migration(own_engine: Engine) -> None:
    with schema_change(own_engine) as connection:
        assert {"on_call_supervisor_id", "duty_to_warn_target_minutes"} <= _columns(
            connection, "program"
        )
        assert "uq_delivery_on_call_notice" in _indexes(connection)
        command.downgrade(alembic_config(connection), "0017")
        assert "on_call_supervisor_id" not in _columns(connection, "program")
        assert "recipient_id" not in _columns(connection, "delivery")
        assert "uq_delivery_on_call_notice" not in _indexes(connection)

    migrate(own_engine)

    with own_engine.begin() as connection:
        assert "recipient_id" in _columns(connection, "delivery")
        assert "uq_delivery_on_call_notice" in _indexes(connection)
