"""An index on attempt.at: the supervisor's attempt log is read newest first, by date range.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_attempt_at", "attempt", ["at"])


def downgrade() -> None:
    op.drop_index("ix_attempt_at", table_name="attempt")
