"""Sessions as `create_app` wires them, for tests that build their own engine."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from outreach import watch_sessions
from outreach.db import make_session_factory


def app_sessions(engine: Engine, *, audit_key: bytes) -> sessionmaker[Session]:
    """The database layer's sessions with the services' hooks hung on them."""
    sessions = make_session_factory(engine, audit_key=audit_key)
    watch_sessions(sessions)
    return sessions
