"""Releases of information and compelled disclosures (S7).

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "contact_release",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("recipient_kind", sa.String(length=30), nullable=False),
        sa.Column("recipient_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("purpose", sa.String(length=30), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("statement_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("given_as", sa.String(length=30), nullable=False),
        _when("granted_at"),
        _when("expires_at"),
        sa.Column("recorded_by", sa.Uuid(), nullable=True),
        _when("recorded_at"),
        _when("revoked_at", nullable=True),
        sa.Column("revoked_by", sa.Uuid(), nullable=True),
        sa.Column("revoked_how", sa.String(length=20), nullable=True),
        _fk("contact_release", "contact_id", "contact_person"),
        _fk("contact_release", "program_id", "program"),
        _fk("contact_release", "recorded_by", "app_user"),
        _fk("contact_release", "revoked_by", "app_user"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_release")),
    )
    op.create_index("ix_contact_release_contact_id", "contact_release", ["contact_id"])
    op.create_index("ix_contact_release_program_id", "contact_release", ["program_id"])
    op.create_table(
        "compelled_disclosure",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("authority", sa.String(length=20), nullable=False),
        sa.Column("authority_detail_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("disclosed_items", sa.JSON(), nullable=False),
        sa.Column("description_sealed", sa.LargeBinary(), nullable=False),
        _when("disclosed_at"),
        sa.Column("disclosed_by", sa.Uuid(), nullable=True),
        _when("recorded_at"),
        sa.Column("notice_task_id", sa.Uuid(), nullable=True),
        sa.Column("danger_reason_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("danger_confirmed_by", sa.Uuid(), nullable=True),
        _when("danger_confirmed_at", nullable=True),
        _fk("compelled_disclosure", "contact_id", "contact_person"),
        _fk("compelled_disclosure", "program_id", "program"),
        _fk("compelled_disclosure", "disclosed_by", "app_user"),
        _fk("compelled_disclosure", "notice_task_id", "outreach_task"),
        _fk("compelled_disclosure", "danger_confirmed_by", "app_user"),
        # S7: a compelled disclosure is logged with the attempt to tell the contact, or with
        # the reason telling her would endanger her.
        sa.CheckConstraint(
            "notice_task_id IS NOT NULL OR danger_reason_sealed IS NOT NULL",
            name=op.f("ck_compelled_disclosure_notice"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compelled_disclosure")),
    )
    op.create_index("ix_compelled_disclosure_contact_id", "compelled_disclosure", ["contact_id"])
    op.create_index("ix_compelled_disclosure_program_id", "compelled_disclosure", ["program_id"])


def downgrade() -> None:
    op.drop_index("ix_compelled_disclosure_program_id", table_name="compelled_disclosure")
    op.drop_index("ix_compelled_disclosure_contact_id", table_name="compelled_disclosure")
    op.drop_table("compelled_disclosure")
    op.drop_index("ix_contact_release_program_id", table_name="contact_release")
    op.drop_index("ix_contact_release_contact_id", table_name="contact_release")
    op.drop_table("contact_release")
