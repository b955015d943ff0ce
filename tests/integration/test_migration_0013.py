"""Migration 0013 adds the address throttle's table, and goes down and up again cleanly.

It runs on a database of the test's own: the test downgrades and upgrades the real schema.
"""

from __future__ import annotations

from alembic import command
from sqlalchemy import Engine, inspect

from outreach.db import alembic_config, migrate, schema_change


def test_the_sign_in_failure_table_comes_and_goes_with_its_migration(own_engine: Engine) -> None:
    with schema_change(own_engine) as connection:
        assert "sign_in_failure" in inspect(connection).get_table_names()
        command.downgrade(alembic_config(connection), "0012")
        assert "sign_in_failure" not in inspect(connection).get_table_names()
    migrate(own_engine)
    with own_engine.begin() as connection:
        indexes = {i["name"] for i in inspect(connection).get_indexes("sign_in_failure")}
    assert indexes == {"ix_sign_in_failure_address_at", "ix_sign_in_failure_failed_at"}
