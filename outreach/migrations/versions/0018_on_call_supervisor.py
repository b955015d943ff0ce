"""The on-call supervisor a duty to warn rings (S8), each program's response target for it,
and the notice's recipient on its delivery row (one notice per duty to warn).

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTICE = sa.text("kind = 'on_call_sms'")


def upgrade() -> None:
    with op.batch_alter_table("program") as batch:
        batch.add_column(sa.Column("on_call_supervisor_id", sa.Uuid(), nullable=True))
        # Every program starts at the one-hour target it was measured against before.
        batch.add_column(
            sa.Column(
                "duty_to_warn_target_minutes", sa.Integer(), nullable=False, server_default="60"
            )
        )
        batch.create_foreign_key(
            op.f("fk_program_on_call_supervisor_id_app_user"),
            "app_user",
            ["on_call_supervisor_id"],
            ["id"],
        )
    with op.batch_alter_table("delivery") as batch:
        batch.add_column(sa.Column("recipient_id", sa.Uuid(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_delivery_recipient_id_app_user"), "app_user", ["recipient_id"], ["id"]
        )
    op.create_index(
        "uq_delivery_on_call_notice",
        "delivery",
        ["task_id"],
        unique=True,
        sqlite_where=NOTICE,
        postgresql_where=NOTICE,
    )


def downgrade() -> None:
    op.drop_index("uq_delivery_on_call_notice", table_name="delivery")
    with op.batch_alter_table("delivery") as batch:
        batch.drop_constraint(op.f("fk_delivery_recipient_id_app_user"), type_="foreignkey")
        batch.drop_column("recipient_id")
    with op.batch_alter_table("program") as batch:
        batch.drop_constraint(op.f("fk_program_on_call_supervisor_id_app_user"), type_="foreignkey")
        batch.drop_column("duty_to_warn_target_minutes")
        batch.drop_column("on_call_supervisor_id")
