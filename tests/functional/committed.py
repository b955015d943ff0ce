"""The check that nothing a request did is left open afterwards (issue 21 finding 1), for the
`committed` application of tests/functional/conftest.py."""

from __future__ import annotations

import os
import sqlite3

from sqlalchemy import text

from outreach.runtime import Runtime

# Its own name per test process: runs sharing one server never read each other's sessions.
APP_NAME = f"outreach_export_test_{os.getpid()}"


def nothing_left_open(rt: Runtime) -> None:
    """No pooled connection is out, and (SQLite) another process can take the write lock."""
    assert rt.engine.pool.checkedout() == 0, "a response left a connection checked out"
    if rt.engine.dialect.name == "sqlite":
        other = sqlite3.connect(str(rt.engine.url.database), timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # raises "database is locked" if one is held
            other.execute("ROLLBACK")
        finally:
            other.close()
    else:
        with rt.engine.connect() as conn:
            idle = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"
                    " AND state LIKE 'idle in transaction%'"
                ),
                {"name": APP_NAME},
            ).scalar_one()
        assert idle == 0, "a response left a connection idle in transaction"
