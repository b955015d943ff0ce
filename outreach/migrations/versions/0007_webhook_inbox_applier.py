"""The webhook inbox is applied later: each callback names its delivery and when it was applied.

Status callbacks are stored in one statement and answered at once; the inbox applier applies
them in batches. Every callback stored before this migration was applied as it arrived.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import outreach.models.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_event") as batch_op:
        batch_op.add_column(sa.Column("delivery_id", sa.Uuid(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "applied_at", outreach.models.base.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.create_foreign_key(
            op.f("fk_webhook_event_delivery_id_delivery"), "delivery", ["delivery_id"], ["id"]
        )
    op.execute("UPDATE webhook_event SET applied_at = received_at")
    op.create_index(
        "ix_webhook_event_unapplied",
        "webhook_event",
        ["received_at"],
        sqlite_where=sa.text("applied_at IS NULL"),
        postgresql_where=sa.text("applied_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_event_unapplied", table_name="webhook_event")
    with op.batch_alter_table("webhook_event") as batch_op:
        batch_op.drop_constraint(
            op.f("fk_webhook_event_delivery_id_delivery"), type_="foreignkey"
        )
        batch_op.drop_column("applied_at")
        batch_op.drop_column("delivery_id")
