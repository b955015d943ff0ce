"""A program event may be about a day still to come (a planned discharge, `discharge_on`), so
the contact it requires can be due before that day (seeds/001, Colorado: "prior to
discharge"; issue 20 item 7).

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL for every event recorded so far: none of them was about a day to come.
    with op.batch_alter_table("program_event", recreate="never") as batch:
        batch.add_column(sa.Column("planned_for", sa.Date(), nullable=True))


def downgrade() -> None:
    # SQLite 3.35 and later drop a column in place (as 0012 does): a batch rebuild would drop
    # program_event, which the tasks of a live database refer to.
    op.drop_column("program_event", "planned_for")
