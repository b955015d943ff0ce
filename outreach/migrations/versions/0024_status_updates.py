"""Status updates she asked for (issue 20 item 8): each preferences version says whether she
wants updates on his attendance and progress, where her program offers them. Every version
recorded before says no: nobody asked her yet.

Revision ID: 0024
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("contact_preferences", recreate="never") as batch:
        batch.add_column(
            sa.Column("updates", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    # In place on SQLite 3.35 and later (as 0021 does): no rebuild of a table rows refer to.
    op.drop_column("contact_preferences", "updates")
