"""Which databases the suite runs on: SQLite always, PostgreSQL whenever it answers.

On CI (CI=true) an unreachable PostgreSQL is a failure, never a silent skip.
OUTREACH_TEST_DATABASES=sqlite narrows a local run on purpose.
"""

from __future__ import annotations

import os
import socket

from sqlalchemy.engine import make_url

POSTGRES_URL = os.environ.get(
    "OUTREACH_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def postgres_answers(url: str = POSTGRES_URL, timeout: float = 1.0) -> bool:
    parsed = make_url(url)
    try:
        with socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 5432), timeout):
            return True
    except OSError:
        return False


def selected() -> tuple[list[str], str | None]:
    """Return the databases to run on, and a reason to stop the run if CI lacks PostgreSQL."""
    wanted = os.environ.get("OUTREACH_TEST_DATABASES", "").strip()
    if wanted:
        return [w.strip() for w in wanted.split(",") if w.strip()], None
    if postgres_answers():
        return ["sqlite", "postgresql"], None
    if os.environ.get("CI", "").lower() == "true":
        return [], f"PostgreSQL does not answer at {make_url(POSTGRES_URL).host}:5432 on CI"
    return ["sqlite"], None
