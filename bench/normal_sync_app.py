"""bench/webhooks --normal-sync: the application with SQLite at synchronous=NORMAL.

For comparison only, to show what the fsync of each commit costs: outreach ships with
synchronous=FULL (outreach/db.py and docs/benchmarks.md say why).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event

from outreach import create_app
from outreach.runtime import runtime


def create() -> Flask:
    app = create_app()

    # Runs after outreach/db.py's own connect hook, which sets FULL.
    @event.listens_for(runtime(app).engine, "connect")
    def _normal(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    return app
