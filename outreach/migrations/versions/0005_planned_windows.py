"""Stored call windows: the queue sorts by the plan the scheduler keeps, not by re-planning;
and a covering index for counting a task's attempt windows.

A task with no `task_plan` row is stale, so the first queue load or scheduler tick plans it.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "task_plan",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("planned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("planned_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rules_key", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["outreach_task.id"],
            name=op.f("fk_task_plan_task_id_outreach_task"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("task_id", name=op.f("pk_task_plan")),
    )
    op.create_table(
        "planned_window",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=True),
        sa.Column("session_date", sa.Date(), nullable=True),
        sa.Column("participant_present", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["outreach_task.id"],
            name=op.f("fk_planned_window_task_id_outreach_task"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["program_group.id"],
            name=op.f("fk_planned_window_group_id_program_group"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_planned_window")),
    )
    op.create_index(
        "ix_planned_window_task_ends_at", "planned_window", ["task_id", "ends_at", "starts_at"]
    )

    # Covering: the queue counts a page of tasks' attempt windows, and the planner reads their
    # group sessions, from the index alone (a task may have hundreds of attempts).
    op.create_index(
        "ix_attempt_task_window",
        "attempt",
        ["task_id", "session_date", "group_id", "at", "corrects_id", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_attempt_task_window", table_name="attempt")
    op.drop_index("ix_planned_window_task_ends_at", table_name="planned_window")
    op.drop_table("planned_window")
    op.drop_table("task_plan")
