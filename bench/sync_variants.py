"""bench/webhooks --sync-variants: SQLite's two other ways to end a transaction, for comparison.

Outreach syncs the WAL itself once the writers' lock is released (outreach/write_queue.py).
`inside_the_lock` is how it was before: synchronous=FULL, SQLite's own sync inside the lock,
every writer waiting out the one before it. `unsynced` is NORMAL with no sync at all, the
ceiling: it can lose an acknowledged callback on power loss and is never shipped.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event

from outreach import create_app
from outreach.runtime import runtime


def inside_the_lock() -> Flask:
    return _with("FULL")


def unsynced() -> Flask:
    return _with("NORMAL")


def _with(synchronous: str) -> Flask:
    app = create_app()

    # Runs after outreach/db.py's own connect hook, which hands the sync to the connection.
    @event.listens_for(runtime(app).engine, "connect")
    def _variant(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection._syncs_wal = False
        dbapi_connection.execute(f"PRAGMA synchronous={synchronous}")

    return app
