"""API tokens expire: each new one carries the instant from which the API refuses it.

Tokens issued before this migration keep no expiry (NULL), so a program system that is running
is not cut off by the upgrade; operators reissue them with `outreach users token` and then
revoke the old ones.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import outreach.models.base

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_token") as batch_op:
        batch_op.add_column(
            sa.Column("expires_at", outreach.models.base.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("api_token") as batch_op:
        batch_op.drop_column("expires_at")
