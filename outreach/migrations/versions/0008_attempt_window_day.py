"""Each attempt outside a group session records the day it was made on where the contact lives.

S5 counts such an attempt's window by that day, not by its UTC day: two calls ten minutes apart
on one New York evening straddle UTC midnight and were counted as two windows. Attempts logged
before this migration get the day in the zone the task page shows: the contact's newest
preferences' time zone, else the program's. The covering index takes the column, so the queue
still counts windows from the index alone.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import outreach.models.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
OLD_INDEX = ["task_id", "session_date", "group_id", "at", "corrects_id", "id"]
NEW_INDEX = ["task_id", "session_date", "group_id", "window_day", "at", "corrects_id", "id"]

attempt = sa.table(
    "attempt",
    sa.column("id", sa.Uuid()),
    sa.column("task_id", sa.Uuid()),
    sa.column("at", outreach.models.base.UTCDateTime(timezone=True)),
    sa.column("session_date", sa.Date()),
    sa.column("window_day", sa.Date()),
)
task = sa.table(
    "outreach_task",
    sa.column("id", sa.Uuid()),
    sa.column("program_id", sa.Uuid()),
    sa.column("contact_id", sa.Uuid()),
)
program = sa.table("program", sa.column("id", sa.Uuid()), sa.column("timezone", sa.String()))
preferences = sa.table(
    "contact_preferences",
    sa.column("contact_id", sa.Uuid()),
    sa.column("version", sa.Integer()),
    sa.column("timezone", sa.String()),
)


def upgrade() -> None:
    # recreate="never": SQLite adds the column in place, keeping the append-only triggers (0001).
    with op.batch_alter_table("attempt", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("window_day", sa.Date(), nullable=True))
    with _append_only_lifted():
        _backfill()
    op.drop_index("ix_attempt_task_window", table_name="attempt")
    op.create_index("ix_attempt_task_window", "attempt", NEW_INDEX)


def downgrade() -> None:
    op.drop_index("ix_attempt_task_window", table_name="attempt")
    with op.batch_alter_table("attempt") as batch_op:
        batch_op.drop_column("window_day")
    op.create_index("ix_attempt_task_window", "attempt", OLD_INDEX)
    if op.get_bind().dialect.name == "sqlite":
        # Dropping a column rewrites the table on SQLite: put the append-only triggers back.
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"DROP TRIGGER IF EXISTS attempt_no_{verb.lower()}")
            op.execute(_sqlite_trigger(verb))


def _backfill() -> None:
    """Give each attempt outside group time its local day, a batch at a time in id order."""
    connection = op.get_bind()
    write = (
        sa.update(attempt)
        .where(attempt.c.id == sa.bindparam("attempt_id"))
        .values(window_day=sa.bindparam("day"))
    )
    for rows in _batches(connection):
        connection.execute(write, [{"attempt_id": i, "day": day} for i, day in rows])


def _batches(connection: sa.Connection) -> Iterator[list[tuple[Any, date]]]:
    newest_zone = (
        sa.select(preferences.c.timezone)
        .where(preferences.c.contact_id == task.c.contact_id)
        .order_by(preferences.c.version.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = (
        sa.select(attempt.c.id, attempt.c.at, sa.func.coalesce(newest_zone, program.c.timezone))
        .join(task, task.c.id == attempt.c.task_id)
        .join(program, program.c.id == task.c.program_id)
        .where(attempt.c.session_date.is_(None))
        .order_by(attempt.c.id)
        .limit(BATCH)
    )
    last = None
    while True:
        page = query if last is None else query.where(attempt.c.id > last)
        rows = connection.execute(page).all()
        if not rows:
            return
        yield [(i, at.astimezone(ZoneInfo(zone)).date()) for i, at, zone in rows]
        last = rows[-1][0]


@contextmanager
def _append_only_lifted() -> Iterator[None]:
    """S5 keeps the attempt log append-only in the database itself; only the backfill writes.

    No `finally`: a failed backfill rolls the whole migration back, triggers included."""
    postgres = op.get_bind().dialect.name == "postgresql"
    op.execute(
        "ALTER TABLE attempt DISABLE TRIGGER attempt_append_only"
        if postgres
        else "DROP TRIGGER attempt_no_update"
    )
    yield
    op.execute(
        "ALTER TABLE attempt ENABLE TRIGGER attempt_append_only"
        if postgres
        else _sqlite_trigger("UPDATE")
    )


def _sqlite_trigger(verb: str) -> str:
    return (
        f"CREATE TRIGGER attempt_no_{verb.lower()} BEFORE {verb} ON attempt "
        "BEGIN SELECT RAISE(ABORT, 'attempt is append-only'); END"
    )
