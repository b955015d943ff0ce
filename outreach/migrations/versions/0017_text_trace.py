"""Every text to or from a contact that nothing else keeps leaves its SID, so retention can
have the provider erase its record (issue 24 item 5).

Revision ID: 0017
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import outreach.models.base

revision: str = "0017"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "text_trace",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=True),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", outreach.models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contact_person.id"], name=op.f("fk_text_trace_contact_id_contact_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_text_trace")),
    )
    op.create_index(op.f("ix_text_trace_contact_id"), "text_trace", ["contact_id"])
    op.create_index(op.f("ix_text_trace_sid"), "text_trace", ["sid"])
    op.create_index(op.f("ix_text_trace_code"), "text_trace", ["code"])


def downgrade() -> None:
    op.drop_index(op.f("ix_text_trace_code"), table_name="text_trace")
    op.drop_index(op.f("ix_text_trace_sid"), table_name="text_trace")
    op.drop_index(op.f("ix_text_trace_contact_id"), table_name="text_trace")
    op.drop_table("text_trace")
