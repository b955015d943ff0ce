"""A purged contact's calls and texts wait here until the provider has deleted its own record.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import outreach.models.base

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    when = outreach.models.base.UTCDateTime(timezone=True)
    op.create_table(
        "provider_erasure",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("queued_at", when, nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("last_tried_at", when, nullable=True),
        sa.Column("last_refusal", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_erasure")),
        sa.UniqueConstraint("sid", name=op.f("uq_provider_erasure_sid")),
    )


def downgrade() -> None:
    op.drop_table("provider_erasure")
