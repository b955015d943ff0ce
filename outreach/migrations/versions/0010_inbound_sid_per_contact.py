"""A text from a number two contacts share is kept once for each, as "SID:contact id": 71
characters, more than the 64 the column held. PostgreSQL refused such a text, and it was lost.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("inbound_message") as batch_op:
        batch_op.alter_column(
            "provider_sid", existing_type=sa.String(length=64), type_=sa.String(length=80)
        )


def downgrade() -> None:
    # Rows of a shared number would not fit back; they are not cut short to make them fit.
    with op.batch_alter_table("inbound_message") as batch_op:
        batch_op.alter_column(
            "provider_sid", existing_type=sa.String(length=80), type_=sa.String(length=64)
        )
