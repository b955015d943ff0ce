"""A program may set its own language (S12: "a Spanish-first program makes Spanish the default
for its contacts and its staff screens"): Caminar Latino runs the Georgia profile in Spanish
while other Georgia programs run it in English (issue 20 item 9).

Revision ID: 0023
Revises: 0024
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0024"  # re-chained after main's 0024 (status updates)
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL for every program so far: each keeps its protocol profile's language.
    with op.batch_alter_table("program", recreate="never") as batch:
        batch.add_column(sa.Column("language", sa.String(length=5), nullable=True))


def downgrade() -> None:
    # SQLite 3.35 and later drop a column in place (as 0012 does): a batch rebuild would drop
    # program, which every participant, group and task of a live database refers to.
    op.drop_column("program", "language")
