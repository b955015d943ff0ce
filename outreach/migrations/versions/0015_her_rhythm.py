"""Her rhythm (S13): how often she chose to be checked in with, on each preferences version;
and her request to opt back in after declining, held until a supervisor confirms it (S1).

Revision ID: 0015
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import outreach.models.base

revision: str = "0015"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # NULL: she has not chosen; the profile's default rhythm applies, if it has one.
    with op.batch_alter_table("contact_preferences", recreate="never") as batch:
        batch.add_column(sa.Column("cadence", sa.String(length=40), nullable=True))
    when = outreach.models.base.UTCDateTime(timezone=True)
    op.create_table(
        "opt_back_in",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("words_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("requested_at", when, nullable=False),
        sa.Column("confirmed_by", sa.Uuid(), nullable=True),
        sa.Column("confirmed_at", when, nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact_person.id"], name=op.f("fk_opt_back_in_contact_id_contact_person")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["app_user.id"], name=op.f("fk_opt_back_in_requested_by_app_user")
        ),
        sa.ForeignKeyConstraint(
            ["confirmed_by"], ["app_user.id"], name=op.f("fk_opt_back_in_confirmed_by_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opt_back_in")),
    )
    op.create_index(op.f("ix_opt_back_in_contact_id"), "opt_back_in", ["contact_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_opt_back_in_contact_id"), table_name="opt_back_in")
    op.drop_table("opt_back_in")
    with op.batch_alter_table("contact_preferences") as batch:
        batch.drop_column("cadence")
