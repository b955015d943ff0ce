"""A supervisor's sign-off of an unreachable closure carries a comment (issue 22 item 5); the
attempts that asked for a callback get an index of their own, which the planner asks about on
every queue and task page (issue 22, the queue's speed).

Revision ID: 0021
Revises: 0019
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outreach_task", recreate="never") as batch:
        batch.add_column(sa.Column("sign_off_comment", sa.String(length=300), nullable=True))
    op.create_index(
        "ix_attempt_callback",
        "attempt",
        ["task_id"],
        sqlite_where=sa.text("callback_at IS NOT NULL"),
        postgresql_where=sa.text("callback_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_attempt_callback", table_name="attempt")
    # SQLite 3.35 and later drop a column in place (as 0012 does): a batch rebuild would drop
    # outreach_task, which the attempts and deliveries of a live database refer to.
    op.drop_column("outreach_task", "sign_off_comment")
