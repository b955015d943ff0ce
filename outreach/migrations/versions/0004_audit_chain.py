"""The audit chain: each audit event carries the MAC of the one before it and its own (S10).

Events written before this migration keep NULL in both columns; the first chained event
seals them by chaining over their contents (see outreach/services/records/audit_chain.py).

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # recreate="never": SQLite adds the columns with ALTER TABLE in place, so the table is not
    # copied and its append-only triggers from 0001 stay attached (a recreate would drop them).
    with op.batch_alter_table("audit_event", recreate="never") as batch_op:
        batch_op.add_column(sa.Column("prev_mac", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("mac", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # Dropping a column rewrites the table on SQLite: put the append-only triggers back after.
    with op.batch_alter_table("audit_event") as batch_op:
        batch_op.drop_column("mac")
        batch_op.drop_column("prev_mac")
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_event_no_{verb.lower()}")
            op.execute(
                f"CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event "
                "BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END"
            )
