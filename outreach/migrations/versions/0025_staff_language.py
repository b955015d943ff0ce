"""Each staff user may choose the language of their screens, English or Spanish (issue 22
item 8; S12: a Spanish-first program's staff screens are Spanish). NULL, as for every user
so far, follows the language of their programs.

Revision ID: 0025
Revises: 0021
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", recreate="never") as batch:
        batch.add_column(sa.Column("language", sa.String(length=5), nullable=True))


def downgrade() -> None:
    # SQLite 3.35 and later drop a column in place (as 0021 does): a batch rebuild would drop
    # app_user, which sessions, tokens and the audit of a live database refer to.
    op.drop_column("app_user", "language")
