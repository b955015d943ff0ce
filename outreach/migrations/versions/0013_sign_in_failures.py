"""The address throttle's failures live in the database, shared by every worker process.

Before this, each worker counted failed sign-ins per address in its own memory: N workers gave
an attacker N times the budget, and the count never shrank (issue 21 finding 9). Nothing is
carried over: counts in memory are gone with the processes that held them.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import outreach.models.base

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sign_in_failure",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("failed_at", outreach.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failure")),
    )
    op.create_index(
        "ix_sign_in_failure_address_at", "sign_in_failure", ["address_hash", "failed_at"]
    )
    op.create_index(op.f("ix_sign_in_failure_failed_at"), "sign_in_failure", ["failed_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sign_in_failure_failed_at"), table_name="sign_in_failure")
    op.drop_index("ix_sign_in_failure_address_at", table_name="sign_in_failure")
    op.drop_table("sign_in_failure")
