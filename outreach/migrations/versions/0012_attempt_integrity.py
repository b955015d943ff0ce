"""S14: every attempt keeps who entered it, through what, what about its time needs a look, and
why; a task keeps when a correction last reopened it.

Attempts logged before this migration are flagged as they would be now: before the task opened,
or entered more than 24 hours (the default setting) after they happened, a correction judged by
when the attempt it corrects was entered. Who entered them was not kept: `entered_by` stays
empty and `entered_via` says "unknown", except for the calls the service itself settled from the
provider's callbacks, which were entered through the webhooks.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op

import outreach.models.base

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
LATE = timedelta(hours=24)  # settings.late_entry_hours's default
WHEN = outreach.models.base.UTCDateTime(timezone=True)

attempt = sa.table(
    "attempt",
    sa.column("id", sa.Uuid()),
    sa.column("task_id", sa.Uuid()),
    sa.column("at", WHEN),
    sa.column("recorded_at", WHEN),
    sa.column("corrects_id", sa.Uuid()),
    sa.column("flags", sa.String()),
    sa.column("entered_via", sa.String()),
)
task = sa.table("outreach_task", sa.column("id", sa.Uuid()), sa.column("opens_at", WHEN))
delivery = sa.table("delivery", sa.column("attempt_id", sa.Uuid()))


def upgrade() -> None:
    # Added in place, so SQLite keeps the append-only triggers (0001) and never rebuilds a table
    # other tables point at. `entered_by` names a user as `made_by` does, without a foreign key:
    # users are disabled, never deleted, and a key would make SQLite rebuild the log to drop it.
    op.add_column("attempt", sa.Column("entered_by", sa.Uuid(), nullable=True))
    op.add_column(
        "attempt", sa.Column("entered_via", sa.String(10), nullable=False, server_default="unknown")
    )
    op.add_column("attempt", sa.Column("flags", sa.String(80), nullable=False, server_default=""))
    op.add_column("attempt", sa.Column("reason", sa.String(200), nullable=True))
    op.add_column("outreach_task", sa.Column("reopened_at", WHEN, nullable=True))
    with _append_only_lifted():
        _backfill()


def downgrade() -> None:
    # SQLite 3.35 and later drop a column in place: no rebuild, the triggers stay.
    op.drop_column("outreach_task", "reopened_at")
    for column in ("reason", "flags", "entered_via", "entered_by"):
        op.drop_column("attempt", column)


def _backfill() -> None:
    connection = op.get_bind()
    write = (
        sa.update(attempt)
        .where(attempt.c.id == sa.bindparam("attempt_id"))
        .values(flags=sa.bindparam("found"))
    )
    for rows in _flagged(connection):
        if rows:
            connection.execute(write, [{"attempt_id": i, "found": f} for i, f in rows])
    settled = sa.select(delivery.c.attempt_id).where(delivery.c.attempt_id.is_not(None))
    connection.execute(
        sa.update(attempt).where(attempt.c.id.in_(settled)).values(entered_via="webhook")
    )


def _flagged(connection: sa.Connection) -> Iterator[list[tuple[Any, str]]]:
    original = attempt.alias("original")
    query = (
        sa.select(
            attempt.c.id,
            attempt.c.at,
            sa.func.coalesce(original.c.recorded_at, attempt.c.recorded_at),
            task.c.opens_at,
        )
        .join(task, task.c.id == attempt.c.task_id)
        .outerjoin(original, original.c.id == attempt.c.corrects_id)
        .order_by(attempt.c.id)
        .limit(BATCH)
    )
    last = None
    while True:
        page = query if last is None else query.where(attempt.c.id > last)
        rows = connection.execute(page).all()
        if not rows:
            return
        found = [(i, _flags(at, entered, opened)) for i, at, entered, opened in rows]
        yield [(i, flags) for i, flags in found if flags]
        last = rows[-1][0]


def _flags(at: Any, entered: Any, opened: Any) -> str:
    found = []
    if at < opened:
        found.append("before_task_opened")
    if entered - at > LATE:
        found.append("entered_late")
    return " ".join(found)


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
