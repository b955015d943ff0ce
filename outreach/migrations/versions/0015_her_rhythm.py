"""Her rhythm (S13): how often she chose to be checked in with, on each preferences version.

Revision ID: 0015
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL: she has not chosen; the profile's default rhythm applies, if it has one.
    with op.batch_alter_table("contact_preferences") as batch:
        batch.add_column(sa.Column("cadence", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contact_preferences") as batch:
        batch.drop_column("cadence")
