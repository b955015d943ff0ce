"""A safe mailing address she named, sealed under her own key like her phone (S10), so the
letter Emerge sends within 10 days of completion or termination can reach her (seeds/001
"Massachusetts"; issue 20 item 5).

Revision ID: 0022
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL for every contact so far: nobody has named a safe address yet.
    with op.batch_alter_table("contact_person", recreate="never") as batch:
        batch.add_column(sa.Column("address_sealed", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # Dropped in place (as 0019 does): a batch rebuild would drop contact_person, which a live
    # database's tasks and preferences refer to.
    op.drop_column("contact_person", "address_sealed")
